/**
 * analysis/report.ts: the design-review page from saved reports. Bad input (a missing or wrong
 * flag, a missing or malformed report, an output that cannot be written) is exit 2 with a message
 * naming the flag or file, checked before any work, and leaves no file half-written.
 */
import { describe, it, expect, vi } from 'vitest';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../analysis/report.js';
import { runMain, scratch, spawnCli, temporaries } from './cli-helpers.js';

/** A parsed JSON document, to damage field by field on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const GOLDEN = 'fixtures/golden/report-rom-bert-tiny.json';
const run = (...args: string[]): { code: number; message: string } => runMain('analysis/report.ts', main, ...args);

describe('analysis/report.ts', () => {
  it('as a process: a missing --in is exit 2 naming it, with the --help hint; --out naming a directory is exit 2', () => {
    const none = spawnCli('analysis/report.ts');
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(
      /^error: \(command line\): --in: is required\n {2}hint: .*report\.json.*\nrun npx tsx analysis\/report\.ts --help for every flag/,
    );
    const d = scratch('report-cli');
    const asDir = spawnCli('analysis/report.ts', '--in', GOLDEN, '--out', d);
    expect(asDir.status).toBe(2);
    expect(asDir.stderr).toMatch(new RegExp(`^error: ${d}: --out: is a directory, not a file`));
    expect(asDir.stderr).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack
    expect(temporaries(d)).toEqual([]);
  });

  it('writes the page next to --in by default, or to --out', () => {
    const d = scratch('report-ok');
    copyFileSync(GOLDEN, join(d, 'report.json'));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(run('--in', join(d, 'report.json'))).toEqual({ code: 0, message: '' });
      expect(readFileSync(join(d, 'report.html'), 'utf8')).toMatch(/^<!doctype html>[\s\S]*Design review: rom-bert-tiny/);
      expect(run('--in', GOLDEN, '--compare', GOLDEN, '--out', join(d, 'sub', 'cmp.html'))).toEqual({ code: 0, message: '' });
      expect(readFileSync(join(d, 'sub', 'cmp.html'), 'utf8')).toContain('Comparison: rom-bert-tiny (A) and rom-bert-tiny (B)');
    } finally {
      log.mockRestore();
    }
    expect(temporaries(d)).toEqual([]);
  });

  it('refuses bad flags and paths with exit 2 naming them', () => {
    expect(run('--nope')).toMatchObject({
      code: 2,
      message: expect.stringMatching(/^error: \(command line\): --nope: is not a flag of this command \(allowed: --in, --compare, --out, --help\)/),
    });
    expect(run('--in')).toMatchObject({ code: 2, message: expect.stringMatching(/--in: needs a value/) });
    expect(run('stray')).toMatchObject({
      code: 2,
      message: expect.stringMatching(/\(arguments\): this command takes no positional arguments \(got "stray"\)/),
    });
    const d = scratch('report-bad');
    expect(run('--in', join(d, 'none.json'))).toMatchObject({ code: 2, message: expect.stringMatching(/none\.json: --in: does not exist/) });
    expect(run('--in', d)).toMatchObject({ code: 2, message: expect.stringMatching(/: --in: is a directory, not a file/) });
    expect(run('--in', GOLDEN, '--compare', join(d, 'b.json'))).toMatchObject({
      code: 2,
      message: expect.stringMatching(/b\.json: --compare: does not exist/),
    });
    writeFileSync(join(d, 'file'), 'x');
    expect(run('--in', GOLDEN, '--out', join(d, 'file', 'page.html'))).toMatchObject({
      code: 2,
      message: expect.stringMatching(/file: --out: is a file, not a directory/),
    });
    expect(existsSync(join(d, 'report.html'))).toBe(false);
  });

  it('refuses a malformed report naming the file and the field, and leaves the old page whole', () => {
    const d = scratch('report-malformed');
    const out = join(d, 'report.html');
    writeFileSync(out, 'the old page');
    const bad = (name: string, edit: (r: Json) => void): string => {
      const r = JSON.parse(readFileSync(GOLDEN, 'utf8'));
      edit(r);
      writeFileSync(join(d, name), JSON.stringify(r));
      return join(d, name);
    };
    writeFileSync(join(d, 'text.json'), '{ not json');
    expect(run('--in', join(d, 'text.json'), '--out', out)).toMatchObject({
      code: 2,
      message: expect.stringMatching(/text\.json: \(file\): is not valid JSON/),
    });
    const v2 = bad('v2.json', (r) => (r.schema = 'bitfit-rom-accel/report@2'));
    expect(run('--in', v2, '--out', out).message).toMatch(
      /v2\.json: schema: is not the schema this tool reads \(got "bitfit-rom-accel\/report@2"; allowed: bitfit-rom-accel\/report@1\)/,
    );
    const area = bad('area.json', (r) => delete r.variants[2].areaMm2.total);
    expect(run('--in', GOLDEN, '--compare', area, '--out', out)).toMatchObject({
      code: 2,
      message: expect.stringMatching(/area\.json: variants\[2\]\.areaMm2\.total: is missing \(allowed: a finite number\)/),
    });
    const rows = bad('rows.json', (r) => (r.hardware.array.rows = '128'));
    expect(run('--in', rows, '--out', out).message).toMatch(/rows\.json: hardware\.array\.rows: is a string \(got "128"; allowed: an integer >= 1\)/);
    expect(readFileSync(out, 'utf8')).toBe('the old page');
    expect(temporaries(d)).toEqual([]);
  });

  it('prints its help with exit 0', () => {
    const w = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(run('--help')).toEqual({ code: 0, message: '' });
      expect(String(w.mock.calls[0][0])).toMatch(/^Usage: npx tsx analysis\/report\.ts --in/);
    } finally {
      w.mockRestore();
    }
  });
});
