/**
 * Closed-form cycle and access model of a GEMM on an R x C systolic array, in SCALE-Sim v2's
 * convention (CALC mode): a GEMM C[M x N] = A[M x K] * B[K x N] maps to
 *   OS: Sr = M, Sc = N, T = K; per fold L = T + R + C - 2
 *   WS: Sr = K, Sc = N, T = M; per fold L = 2R + C + T - 2  (R cycles to load the weights)
 *   IS: Sr = K, Sc = M, T = N; per fold L = 2R + C + T - 2  (R cycles to load the inputs)
 * folds = ceil(Sr / R) * ceil(Sc / C); SCALE-Sim reports total = folds * L - 1 (the index of the
 * last output write); this tool counts cycles as folds * L. Fill and drain are inside L.
 *
 * On top of SCALE-Sim's ideal memories, this model adds the limits a ROM design has: the memory
 * that holds the weights (ROM banks, SRAM or the activation buffer for attention) delivers a fixed
 * number of bits per cycle, and the activation buffers have a bandwidth; each feeds the array
 * through a double-buffered scratchpad (scratchpad.ts), and a fold whose tile is not loaded when
 * the previous fold ends waits for it.
 */
import type { Dataflow } from './config.js';
import { maxPrefixSumPeriodic } from './scratchpad.js';

export interface ArrayShape {
  rows: number;
  cols: number;
  dataflow: Dataflow;
}

/** GEMM in SCALE-Sim's M, N, K. */
export interface GemmShape {
  m: number;
  n: number;
  k: number;
}

export interface FoldPlan {
  sr: number;
  sc: number;
  t: number;
  rowFolds: number;
  colFolds: number;
  folds: number;
  /** Cycles per fold (fill and drain included). */
  foldCycles: number;
  /** Fold length SCALE-Sim divides by in its compute utilisation. */
  utilCycles: number;
}

export function planFolds(a: ArrayShape, g: GemmShape): FoldPlan {
  const { rows: R, cols: C } = a;
  const [sr, sc, t] = a.dataflow === 'os' ? [g.m, g.n, g.k] : a.dataflow === 'ws' ? [g.k, g.n, g.m] : [g.k, g.m, g.n];
  const rowFolds = Math.ceil(sr / R);
  const colFolds = Math.ceil(sc / C);
  const foldCycles = a.dataflow === 'os' ? t + R + C - 2 : 2 * R + C + t - 2;
  const utilCycles = a.dataflow === 'os' ? foldCycles : 2 * R + 2 * C + t - 3;
  return { sr, sc, t, rowFolds, colFolds, folds: rowFolds * colFolds, foldCycles, utilCycles };
}

/** Element accesses of one GEMM (matches SCALE-Sim's access report in CALC mode). */
export interface GemmAccesses {
  /** Elements of B (the weights) fetched into the array. */
  weightReads: number;
  /** Elements of A (the activations) fetched into the array. */
  inputReads: number;
  /** Output elements written (partial sums when the reduction is folded). */
  outputWrites: number;
}

export function gemmAccesses(a: ArrayShape, g: GemmShape): GemmAccesses {
  const p = planFolds(a, g);
  switch (a.dataflow) {
    case 'os': // A streamed per column fold, B streamed per row fold, outputs complete in place
      return { weightReads: g.k * g.n * p.rowFolds, inputReads: g.m * g.k * p.colFolds, outputWrites: g.m * g.n };
    case 'ws': // B stationary (read once), A streamed per column fold, partial sums per row fold
      return { weightReads: g.k * g.n, inputReads: g.m * g.k * p.colFolds, outputWrites: g.m * g.n * p.rowFolds };
    case 'is': // A stationary (read once), B streamed per column fold, partial sums per row fold
      return { weightReads: g.k * g.n * p.colFolds, inputReads: g.m * g.k, outputWrites: g.m * g.n * p.rowFolds };
  }
}

export interface SimpleSum {
  (xs: number[]): number;
}

/** Left-to-right float sum (CPython <= 3.11 `sum`). */
export const naiveSum: SimpleSum = (xs) => xs.reduce((s, x) => s + x, 0);

/** Neumaier compensated sum (CPython >= 3.12 `sum` of floats). */
export const neumaierSum: SimpleSum = (xs) => {
  let s = 0;
  let c = 0;
  for (const x of xs) {
    const t = s + x;
    c += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
    s = t;
  }
  return s + c;
};

export interface ScaleSimMetrics {
  totalCycles: number;
  stallCycles: number;
  overallUtilPct: number;
  mappingEfficiencyPct: number;
  computeUtilPct: number;
}

/** SCALE-Sim v2 CALC-mode COMPUTE_REPORT metrics of one GEMM, in its evaluation order. */
export function scaleSimMetrics(a: ArrayShape, g: GemmShape, sum: SimpleSum = naiveSum): ScaleSimMetrics {
  const p = planFolds(a, g);
  const { rows: R, cols: C } = a;
  const me: number[] = [];
  const cu: number[] = [];
  for (let fc = 0; fc < p.colFolds; fc++) {
    for (let fr = 0; fr < p.rowFolds; fr++) {
      const used = Math.min(R, p.sr - fr * R) * Math.min(C, p.sc - fc * C);
      me.push(used / (R * C));
      cu.push((used * p.t) / (R * C * p.utilCycles));
    }
  }
  const total = p.folds * p.foldCycles - 1;
  return {
    totalCycles: total,
    stallCycles: 0,
    overallUtilPct: (g.m * g.n * g.k * 100) / (total * R * C),
    mappingEfficiencyPct: (sum(me) / me.length) * 100,
    computeUtilPct: (sum(cu) / cu.length) * 100,
  };
}

/** Bits per cycle the memories deliver to the array for one GEMM. */
export interface FeedLimits {
  /** Bits per cycle of the memory holding B (ROM banks, weight SRAM or the activation buffer). */
  weightBitsPerCycle: number;
  /** Bits per cycle of the activation buffers (A reads plus output writes). */
  bufferBitsPerCycle: number;
  weightBits: number;
  inputBits: number;
  /** Bits per output written: 32 for partial sums of a folded reduction, else the output width. */
  outputBits: number;
}

export interface GemmCycles {
  plan: FoldPlan;
  accesses: GemmAccesses;
  /** Cycles without stalls (folds * L). */
  computeCycles: number;
  /** Cycles the weight memory and the activation buffers would each add by themselves. */
  weightStallCycles: number;
  bufferStallCycles: number;
  /** Stall cycles charged: the larger of the two. */
  stallCycles: number;
  cycles: number;
  /** MACs / (cycles * R * C). */
  utilization: number;
  macs: number;
}

/**
 * Cycles of one GEMM with memory limits. Each memory feeds the array through a double-buffered
 * scratchpad of one fold's tile (scratchpad.ts, the mechanism SCALE-Sim's USER mode uses too): the
 * first tile is loaded before the GEMM starts, the next tile loads while a fold computes, loads run
 * back to back, and fold k starts when fold k-1 is done and tile k has arrived. A memory that needs
 * F_k = ceil(bits_k / bandwidth) cycles for tile k stalls the GEMM by the largest prefix sum of
 * F_k - L (k >= 1); the weight memory and the activation buffers load in parallel, so the GEMM
 * stalls by the larger of the two (exact, not a bound). Folds run in SCALE-Sim's order (column folds
 * outer, row folds inner) and come in at most four classes, so this is O(1) per GEMM.
 */
export function gemmCycles(a: ArrayShape, g: GemmShape, f: FeedLimits): GemmCycles {
  const plan = planFolds(a, g);
  const macs = g.m * g.n * g.k;
  const weightStall = feedStallCycles(a, plan, (ru, cu) => Math.ceil((foldWeightElements(a.dataflow, ru, cu, plan.t) * f.weightBits) / f.weightBitsPerCycle));
  const bufferStall = feedStallCycles(a, plan, (ru, cu) => Math.ceil(foldBufferBits(a.dataflow, ru, cu, plan.t, f) / f.bufferBitsPerCycle));
  const computeCycles = plan.folds * plan.foldCycles;
  const stallCycles = Math.max(weightStall, bufferStall);
  const cycles = computeCycles + stallCycles;
  return {
    plan,
    accesses: gemmAccesses(a, g),
    computeCycles,
    weightStallCycles: weightStall,
    bufferStallCycles: bufferStall,
    stallCycles,
    cycles,
    utilization: macs / (cycles * a.rows * a.cols),
    macs,
  };
}

/**
 * Stall of one memory feeding the folds of `plan` through a double-buffered tile scratchpad, where
 * `loadCycles(ru, cu)` is the load time of a fold's tile: max(0, max_j sum_{k=1..j} (F_k - L)).
 */
export function feedStallCycles(a: ArrayShape, plan: FoldPlan, loadCycles: (ru: number, cu: number) => number): number {
  const L = plan.foldCycles;
  const n = plan.rowFolds;
  const lastRu = plan.sr - (n - 1) * a.rows;
  const edgeCols = plan.sc - Math.floor(plan.sc / a.cols) * a.cols;
  const periods = edgeCols > 0 ? plan.colFolds - 1 : plan.colFolds;
  const z = (ru: number, cu: number): number => loadCycles(ru, cu) - L;
  const [fa, fb] = [z(a.rows, a.cols), z(lastRu, a.cols)];
  const [ea, eb] = edgeCols > 0 ? [z(a.rows, edgeCols), z(lastRu, edgeCols)] : [0, 0];
  const best = maxPrefixSumPeriodic(n, fa, fb, periods, edgeCols > 0, ea, eb);
  // the first tile is loaded before the GEMM: drop the first fold's term
  const first = periods > 0 ? (n > 1 ? fa : fb) : n > 1 ? ea : eb;
  return Math.max(0, best - first);
}

/** Weight (B) elements one fold fetches: ru x cu stationary tile (WS), or streamed over T. */
export function foldWeightElements(df: Dataflow, ru: number, cu: number, t: number): number {
  if (df === 'ws') return ru * cu; // Sr = K rows x Sc = N cols of B
  if (df === 'os') return t * cu; // K x (N part)
  return ru * t; // IS: (K part) x N streamed
}

function foldBufferBits(df: Dataflow, ru: number, cu: number, t: number, f: FeedLimits): number {
  if (df === 'ws') return t * ru * f.inputBits + t * cu * f.outputBits; // A streamed (M x K part), outputs M x (N part)
  if (df === 'os') return t * ru * f.inputBits + ru * cu * f.outputBits; // A streamed, outputs in place
  return ru * cu * f.inputBits + t * cu * f.outputBits; // IS: A tile stationary, outputs N x (M part)
}
