/**
 * SCALE-Sim v2's memory simulation of one layer, without its matrices: the demand rows the array
 * issues each cycle (scalesim/compute/systolic_compute_{os,ws,is}.py) follow from closed forms of the
 * operand addresses (scalesim/compute/operand_matrix.py), and go through the three buffers of
 * scalesim-buffers.ts in SCALE-Sim's order (double_buffered_scratchpad_mem.py
 * service_memory_requests): row i is issued at cycle i + stalls so far; a row's stall is the largest
 * of the ifmap and filter waits beyond the hit latency and the ofmap wait; Total Cycles is the cycle
 * the last ofmap row is accepted.
 *
 * Two ways to the same reports: row by row, address by address (simulateLayerMemoryByRows, the
 * rules as SCALE-Sim states them), and fold by fold (simulateLayerMemoryByFolds, what runs): where
 * every address of an operand occurs once, a buffer needs of a row only its number of valid words and
 * where they lie in the prefetch order, both closed forms of the row's index in its fold, so only the
 * few rows in which a refill, a drain or a wait can happen are served, and the rows between them in
 * bulk. sim/scalesim-reference.ts builds SCALE-Sim's matrices literally; test/sim/scalesim-memory.test.ts
 * checks the rows against it and the two ways against each other.
 */
import type { Dataflow } from './config.js';
import { UserReadBuffer, EstimateReadBuffer, EstimateEpochs, WriteBuffer, type ReadBufferCounts, type WriteBufferCounts } from './scalesim-buffers.js';

/** A layer as SCALE-Sim holds it (a GEMM M, N, K is ifmap M x K, filter 1 x K, 1 channel, N filters, stride 1). */
export interface ConvShape {
  ifmapH: number;
  ifmapW: number;
  filterH: number;
  filterW: number;
  channels: number;
  filters: number;
  strideH: number;
  strideW: number;
}

export const gemmAsConv = (m: number, n: number, k: number): ConvShape => ({
  ifmapH: m,
  ifmapW: k,
  filterH: 1,
  filterW: k,
  channels: 1,
  filters: n,
  strideH: 1,
  strideW: 1,
});

export interface MemoryConfig {
  rows: number;
  cols: number;
  dataflow: Dataflow;
  mode: 'CALC' | 'USER';
  /** Words per cycle between each SRAM and DRAM in USER mode. */
  bandwidth: number;
  ifmapWords: number;
  filterWords: number;
  ofmapWords: number;
  ifmapOffset: number;
  filterOffset: number;
  ofmapOffset: number;
}

export interface Span {
  startCycle: number;
  stopCycle: number;
}

export interface LayerMemoryResult {
  totalCycles: number;
  stallCycles: number;
  sram: { ifmap: Span & { reads: number }; filter: Span & { reads: number }; ofmap: Span & { writes: number } };
  dram: { ifmap: ReadBufferCounts; filter: ReadBufferCounts; ofmap: WriteBufferCounts };
}

/** The operand matrices of operand_matrix.py as flat arrays: ifmap M x K, filter K x N (-1 = padding). */
export interface OperandMatrices {
  m: number;
  n: number;
  k: number;
  ifmap: Int32Array;
  filter: Int32Array;
  ofmapOffset: number;
}

/** GEMM dimensions of a layer: M output pixels, N filters, K = window size. */
export function layerDims(s: ConvShape): { m: number; n: number; k: number } {
  const eh = Math.ceil((s.ifmapH - s.filterH + s.strideH) / s.strideH);
  const ew = Math.ceil((s.ifmapW - s.filterW + s.strideW) / s.strideW);
  return { m: eh * ew, n: s.filters, k: s.filterH * s.filterW * s.channels };
}

/** The ifmap operand matrix (M x K, -1 = padding) of operand_matrix.py. */
export function ifmapMatrix(s: ConvShape, offset: number): Int32Array {
  const ew = Math.ceil((s.ifmapW - s.filterW + s.strideW) / s.strideW);
  const { m, k } = layerDims(s);
  const ch = s.channels;
  // per window column j: its row and column inside the window and its address offset from the window's corner
  const cRow = new Int32Array(k);
  const cCol = new Int32Array(k);
  const cAddr = new Int32Array(k);
  for (let j = 0; j < k; j++) {
    cRow[j] = Math.floor(j / (s.filterW * ch));
    const rest = j % (s.filterW * ch);
    cCol[j] = Math.floor(rest / ch);
    cAddr[j] = cRow[j] * s.ifmapW * ch + cCol[j] * ch + (rest % ch);
  }
  const ifmap = new Int32Array(m * k);
  for (let i = 0; i < m; i++) {
    const iRow = Math.floor(i / ew) * s.strideH;
    const iCol = (i % ew) * s.strideW;
    const window = iRow * s.ifmapW * ch + iCol * ch + offset;
    const rowLimit = s.ifmapH - iRow;
    const colLimit = s.ifmapW - iCol;
    for (let j = 0, at = i * k; j < k; j++, at++) ifmap[at] = cRow[j] >= rowLimit || cCol[j] >= colLimit ? -1 : cAddr[j] + window;
  }
  return ifmap;
}

export function operandMatrices(s: ConvShape, cfg: Pick<MemoryConfig, 'ifmapOffset' | 'filterOffset' | 'ofmapOffset'>): OperandMatrices {
  const { m, n, k } = layerDims(s);
  const ifmap = ifmapMatrix(s, cfg.ifmapOffset);
  const filter = new Int32Array(k * n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) filter[i * n + j] = j * k + i + cfg.filterOffset;
  return { m, n, k, ifmap, filter, ofmapOffset: cfg.ofmapOffset };
}

/** Array dimensions of a layer on a dataflow (SCALE-Sim's Sr, Sc, T) and the fold counts. */
export function foldGeometry(df: Dataflow, R: number, C: number, op: { m: number; n: number; k: number }) {
  const [sr, sc, t] = df === 'os' ? [op.m, op.n, op.k] : df === 'ws' ? [op.k, op.n, op.m] : [op.k, op.m, op.n];
  const rowFolds = Math.ceil(sr / R);
  const colFolds = Math.ceil(sc / C);
  const foldRows = df === 'os' ? t + R + C - 2 : 2 * R + C + t - 2;
  return { sr, sc, t, rowFolds, colFolds, foldRows };
}

/** Widths of the ifmap, filter and ofmap demand rows. */
export const demandWidths = (df: Dataflow, R: number, C: number): [number, number, number] => (df === 'is' ? [C, R, C] : [R, C, C]);

/** Row t of fold (fc, fr) of the ifmap demand (forEachDemandRow's ifmap rows), into `out`; returns its valid words. */
export function fillIfmapRow(
  df: Dataflow,
  R: number,
  C: number,
  op: Pick<OperandMatrices, 'm' | 'k' | 'ifmap'>,
  T: number,
  fc: number,
  fr: number,
  t: number,
  out: Int32Array,
): number {
  const { m: M, k: K, ifmap } = op;
  let valid = 0;
  if (df === 'os') {
    for (let c = 0; c < R; c++) {
      const u = t - c;
      const mm = fr * R + c;
      const a = u >= 0 && u < T && mm < M ? ifmap[mm * K + u] : -1;
      out[c] = a;
      if (a !== -1) valid++;
    }
  } else if (df === 'ws') {
    for (let c = 0; c < R; c++) {
      const tt = t - c - R;
      const kk = fr * R + c;
      const a = tt >= 0 && tt < T && kk < K ? ifmap[tt * K + kk] : -1;
      out[c] = a;
      if (a !== -1) valid++;
    }
  } else {
    const kk = fr * R + (R - 1 - t);
    for (let c = 0; c < C; c++) {
      const mm = fc * C + c;
      const a = t < R && kk < K && mm < M ? ifmap[mm * K + kk] : -1;
      out[c] = a;
      if (a !== -1) valid++;
    }
  }
  return valid;
}

/** The rows SCALE-Sim's compute module demands, in order: emit(ifmapRow, filterRow, ofmapRow) per cycle. */
export function forEachDemandRow(df: Dataflow, R: number, C: number, op: OperandMatrices, emit: (i: Int32Array, f: Int32Array, o: Int32Array) => void): void {
  const { m: M, n: N, k: K, filter, ofmapOffset } = op;
  const g = foldGeometry(df, R, C, op);
  const T = g.t;
  const [wi, wf, wo] = demandWidths(df, R, C);
  const ri = new Int32Array(wi);
  const rf = new Int32Array(wf);
  const ro = new Int32Array(wo);
  for (let fc = 0; fc < g.colFolds; fc++) {
    for (let fr = 0; fr < g.rowFolds; fr++) {
      for (let t = 0; t < g.foldRows; t++) {
        fillIfmapRow(df, R, C, op, T, fc, fr, t, ri);
        if (df === 'os') {
          for (let c = 0; c < C; c++) {
            const u = t - c;
            const nn = fc * C + c;
            rf[c] = u >= 0 && u < T && nn < N ? filter[u * N + nn] : -1;
            const r = u - (T - 1);
            const mm = fr * R + (R - 1 - r);
            ro[c] = r >= 0 && r < R && mm < M && nn < N ? ofmapOffset + N * mm + nn : -1;
          }
        } else if (df === 'ws') {
          const kk = fr * R + (R - 1 - t);
          for (let c = 0; c < C; c++) {
            const nn = fc * C + c;
            rf[c] = t < R && kk < K && nn < N ? filter[kk * N + nn] : -1;
            const tt = t - c - (2 * R - 1);
            ro[c] = tt >= 0 && tt < T && nn < N ? ofmapOffset + N * tt + nn : -1;
          }
        } else {
          for (let c = 0; c < C; c++) {
            const mm = fc * C + c;
            const tt = t - c - (2 * R - 1);
            ro[c] = tt >= 0 && tt < T && mm < M ? ofmapOffset + N * mm + tt : -1;
          }
          for (let c = 0; c < R; c++) {
            const tt = t - c - R;
            const k2 = fr * R + c;
            rf[c] = tt >= 0 && tt < T && k2 < K ? filter[k2 * N + tt] : -1;
          }
        }
        emit(ri, rf, ro);
      }
    }
  }
}

/** Flatten a virtual rows x cols matrix along its anti-diagonals (the prefetch roll-out of SCALE-Sim's ISSUE #15 fix). */
function rollOut(rows: number, cols: number, get: (r: number, c: number) => number): Int32Array {
  const out = new Int32Array(rows * cols);
  let idx = 0;
  for (let d = 0; d < rows + cols; d++) {
    const maxRow = Math.min(d, rows - 1);
    const minRow = Math.max(0, d - cols + 1);
    for (let r = maxRow; r >= minRow; r--) out[idx++] = get(r, d - r);
  }
  return out;
}

function rowMajor(rows: number, cols: number, get: (r: number, c: number) => number): Int32Array {
  const out = new Int32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = get(r, c);
  return out;
}

/** The ifmap prefetch order (SCALE-Sim's ifmap prefetch matrix, flattened). */
export function ifmapPrefetchOrder(df: Dataflow, R: number, C: number, op: Pick<OperandMatrices, 'm' | 'n' | 'k' | 'ifmap'>): Int32Array {
  const { m: M, k: K, ifmap } = op;
  const g = foldGeometry(df, R, C, op);
  const T = g.t;
  if (df === 'os') {
    return rollOut(g.rowFolds * T, R, (r, c) => {
      const mm = Math.floor(r / T) * R + c;
      return mm < M ? ifmap[mm * K + (r % T)] : -1;
    });
  }
  if (df === 'ws') {
    return rollOut(g.rowFolds * T, R, (r, c) => {
      const kk = Math.floor(r / T) * R + c;
      return kk < K ? ifmap[(r % T) * K + kk] : -1;
    });
  }
  return rowMajor(g.colFolds * K, C, (r, c) => {
    const mm = Math.floor(r / K) * C + c;
    return mm < M ? ifmap[mm * K + (r % K)] : -1;
  });
}

/** The ifmap and filter prefetch orders (SCALE-Sim's prefetch matrices, flattened). */
export function prefetchOrders(df: Dataflow, R: number, C: number, op: OperandMatrices): { ifmap: Int32Array; filter: Int32Array } {
  const { n: N, k: K, filter } = op;
  const g = foldGeometry(df, R, C, op);
  const T = g.t;
  const ifmap = ifmapPrefetchOrder(df, R, C, op);
  if (df === 'os') {
    return {
      ifmap,
      filter: rollOut(g.colFolds * T, C, (r, c) => {
        const nn = Math.floor(r / T) * C + c;
        return nn < N ? filter[(r % T) * N + nn] : -1;
      }),
    };
  }
  if (df === 'ws') {
    return {
      ifmap,
      filter: rowMajor(g.colFolds * K, C, (r, c) => {
        const nn = Math.floor(r / K) * C + c;
        return nn < N ? filter[(r % K) * N + nn] : -1;
      }),
    };
  }
  return {
    ifmap,
    filter: rollOut(g.rowFolds * T, R, (r, c) => {
      const kk = Math.floor(r / T) * R + c;
      return kk < K ? filter[kk * N + (r % T)] : -1;
    }),
  };
}

/** SRAM reads and writes SCALE-Sim's compute module counts (closed forms of systolic_compute_*.py, including OS's extra R + C per fold). */
export function sramCounts(df: Dataflow, R: number, C: number, op: { m: number; n: number; k: number }): { ifmap: number; filter: number; ofmap: number } {
  const { m, n, k } = op;
  const g = foldGeometry(df, R, C, op);
  if (df === 'os') return { ifmap: k * m * g.colFolds, filter: k * n * g.rowFolds, ofmap: m * n + g.rowFolds * g.colFolds * (R + C) };
  if (df === 'ws') return { ifmap: m * k * g.colFolds, filter: k * n, ofmap: m * n * g.rowFolds };
  return { ifmap: k * m, filter: n * k * g.colFolds, ofmap: n * m * g.rowFolds };
}

interface RowSink {
  serviceRow(cycle: number, row: Int32Array, n: number): number;
}

/** Run demand rows through the three buffers as service_memory_requests does. */
export function serveDemand(
  rows: (emit: (i: Int32Array, f: Int32Array, o: Int32Array) => void) => void,
  bufs: { ifmap: RowSink; filter: RowSink; ofmap: RowSink },
): { totalCycles: number; stallCycles: number; sram: [Span, Span, Span] } {
  let i = 0;
  let stall = 0;
  let lastOut = 0;
  const spans: [Span, Span, Span] = [
    { startCycle: NaN, stopCycle: NaN },
    { startCycle: NaN, stopCycle: NaN },
    { startCycle: NaN, stopCycle: NaN },
  ];
  const note = (s: Span, row: Int32Array, out: number): void => {
    for (let j = 0; j < row.length; j++) {
      if (row[j] !== -1) {
        if (Number.isNaN(s.startCycle)) s.startCycle = out;
        s.stopCycle = out;
        return;
      }
    }
  };
  rows((ri, rf, ro) => {
    const cycle = i + stall;
    const oi = bufs.ifmap.serviceRow(cycle, ri, ri.length);
    const of = bufs.filter.serviceRow(cycle, rf, rf.length);
    const oo = bufs.ofmap.serviceRow(cycle, ro, ro.length);
    note(spans[0], ri, oi);
    note(spans[1], rf, of);
    note(spans[2], ro, oo);
    stall += Math.max(oi - cycle - 1, of - cycle - 1, oo - cycle);
    lastOut = oo;
    i++;
  });
  return { totalCycles: lastOut, stallCycles: stall, sram: spans };
}

/**
 * SCALE-Sim's memory simulation of one layer, fold by fold (simulateLayerMemoryByFolds); `demand`,
 * when given, is served row by row and address by address (simulateLayerMemoryByRows).
 */
export function simulateLayerMemory(
  cfg: MemoryConfig,
  shape: ConvShape,
  demand?: { rows: (emit: (i: Int32Array, f: Int32Array, o: Int32Array) => void) => void; prefetch: { ifmap: Int32Array; filter: Int32Array } },
): LayerMemoryResult {
  if (!demand) return simulateLayerMemoryByFolds(cfg, shape);
  return simulateLayerMemoryByRows(cfg, shape, demand);
}

/** Build the buffers of a layer and serve its demand row by row; `demand` defaults to the closed-form row generator. */
export function simulateLayerMemoryByRows(
  cfg: MemoryConfig,
  shape: ConvShape,
  demand?: { rows: (emit: (i: Int32Array, f: Int32Array, o: Int32Array) => void) => void; prefetch: { ifmap: Int32Array; filter: Int32Array } },
): LayerMemoryResult {
  const { rows: R, cols: C, dataflow: df } = cfg;
  const op = operandMatrices(shape, cfg);
  const rows = demand?.rows ?? ((emit: (i: Int32Array, f: Int32Array, o: Int32Array) => void) => forEachDemandRow(df, R, C, op, emit));
  let ifmap: UserReadBuffer | EstimateReadBuffer;
  let filter: UserReadBuffer | EstimateReadBuffer;
  let ofmap: WriteBuffer;
  if (cfg.mode === 'USER') {
    const pf = demand?.prefetch ?? prefetchOrders(df, R, C, op);
    ifmap = new UserReadBuffer(cfg.ifmapWords, cfg.bandwidth, pf.ifmap);
    filter = new UserReadBuffer(cfg.filterWords, cfg.bandwidth, pf.filter);
    ofmap = new WriteBuffer(cfg.ofmapWords, cfg.bandwidth);
  } else {
    const range = (a: Int32Array): [number, number] => {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < a.length; i++) {
        if (a[i] === -1) continue;
        if (a[i] < lo) lo = a[i];
        if (a[i] > hi) hi = a[i];
      }
      return lo === Infinity ? [0, 1] : [lo, hi - lo + 1];
    };
    ifmap = new EstimateReadBuffer(cfg.ifmapWords, 10, ...range(op.ifmap));
    filter = new EstimateReadBuffer(cfg.filterWords, 10, ...range(op.filter));
    ofmap = new WriteBuffer(cfg.ofmapWords, C);
  }
  const served = serveDemand(rows, { ifmap, filter, ofmap });
  if (ifmap instanceof EstimateReadBuffer) ifmap.finish();
  if (filter instanceof EstimateReadBuffer) filter.finish();
  ofmap.finish(served.totalCycles);
  const sram = sramCounts(df, R, C, op);
  return {
    totalCycles: served.totalCycles,
    stallCycles: served.stallCycles,
    sram: {
      ifmap: { ...served.sram[0], reads: sram.ifmap },
      filter: { ...served.sram[1], reads: sram.filter },
      ofmap: { ...served.sram[2], writes: sram.ofmap },
    },
    dram: { ifmap: ifmap.counts(), filter: filter.counts(), ofmap: ofmap.counts() },
  };
}

// ---------------------------------------------------------------------------------------------
// Fold by fold, without addresses: for a layer whose every operand address occurs once (a GEMM, or
// a convolution whose windows neither overlap nor leave the input), what a buffer needs of a demand
// row is how many valid words it has and where they lie in the prefetch order, and both are closed
// forms of the row's index t inside its fold. Rows in which nothing can happen (every line held,
// no drain starts, no word waits) are skipped in bulk; the others are served exactly.
// ---------------------------------------------------------------------------------------------

/** Whether every address of the layer's operand matrices occurs once and none is padding. */
export function isDenseUnique(s: ConvShape): boolean {
  const eh = Math.ceil((s.ifmapH - s.filterH + s.strideH) / s.strideH);
  const ew = Math.ceil((s.ifmapW - s.filterW + s.strideW) / s.strideW);
  const inside = (eh - 1) * s.strideH + s.filterH <= s.ifmapH && (ew - 1) * s.strideW + s.filterW <= s.ifmapW;
  const apart = (eh === 1 || s.strideH >= s.filterH) && (ew === 1 || s.strideW >= s.filterW);
  return inside && apart;
}

/** Valid words per demand row of one operand in one fold, and their running sum, as closed forms of the row index. */
interface RowProfile {
  /** First and last row with a valid word (every row between has one). */
  first: number;
  last: number;
  count(t: number): number;
  /** Valid words in rows [0, t). */
  cum(t: number): number;
}

/** sum over integers x <= y of clamp(x, 0, w) */
function rampSum(y: number, w: number): number {
  if (y <= 0) return 0;
  if (y <= w) return (y * (y + 1)) / 2;
  return (w * (w + 1)) / 2 + (y - w) * w;
}

/** Words c <= x of a tile row of w words: clamp(x + 1, 0, w). */
const upTo = (x: number, w: number): number => (x < 0 ? 0 : x >= w ? w : x + 1);

/** A skewed band: row t holds the words c in [t - a, t - b] of a tile row of w words, |[t - a, t - b] ∩ [0, w - 1]|. */
class Band implements RowProfile {
  readonly first: number;
  readonly last: number;
  constructor(
    private readonly a: number,
    private readonly b: number,
    private readonly w: number,
  ) {
    this.first = b;
    this.last = a + w - 1;
  }
  count(t: number): number {
    return upTo(t - this.b, this.w) - upTo(t - this.a - 1, this.w);
  }
  cum(t: number): number {
    // sum over t' < t of upTo(t' - b, w) is rampSum(t - b, w)
    return rampSum(t - this.b, this.w) - rampSum(t - this.a - 1, this.w);
  }
}

/** Rows first..last hold w words each. */
class Box implements RowProfile {
  constructor(
    readonly first: number,
    readonly last: number,
    private readonly w: number,
  ) {}
  count(t: number): number {
    return t >= this.first && t <= this.last ? this.w : 0;
  }
  cum(t: number): number {
    return this.w * Math.min(Math.max(t - this.first, 0), this.last - this.first + 1);
  }
}

/**
 * A prefetch matrix of `folds` blocks of `blockRows` rows by `cols` columns, the last block with only
 * `lastCols` valid columns (the rest padding), flattened along anti-diagonals (`diagonal`) or by rows.
 * `validIndex` is the number of valid entries before an entry in that order.
 */
class PrefetchMatrix {
  readonly rows: number;
  readonly r0: number;
  readonly lastCols: number;
  readonly size: { length: number; valid: number };

  constructor(
    readonly diagonal: boolean,
    folds: number,
    blockRows: number,
    readonly cols: number,
    total: number,
  ) {
    this.rows = folds * blockRows;
    this.r0 = (folds - 1) * blockRows;
    this.lastCols = total - (folds - 1) * cols;
    this.size = { length: this.rows * cols, valid: this.r0 * cols + (this.rows - this.r0) * this.lastCols };
  }

  /** Entries of rows [r0, r1) x columns [c0, c1) on anti-diagonals before d. */
  private rectBefore(d: number, r0: number, r1: number, c0: number, c1: number): number {
    return rampSum(d - c0 - r0, c1 - c0) - rampSum(d - c0 - r1, c1 - c0);
  }

  /** Valid entries before (r, c) in the flattened order; (r, c) must be valid. */
  validIndex(r: number, c: number): number {
    const { rows, cols, r0, lastCols } = this;
    if (!this.diagonal) return r < r0 ? r * cols + c : r0 * cols + (r - r0) * lastCols + c;
    const d = r + c;
    let before = this.rectBefore(d, 0, rows, 0, cols);
    const cmin = Math.max(0, d - rows + 1);
    let inDiagonal = c - cmin;
    if (lastCols < cols) {
      before -= this.rectBefore(d, r0, rows, lastCols, cols);
      inDiagonal -= Math.max(0, Math.min(c, d - r0 + 1) - Math.max(cmin, lastCols));
    }
    return before + inDiagonal;
  }
}

/**
 * One read operand's demand in one fold: its profile, and where row t's first valid word is in the
 * prefetch order. On a diagonal prefetch matrix, row t reads entries (base + t - shift - c, c) for
 * the tile's columns c (the skew of forEachDemandRow); on a row-major one, row t reads matrix row
 * base - t from its column 0.
 */
class FoldRead {
  constructor(
    readonly p: RowProfile,
    private readonly m: PrefetchMatrix,
    private readonly base: number,
    private readonly shift: number,
    private readonly blockRows: number,
    /** Demand words of this fold repeat those `distance` demand words earlier (Infinity: new words). */
    readonly distance: number,
  ) {}

  /** +1: later rows lie later in the prefetch order; -1: earlier. */
  get dir(): 1 | -1 {
    return this.m.diagonal ? 1 : -1;
  }

  /** Valid index of row t's first word (its words are that and the next count(t) - 1). */
  lo(t: number): number {
    if (!this.m.diagonal) return this.m.validIndex(this.base - t, 0);
    const c = Math.max(0, t - this.shift - this.blockRows + 1);
    return this.m.validIndex(this.base + t - this.shift - c, c);
  }
}

interface FoldDemand {
  ifmap: FoldRead;
  filter: FoldRead;
  ofmap: RowProfile;
}

/** The prefetch matrices of prefetchOrders and the demand of fold (fc, fr), per dataflow (see forEachDemandRow). */
function denseLayout(df: Dataflow, R: number, C: number, op: { m: number; n: number; k: number }) {
  const { m: M, n: N, k: K } = op;
  const g = foldGeometry(df, R, C, op);
  const T = g.t;
  const rowsOf = (fr: number): number => Math.min(R, g.sr - fr * R);
  const colsOf = (fc: number): number => Math.min(C, g.sc - fc * C);
  if (df === 'os') {
    const pi = new PrefetchMatrix(true, g.rowFolds, T, R, M);
    const pf = new PrefetchMatrix(true, g.colFolds, T, C, N);
    return {
      g,
      prefetch: { ifmap: pi, filter: pf },
      fold(fc: number, fr: number): FoldDemand {
        const rv = rowsOf(fr);
        const cv = colsOf(fc);
        return {
          ifmap: new FoldRead(new Band(T - 1, 0, rv), pi, fr * T, 0, T, fc > 0 ? M * K : Infinity),
          filter: new FoldRead(new Band(T - 1, 0, cv), pf, fc * T, 0, T, fr > 0 ? K * cv : Infinity),
          ofmap: new Band(T + R - 2, T - 1 + R - rv, cv),
        };
      },
    };
  }
  if (df === 'ws') {
    const pi = new PrefetchMatrix(true, g.rowFolds, T, R, K);
    const pf = new PrefetchMatrix(false, g.colFolds, K, C, N);
    return {
      g,
      prefetch: { ifmap: pi, filter: pf },
      fold(fc: number, fr: number): FoldDemand {
        const rv = rowsOf(fr);
        const cv = colsOf(fc);
        return {
          ifmap: new FoldRead(new Band(R + T - 1, R, rv), pi, fr * T, R, T, fc > 0 ? M * K : Infinity),
          filter: new FoldRead(new Box(R - rv, R - 1, cv), pf, fc * K + fr * R + R - 1, 0, K, Infinity),
          ofmap: new Band(2 * R + T - 2, 2 * R - 1, cv),
        };
      },
    };
  }
  const pi = new PrefetchMatrix(false, g.colFolds, K, C, M);
  const pf = new PrefetchMatrix(true, g.rowFolds, T, R, K);
  return {
    g,
    prefetch: { ifmap: pi, filter: pf },
    fold(fc: number, fr: number): FoldDemand {
      const rv = rowsOf(fr);
      const cv = colsOf(fc);
      return {
        ifmap: new FoldRead(new Box(R - rv, R - 1, cv), pi, fc * K + fr * R + R - 1, 0, K, Infinity),
        filter: new FoldRead(new Band(R + T - 1, R, rv), pf, fr * T, R, T, fc > 0 ? K * N : Infinity),
        ofmap: new Band(2 * R + T - 2, 2 * R - 1, cv),
      };
    },
  };
}

/** First t in [lo, hi) with pred(t), pred monotone (false then true); hi if none. */
function firstTrue(lo: number, hi: number, pred: (t: number) => boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A read operand's side of the fold loop: which rows must be served exactly, and serving one. */
interface ReadSide {
  beginFold(f: FoldRead, foldRows: number, fc: number, fr: number): void;
  /** First row >= t of the fold that must be served exactly (the fold's row count if none). */
  nextEvent(t: number): number;
  /** Serve row t at `cycle`; returns the cycle it is served. */
  serve(cycle: number, t: number): number;
  /** Whether row t (just served) has a valid word. */
  nonEmpty(t: number): boolean;
  /** The buffer's DRAM counts once every row is served, given the cycle of its first request. */
  counts(firstRequestCycle: number): ReadBufferCounts;
}

class UserSide implements ReadSide {
  private f!: FoldRead;
  private end = 0;
  constructor(readonly buf: UserReadBuffer) {
    buf.begin(0);
  }

  beginFold(f: FoldRead, foldRows: number): void {
    this.f = f;
    this.end = foldRows;
  }

  nonEmpty(t: number): boolean {
    return t >= this.f.p.first && t <= this.f.p.last;
  }

  counts(): ReadBufferCounts {
    return this.buf.counts();
  }

  private lines(t: number): [number, number] {
    const lo = this.f.lo(t);
    return [this.buf.lineOf(lo), this.buf.lineOf(lo + this.f.p.count(t) - 1)];
  }

  nextEvent(t: number): number {
    const { p, dir } = this.f;
    if (t > p.last) return this.end;
    const t0 = Math.max(t, p.first);
    const [l0, l1] = this.lines(t0);
    const pad = this.buf.window;
    if (!pad.holdsAll(l0, l1)) return t0;
    // later rows move monotonically through the prefetch order: quiet while they stay in this held stretch
    const [from, to] = pad.stretchOf(l0);
    const r =
      dir > 0
        ? firstTrue(t0 + 1, p.last + 1, (x) => this.buf.lineOf(this.f.lo(x) + p.count(x) - 1) >= to)
        : firstTrue(t0 + 1, p.last + 1, (x) => this.buf.lineOf(this.f.lo(x)) < from);
    return r > p.last ? this.end : r;
  }

  serve(cycle: number, t: number): number {
    if (this.f.p.count(t) === 0) return cycle + 1;
    const [l0, l1] = this.lines(t);
    return this.buf.serviceLines(cycle, l0, l1);
  }
}

class EstimateSide implements ReadSide {
  private pos = 0;
  private ends: number[] = [];
  private next = 0;
  private end = 0;
  private p!: RowProfile;
  constructor(readonly est: EstimateEpochs) {}

  nonEmpty(t: number): boolean {
    return t >= this.p.first && t <= this.p.last;
  }

  counts(firstRequestCycle: number): ReadBufferCounts {
    return this.est.counts(firstRequestCycle);
  }

  beginFold(f: FoldRead, foldRows: number): void {
    this.p = f.p;
    const length = f.p.cum(foldRows);
    const offsets = this.est.run(this.pos, length, f.distance);
    this.pos += length;
    this.end = foldRows;
    // the rows holding the words that end an epoch
    this.ends = offsets.map((o) => firstTrue(f.p.first, f.p.last + 1, (t) => f.p.cum(t + 1) > o));
    this.next = 0;
  }

  nextEvent(t: number): number {
    while (this.next < this.ends.length && this.ends[this.next] < t) this.next++;
    return this.next < this.ends.length ? this.ends[this.next] : this.end;
  }

  serve(cycle: number, t: number): number {
    if (this.next < this.ends.length && this.ends[this.next] === t) this.est.epochEndedAt(cycle);
    return cycle + 1;
  }
}

/** An operand whose addresses repeat (a convolution's ifmap): every row that may have a valid word is generated and served address by address. */
class AddressSide implements ReadSide {
  private readonly row: Int32Array;
  private p!: RowProfile;
  private end = 0;
  private fc = 0;
  private fr = 0;
  private filled = false;
  constructor(
    readonly buf: UserReadBuffer | EstimateReadBuffer,
    private readonly df: Dataflow,
    private readonly R: number,
    private readonly C: number,
    private readonly op: Pick<OperandMatrices, 'm' | 'k' | 'ifmap'>,
    private readonly T: number,
  ) {
    this.row = new Int32Array(demandWidths(df, R, C)[0]);
    if (buf instanceof UserReadBuffer) buf.begin(0);
  }

  beginFold(f: FoldRead, foldRows: number, fc: number, fr: number): void {
    this.p = f.p;
    this.end = foldRows;
    this.fc = fc;
    this.fr = fr;
  }

  nextEvent(t: number): number {
    return t > this.p.last ? this.end : Math.max(t, this.p.first);
  }

  serve(cycle: number, t: number): number {
    if (t < this.p.first || t > this.p.last) {
      this.filled = false;
      return cycle + 1;
    }
    const row = this.row;
    this.filled = fillIfmapRow(this.df, this.R, this.C, this.op, this.T, this.fc, this.fr, t, row) > 0;
    return this.buf.serviceRow(cycle, row, row.length);
  }

  nonEmpty(): boolean {
    return this.filled;
  }

  counts(): ReadBufferCounts {
    if (this.buf instanceof EstimateReadBuffer) this.buf.finish();
    return this.buf.counts();
  }
}

/** The ofmap's side: the first row >= t at which a word would wait or start a drain, if rows from t are issued at cycle, cycle + 1, ... */
function writeEvent(wb: WriteBuffer, p: RowProfile, t: number, cycle: number, end: number): number {
  if (t > p.last) return end;
  const base = p.cum(t);
  const { draining, idle } = wb.freeBeforeEvent;
  const tIdle = t + Math.max(0, wb.drainEnd - cycle);
  const stop = p.last + 1;
  if (tIdle > t) {
    const r = firstTrue(t, Math.min(tIdle, stop), (x) => p.cum(x + 1) - base > draining);
    if (r < Math.min(tIdle, stop)) return r;
  }
  const r = firstTrue(Math.max(t, tIdle), stop, (x) => p.cum(x + 1) - base > idle);
  return r < stop ? r : end;
}

/**
 * simulateLayerMemory fold by fold: the filter and ofmap (and the ifmap where isDenseUnique holds)
 * through the closed forms above, only the rows where something happens served exactly; a
 * convolution's ifmap address by address.
 */
export function simulateLayerMemoryByFolds(cfg: MemoryConfig, shape: ConvShape): LayerMemoryResult {
  const { rows: R, cols: C, dataflow: df } = cfg;
  const op = layerDims(shape);
  const layout = denseLayout(df, R, C, op);
  const { g } = layout;
  const dense = isDenseUnique(shape);
  const user = cfg.mode === 'USER';
  let ifmap: ReadSide;
  const byAddress = !dense;
  if (dense) {
    ifmap = user
      ? new UserSide(new UserReadBuffer(cfg.ifmapWords, cfg.bandwidth, layout.prefetch.ifmap.size))
      : new EstimateSide(new EstimateEpochs(cfg.ifmapWords, 10));
  } else {
    const withIfmap = { ...op, ifmap: ifmapMatrix(shape, cfg.ifmapOffset) };
    let buf: UserReadBuffer | EstimateReadBuffer;
    if (user) buf = new UserReadBuffer(cfg.ifmapWords, cfg.bandwidth, ifmapPrefetchOrder(df, R, C, withIfmap));
    else {
      let lo = Infinity;
      let hi = -Infinity;
      for (const a of withIfmap.ifmap) {
        if (a === -1) continue;
        if (a < lo) lo = a;
        if (a > hi) hi = a;
      }
      buf = lo === Infinity ? new EstimateReadBuffer(cfg.ifmapWords, 10, 0, 1) : new EstimateReadBuffer(cfg.ifmapWords, 10, lo, hi - lo + 1);
    }
    ifmap = new AddressSide(buf, df, R, C, withIfmap, g.t);
  }
  const filter: ReadSide = user
    ? new UserSide(new UserReadBuffer(cfg.filterWords, cfg.bandwidth, layout.prefetch.filter.size))
    : new EstimateSide(new EstimateEpochs(cfg.filterWords, 10));
  const ofmap = user ? new WriteBuffer(cfg.ofmapWords, cfg.bandwidth) : new WriteBuffer(cfg.ofmapWords, C);
  const spans: [Span, Span, Span] = [
    { startCycle: NaN, stopCycle: NaN },
    { startCycle: NaN, stopCycle: NaN },
    { startCycle: NaN, stopCycle: NaN },
  ];
  /** Rows [t, e) of a profile served quietly from cycle c0 (row t) with output offset off. */
  const quietSpan = (s: Span, p: RowProfile, t: number, e: number, c0: number, off: number): void => {
    const a = Math.max(t, p.first);
    const b = Math.min(e - 1, p.last);
    if (a > b) return;
    if (Number.isNaN(s.startCycle)) s.startCycle = c0 + (a - t) + off;
    s.stopCycle = c0 + (b - t) + off;
  };
  const note = (s: Span, nonEmpty: boolean, out: number): void => {
    if (!nonEmpty) return;
    if (Number.isNaN(s.startCycle)) s.startCycle = out;
    s.stopCycle = out;
  };
  let i = 0;
  let stall = 0;
  let lastOut = 0;
  const rows = g.foldRows;
  for (let fc = 0; fc < g.colFolds; fc++) {
    for (let fr = 0; fr < g.rowFolds; fr++) {
      const fold = layout.fold(fc, fr);
      ifmap.beginFold(fold.ifmap, rows, fc, fr);
      filter.beginFold(fold.filter, rows, fc, fr);
      let t = 0;
      // each side's next event stays valid until its row is served; the ofmap's also until a stall moves the cycles
      let nextI = -1;
      let nextF = -1;
      let nextW = -1;
      let stallW = stall;
      while (t < rows) {
        const cycle = i + stall;
        if (nextI < t) nextI = ifmap.nextEvent(t);
        if (nextF < t) nextF = filter.nextEvent(t);
        if (nextW < t || stallW !== stall) {
          nextW = writeEvent(ofmap, fold.ofmap, t, cycle, rows);
          stallW = stall;
        }
        const e = Math.min(nextI, nextF, nextW);
        if (e > t) {
          quietSpan(spans[0], fold.ifmap.p, t, e, cycle, 1);
          quietSpan(spans[1], fold.filter.p, t, e, cycle, 1);
          quietSpan(spans[2], fold.ofmap, t, e, cycle, 0);
          ofmap.take(fold.ofmap.cum(e) - fold.ofmap.cum(t));
          i += e - t;
          lastOut = cycle + (e - 1 - t);
          t = e;
          if (t === rows) break;
        }
        const c = i + stall;
        if (byAddress && e === nextI && e < Math.min(nextF, nextW)) {
          // only the ifmap (served address by address) has work: its rows up to the others' next event or its first stall
          const until = Math.min(nextF, nextW, fold.ifmap.p.last + 1);
          let r = t;
          let extra = 0;
          while (r < until) {
            const cr = c + (r - t);
            const oi = ifmap.serve(cr, r);
            note(spans[0], ifmap.nonEmpty(r), oi);
            r++;
            if (oi - cr - 1 > 0) {
              extra = oi - cr - 1;
              break;
            }
          }
          quietSpan(spans[1], fold.filter.p, t, r, c, 1);
          quietSpan(spans[2], fold.ofmap, t, r, c, 0);
          ofmap.take(fold.ofmap.cum(r) - fold.ofmap.cum(t));
          lastOut = c + (r - 1 - t);
          i += r - t;
          stall += extra;
          t = r;
          continue;
        }
        const oi = ifmap.serve(c, t);
        const of = filter.serve(c, t);
        const words = fold.ofmap.count(t);
        const oo = ofmap.serviceWords(c, words);
        note(spans[0], ifmap.nonEmpty(t), oi);
        note(spans[1], filter.nonEmpty(t), of);
        note(spans[2], words > 0, oo);
        stall += Math.max(oi - c - 1, of - c - 1, oo - c);
        lastOut = oo;
        i++;
        t++;
      }
    }
  }
  ofmap.finish(lastOut);
  const ci = ifmap.counts(spans[0].startCycle - 1);
  const cf = filter.counts(spans[1].startCycle - 1);
  const sram = sramCounts(df, R, C, op);
  return {
    totalCycles: lastOut,
    stallCycles: stall,
    sram: {
      ifmap: { ...spans[0], reads: sram.ifmap },
      filter: { ...spans[1], reads: sram.filter },
      ofmap: { ...spans[2], writes: sram.ofmap },
    },
    dram: { ifmap: ci, filter: cf, ofmap: ofmap.counts() },
  };
}
