#!/usr/bin/env -S npx tsx
/**
 * npx tsx analysis/report.ts --in A/report.json [--compare B/report.json] [--out FILE]
 * Rebuilds the design-review page from saved reports (default output: report.html next to --in).
 */
import { parseArgs } from 'node:util';
import { writeFileSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readReport, ReportError } from './read.js';
import { renderPage } from './html.js';

const HELP = `Usage: npx tsx analysis/report.ts --in A/report.json [--compare B/report.json] [--out FILE]

Builds a self-contained HTML design-review page (D3 charts as inline SVG, opens offline) from a
simulator report.json; --compare adds a second design point side by side with the differences.
Default output: report.html next to --in. Exit status: 0 ok, 2 bad input.
`;

function main(argv: string[]): number {
  let v;
  try {
    v = parseArgs({ args: argv, strict: true, options: { in: { type: 'string' }, compare: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!v.in) {
    console.error(`error: --in is required\n\n${HELP}`);
    return 2;
  }
  try {
    const a = readReport(resolve(v.in));
    const b = v.compare ? readReport(resolve(v.compare)) : undefined;
    const out = resolve(v.out ?? join(dirname(resolve(v.in)), 'report.html'));
    const tmp = `${out}.tmp-${process.pid}`;
    writeFileSync(tmp, renderPage(a, b));
    renameSync(tmp, out);
    console.log(`wrote ${out}`);
    return 0;
  } catch (e) {
    if (e instanceof ReportError) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

process.exit(main(process.argv.slice(2)));
