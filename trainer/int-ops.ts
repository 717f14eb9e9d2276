/**
 * The integer spec's primitives as TensorFlow.js tensor ops, exact on every backend.
 *
 * Only these tfjs ops are used on int32 tensors: add, sub, mul (|result| < 2^31), bitwiseAnd,
 * floorDiv, min/max, comparisons, where, gather, sum/max reductions, slice/reshape/transpose,
 * and matMul on float32 copies of int8 data. Their exactness argument (docs/integer-spec.md):
 *  - int32 add/sub/mul/sum are exact while results stay below 2^31 (cpu computes in doubles and
 *    stores int32; wasm and TensorFlow compute in int32); every call site below states its bound;
 *  - floorDiv on the wasm backend computes floor(float32(a) / float32(b)); it is used only where
 *    that is exact: |a| < 2^24 with 1 <= b < 2^24 (then float32 rounding cannot cross an integer),
 *    or a a multiple of 2^16 with |a| <= 2^31 divided by 2^16 (at most 16 significant bits);
 *  - matMul runs on float32 operands holding int8/uint8 values (exact, also under TF32), over
 *    chunks of MATMUL_K_CHUNK = 512 so every partial sum is an integer of magnitude <= 2^24, and
 *    the chunk results are added in int32.
 */
import * as tf from '@tensorflow/tfjs-core';
import { INT8_MAX, INT8_MIN, MATMUL_K_CHUNK, RECIP_DIVIDEND_LOG2, RECIP_DIVISOR_BITS } from '../rtl-model/spec/index.js';

type T = tf.Tensor;
const int = (v: number): tf.Scalar => tf.scalar(v, 'int32');

/** 2^0 .. 2^30 as an int32 table, for per-element powers of two. */
let pow2Table: tf.Tensor1D | null = null;
function pow2(k: T): T {
  if (!pow2Table || pow2Table.isDisposed)
    pow2Table = tf.keep(
      tf.tensor1d(
        Array.from({ length: 31 }, (_, i) => 2 ** i),
        'int32',
      ),
    );
  return tf.gather(pow2Table, k);
}

/** x = hi * 2^16 + lo with lo in [0, 2^16), hi in [-2^15, 2^15); exact for every int32 x. */
export function split16(x: T): [T, T] {
  const lo = tf.bitwiseAnd(x, tf.fill(x.shape, 0xffff, 'int32'));
  // x - lo is a multiple of 2^16 of magnitude <= 2^31: exact in float32, exact division.
  const hi = tf.floorDiv(tf.sub(x, lo), int(0x10000));
  return [hi, lo];
}

/** floor(x / 2^k) for int32 x and k in [1, 30] (k broadcastable to x). */
export function floorShift(x: T, k: T | number, range?: ShiftRange): T {
  const kt = typeof k === 'number' ? int(k) : k;
  const known = typeof k === 'number' ? { min: k, max: k } : range;
  const [hx, lx] = split16(x);
  // k <= 16: hx * 2^(16-k) (|.| <= 2^30) + floor(lx / 2^k) (lx < 2^16: exact)
  const low = (): T => {
    const kLow = tf.minimum(kt, int(16));
    return tf.add(tf.mul(hx, pow2(tf.sub(int(16), kLow))), tf.floorDiv(lx, pow2(kLow)));
  };
  // k > 16: floor(hx / 2^(k-16)) (|hx| <= 2^15: exact)
  const high = (): T => tf.floorDiv(hx, pow2(tf.sub(tf.maximum(kt, int(17)), int(16))));
  if (known && known.max <= 16) return low();
  if (known && known.min >= 17) return high();
  return broadcastWhere(tf.lessEqual(kt, int(16)), low(), high());
}

function broadcastWhere(c: T, a: T, b: T): T {
  const shape = tf.broadcast_util.assertAndGetBroadcastShape(tf.broadcast_util.assertAndGetBroadcastShape(c.shape, a.shape), b.shape);
  return tf.where(broadcastFast(c, shape), broadcastFast(a, shape), broadcastFast(b, shape));
}

/**
 * x broadcast to shape. When x's shape is a trailing suffix of shape, by adding it to zeros (the
 * wasm backend's fast binary path, an order of magnitude faster than its Tile); else broadcastTo.
 */
function broadcastFast(x: T, shape: number[]): T {
  if (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  const off = shape.length - x.shape.length;
  if (off < 0 || !x.shape.every((d, i) => d === shape[off + i])) return tf.broadcastTo(x, shape);
  if (x.dtype === 'bool') return tf.cast(tf.add(tf.zeros(shape, 'int32'), tf.cast(x, 'int32')), 'bool');
  return tf.add(tf.zeros(shape, x.dtype), x);
}

/**
 * rq(v, M, sh) = floor((v*M + 2^(sh-1)) / 2^sh) for int32 v, |M| <= 2^15 - 1, sh in [1, 46].
 * v*M (up to 2^46) never exists as a number: with v = hi*2^16 + lo, P_hi = hi*M (|.| < 2^30)
 * and P_lo = lo*M (|.| < 2^31); P_lo = q*2^16 + r; H = P_hi + q; v*M = H*2^16 + r, 0 <= r < 2^16.
 *  sh >= 17: result = floor((H + 2^(sh-17)) / 2^(sh-16))                   (|.| < 2^31)
 *  sh <= 16: result = H*2^(16-sh) + floor((r + 2^(sh-1)) / 2^sh)          (r + 2^15 < 2^24)
 * The sh <= 16 branch needs |result| < 2^30, which each such site guarantees (spec bounds).
 */
export function rqT(v: T, mult: T | number, shift: T | number, range?: ShiftRange): T {
  const m = typeof mult === 'number' ? int(mult) : mult;
  const sh = typeof shift === 'number' ? int(shift) : shift;
  const known = typeof shift === 'number' ? { min: shift, max: shift } : range;
  const [hi, lo] = split16(v);
  const pHi = tf.mul(hi, m);
  const pLo = tf.mul(lo, m);
  const [q, r] = split16(pLo);
  const h = tf.add(pHi, q);
  // The branch is chosen per element by sh; when the site's shifts (constants of the image) are
  // known to lie on one side of 17, only that branch is computed.
  const branchA = (): T => {
    const shA = tf.maximum(sh, int(17));
    // floorShift takes k <= 30; sh - 16 <= 30 since sh <= 46.
    return floorShift(
      tf.add(h, pow2(tf.sub(shA, int(17)))),
      tf.sub(shA, int(16)),
      known ? { min: Math.max(known.min, 17) - 16, max: Math.max(known.max, 17) - 16 } : undefined,
    );
  };
  const branchB = (): T => {
    const shB = tf.minimum(sh, int(16));
    return tf.add(tf.mul(h, pow2(tf.sub(int(16), shB))), tf.floorDiv(tf.add(r, pow2(tf.sub(shB, int(1)))), pow2(shB)));
  };
  if (known && known.min >= 17) return branchA();
  if (known && known.max <= 16) return branchB();
  return broadcastWhere(tf.greaterEqual(sh, int(17)), branchA(), branchB());
}

/** Known bounds of a tensor of shifts (from the image's constants), to skip a branch. */
export interface ShiftRange {
  min: number;
  max: number;
}

export function clamp(x: T, lo: number, hi: number): T {
  return tf.minimum(tf.maximum(x, int(lo)), int(hi));
}

export const clampInt8 = (x: T): T => clamp(x, INT8_MIN, INT8_MAX);

/** Number of bits of x in [0, 2^31): sum over k of (x >= 2^k). */
export function bitLengthT(x: T): T {
  let b = tf.zerosLike(x);
  for (let k = 0; k <= 30; k++) b = tf.add(b, tf.cast(tf.greaterEqual(x, int(2 ** k)), 'int32'));
  return b;
}

/** floor(sqrt(n)) for n in [0, 2^31): set bits from 2^15 down, keeping cand^2 <= n (cand <= 46340). */
export function isqrtT(n: T): T {
  let res = tf.zerosLike(n);
  for (let bit = 15; bit >= 0; bit--) {
    const cand = tf.add(res, int(2 ** bit));
    const c = tf.minimum(cand, int(46340)); // 46340^2 = 2147395600 < 2^31
    const ok = tf.logicalAnd(tf.lessEqual(cand, int(46340)), tf.lessEqual(tf.mul(c, c), n));
    res = tf.where(ok, cand, res);
  }
  return res;
}

/** recipNormalized: (floor(2^23 / xn), b) with xn the 12-bit mantissa of x >= 1. */
export function recipNormalizedT(x: T): { recip: T; b: T } {
  const b = bitLengthT(x);
  const up = tf.mul(x, pow2(tf.sub(int(RECIP_DIVISOR_BITS), tf.minimum(b, int(RECIP_DIVISOR_BITS)))));
  const down = floorShift(x, tf.maximum(tf.sub(b, int(RECIP_DIVISOR_BITS)), int(1)));
  const xn = tf.where(tf.lessEqual(b, int(RECIP_DIVISOR_BITS)), up, down);
  // 2^23 and xn < 2^12 are both below 2^24: float32 floorDiv is exact.
  const recip = tf.floorDiv(tf.fill(x.shape, 2 ** RECIP_DIVIDEND_LOG2, 'int32'), xn);
  return { recip, b };
}

/**
 * Exact int8 matmul: a [..., M, K] times b [..., K, N] -> int32 [..., M, N]. Operands hold
 * int8/uint8 values as int32; products are at most 2^15 in magnitude. (b is not transposed on the
 * fly: the wasm backend's transposed-operand path is an order of magnitude slower.)
 */
export function matmul(a: T, b: T | T[]): T {
  const k = a.shape[a.shape.length - 1];
  const chunks = Array.isArray(b) ? b : splitK(b);
  const lens = chunks.map((bs) => bs.shape[bs.shape.length - 2]);
  for (const len of lens) if (len > MATMUL_K_CHUNK) throw new RangeError(`matmul: a K chunk of ${len} exceeds ${MATMUL_K_CHUNK}`);
  const covered = lens.reduce((x, y) => x + y, 0);
  if (chunks.length === 0 || covered !== k) throw new Error(`matmul: chunks cover K = ${covered}, operand has K = ${k}`);
  const af = tf.cast(a, 'float32');
  // The operand's K chunks: slices of its last axis are slow on the cpu backend (per-element
  // index arithmetic), so with several chunks a is transposed once to [K, ...] and each chunk is a
  // contiguous slice of rows, transposed back.
  let parts: T[];
  if (chunks.length === 1) parts = [af];
  else {
    const r = a.shape.length;
    const perm = [r - 1, ...Array.from({ length: r - 1 }, (_, i) => i)];
    const back = [...Array.from({ length: r - 1 }, (_, i) => i + 1), 0];
    const at = tf.transpose(af, perm);
    let k0 = 0;
    parts = lens.map((len) => {
      const s = tf.transpose(sliceAxis(at, 0, k0, len), back);
      k0 += len;
      return s;
    });
  }
  let acc: T | null = null;
  chunks.forEach((bs, i) => {
    const p = tf.cast(tf.matMul(parts[i], bs.dtype === 'float32' ? bs : tf.cast(bs, 'float32')), 'int32');
    acc = acc ? tf.add(acc, p) : p;
  });
  return acc!;
}

/** b [..., K, N] cut along K into chunks of at most MATMUL_K_CHUNK rows (a weight's chunks are made once). */
export function splitK(b: T): T[] {
  const axis = b.shape.length - 2;
  const k = b.shape[axis];
  if (k <= MATMUL_K_CHUNK) return [b];
  const out: T[] = [];
  for (let k0 = 0; k0 < k; k0 += MATMUL_K_CHUNK) out.push(sliceAxis(b, axis, k0, Math.min(MATMUL_K_CHUNK, k - k0)));
  return out;
}

function sliceAxis(x: T, axis: number, start: number, len: number): T {
  const begin = x.shape.map((_, i) => (i === axis ? start : 0));
  const size = x.shape.map((d, i) => (i === axis ? len : d));
  return tf.slice(x, begin, size);
}

export { int };
