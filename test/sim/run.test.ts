import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (args: string[]) => spawnSync('npx', ['tsx', 'sim/run.ts', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });

describe('sim/run.ts', () => {
  it('prints help and exits 0', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--config/);
    expect(r.stdout).toMatch(/--scalesim/);
  });
  it('exits 2 with a message naming the problem for bad flags and configs, writing nothing', () => {
    const out = mkdtempSync(join(tmpdir(), 'run-'));
    const bad = join(out, 'bad.json');
    writeFileSync(bad, JSON.stringify({ extends: 'rom-bert-tiny', model: { heads: 3 } }));
    const cases: [string[], RegExp][] = [
      [['--config', 'rom-bert-tiny', '--bogus'], /Unknown option '--bogus'/],
      [['--config', 'rom-bert-tiny', '--backend', 'tpu'], /--backend tpu: allowed: auto, gpu, wasm, cpu/],
      [['--config', 'no-such'], /no-such\.json: \(file\): does not exist/],
      [['--config', bad, '--out', join(out, 'x')], /bad\.json: model\.geometry|heads = 3 must divide hidden = 128/],
      [['--config', 'rom-bert-tiny', '--seed=4.5'], /--seed 4.5: must be an integer/],
      [['--config', 'rom-bert-tiny', '--ref-threads', '0'], /--ref-threads 0: must be an integer in \[1, 64\]/],
      [['--scalesim', 'fixtures/scalesim/scale.cfg', '--topology', 'nope.csv', '--out', join(out, 'y')], /nope\.csv: \(file\): does not exist/],
    ];
    for (const [args, msg] of cases) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(msg);
    }
    expect(readdirSync(out)).toEqual(['bad.json']);
  });
  it('verifies the odd geometry bit-exactly on the cpu backend and writes verify.json', () => {
    const out = mkdtempSync(join(tmpdir(), 'run-'));
    const r = run(['--config', 'odd-geometry', '--verify', '--backend', 'cpu', '--ref-threads', '2', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const v = JSON.parse(readFileSync(join(out, 'verify.json'), 'utf8'));
    expect(v).toMatchObject({ bitExact: true, backend: 'cpu', mismatches: 0, firstMismatch: null });
    expect(v.reference).toMatchObject({ mode: 'layer-by-layer', threads: 2 });
    expect(v.reference.parts.map((p: { layers: { from: number; to: number } }) => p.layers)).toEqual([{ from: 0, to: 3 }, { from: 3, to: 5 }]);
    expect(v.tensorsCompared).toBe(2 + 8 * 5 + 1);
    expect(v.elementsCompared).toBeGreaterThan(100000);
    expect(existsSync(join(out, 'report.json'))).toBe(false);
  });
  it('verifies image files given with --rom/--sram and refuses corrupt or mismatched ones with exit 2', () => {
    const out = mkdtempSync(join(tmpdir(), 'run-'));
    expect(run(['--config', 'odd-geometry', '--verify', '--out', out]).status).toBe(0);
    const again = mkdtempSync(join(tmpdir(), 'run-'));
    const ok = run(['--config', 'odd-geometry', '--verify', '--rom', join(out, 'rom.bin'), '--sram', join(out, 'sram-bitfit.bin'), '--out', again]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(again, 'verify.json'), 'utf8')).bitExact).toBe(true);
    const bad = join(out, 'bad.bin');
    const bytes = readFileSync(join(out, 'sram-bitfit.bin'));
    bytes[bytes.length - 100] ^= 1;
    writeFileSync(bad, bytes);
    const r1 = run(['--config', 'odd-geometry', '--verify', '--rom', join(out, 'rom.bin'), '--sram', bad, '--out', join(out, 'x')]);
    expect(r1.status).toBe(2);
    expect(r1.stderr).toMatch(/bad\.bin: checksum: .* the file is corrupt/);
    const r2 = run(['--config', 'rom-bert-tiny', '--verify', '--rom', join(out, 'rom.bin'), '--sram', join(out, 'sram-bitfit.bin'), '--out', join(out, 'y')]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/rom\.bin: geometry\.layers: image has 5, the config expects 2/);
    expect(existsSync(join(out, 'x')) || existsSync(join(out, 'y'))).toBe(false);
  });

  it('runs the main job on rom-bert-tiny: report.json, layers.csv, verify', () => {
    const out = mkdtempSync(join(tmpdir(), 'run-'));
    const r = run(['--config', 'rom-bert-tiny', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(rep.verify.bitExact).toBe(true);
    expect(rep.variants.map((v: { id: string }) => v.id)).toEqual(['bitfit', 'bitfit-bq-bm2', 'bitfit-bm2', 'bitfit-bq', 'frozen', 'rand-uniform', 'rand-rowcol', 'full-ft', 'dram-stream']);
    const csv = readFileSync(join(out, 'layers.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^variant,layer,op,kind,cycles/);
    expect(csv.length).toBeGreaterThan(9 * 30);
  });
  it('reproduces SCALE-Sim v2 golden COMPUTE_REPORT.csv for its alexnet_part example', () => {
    const out = mkdtempSync(join(tmpdir(), 'run-'));
    const r = run(['--scalesim', 'fixtures/scalesim/scale.cfg', '--topology', 'fixtures/scalesim/alexnet_part.csv', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'COMPUTE_REPORT.csv'), 'utf8')).toBe(readFileSync('fixtures/scalesim/golden/alexnet_part_ws_32x32_COMPUTE_REPORT.csv', 'utf8'));
  });
});
