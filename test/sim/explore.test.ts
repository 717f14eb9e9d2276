import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { loadConfig, geometryOf } from '../../sim/config.js';
import { baseAxes, countPoints, parseArrayAxis, parseNumberAxis, parseTechAxis, pointAt, AXIS_ORDER, type ExploreAxes } from '../../sim/explore-space.js';
import { evaluateChunk, sweep } from '../../sim/sweep.js';
import { ChunkPool } from '../../sim/explore-pool.js';
import { bestPoints, finishTable, joinChunks, paretoIndices, tableCsv } from '../../sim/explore-results.js';
import { PointsBar } from '../../sim/explore-progress.js';
import { UsageError } from '../../formats/errors.js';

const cfg = loadConfig('rom-bert-base');
const g = geometryOf(cfg.model);

function axes(over: Partial<ExploreAxes>): ExploreAxes {
  return { ...baseAxes(cfg.hardware, ['bitfit', 'full-ft']), ...over };
}

describe('axis values', () => {
  it('reads lists, power-of-two ranges, stepped ranges and array shapes', () => {
    expect(parseNumberAxis('--rom-banks', '8..256', { integer: true, min: 1, max: 1 << 16 })).toEqual([8, 16, 32, 64, 128, 256]);
    expect(parseNumberAxis('--clock-mhz', '500..1500:250', { integer: false, min: 1, max: 1e5 })).toEqual([500, 750, 1000, 1250, 1500]);
    expect(parseNumberAxis('--buffer-kb', '64,96..400', { integer: false, min: 1, max: 1e6 })).toEqual([64, 96, 192, 384]);
    const shapes = parseArrayAxis('--array', '8x8..256x256');
    expect(shapes).toHaveLength(36);
    expect(shapes[0]).toEqual([8, 8]);
    expect(shapes[1]).toEqual([8, 16]);
    expect(shapes[35]).toEqual([256, 256]);
    expect(parseArrayAxis('--array', '128x128,64x256')).toEqual([
      [128, 128],
      [64, 256],
    ]);
  });

  it('names the flag, the value and what is allowed for every bad one', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => parseArrayAxis('--array', '8x8..256'), /--array: "8x8\.\.256" is not an array shape/],
      [() => parseArrayAxis('--array', '0x8'), /--array: "0" is not a valid value/],
      [() => parseArrayAxis('--array', '8x8,8x8'), /--array: \[8,8\] appears twice/],
      [() => parseNumberAxis('--rom-banks', '16..8', { integer: true, min: 1, max: 64 }), /range "16\.\.8" ends below its start/],
      [
        () => parseNumberAxis('--rom-banks', '1.5', { integer: true, min: 1, max: 64 }),
        /--rom-banks: "1\.5" is not a valid value .*allowed: a comma-separated list of integers in \[1, 64\]/,
      ],
      [() => parseNumberAxis('--clock-mhz', '1..9:0', { integer: false, min: 1, max: 100 }), /step "0" must be a positive number/],
      [() => parseTechAxis('--tech', '3nm'), /--tech: "3nm" is not a known value .*allowed: .*28nm/],
    ];
    for (const [f, msg] of cases) {
      expect(f).toThrow(UsageError);
      expect(f).toThrow(msg);
    }
  });
});

describe('the cross product', () => {
  it('visits every point once, the last axis fastest', () => {
    const a = axes({
      nodes: ['45nm', '7nm'],
      arrays: parseArrayAxis('--array', '8x8..16x32'),
      dataflows: ['os', 'ws'],
      romBanks: [16, 64],
      clockMHz: [500, 1000],
    });
    const n = countPoints(a);
    expect(n).toBe(2 * 6 * 2 * 1 * 2 * 1 * 2 * 2);
    const seen = new Set(Array.from({ length: n }, (_, i) => JSON.stringify(pointAt(a, i))));
    expect(seen.size).toBe(n);
    expect(pointAt(a, 0).variant).toBe('bitfit');
    expect(pointAt(a, 1).variant).toBe('full-ft');
    expect(pointAt(a, 2).clockMHz).toBe(1000);
    expect(pointAt(a, n - 1)).toMatchObject({ node: '7nm', rows: 16, cols: 32, dataflow: 'ws', romBanks: 64, clockMHz: 1000, variant: 'full-ft' });
    expect(AXIS_ORDER[AXIS_ORDER.length - 1]).toBe('variants');
  });
});

describe('sweep chunks', () => {
  const a = axes({
    nodes: ['45nm', '28nm'],
    arrays: [
      [32, 32],
      [64, 16],
    ],
    dataflows: ['os', 'ws', 'is'],
    variants: ['bitfit', 'frozen', 'full-ft'],
  });
  const n = countPoints(a);
  const whole = evaluateChunk({ geometry: g, hardware: cfg.hardware, axes: a, start: 0, end: n });

  it("gives the cost model's figures of each point (the benchmark's sweep, same order)", () => {
    const ref = sweep(g, cfg.hardware, { arrays: a.arrays, dataflows: a.dataflows, variants: a.variants, nodes: a.nodes });
    expect(whole.rows).toHaveLength(ref.length);
    const col = (c: string): number => whole.columns.indexOf(c);
    ref.forEach((p, i) => {
      const r = whole.rows[i];
      expect([r[col('variant')], r[col('tech')], r[col('rows')], r[col('cols')], r[col('dataflow')]]).toEqual([
        p.point.variant,
        p.node,
        p.rows,
        p.cols,
        p.dataflow,
      ]);
      expect(r[col('latency_us')]).toBe(p.point.latencyUs);
      expect(r[col('area_mm2')]).toBe(p.point.areaMm2.total);
      expect(r[col('energy_uj')]).toBe(p.point.energyUJ.total);
      expect(r[col('macs')]).toBe(p.point.counts.macs);
    });
    for (const c of ['index', 'cycles', 'utilization', 'area_rom_mm2', 'energy_leakage_uj', 'task_switch_cycles', 'rom_bits_read'])
      expect(whole.columns).toContain(c);
  });

  it('are the same rows however the points are split, and on threads as here', async () => {
    const parts = [0, 5, 6, 19, n]
      .slice(0, -1)
      .map((s, i, xs) => ({ geometry: g, hardware: cfg.hardware, axes: a, start: s, end: i + 1 < xs.length ? xs[i + 1] : n }));
    expect(joinChunks(parts.map(evaluateChunk))).toEqual(whole);
    const pool = new ChunkPool(2);
    try {
      const threaded = await Promise.all(parts.map((p) => pool.run(p)));
      expect(joinChunks(threaded)).toEqual(whole);
    } finally {
      await pool.close();
    }
  }, 60_000);
});

describe('Pareto flags and constraints', () => {
  it('flags exactly the points no other point beats in both objectives (ties included)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 })), { minLength: 1, maxLength: 40 }), (pts) => {
        const idx = pts.map((_, i) => i);
        const front = paretoIndices(
          idx,
          (i) => pts[i][0],
          (i) => pts[i][1],
        );
        for (const i of idx) {
          const dominated = idx.some((j) => pts[j][0] <= pts[i][0] && pts[j][1] <= pts[i][1] && (pts[j][0] < pts[i][0] || pts[j][1] < pts[i][1]));
          expect(front.has(i)).toBe(!dominated);
        }
      }),
      { seed: Number(process.env.FC_SEED ?? 20261123), numRuns: 200 },
    );
  });

  const a = axes({ arrays: parseArrayAxis('--array', '16x16..128x128'), dataflows: ['os', 'ws'], variants: ['bitfit', 'full-ft'] });
  const raw = evaluateChunk({ geometry: g, hardware: cfg.hardware, axes: a, start: 0, end: countPoints(a) });

  it('marks points that meet the constraints and the best point under each', () => {
    const t = finishTable(raw, new Map(), { maxAreaMm2: 40, maxLatencyUs: 5000 });
    const k = (c: string): number => t.columns.indexOf(c);
    for (const c of ['feasible', 'pareto_area_energy', 'pareto_area_latency', 'pareto_energy_latency']) expect(k(c)).toBeGreaterThan(0);
    for (const r of t.rows) expect(r[k('feasible')]).toBe((r[k('area_mm2')] as number) <= 40 && (r[k('latency_us')] as number) <= 5000 ? 1 : 0);
    // within each variant the front is non-empty and its cheapest-area point is on it
    for (const v of ['bitfit', 'full-ft']) {
      const rows = t.rows.filter((r) => r[k('variant')] === v);
      expect(rows.some((r) => r[k('pareto_area_energy')] === 1)).toBe(true);
      const minArea = Math.min(...rows.map((r) => r[k('area_mm2')] as number));
      expect(rows.filter((r) => r[k('area_mm2')] === minArea).some((r) => r[k('pareto_area_energy')] === 1)).toBe(true);
    }
    const best = bestPoints(t, { maxAreaMm2: 40, maxLatencyUs: 5000 });
    expect(best.map((b) => b.constraint)).toEqual(expect.arrayContaining(['area <= 40 mm²', 'latency <= 5000 µs', 'every constraint']));
    const all = best.find((b) => b.constraint === 'every constraint' && b.objective === 'energy_uj')!;
    const feasibleEnergy = t.rows.filter((r) => r[k('feasible')] === 1).map((r) => r[k('energy_uj')] as number);
    if (all.row === null) expect(feasibleEnergy).toEqual([]);
    else expect(t.rows[all.row][k('energy_uj')]).toBe(Math.min(...feasibleEnergy));
    const csv = tableCsv(t).split('\n');
    expect(csv[0]).toBe(t.columns.join(','));
    expect(csv).toHaveLength(t.rows.length + 2); // header, rows, final newline
  });

  it('joins measured accuracy and flags area/energy against accuracy; --min-accuracy needs results', () => {
    const t = finishTable(raw, new Map([['bitfit', { float: 42.8, integer: 42.4 }]]), { minAccuracy: 40 });
    const k = (c: string): number => t.columns.indexOf(c);
    for (const r of t.rows) expect(r[k('accuracy')]).toBe(r[k('variant')] === 'bitfit' ? 42.8 : '');
    expect(t.rows.filter((r) => r[k('pareto_area_accuracy')] === 1).every((r) => r[k('variant')] === 'bitfit')).toBe(true);
    expect(t.rows.every((r) => r[k('feasible')] === (r[k('variant')] === 'bitfit' ? 1 : 0))).toBe(true);
    expect(() => finishTable(raw, new Map(), { minAccuracy: 40 })).toThrow(/--min-accuracy: this config has no measured accuracy/);
  });
});

describe('the progress bar', () => {
  it('shows points, points/s and the time left', () => {
    let t = 0;
    const out: string[] = [];
    const bar = new PointsBar(1000, { tty: false, write: (s) => out.push(s), now: () => t });
    t = 1000;
    bar.update(500, '2 workers');
    t = 2000;
    bar.update(1000);
    bar.end();
    expect(out[0]).toBe('explore [##########..........] 500/1,000 points  500 points/s  ETA 0:01  (2 workers)\n');
    expect(out[out.length - 1]).toMatch(/1,000\/1,000 points {2}500 points\/s {2}in 0:02/);
  });
});

describe('sim/explore.ts', () => {
  const run = (...args: string[]) => spawnSync('npx', ['tsx', 'sim/explore.ts', ...args], { encoding: 'utf8' });

  it('writes explore.csv and explore.html for a small space', () => {
    const out = mkdtempSync(join(tmpdir(), 'explore-'));
    const r = run(
      '--config',
      'rom-bert-base',
      '--array',
      '8x8..32x32',
      '--dataflow',
      'os,ws',
      '--tech',
      '45nm,7nm',
      '--variant',
      'bitfit,full-ft',
      '--max-area-mm2',
      '50',
      '--out',
      out,
      '--threads',
      '1',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^72 points in \d+\.\d s \([\d,]+ points\/s\), \d+ meet the constraints -> .*explore\.csv/);
    expect(r.stderr).toMatch(/explore \[#{20}\] 72\/72 points/);
    const csv = readFileSync(join(out, 'explore.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(73);
    expect(csv[0]).toMatch(/^index,variant,tech,rows,cols,dataflow,buffer_kb,rom_banks,sram_banks,clock_mhz,cycles,latency_us,/);
    expect(csv[0]).toMatch(/,feasible,pareto_area_energy,pareto_area_latency,pareto_energy_latency$/);
    const html = readFileSync(join(out, 'explore.html'), 'utf8');
    for (const id of ['front-pareto_area_energy', 'front-pareto_area_latency', 'front-pareto_energy_latency', 'axis-0-area_mm2'])
      expect(html).toContain(`id="${id}"`);
    expect(html).toContain('Best point under each constraint');
    expect(html).toContain('area &lt;= 50 mm²');
    expect(html).not.toMatch(/<script/);
  }, 60_000);

  it('takes the base array from a SCALE-Sim .cfg', () => {
    const out = mkdtempSync(join(tmpdir(), 'explore-'));
    const r = run('--config', 'rom-bert-base', '--scalesim', 'fixtures/scalesim/scale.cfg', '--variant', 'bitfit', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    const [head, row] = readFileSync(join(out, 'explore.csv'), 'utf8').split('\n');
    const cfgText = readFileSync('fixtures/scalesim/scale.cfg', 'utf8');
    const h = /ArrayHeight\s*[:=]\s*(\d+)/i.exec(cfgText)![1];
    const w = /ArrayWidth\s*[:=]\s*(\d+)/i.exec(cfgText)![1];
    const cols = head.split(',');
    const vals = row.split(',');
    expect([vals[cols.indexOf('rows')], vals[cols.indexOf('cols')]]).toEqual([h, w]);
  }, 60_000);

  it('exits 2 naming the flag on bad input, 0 on --help', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--array LIST +array shapes RxC/);
    expect(help.stdout).toMatch(/--queue URL/);
    const cases: [string[], RegExp][] = [
      [['--config', 'rom-bert-base', '--array', '8x8..x', '--out', '/tmp/x'], /--array: "8x8\.\.x" is not an array shape/],
      [['--config', 'rom-bert-base', '--dataflow', 'rs', '--out', '/tmp/x'], /--dataflow: "rs" is not a known value/],
      [['--config', 'rom-bert-base', '--min-accuracy', '40', '--out', '/tmp/x'], /--min-accuracy: rom-bert-base has no measured accuracy/],
      [['--config', 'rom-bert-base', '--queue', 'http://h:1', '--out', '/tmp/x'], /--queue: scheme http: is not redis: or rediss:/],
      [['--config', 'rom-bert-base'], /--out: is required/],
      [['--config', 'no-such-config', '--out', '/tmp/x'], /no-such-config\.json: \(file\): does not exist/],
      [['--status'], /--status: needs --queue URL/],
    ];
    for (const [args, msg] of cases) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
  }, 90_000);
});
