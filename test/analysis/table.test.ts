/**
 * analysis/table.ts as a command: bad input (a missing or wrong flag, a missing directory, a file
 * that is not a result, an output that cannot be written) is exit 2 naming the flag or file, every
 * output path is checked before any work, and the outputs are written all together or not at all.
 */
import { describe, it, expect, vi, afterEach } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../analysis/table.js';
import { runMain, scratch, spawnCli, temporaries } from './cli-helpers.js';
import { dirWith, run } from './result-fixtures.js';

const table = (...args: string[]): { code: number; message: string } => runMain('analysis/table.ts', main, ...args);
const campaign = (): string =>
  dirWith([run('rte', 'bitfit', 1e-3, 1, 0.6, 0.55), run('rte', 'bitfit', 1e-3, 2, 0.62, 0.6), run('rte', 'full-ft', 5e-5, 1, 0.7, 0.7)]);

describe('analysis/table.ts', () => {
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  afterEach(() => {
    out.mockClear();
    err.mockClear();
  });

  it('as a process: a missing --results is exit 2 naming it; --out naming a directory is exit 2 before any work', () => {
    const none = spawnCli('analysis/table.ts');
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(
      /^error: \(command line\): --results: is required\n {2}hint: a campaign directory under fixtures\/results\nrun npx tsx analysis\/table\.ts --help/,
    );
    const d = scratch('table-cli');
    const asDir = spawnCli('analysis/table.ts', '--results', campaign(), '--no-baselines', '--out', d, '--json', join(d, 't.json'));
    expect(asDir.status).toBe(2);
    expect(asDir.stderr).toMatch(new RegExp(`^error: ${d}: --out: is a directory, not a file`));
    expect(readdirSync(d)).toEqual([]); // --json was fine, but nothing is written when an output cannot be
  });

  it('writes the markdown, the JSON and the SVGs together', () => {
    const d = scratch('table-ok');
    const r = table('--results', campaign(), '--no-baselines', '--out', join(d, 'md', 't.md'), '--json', join(d, 't.json'), '--svg', join(d, 'svg'));
    expect(r).toEqual({ code: 0, message: '' });
    expect(readFileSync(join(d, 'md', 't.md'), 'utf8')).toContain('| bitfit | 1.000 | 61.0 ± 1.4 |');
    expect(JSON.parse(readFileSync(join(d, 't.json'), 'utf8'))).toMatchObject({ runs: 3, tasks: ['rte'] });
    expect(readdirSync(join(d, 'svg'))).toEqual(['bias-change.svg']);
    expect(String(out.mock.calls.at(-1)?.[0])).toMatch(/^# .*: 3 runs/);
    expect([...temporaries(d), ...temporaries(join(d, 'md'))]).toEqual([]);
  });

  it('refuses bad flags, directories and result files with exit 2 naming them, writing nothing', () => {
    const d = scratch('table-bad');
    const md = join(d, 't.md');
    expect(table('--results')).toMatchObject({ code: 2, message: expect.stringMatching(/--results: needs a value/) });
    expect(table('--result', campaign())).toMatchObject({
      code: 2,
      message: expect.stringMatching(/--result: is not a flag of this command \(allowed: --results, /),
    });
    expect(table('--results', join(d, 'none'), '--out', md)).toMatchObject({ code: 2, message: expect.stringMatching(/none: --results: does not exist/) });
    expect(table('--results', d, '--out', md)).toMatchObject({ code: 2, message: expect.stringMatching(/: --results: holds no result files/) });
    expect(table('--results', campaign(), '--compare', join(d, 'x'), '--out', md)).toMatchObject({
      code: 2,
      message: expect.stringMatching(/x: --compare: does not exist/),
    });
    const broken = campaign();
    writeFileSync(join(broken, 'z.json'), JSON.stringify({ ...run('rte', 'bitfit', 1e-3, 3, 0.6, 0.5), seed: 'three' }));
    expect(table('--results', broken, '--out', md)).toMatchObject({
      code: 2,
      message: expect.stringMatching(/z\.json: seed: is a string \(got "three"; allowed: an integer\)/),
    });
    writeFileSync(join(d, 'file'), 'x');
    expect(table('--results', campaign(), '--no-baselines', '--svg', join(d, 'file'), '--out', md)).toMatchObject({
      code: 2,
      message: expect.stringMatching(/file: --svg: is a file, not a directory/),
    });
    mkdirSync(join(d, 'j.json'));
    expect(table('--results', campaign(), '--no-baselines', '--json', join(d, 'j.json'), '--out', md)).toMatchObject({
      code: 2,
      message: expect.stringMatching(/j\.json: --json: is a directory, not a file/),
    });
    expect(table('--results', campaign(), '--glue-dir', join(d, 'no-glue'), '--out', md)).toMatchObject({
      code: 2,
      message: expect.stringMatching(/GLUE file not found/),
    });
    expect(existsSync(md)).toBe(false);
    expect(temporaries(d)).toEqual([]);
  });

  it('without --glue-dir, GLUE data that is not there only leaves the baseline row out', () => {
    const prev = process.env.GLUE_DIR;
    process.env.GLUE_DIR = join(scratch('no-glue'), 'glue');
    try {
      expect(table('--results', campaign())).toEqual({ code: 0, message: '' });
      expect(String(err.mock.calls[0]?.[0])).toMatch(/^analysis\/table\.ts: no constant-prediction row \(.*; pass --glue-dir\)/);
      expect(String(out.mock.calls.at(-1)?.[0])).not.toContain('(constant prediction)');
    } finally {
      if (prev === undefined) delete process.env.GLUE_DIR;
      else process.env.GLUE_DIR = prev;
    }
  });
});
