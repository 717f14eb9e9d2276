/**
 * An exploration's table: every point's figures (the chunks of sim/sweep.ts evaluateChunk, in index
 * order), joined with the measured accuracy of its variant where the config has results, the
 * constraints it meets, and a Pareto flag per objective pair; written as explore.csv, and read by
 * analysis/explore-html.ts.
 *
 * Pareto flags (1: no other point is at least as good in both objectives and better in one):
 *   pareto_area_energy, pareto_area_latency, pareto_energy_latency   within the point's variant
 *   pareto_area_accuracy, pareto_energy_accuracy                     over every point (with accuracy)
 */
import type { ChunkResult } from './sweep.js';
import { InputError } from '../formats/errors.js';

export interface Constraints {
  maxAreaMm2?: number;
  maxLatencyUs?: number;
  minAccuracy?: number;
}

export interface ExploreTable {
  columns: string[];
  rows: (number | string)[][];
}

/** Accuracy of a variant (float and integer datapath, mean over seeds of the tasks' average, x 100). */
export interface Accuracy {
  float: number;
  integer: number | null;
}

export const OBJECTIVES = ['area_mm2', 'energy_uj', 'latency_us'] as const;
export type Objective = (typeof OBJECTIVES)[number];
export const PAIRS: [Objective, Objective][] = [
  ['area_mm2', 'energy_uj'],
  ['area_mm2', 'latency_us'],
  ['energy_uj', 'latency_us'],
];
export const pairColumn = (a: string, b: string): string => `pareto_${a.replace(/_.*/, '')}_${b.replace(/_.*/, '')}`;

/** Chunks in index order as one table; every chunk must have the same columns. */
export function joinChunks(chunks: ChunkResult[]): ExploreTable {
  const withRows = chunks.filter((c) => c.rows.length > 0);
  const columns = withRows[0]?.columns ?? [];
  const rows: (number | string)[][] = [];
  for (const c of withRows) {
    if (c.columns.join(',') !== columns.join(',')) throw new Error('sweep chunks disagree on their columns (workers of different versions?)');
    for (const r of c.rows) rows.push(r);
  }
  return { columns, rows };
}

/** Indices of the points on the Pareto front of (x, y), both minimised, among `idx`. */
export function paretoIndices(idx: number[], x: (i: number) => number, y: (i: number) => number): Set<number> {
  const sorted = [...idx].sort((a, b) => x(a) - x(b) || y(a) - y(b));
  const front = new Set<number>();
  let bestY = Infinity;
  let bestX = -Infinity;
  for (const i of sorted) {
    const yi = y(i);
    if (yi < bestY || (yi === bestY && x(i) === bestX)) {
      front.add(i);
      bestY = yi;
      bestX = x(i);
    }
  }
  return front;
}

/** Add accuracy (where known), `feasible` and the Pareto flags; constraints name the figures they hold. */
export function finishTable(t: ExploreTable, accuracy: Map<string, Accuracy>, c: Constraints): ExploreTable {
  const col = (name: string): number => {
    const k = t.columns.indexOf(name);
    if (k < 0) throw new Error(`explore table has no column ${name}`);
    return k;
  };
  const vk = col('variant');
  const withAcc = accuracy.size > 0;
  if (c.minAccuracy !== undefined && !withAcc)
    throw new InputError('(command line)', '--min-accuracy', 'this config has no measured accuracy (model.results: none, or synthetic weights)', {
      hint: 'use a config with a checkpoint and its results, e.g. --config bert-l4-h128-v8k',
    });
  const rows = t.rows.map((r) => {
    const a = accuracy.get(String(r[vk]));
    return withAcc ? [...r, a?.float ?? '', a?.integer ?? ''] : [...r];
  });
  const columns = withAcc ? [...t.columns, 'accuracy', 'accuracy_integer'] : [...t.columns];
  const num = (i: number, k: number): number => rows[i][k] as number;
  const ak = columns.indexOf('accuracy');
  const [areaK, energyK, latK] = OBJECTIVES.map((o) => columns.indexOf(o));
  const feasible = rows.map(
    (r, i) =>
      (c.maxAreaMm2 === undefined || num(i, areaK) <= c.maxAreaMm2) &&
      (c.maxLatencyUs === undefined || num(i, latK) <= c.maxLatencyUs) &&
      (c.minAccuracy === undefined || (typeof r[ak] === 'number' && (r[ak] as number) >= c.minAccuracy)),
  );
  const byVariant = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const v = String(r[vk]);
    if (!byVariant.has(v)) byVariant.set(v, []);
    byVariant.get(v)!.push(i);
  });
  const flags: { name: string; set: Set<number> }[] = [];
  for (const [a, b] of PAIRS) {
    const [ka, kb] = [a, b].map((o) => columns.indexOf(o));
    const set = new Set<number>();
    for (const idx of byVariant.values())
      for (const i of paretoIndices(
        idx,
        (j) => num(j, ka),
        (j) => num(j, kb),
      ))
        set.add(i);
    flags.push({ name: pairColumn(a, b), set });
  }
  if (withAcc) {
    const known = rows.map((_, i) => i).filter((i) => typeof rows[i][ak] === 'number');
    for (const [name, k] of [
      ['pareto_area_accuracy', areaK],
      ['pareto_energy_accuracy', energyK],
    ] as const)
      flags.push({
        name,
        set: paretoIndices(
          known,
          (j) => num(j, k),
          (j) => -num(j, ak),
        ),
      });
  }
  return {
    columns: [...columns, 'feasible', ...flags.map((f) => f.name)],
    rows: rows.map((r, i) => [...r, feasible[i] ? 1 : 0, ...flags.map((f) => (f.set.has(i) ? 1 : 0))]),
  };
}

const cell = (v: number | string): string => {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The table as CSV: a header line, then one line per point (numbers as JavaScript prints them: exact). */
export function tableCsv(t: ExploreTable): string {
  const lines = [t.columns.map(cell).join(',')];
  for (const r of t.rows) lines.push(r.map(cell).join(','));
  return `${lines.join('\n')}\n`;
}

export interface BestPoint {
  /** The constraint it is the best under ("area <= 50 mm²", "every constraint", "none"). */
  constraint: string;
  objective: string;
  /** Row of the table, or null when no point meets the constraint. */
  row: number | null;
}

/** For each constraint alone and all of them together (or none), the best point of each objective. */
export function bestPoints(t: ExploreTable, c: Constraints): BestPoint[] {
  const k = (n: string): number => t.columns.indexOf(n);
  const ak = k('accuracy');
  const tests: { label: string; ok: (r: (number | string)[]) => boolean }[] = [];
  if (c.maxAreaMm2 !== undefined) tests.push({ label: `area <= ${c.maxAreaMm2} mm²`, ok: (r) => (r[k('area_mm2')] as number) <= c.maxAreaMm2! });
  if (c.maxLatencyUs !== undefined) tests.push({ label: `latency <= ${c.maxLatencyUs} µs`, ok: (r) => (r[k('latency_us')] as number) <= c.maxLatencyUs! });
  if (c.minAccuracy !== undefined)
    tests.push({ label: `accuracy >= ${c.minAccuracy}`, ok: (r) => typeof r[ak] === 'number' && (r[ak] as number) >= c.minAccuracy! });
  if (tests.length > 1) tests.push({ label: 'every constraint', ok: (r) => r[k('feasible')] === 1 });
  if (tests.length === 0) tests.push({ label: 'none', ok: () => true });
  const objectives: { name: string; key: number; sign: number }[] = OBJECTIVES.map((o) => ({ name: o, key: k(o), sign: 1 }));
  if (ak >= 0) objectives.push({ name: 'accuracy', key: ak, sign: -1 });
  const out: BestPoint[] = [];
  for (const test of tests) {
    for (const o of objectives) {
      let best: number | null = null;
      t.rows.forEach((r, i) => {
        if (!test.ok(r) || typeof r[o.key] !== 'number') return;
        if (best === null || o.sign * (r[o.key] as number) < o.sign * (t.rows[best][o.key] as number)) best = i;
      });
      out.push({ constraint: test.label, objective: o.name, row: best });
    }
  }
  return out;
}
