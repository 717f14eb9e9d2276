import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bench = (args: string[]) => spawnSync('npx', ['tsx', 'sim/bench.ts', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });

describe('sim/bench.ts', () => {
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
