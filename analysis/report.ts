#!/usr/bin/env -S npx tsx
/**
 * npx tsx analysis/report.ts --in A/report.json [--compare B/report.json] [--out FILE]
 * Rebuilds the design-review page from saved reports (default output: report.html next to --in).
 */
import { dirname, join, resolve } from 'node:path';
import { readReport } from '../formats/report-schema.js';
import { checkInputFile } from '../formats/input-file.js';
import { checkOutputFile, writeFileAtomic } from '../formats/atomic-write.js';
import { UsageError } from '../formats/errors.js';
import { isMain, runCli } from '../formats/cli.js';
import { renderPage } from './html.js';
import { parseFlags } from '../formats/flags.js';

const HELP = `Usage: npx tsx analysis/report.ts --in A/report.json [--compare B/report.json] [--out FILE]

Builds a self-contained HTML design-review page (D3 charts as inline SVG, opens offline) from a
simulator report.json; --compare adds a second design point side by side with the differences.
Default output: report.html next to --in. Exit status: 0 ok, 2 bad input, 3 a bug.
`;

export function main(argv: string[]): number {
  const v = parseFlags(argv, { in: { type: 'string' }, compare: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!v.in) throw new UsageError('--in', 'is required', { hint: 'the report.json of a simulator run, e.g. out/rom-bert-tiny/report.json' });
  // every path before any work: the inputs exist, the output can be written
  checkInputFile(v.in, '--in');
  if (v.compare) checkInputFile(v.compare, '--compare');
  const out = resolve(v.out ?? join(dirname(resolve(v.in)), 'report.html'));
  checkOutputFile(out, v.out ? '--out' : '--out (default: report.html next to --in)');
  const a = readReport(v.in, '--in');
  const b = v.compare ? readReport(v.compare, '--compare') : undefined;
  writeFileAtomic(out, renderPage(a, b), { field: '--out' });
  console.log(`wrote ${out}`);
  return 0;
}

if (isMain(import.meta.url)) runCli('analysis/report.ts', main);
