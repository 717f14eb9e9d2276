/**
 * A cycle-stepped model of an R x C systolic MAC array: every PE's registers advance one cycle at a
 * time, operands enter at the edges with the usual skew, and the model computes the actual product
 * C[M x N] = A[M x K] * B[K x N] (B given as N x K, the weight layout). It counts cycles (SCALE-Sim's
 * convention: the index of the last output, folds run back to back, padding PEs idle) and every
 * element fetched from memory, so the closed-form model in cycles.ts can be checked against it.
 * Meant for small shapes only: it costs O(folds * L * R * C).
 */
import type { ArrayShape } from './cycles.js';

export interface SteppedResult {
  c: Int32Array;
  /** Index of the last cycle of the last fold: its last output leaves the (padded) array. */
  lastCycle: number;
  cycles: number;
  weightReads: number;
  inputReads: number;
  outputWrites: number;
}

/** a: M x K row-major, bT: N x K row-major (B transposed). */
export function runStepped(arr: ArrayShape, a: ArrayLike<number>, bT: ArrayLike<number>, m: number, n: number, k: number): SteppedResult {
  const { rows: R, cols: C } = arr;
  const out = new Int32Array(m * n);
  const res = { c: out, lastCycle: -1, cycles: 0, weightReads: 0, inputReads: 0, outputWrites: 0 };
  const A = (i: number, kk: number): number => a[i * k + kk];
  const B = (kk: number, j: number): number => bT[j * k + kk];
  let clock = 0;
  if (arr.dataflow === 'os') {
    // PE(i, j) accumulates C[m0+i][n0+j]; A rows enter from the left, B columns from the top.
    for (let n0 = 0; n0 < n; n0 += C) {
      for (let m0 = 0; m0 < m; m0 += R) {
        const aReg = new Float64Array(R * C);
        const bReg = new Float64Array(R * C);
        const acc = new Float64Array(R * C);
        const L = k + R + C - 2;
        for (let t = 0; t < L; t++) {
          for (let i = R - 1; i >= 0; i--) {
            for (let j = C - 1; j >= 0; j--) {
              let av: number;
              if (j === 0) {
                const kk = t - i;
                const real = kk >= 0 && kk < k && m0 + i < m;
                av = real ? A(m0 + i, kk) : 0;
                if (real) res.inputReads++;
              } else av = aReg[i * C + j - 1];
              let bv: number;
              if (i === 0) {
                const kk = t - j;
                const real = kk >= 0 && kk < k && n0 + j < n;
                bv = real ? B(kk, n0 + j) : 0;
                if (real) res.weightReads++;
              } else bv = bReg[(i - 1) * C + j];
              // Registers are updated bottom-right first, so each PE reads its neighbours' values of the previous cycle.
              aReg[i * C + j] = av;
              bReg[i * C + j] = bv;
              acc[i * C + j] += av * bv;
            }
          }
          if (t === L - 1) res.lastCycle = clock + t;
        }
        for (let i = 0; i < R && m0 + i < m; i++) {
          for (let j = 0; j < C && n0 + j < n; j++) {
            out[(m0 + i) * n + n0 + j] = acc[i * C + j];
            res.outputWrites++;
          }
        }
        clock += L;
      }
    }
  } else {
    // WS: B tile (K rows x N cols) stationary, A rows streamed over T = M.
    // IS: A tile (K rows x M cols) stationary, B columns streamed over T = N.
    const ws = arr.dataflow === 'ws';
    const sc = ws ? n : m;
    const T = ws ? m : n;
    const stat = (kk: number, col: number): number => (ws ? B(kk, col) : A(col, kk));
    const stream = (time: number, kk: number): number => (ws ? A(time, kk) : B(kk, time));
    for (let c0 = 0; c0 < sc; c0 += C) {
      for (let k0 = 0; k0 < k; k0 += R) {
        const w = new Float64Array(R * C);
        // Load: R cycles, rows shift down; the row injected at cycle t ends in PE row R-1-t.
        for (let t = 0; t < R; t++) {
          for (let i = R - 1; i >= 1; i--) for (let j = 0; j < C; j++) w[i * C + j] = w[(i - 1) * C + j];
          const row = R - 1 - t;
          for (let j = 0; j < C; j++) {
            const real = k0 + row < k && c0 + j < sc;
            w[j] = real ? stat(k0 + row, c0 + j) : 0;
            if (real) {
              if (ws) res.weightReads++;
              else res.inputReads++;
            }
          }
        }
        const s = R;
        const L = 2 * R + C + T - 2;
        const xReg = new Float64Array(R * C);
        const pReg = new Float64Array(R * C);
        for (let t = s; t < L; t++) {
          for (let i = R - 1; i >= 0; i--) {
            for (let j = C - 1; j >= 0; j--) {
              let xv: number;
              if (j === 0) {
                const time = t - s - i;
                const real = time >= 0 && time < T && k0 + i < k;
                xv = real ? stream(time, k0 + i) : 0;
                if (real) {
                  if (ws) res.inputReads++;
                  else res.weightReads++;
                }
              } else xv = xReg[i * C + j - 1];
              const above = i === 0 ? 0 : pReg[(i - 1) * C + j];
              xReg[i * C + j] = xv;
              pReg[i * C + j] = above + xv * w[i * C + j];
            }
          }
          // Bottom row: the partial sum of column j for time index t - s - (R-1) - j leaves the array.
          for (let j = 0; j < C && c0 + j < sc; j++) {
            const time = t - s - (R - 1) - j;
            if (time < 0 || time >= T) continue;
            const [mi, ni] = ws ? [time, c0 + j] : [c0 + j, time];
            out[mi * n + ni] += pReg[(R - 1) * C + j];
            res.outputWrites++;
          }
        }
        // The fold ends when column C-1 (real or padding, as in SCALE-Sim's demand matrices) drains.
        res.lastCycle = clock + L - 1;
        clock += L;
      }
    }
  }
  res.cycles = clock;
  return res;
}
