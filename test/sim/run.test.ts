import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (args: string[]) => spawnSync('npx', ['tsx', 'sim/run.ts', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });

/** Every path under dir (recursively), for "nothing half-written is left". */
function listAll(dir: string): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    out.push(p);
    if (statSync(p).isDirectory()) out.push(...listAll(p));
  }
  return out;
}

/**
 * The run stopped before its first step: off a TTY (as here) sim/progress.ts prints "[1/n] <step> ..."
 * on stderr when the first step starts, so a failure during that step still shows it.
 */
const beforeAnyWork = (stderr: string): boolean => !/^\[1\/\d+\] /m.test(stderr);

/** Exit 2, one message matching msg, no stack, and no work started. */
function expectRefused(r: ReturnType<typeof run>, msg: RegExp, what: string): void {
  expect(r.status, `${what}\n${r.stderr}`).toBe(2);
  expect(r.stderr, what).toMatch(msg);
  expect(r.stderr, what).toMatch(/^error: /);
  expect(r.stderr, what).not.toMatch(/\n\s+at /);
  expect(beforeAnyWork(r.stderr), `${what}: work started\n${r.stderr}`).toBe(true);
}

/** A pid that was alive a moment ago and is not now (a "killed run"). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

const tfjsNodeGpuInstalled = ((): boolean => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
})();

describe('sim/run.ts', () => {
  it('prints help and exits 0, naming every flag', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    for (const flag of ['--config', '--scalesim', '--out', '--rom', '--cache-dir', '--cache-max', '--max-memory', '--no-cache', '--backend'])
      expect(r.stdout).toContain(flag);
  });

  it('exits 2 with a message naming the problem for bad flags and configs, writing nothing', () => {
    const out = mkdtempSync(join(tmpdir(), 'run-'));
    const bad = join(out, 'bad.json');
    writeFileSync(bad, JSON.stringify({ extends: 'rom-bert-tiny', model: { heads: 3 } }));
    const cases: [string[], RegExp][] = [
      [['--config', 'rom-bert-tiny', '--bogus'], /\(command line\): --bogus: is not a flag of this command \(allowed: --config, --verify, /],
      [['--config'], /\(command line\): --config: needs a value/],
      [['--config', 'rom-bert-tiny', 'stray'], /\(command line\): \(arguments\): this command takes no positional arguments \(got "stray"\)/],
      [['--config', 'rom-bert-tiny', '--backend', 'tpu'], /--backend: is not a backend \(got "tpu"; allowed: auto, gpu, webgpu, wasm, cpu\)/],
      [['--config', 'no-such'], /no-such\.json: \(file\): does not exist/],
      [['--config', bad, '--out', join(out, 'x')], /bad\.json: model\.heads: heads = 3 must divide hidden = 128/],
      [['--config', 'rom-bert-tiny', '--seed=4.5'], /--seed: must be an integer in \[0, 4294967295\] \(got "4.5"\)/],
      [['--config', 'rom-bert-tiny', '--ref-threads', '0'], /--ref-threads: must be an integer in \[1, 64\] \(got "0"\)/],
      [['--config', 'rom-bert-tiny', '--max-memory', 'lots'], /--max-memory: is not a size \(got "lots"/],
      [['--config', 'rom-bert-tiny', '--cache-max', '0'], /--cache-max: is not a size \(got "0"/],
      [['--config', 'rom-bert-tiny', '--rom', 'x.bin'], /\(command line\): --sram: is missing: --rom and --sram go together/],
      [['--scalesim', 'fixtures/scalesim/scale.cfg', '--topology', 'nope.csv', '--out', join(out, 'y')], /nope\.csv: --topology: does not exist/],
    ];
    for (const [args, msg] of cases) expectRefused(run(args), msg, args.join(' '));
    expect(readdirSync(out)).toEqual(['bad.json']);
  });

  it.skipIf(tfjsNodeGpuInstalled)('--backend gpu where tfjs-node-gpu cannot load: exit 2 naming --backend and why, before any work', () => {
    // (skipped where @tensorflow/tfjs-node-gpu is installed: there it may load)
    const out = join(mkdtempSync(join(tmpdir(), 'run-')), 'o');
    const r = run(['--config', 'rom-bert-tiny', '--backend', 'gpu', '--out', out]);
    expectRefused(r, /\(command line\): --backend: the gpu backend cannot be loaded: @tensorflow\/tfjs-node-gpu is not installed/, '--backend gpu');
    expect(r.stderr).toMatch(/hint: use --backend auto/);
    expect(existsSync(out)).toBe(false);
    // before the cost model too: on a design whose cost model fails (counts past 2^53 - 1), the backend is what is refused
    const root = mkdtempSync(join(tmpdir(), 'run-'));
    const max = join(root, 'max.json');
    const geometry = { layers: 1024, hidden: 4096, heads: 1, ffn: 16384, seqLen: 4096, maxPositions: 4096, vocab: 1048576 };
    writeFileSync(max, JSON.stringify({ extends: 'rom-bert-base', name: 'max', model: geometry, hardware: { array: { rows: 1, cols: 1, dataflow: 'os' } } }));
    const costed = run(['--config', max, '--backend', 'cpu', '--gemm', 'oracle', '--max-memory', '8000T', '--out', join(root, 'a')]);
    expectRefused(costed, /max\.json: model: variant \S+: the cost model's counter/, 'the cost model fails on this design');
    const r2 = run(['--config', max, '--backend', 'gpu', '--max-memory', '8000T', '--out', join(root, 'b')]);
    expectRefused(r2, /--backend: the gpu backend cannot be loaded/, '--backend gpu before the cost model');
    expect(r2.stderr).not.toMatch(/cost model/);
    expect(readdirSync(root)).toEqual(['max.json']);
  });

  it('a progress step that fails is named on stderr off a TTY: the run shows where it stopped', () => {
    const root = mkdtempSync(join(tmpdir(), 'run-'));
    const rom = join(root, 'rom.bin');
    writeFileSync(rom, 'not an image');
    const r = run(['--config', 'rom-bert-tiny', '--verify', '--backend', 'cpu', '--gemm', 'oracle', '--rom', rom, '--sram', rom, '--out', join(root, 'o')]);
    expect(r.status, r.stderr).toBe(2);
    expect(beforeAnyWork(r.stderr)).toBe(false);
    expect(r.stderr).toMatch(/^\[1\/3\] read images .*rom\.bin and .*rom\.bin \.\.\.\nerror: .*rom\.bin: /m);
  });

  it('checks --out before any work: an existing file, a path under a file, an unwritable place', () => {
    const root = mkdtempSync(join(tmpdir(), 'run-'));
    const file = join(root, 'file');
    writeFileSync(file, 'keep me');
    let unwritable: string;
    if (process.getuid?.() === 0) {
      unwritable = '/sys/bitfit-run-test'; // root may write into a mode-555 directory; sysfs takes no files
    } else {
      mkdirSync(join(root, 'ro'));
      chmodSync(join(root, 'ro'), 0o555);
      unwritable = join(root, 'ro', 'out');
    }
    expectRefused(run(['--config', 'rom-bert-tiny', '--out', file]), /file: --out: is a file, not a directory/, 'existing file');
    expectRefused(run(['--config', 'rom-bert-tiny', '--out', join(file, 'sub')]), /file: --out: is a file, so .*sub cannot be a directory/, 'under a file');
    expectRefused(run(['--config', 'rom-bert-tiny', '--no-verify', '--out', unwritable]), /: --out: cannot create files here: permission denied/, 'unwritable');
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    expect(listAll(root).filter((p) => /\.tmp-/.test(p))).toEqual([]);
    expect(existsSync(unwritable)).toBe(false);
  });

  it('checks --rom, --sram and the SCALE-Sim paths before any work', () => {
    const root = mkdtempSync(join(tmpdir(), 'run-'));
    const dir = join(root, 'dir');
    mkdirSync(dir);
    const file = join(root, 'file');
    writeFileSync(file, 'x');
    const out = join(root, 'out');
    const v = ['--config', 'rom-bert-tiny', '--verify', '--out', out];
    expectRefused(run([...v, '--rom', dir, '--sram', file]), /dir: --rom: is a directory, not a file/, '--rom dir');
    expectRefused(run([...v, '--rom', join(root, 'missing.bin'), '--sram', file]), /missing\.bin: --rom: does not exist/, '--rom missing');
    expectRefused(run([...v, '--rom', file, '--sram', dir]), /dir: --sram: is a directory, not a file/, '--sram dir');
    const topo = 'fixtures/scalesim/alexnet_part.csv';
    expectRefused(run(['--scalesim', dir, '--topology', topo, '--out', out]), /dir: --scalesim: is a directory, not a file/, '--scalesim dir');
    expectRefused(run(['--scalesim', join(root, 'no.cfg'), '--topology', topo, '--out', out]), /no\.cfg: --scalesim: does not exist/, '--scalesim missing');
    expectRefused(
      run(['--scalesim', 'fixtures/scalesim/scale.cfg', '--topology', dir, '--out', out]),
      /dir: --topology: is a directory, not a file/,
      '--topology dir',
    );
    expectRefused(
      run(['--scalesim', 'fixtures/scalesim/scale.cfg', '--topology', topo, '--out', file]),
      /file: --out: is a file, not a directory/,
      'SCALE-Sim --out',
    );
    expectRefused(run(['--scalesim', 'fixtures/scalesim/scale.cfg', '--topology', topo]), /--out: is missing: SCALE-Sim mode needs/, 'SCALE-Sim without --out');
    expect(readdirSync(root).sort()).toEqual(['dir', 'file']);
  });

  it('refuses a verify run too large for the machine or --max-memory with the estimate; costs it with a reticle warning', () => {
    const root = mkdtempSync(join(tmpdir(), 'run-'));
    const huge = join(root, 'huge.json');
    writeFileSync(huge, JSON.stringify({ extends: 'rom-bert-base', name: 'huge', model: { layers: 1024, hidden: 4096, heads: 64, ffn: 16384 } }));
    const r1 = run(['--config', huge, '--out', join(root, 'a')]);
    expectRefused(
      r1,
      /huge\.json: model: layers 1024, hidden 4096, ffn 16384, seqLen 128, vocab 30522: a verify run needs about [\d.]+ TiB \(runtime .*\) of memory, more than the .* this (machine has|container may use)/,
      'huge verify',
    );
    expect(r1.stderr).toMatch(/hint: cost it without the bit-exact check \(--no-verify\)/);
    const r2 = run(['--config', 'rom-bert-tiny', '--max-memory', '100M', '--out', join(root, 'b')]);
    expectRefused(r2, /rom-bert-tiny\.json: model: .*a verify run needs about [\d.]+ MiB .* more than --max-memory 100 MiB/, '--max-memory');
    expect(readdirSync(root)).toEqual(['huge.json']);
    // costs only: it runs, and says that the design cannot be one die
    const r3 = run(['--config', huge, '--no-verify', '--variant', 'bitfit', '--out', join(root, 'c')]);
    expect(r3.status, r3.stderr).toBe(0);
    expect(r3.stderr).toMatch(/warning: 1 of 1 design\(s\) are over the 858 mm² lithography reticle limit \(26 mm x 33 mm\) and cannot be one die/);
    expect(r3.stderr).toMatch(/ {2}bitfit: [\d,]+ mm² \(at least \d+ reticle-sized dies\)/);
    expect(JSON.parse(readFileSync(join(root, 'c', 'report.json'), 'utf8')).variants[0].areaMm2.total).toBeGreaterThan(858);
    // a real design gets no such warning
    const r4 = run(['--config', 'rom-bert-tiny', '--no-verify', '--out', join(root, 'd')]);
    expect(r4.status, r4.stderr).toBe(0);
    expect(r4.stderr).not.toMatch(/reticle/);
    // counts past 2^53 - 1 (the largest geometry on a 1x1 array): exit 2 naming the counter, not a bug
    const max = join(root, 'max.json');
    const geometry = { layers: 1024, hidden: 4096, heads: 1, ffn: 16384, seqLen: 4096, maxPositions: 4096, vocab: 1048576 };
    writeFileSync(max, JSON.stringify({ extends: 'rom-bert-base', name: 'max', model: geometry, hardware: { array: { rows: 1, cols: 1, dataflow: 'os' } } }));
    const r5 = run(['--config', max, '--no-verify', '--variant', 'full-ft', '--out', join(root, 'e')]);
    expectRefused(r5, /max\.json: model: variant full-ft: the cost model's counter \w+ = \d+ is past 2\^53 - 1, where counts stop being exact/, 'overflow');
    expect(existsSync(join(root, 'e'))).toBe(false);
  });

  it("uses --cache-dir, heals a damaged entry with a note, removes a killed run's temporaries and honours --cache-max", () => {
    const root = mkdtempSync(join(tmpdir(), 'run-'));
    const cache = join(root, 'cache');
    const args = ['--config', 'odd-geometry', '--verify', '--cache-dir', cache, '--out', join(root, 'out')];
    const first = run(args);
    expect(first.status, first.stderr).toBe(0);
    const [key] = readdirSync(cache);
    expect(key).toMatch(/^[0-9a-f]{24}$/);
    const entry = join(cache, key);
    expect(readdirSync(entry).sort()).toEqual(['rom.bin', 'sram.bin', 'stats.json']);
    const again = run(args);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(`images reused from ${cache}`);
    const bitExact = (): boolean => JSON.parse(readFileSync(join(root, 'out', 'verify.json'), 'utf8')).bitExact;

    // stats.json not JSON: rebuilt with a one-line note, exit 0
    writeFileSync(join(entry, 'stats.json'), '{"biasSaturated": 0, ');
    const healed = run(args);
    expect(healed.status, healed.stderr).toBe(0);
    expect(healed.stderr).toMatch(new RegExp(`note: cache entry .*${key} is damaged \\(stats\\.json is not JSON: [^\\n]*\\); rebuilding it\\n`));
    expect(JSON.parse(readFileSync(join(entry, 'stats.json'), 'utf8'))).toHaveProperty('romBits');
    expect(bitExact()).toBe(true);

    // a truncated rom.bin, and then a missing file, likewise
    truncateSync(join(entry, 'rom.bin'), 1000);
    const r2 = run(args);
    expect(r2.status, r2.stderr).toBe(0);
    expect(r2.stderr).toMatch(/note: cache entry .* is damaged \(.*rom\.bin.*\); rebuilding it/);
    expect(statSync(join(entry, 'rom.bin')).size).toBeGreaterThan(1000);
    const sram = readFileSync(join(entry, 'sram.bin'));
    sram[sram.length - 50] ^= 0xff; // a byte of its body: the checksum no longer matches
    writeFileSync(join(entry, 'sram.bin'), sram);
    const r3 = run(args);
    expect(r3.status, r3.stderr).toBe(0);
    expect(r3.stderr).toMatch(/note: cache entry .* is damaged \(.*sram\.bin.*\); rebuilding it/);
    expect(bitExact()).toBe(true);

    // a killed run's temporaries (of a pid no longer alive) go on the next run; a live one's stay
    const dead = deadPid();
    const stale = [join(entry, `.rom.bin.tmp-${dead}-0`), join(cache, `.other.tmp-${dead}-3`)];
    for (const f of stale) writeFileSync(f, 'half');
    const live = join(entry, `.rom.bin.tmp-${process.pid}-0`);
    writeFileSync(live, 'in progress');
    const r4 = run(args);
    expect(r4.status, r4.stderr).toBe(0);
    expect(r4.stderr).toMatch(/note: cache .*: removed 2 temporary file\(s\) a killed run left/);
    for (const f of stale) expect(existsSync(f), f).toBe(false);
    expect(existsSync(live)).toBe(true);

    // a cap smaller than one entry: the images are not stored, and nothing else is left
    const small = join(root, 'small');
    const r5 = run(['--config', 'odd-geometry', '--verify', '--cache-dir', small, '--cache-max', '1K', '--out', join(root, 'out2')]);
    expect(r5.status, r5.stderr).toBe(0);
    expect(r5.stderr).toMatch(/note: images not cached: [\d.]+ MiB is more than the cache's cap of 1\.0 KiB \(--cache-max\)/);
    expect(existsSync(small) ? listAll(small) : []).toEqual([]);
  });

  it('verifies the odd geometry bit-exactly on the cpu backend and writes verify.json', () => {
    const out = mkdtempSync(join(tmpdir(), 'run-'));
    const r = run(['--config', 'odd-geometry', '--verify', '--backend', 'cpu', '--ref-threads', '2', '--no-cache', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const v = JSON.parse(readFileSync(join(out, 'verify.json'), 'utf8'));
    expect(v).toMatchObject({ bitExact: true, backend: 'cpu', mismatches: 0, firstMismatch: null });
    expect(v.reference).toMatchObject({ mode: 'layer-by-layer', threads: 2 });
    expect(v.reference.parts.map((p: { layers: { from: number; to: number } }) => p.layers)).toEqual([
      { from: 0, to: 3 },
      { from: 3, to: 5 },
    ]);
    expect(v.tensorsCompared).toBe(2 + 8 * 5 + 1);
    expect(v.elementsCompared).toBeGreaterThan(100000);
    expect(existsSync(join(out, 'report.json'))).toBe(false);
    expect(listAll(out).filter((p) => /\.tmp-/.test(p))).toEqual([]);
  });

  it('verifies image files given with --rom/--sram and refuses corrupt or mismatched ones with exit 2', () => {
    const out = mkdtempSync(join(tmpdir(), 'run-'));
    expect(run(['--config', 'odd-geometry', '--verify', '--no-cache', '--out', out]).status).toBe(0);
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
    const r = run(['--config', 'rom-bert-tiny', '--cache-dir', join(out, 'cache'), '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(rep.verify.bitExact).toBe(true);
    expect(rep.variants.map((v: { id: string }) => v.id)).toEqual([
      'bitfit',
      'bitfit-bq-bm2',
      'bitfit-bm2',
      'bitfit-bq',
      'frozen',
      'rand-uniform',
      'rand-rowcol',
      'full-ft',
      'dram-stream',
    ]);
    const csv = readFileSync(join(out, 'layers.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^variant,layer,op,kind,cycles/);
    expect(csv.length).toBeGreaterThan(9 * 30);
  });

  const REPORTS = ['BANDWIDTH_REPORT.csv', 'COMPUTE_REPORT.csv', 'DETAILED_ACCESS_REPORT.csv'];
  const expectGolden = (cfg: string, topology: string, golden: string, pysum = 'naive'): void => {
    const out = mkdtempSync(join(tmpdir(), 'run-'));
    const r = run(['--scalesim', cfg, '--topology', topology, '--out', out, '--pysum', pysum]);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(REPORTS);
    for (const f of REPORTS) expect(readFileSync(join(out, f), 'utf8'), f).toBe(readFileSync(`fixtures/scalesim/golden/${golden}_${f}`, 'utf8'));
  };

  it('reproduces SCALE-Sim v2 golden COMPUTE, BANDWIDTH and DETAILED_ACCESS reports for its alexnet_part example (CALC mode)', () => {
    expectGolden('fixtures/scalesim/scale.cfg', 'fixtures/scalesim/alexnet_part.csv', 'alexnet_part_ws_32x32');
  });

  // these goldens were written by a Python >= 3.12 (compensated float sum in the utilisation averages)
  it.each(['os', 'ws', 'is'])("reproduces SCALE-Sim v2's USER-mode goldens (stalls included) for test_mnk_input at 32x32 %s", (df) => {
    expectGolden(`fixtures/scalesim/scale_user_${df}.cfg`, 'fixtures/scalesim/test_mnk_input.csv', `test_mnk_user_${df}_32x32`, 'neumaier');
  });

  it('refuses, with exit 2, a SCALE-Sim config key it does not model instead of ignoring it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-'));
    const cfg = join(dir, 'x.cfg');
    writeFileSync(cfg, readFileSync('fixtures/scalesim/scale_user_ws.cfg', 'utf8') + '\n[sparsity]\nSparsitySupport : true\n');
    const r = run(['--scalesim', cfg, '--topology', 'fixtures/scalesim/test_mnk_input.csv', '--out', join(dir, 'o')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\[sparsity\]: is not modelled by this tool/);
    const banks = join(dir, 'b.cfg');
    writeFileSync(banks, readFileSync('fixtures/scalesim/scale_user_ws.cfg', 'utf8').replace('MemoryBanks:   1', 'MemoryBanks:   2'));
    const r2 = run(['--scalesim', banks, '--topology', 'fixtures/scalesim/test_mnk_input.csv', '--out', join(dir, 'o')]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/MemoryBanks: 2: only 1 is modelled/);
  });
});
