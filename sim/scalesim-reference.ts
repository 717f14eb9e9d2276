/**
 * A literal port of SCALE-Sim v2's compute module (scalesim/compute/operand_matrix.py and
 * systolic_compute_{os,ws,is}.py): it builds the operand, prefetch and demand matrices with the
 * same concatenations, flips, skews and diagonal roll-outs, and counts SRAM accesses from the
 * matrix shapes as SCALE-Sim does. Slow (it holds every matrix); a test oracle for the closed forms
 * of scalesim-memory.ts, for small layers only.
 */
import type { Dataflow } from './config.js';
import type { ConvShape, MemoryConfig, OperandMatrices } from './scalesim-memory.js';

type Mat = number[][];
const full = (r: number, c: number, v = -1): Mat => Array.from({ length: r }, () => new Array<number>(c).fill(v));
const transpose = (m: Mat): Mat => (m.length === 0 ? [] : m[0].map((_, j) => m.map((row) => row[j])));
const slice = (m: Mat, r0: number, r1: number, c0: number, c1: number): Mat => m.slice(r0, r1).map((row) => row.slice(c0, c1));
const hcat = (a: Mat, b: Mat): Mat => a.map((row, i) => [...row, ...b[i]]);
const vcat = (...ms: Mat[]): Mat => ms.flat(1) as Mat;
const flip = (m: Mat): Mat => [...m].reverse();
const padCols = (m: Mat, cols: number): Mat => (m[0].length < cols ? hcat(m, full(m.length, cols - m[0].length)) : m);
const padRows = (m: Mat, rows: number): Mat => (m.length < rows ? vcat(m, full(rows - m.length, m[0].length)) : m);

/** skew_matrix: column c moves down by c rows (rows + cols - 1 rows out). */
function skew(m: Mat): Mat {
  const rows = m.length;
  const cols = m[0].length;
  const out = full(rows + cols - 1, cols);
  for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) out[r + c][c] = m[r][c];
  return out;
}

function rollOut(m: Mat): number[] {
  const M = m.length;
  const N = m[0].length;
  const out: number[] = [];
  for (let d = 0; d < M + N; d++) {
    const maxRow = Math.min(d, M - 1);
    const minRow = Math.max(0, d - N + 1);
    for (let off = 0; off < maxRow - minRow + 1; off++) out.push(m[maxRow - off][d - (maxRow - off)]);
  }
  return out;
}

export function referenceOperands(
  s: ConvShape,
  cfg: Pick<MemoryConfig, 'ifmapOffset' | 'filterOffset' | 'ofmapOffset'>,
): { ifmap: Mat; filter: Mat; ofmap: Mat } {
  const eh = Math.ceil((s.ifmapH - s.filterH + s.strideH) / s.strideH);
  const ew = Math.ceil((s.ifmapW - s.filterW + s.strideW) / s.strideW);
  const win = s.filterH * s.filterW * s.channels;
  const ch = s.channels;
  const ifmap = full(eh * ew, win);
  for (let i = 0; i < eh * ew; i++) {
    for (let j = 0; j < win; j++) {
      const iRow = Math.floor(i / ew) * s.strideH;
      const iCol = (i % ew) * s.strideW;
      const cRow = Math.floor(j / (s.filterW * ch));
      const k = j % (s.filterW * ch);
      const cCol = Math.floor(k / ch);
      if (cRow + iRow >= s.ifmapH || cCol + iCol >= s.ifmapW) continue;
      ifmap[i][j] = cRow * s.ifmapW * ch + cCol * ch + (k % ch) + iRow * s.ifmapW * ch + iCol * ch + cfg.ifmapOffset;
    }
  }
  const filter = full(win, s.filters);
  for (let i = 0; i < win; i++) for (let j = 0; j < s.filters; j++) filter[i][j] = j * win + i + cfg.filterOffset;
  const ofmap = full(eh * ew, s.filters);
  for (let i = 0; i < eh * ew; i++) for (let j = 0; j < s.filters; j++) ofmap[i][j] = s.filters * i + j + cfg.ofmapOffset;
  return { ifmap, filter, ofmap };
}

export interface ReferenceCompute {
  ifmapDemand: Mat;
  filterDemand: Mat;
  ofmapDemand: Mat;
  ifmapPrefetch: number[];
  filterPrefetch: number[];
  reads: { ifmap: number; filter: number; ofmap: number };
}

/** systolic_compute_<df>: prefetch and demand matrices, and the SRAM counts from their shapes. */
export function referenceCompute(df: Dataflow, R: number, C: number, op: { ifmap: Mat; filter: Mat; ofmap: Mat }): ReferenceCompute {
  const I = op.ifmap;
  const F = op.filter;
  const O = op.ofmap;
  const IT = transpose(I);
  const [Sr, Sc, T] =
    df === 'os' ? [I.length, F[0].length, I[0].length] : df === 'ws' ? [I[0].length, F[0].length, I.length] : [I[0].length, I.length, F[0].length];
  const rowFold = Math.ceil(Sr / R);
  const colFold = Math.ceil(Sc / C);
  const reads = { ifmap: 0, filter: 0, ofmap: 0 };
  const id: Mat[] = [];
  const fd: Mat[] = [];
  const od: Mat[] = [];
  let ip: Mat[] = [];
  let fp: Mat[] = [];
  const lim = (s: number, n: number, total: number): number => Math.min(s + n, total);
  if (df === 'os') {
    for (let fr = 0; fr < rowFold; fr++) ip.push(padCols(slice(IT, 0, T, fr * R, lim(fr * R, R, Sr)), R));
    for (let fc = 0; fc < colFold; fc++) fp.push(padCols(slice(F, 0, T, fc * C, lim(fc * C, C, Sc)), C));
    for (let fc = 0; fc < colFold; fc++) {
      for (let fr = 0; fr < rowFold; fr++) {
        const a = slice(IT, 0, T, fr * R, lim(fr * R, R, Sr));
        reads.ifmap += a.length * a[0].length;
        id.push(skew(vcat(padCols(a, R), full(C - 1, R))));
        const b = slice(F, 0, T, fc * C, lim(fc * C, C, Sc));
        reads.filter += b.length * b[0].length;
        fd.push(skew(vcat(padCols(b, C), full(R - 1, C))));
        const o = slice(O, fr * R, lim(fr * R, R, Sr), fc * C, lim(fc * C, C, Sc));
        reads.ofmap += o.length * o[0].length;
        const of = flip(padRows(padCols(o, C), R));
        reads.ofmap += of.length + of[0].length;
        od.push(skew(vcat(full(T - 1, C), of)));
      }
    }
    return {
      ifmapDemand: vcat(...id),
      filterDemand: vcat(...fd),
      ofmapDemand: vcat(...od),
      ifmapPrefetch: rollOut(vcat(...ip)),
      filterPrefetch: rollOut(vcat(...fp)),
      reads,
    };
  }
  if (df === 'ws') {
    for (let fr = 0; fr < rowFold; fr++) ip.push(padCols(slice(I, 0, T, fr * R, lim(fr * R, R, Sr)), R));
    for (let fc = 0; fc < colFold; fc++) fp.push(padCols(slice(F, 0, Sr, fc * C, lim(fc * C, C, Sc)), C));
    for (let fc = 0; fc < colFold; fc++) {
      for (let fr = 0; fr < rowFold; fr++) {
        const a = slice(I, 0, T, fr * R, lim(fr * R, R, Sr));
        reads.ifmap += a.length * a[0].length;
        id.push(skew(vcat(full(R, R), padCols(a, R), full(C - 1, R))));
        const b = slice(F, fr * R, lim(fr * R, R, Sr), fc * C, lim(fc * C, C, Sc));
        reads.filter += b.length * b[0].length;
        fd.push(vcat(flip(padRows(padCols(b, C), R)), full(R + C + T - 2, C)));
        const o = slice(O, 0, T, fc * C, lim(fc * C, C, Sc));
        reads.ofmap += o.length * o[0].length;
        od.push(skew(vcat(full(2 * R - 1, C), padCols(o, C))));
      }
    }
    return {
      ifmapDemand: vcat(...id),
      filterDemand: vcat(...fd),
      ofmapDemand: vcat(...od),
      ifmapPrefetch: rollOut(vcat(...ip)),
      filterPrefetch: vcat(...fp).flat(),
      reads,
    };
  }
  ip = [];
  fp = [];
  for (let fc = 0; fc < colFold; fc++) ip.push(padCols(slice(IT, 0, Sr, fc * C, lim(fc * C, C, Sc)), C));
  for (let fr = 0; fr < rowFold; fr++) fp.push(padCols(transpose(slice(F, fr * R, lim(fr * R, R, Sr), 0, T)), R));
  for (let fc = 0; fc < colFold; fc++) {
    for (let fr = 0; fr < rowFold; fr++) {
      const a = slice(IT, fr * R, lim(fr * R, R, Sr), fc * C, lim(fc * C, C, Sc));
      reads.ifmap += a.length * a[0].length;
      id.push(vcat(flip(padRows(padCols(a, C), R)), full(R + C + T - 2, C)));
      const b = transpose(slice(F, fr * R, lim(fr * R, R, Sr), 0, T));
      reads.filter += b.length * b[0].length;
      fd.push(skew(vcat(full(R, R), padCols(b, R), full(C - 1, R))));
      const o = transpose(slice(O, fc * C, lim(fc * C, C, Sc), 0, T));
      reads.ofmap += o.length * o[0].length;
      od.push(skew(vcat(full(2 * R - 1, C), padCols(o, C))));
    }
  }
  return {
    ifmapDemand: vcat(...id),
    filterDemand: vcat(...fd),
    ofmapDemand: vcat(...od),
    ifmapPrefetch: vcat(...ip).flat(),
    filterPrefetch: rollOut(vcat(...fp)),
    reads,
  };
}

export const referenceMatricesOf = (op: OperandMatrices): { ifmap: Mat; filter: Mat } => ({
  ifmap: Array.from({ length: op.m }, (_, i) => Array.from(op.ifmap.subarray(i * op.k, (i + 1) * op.k))),
  filter: Array.from({ length: op.k }, (_, i) => Array.from(op.filter.subarray(i * op.n, (i + 1) * op.n))),
});
