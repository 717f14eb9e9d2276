import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bench = (args: string[]) => spawnSync('npx', ['tsx', 'sim/bench.ts', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });

describe('sim/bench.ts', () => {
  it('--help names every flag with its default, every section and what the table columns mean; a bad flag exits 2', () => {
    const r = bench(['--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npm run bench/);
    for (const flag of ['--only SECTIONS', '--quick', '--json FILE', '-h, --help']) expect(r.stdout).toContain(flag);
    expect(r.stdout.match(/\(default: [^)]+\)/g)?.length).toBe(3);
    for (const section of ['gemm', 'forward', 'reference', 'sweep', 'main', 'trainer']) expect(r.stdout).toMatch(new RegExp(`^ {21}${section} +\\S`, 'm'));
    for (const column of ['figure', 'value', 'what']) expect(r.stdout).toMatch(new RegExp(`^  ${column} +\\S`, 'm'));
    expect(r.stdout).not.toMatch(/\*\//); // not the source comment
    const bad = bench(['--bogus']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^error: \(command line\): --bogus: is not a flag of this command \(allowed: --json, --quick, --only, --help\)/);
  });

  it('checks --json before running anything (exit 2) and writes it whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-'));
    const r1 = bench(['--only', 'sweep', '--json', dir]);
    expect(r1.status, r1.stderr).toBe(2);
    expect(r1.stderr).toMatch(/: --json: is a directory, not a file/);
    expect(r1.stdout).not.toMatch(/sim\.sweep1000Ms/); // nothing ran
    const r2 = bench(['--only', 'nope']);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/--only: has an unknown section "nope"/);
    const file = join(dir, 'bench.json');
    const r3 = bench(['--only', 'sweep', '--quick', '--json', file]);
    expect(r3.status, r3.stderr).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).sim.sweep1000Ms).toBeGreaterThan(0);
    expect(readdirSync(dir)).toEqual(['bench.json']);
  });
});
