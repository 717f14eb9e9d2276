/**
 * Fine-tuning results (fixtures/results/<plan>/*.json, written by trainer/train.ts) read and
 * summarised: per task and variant the best learning rate by mean dev score, then mean ± sample
 * standard deviation over seeds, for the float model and through the integer datapath. Scores are
 * the task's headline dev metric (accuracy for RTE and SST-2, F1 for MRPC, Matthews correlation for
 * CoLA, Spearman for STS-B) times 100, as in the paper's tables. This module is the one place those
 * summaries are computed; the simulator's report and the Table 3 CLI both use it. The result file
 * itself (its type, `readResults`, ResultsError) is declared in formats/results-schema.ts.
 */
import { ResultsError, type RunResultFile } from '../formats/results-schema.js';

export interface Stat {
  mean: number;
  /** Sample standard deviation (n - 1); 0 for a single seed. */
  std: number;
  n: number;
}

export function stat(xs: number[]): Stat {
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

export interface CellSummary {
  task: string;
  variant: string;
  /** Training examples used (runs with different training-set sizes are summarised apart). */
  trainExamples: number;
  metric: string;
  /** Learning rate chosen (best mean float dev score among the rates run). */
  lr: number;
  seeds: number[];
  /** Headline dev score x 100 of each seed's best epoch, float model. */
  float: Stat;
  /** The same model through the integer datapath; null when the variant has no images. */
  integer: Stat | null;
  /** Train-subset score x 100 at the best epoch (generalisation gap = train - dev). */
  train: Stat;
  perSeed: { seed: number; float: number; integer: number | null; train: number }[];
}

/** Training examples a run used (provenance.data.train.used); 0 if the file does not say. */
export const trainExamples = (r: RunResultFile): number => (r.provenance.data as { train?: { used?: number } } | undefined)?.train?.used ?? 0;

/** Score x 100; a missing metric, or NaN (written to JSON as null), is NaN, never 0. */
const score = (x: number | null | undefined): number => (x === undefined || x === null || Number.isNaN(x) ? NaN : 100 * x);

/** Per (task, variant): best learning rate by mean float dev score, stats over seeds. */
export function summarize(results: RunResultFile[]): CellSummary[] {
  const groups = new Map<string, RunResultFile[]>();
  for (const r of results) {
    const k = `${r.task}\u0000${r.variant}\u0000${trainExamples(r)}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const cells: CellSummary[] = [];
  for (const rs of groups.values()) {
    const byLr = new Map<number, RunResultFile[]>();
    for (const r of rs) byLr.set(r.lr, [...(byLr.get(r.lr) ?? []), r]);
    // rates compared on the seeds every rate has finished; a rate whose mean is NaN ranks last
    const lrs = [...byLr].sort((a, b) => a[0] - b[0]);
    const common = [...new Set(rs.map((r) => r.seed))].filter((seed) => lrs.every(([, g]) => g.some((r) => r.seed === seed)));
    let best: RunResultFile[] = lrs[0][1];
    let bestMean = -Infinity;
    for (const [, g] of lrs) {
      const m = stat(g.filter((r) => common.includes(r.seed)).map((r) => score(r.best.value))).mean;
      if (!Number.isNaN(m) && m > bestMean) [best, bestMean] = [g, m];
    }
    const runs = [...best].sort((a, b) => a.seed - b.seed);
    const metric = runs[0].best.metric;
    const perSeed = runs.map((r) => {
      const ep = r.epochs.find((e) => e.epoch === r.best.epoch);
      return { seed: r.seed, float: score(r.best.value), integer: r.integer ? score(r.integer.dev[metric]) : null, train: score(ep?.train[metric]) };
    });
    const ints = perSeed.map((p) => p.integer);
    cells.push({
      task: runs[0].task,
      variant: runs[0].variant,
      trainExamples: trainExamples(runs[0]),
      metric,
      lr: runs[0].lr,
      seeds: runs.map((r) => r.seed),
      float: stat(perSeed.map((p) => p.float)),
      integer: ints.every((x) => x !== null) ? stat(ints as number[]) : null,
      train: stat(perSeed.map((p) => p.train)),
      perSeed,
    });
  }
  return cells;
}

/**
 * One cell per task and variant for Table 3: where a campaign holds several training-set sizes
 * (a Figure 2 sweep), the largest.
 */
export function primaryCells(cells: CellSummary[]): CellSummary[] {
  const best = new Map<string, CellSummary>();
  for (const c of cells) {
    const k = `${c.task}\u0000${c.variant}`;
    const b = best.get(k);
    if (!b || c.trainExamples > b.trainExamples) best.set(k, c);
  }
  return cells.filter((c) => best.get(`${c.task}\u0000${c.variant}`) === c);
}

/**
 * The model and recipe a set of runs shares; runs of different checkpoints (sha256), sequence
 * lengths or epoch counts are different experiments and are refused together.
 */
export function experimentOf(runs: RunResultFile[], where: string): { checkpoint: string; seqLen: number; epochs: number } {
  const keyOf = (r: RunResultFile): string => {
    const hyper = (r.provenance.hyper ?? {}) as { seqLen?: number; epochs?: number };
    return JSON.stringify([r.provenance.checkpoint.sha256 ?? r.provenance.checkpoint.kind ?? '?', hyper.seqLen ?? 0, hyper.epochs ?? 0]);
  };
  const groups = new Map<string, string[]>();
  for (const r of runs) groups.set(keyOf(r), [...(groups.get(keyOf(r)) ?? []), r.file]);
  if (groups.size > 1) {
    const list = [...groups].map(([k, fs]) => `${k} (${fs.length} runs, e.g. ${fs[0]})`).join('; ');
    throw new ResultsError(where, 'provenance', `runs of different experiments [checkpoint, seqLen, epochs] are mixed: ${list}`, {
      hint: 'move the stale runs out or re-run them',
    });
  }
  const [checkpoint, seqLen, epochs] = JSON.parse([...groups.keys()][0] ?? '["?",0,0]') as [string, number, number];
  return { checkpoint, seqLen, epochs };
}

/** The runs a cell summarises (its task, variant, learning rate and training-set size). */
export function runsOf(runs: RunResultFile[], c: CellSummary): RunResultFile[] {
  return runs.filter((r) => r.task === c.task && r.variant === c.variant && r.lr === c.lr && trainExamples(r) === c.trainExamples);
}

export interface VariantSummary {
  variant: string;
  tasks: string[];
  /** Seeds present for every task. */
  seeds: number[];
  /** Per seed, the average over tasks of the headline score; then mean ± std over those seeds. */
  float: Stat;
  integer: Stat | null;
}

/** Average over tasks per seed (only seeds every task has), then stats over seeds; Table 3 cells (primaryCells). */
export function averageOverTasks(allCells: CellSummary[], variant: string, tasks: string[]): VariantSummary | null {
  const cells = primaryCells(allCells);
  const mine = tasks.map((t) => cells.find((c) => c.task === t && c.variant === variant));
  if (mine.some((c) => !c)) return null;
  const seeds = mine[0]!.seeds.filter((s) => mine.every((c) => c!.seeds.includes(s)));
  if (seeds.length === 0) return null;
  const avg = (pick: (p: CellSummary['perSeed'][number]) => number | null): number[] | null => {
    const xs: number[] = [];
    for (const s of seeds) {
      let sum = 0;
      for (const c of mine) {
        const v = pick(c!.perSeed.find((p) => p.seed === s)!);
        if (v === null) return null;
        sum += v;
      }
      xs.push(sum / mine.length);
    }
    return xs;
  };
  const ints = avg((p) => p.integer);
  return { variant, tasks, seeds, float: stat(avg((p) => p.float)!), integer: ints ? stat(ints) : null };
}

/** Mean |b_F - b_0| per bias term and layer, averaged over the given runs (the paper's Figure 1); null for no runs. */
export function meanBiasChange(runs: RunResultFile[]): Record<string, number[]> | null {
  if (runs.length === 0) return null;
  const out: Record<string, number[]> = {};
  for (const term of Object.keys(runs[0].biasChange)) {
    const layers = runs[0].biasChange[term].length;
    out[term] = Array.from({ length: layers }, (_, l) => runs.reduce((a, r) => a + (r.biasChange[term]?.[l] ?? NaN), 0) / runs.length);
  }
  return out;
}

/** "mean ± std"; "mean ± —" for a single seed (no spread to report); "—" when there is no figure. */
export const fmtStat = (s: Stat | null, digits = 1): string =>
  s === null || Number.isNaN(s.mean) ? '—' : `${s.mean.toFixed(digits)} ± ${s.n < 2 ? '—' : s.std.toFixed(digits)}`;
