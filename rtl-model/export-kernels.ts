/**
 * rtl-model/export-kernels.ts: the exporter's inner loops over every weight (quantize.ts calls
 * them): symmetric int8 quantization of a weight matrix's rows, from a materialized tensor or read
 * a row at a time from a lazy one (FloatModel.lazy), and the per-value rounding. Written for speed
 * (typed arrays, no per-element closures, a Math.round whose branch is predictable), each exactly
 * equal to the plain q = clamp(Math.round(x / scale), -127, 127): test/rtl-model/export-kernels.test.ts.
 */
import { WEIGHT_MAX } from './spec/index.js';
import type { LazyTensors } from './float-model.js';

/**
 * Symmetric int8 quantization of `rows` rows: scale = max|row| / 127 (or the given scales),
 * q = clamp(round(x / scale), -127, 127). Returns the scales and how many values were clamped.
 */
export function quantizeWeightRows(f: Float32Array, out: Int8Array, rows: number, given?: Float64Array): { scales: Float64Array; clamped: number } {
  const cols = f.length / rows;
  const scales = given ?? new Float64Array(rows);
  let clamped = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    if (given) clamped += quantizeRow(f, o, out, o, cols, 1 / scales[r]);
    else {
      scales[r] = weightScale(maxAbsRange(f, o, o + cols));
      quantizeOwnRow(f, o, out, o, cols, 1 / scales[r]);
    }
  }
  return { scales, clamped };
}

/** Values a lazy tensor is read in at a time (a row, or a slice of a row longer than this). */
const LAZY_CHUNK = 16384;

/**
 * quantizeWeightRows of a lazy tensor, read a row (or a slice of one) at a time instead of
 * materialized: the same values through the same functions, so the same scales and integers.
 * A row longer than LAZY_CHUNK (an embedding table, one scale for the whole table) is read twice,
 * once for its largest magnitude and once to quantize.
 */
export function quantizeLazyRows(src: LazyTensors, name: string, out: Int8Array, rows: number): Float64Array {
  const cols = out.length / rows;
  const scales = new Float64Array(rows);
  const buf = new Float32Array(Math.min(cols, LAZY_CHUNK));
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = 0;
    for (let c = 0; c < cols; c += buf.length) {
      const n = Math.min(buf.length, cols - c);
      src.read(name, o + c, n === buf.length ? buf : buf.subarray(0, n));
      m = Math.max(m, maxAbsRange(buf, 0, n));
      if (n === cols) {
        // the whole row is in buf: quantize it now
        scales[r] = weightScale(m);
        quantizeOwnRow(buf, 0, out, o, n, 1 / scales[r]);
      }
    }
    if (cols > buf.length) {
      scales[r] = weightScale(m);
      const inv = 1 / scales[r];
      for (let c = 0; c < cols; c += buf.length) {
        const n = Math.min(buf.length, cols - c);
        src.read(name, o + c, n === buf.length ? buf : buf.subarray(0, n));
        quantizeOwnRow(buf, 0, out, o + c, n, inv);
      }
    }
  }
  return scales;
}

/** max|f[o..e)|. */
function maxAbsRange(f: Float32Array, o: number, e: number): number {
  let m = 0;
  for (let i = o; i < e; i++) {
    const v = Math.abs(f[i]);
    if (v > m) m = v;
  }
  return m;
}

/** The int8 weight scale of values whose largest magnitude is m: m / 127 (1 for all zeros). */
const weightScale = (m: number): number => (m > 0 ? m / WEIGHT_MAX : 1);

/**
 * out[o + k] = clamp(Math.round(f[fo + k] * inv), -127, 127) for k < n; returns how many were clamped.
 * Math.round, written so that its branch is almost never taken (V8's own takes one at random on
 * the sign, which costs a misprediction per value): q = floor(x + 0.5) is Math.round(x) or, when
 * x + 0.5 rounds up across an integer (x just below a half-integer), one more, which x < q - 0.5
 * (exact for |q| < 2^52) detects. NaN stays NaN and stores 0, as Math.round's does.
 */
function quantizeRow(f: Float32Array, fo: number, out: Int8Array, o: number, n: number, inv: number): number {
  let clamped = 0;
  const d = fo - o;
  for (let i = o, e = o + n; i < e; i++) {
    const x = f[i + d] * inv;
    let q = Math.floor(x + 0.5);
    if (x < q - 0.5) q -= 1;
    if (q > WEIGHT_MAX) {
      q = WEIGHT_MAX;
      clamped++;
    } else if (q < -WEIGHT_MAX) {
      q = -WEIGHT_MAX;
      clamped++;
    }
    out[i] = q;
  }
  return clamped;
}

/**
 * quantizeRow at the row's own scale (inv = 1 / (max|row| / 127)), where no value can clamp:
 * |x| <= 127 (1 + 2^-53)^3 < 127.5 (three roundings of relative error <= 2^-53 each, all normal
 * since the largest float32 magnitude over 127 is a normal double), so Math.round(x) is within
 * ±127; a NaN or infinite value gives NaN, stored 0, as quantizeRow does. The same integers as
 * quantizeRow, without its clamp tests, which cost as much as the rest of the loop.
 */
function quantizeOwnRow(f: Float32Array, fo: number, out: Int8Array, o: number, n: number, inv: number): void {
  const d = fo - o;
  for (let i = o, e = o + n; i < e; i++) {
    const x = f[i + d] * inv;
    let q = Math.floor(x + 0.5);
    if (x < q - 0.5) q -= 1;
    out[i] = q;
  }
}
