/**
 * The integer spec's primitives as TensorFlow.js tensor ops, exact on every backend by construction
 * (cpu, wasm, webgpu, tfjs-node-gpu): integers are carried in float32 tensors, and every value an op
 * here produces is an integer of magnitude at most 2^24, which float32 holds exactly.
 *
 * Why float32 and not int32: the webgpu backend computes int32 mul, add, sub and floorDiv through
 * float32 (exact only below 2^24) and has no BitwiseAnd or shift kernels; the wasm backend's int32
 * element-wise ops cost ~6 ns per element, its float32 ones a fraction of that. Values wider than
 * 2^24 (GEMM accumulators, the requantization products v·M of up to 2^46, sums of squares) exist
 * only as limbs: base-2^11 digits `Wide = [d0, d1, ..., top]`, value Σ d_k·2^(11k), every digit but
 * the top one in [0, 2^11), the top one signed. The bound argument is in docs/integer-spec.md
 * ("Why the TensorFlow.js reference is exact on every backend"); each function states its own.
 *
 * The ops used, and why each is exact on float32 integers below 2^24: add, sub, mul (the exact result
 * is an integer <= 2^24, so IEEE rounding returns it; also with FMA contraction), mul by a power of
 * two 2^-k (exact scaling), floor, clipByValue, minimum/maximum, comparisons, gather (a copy), sum
 * (every partial sum is an integer <= 2^24 in magnitude, in any order), max, and matMul of int8/uint8
 * operands over K chunks of at most MATMUL_K_CHUNK = 512 (|partial sums| <= 512·255·128 < 2^24).
 * No division, no bitwise op, no shift kernel, no float rounding anywhere.
 *
 * checkBounds(f) runs f with every op's result read back and checked to be an integer of magnitude
 * <= 2^24 (the tests run the worst cases the spec admits through it).
 */
import * as tf from '@tensorflow/tfjs-core';
import { MATMUL_K_CHUNK, RECIP_DIVIDEND_LOG2, RECIP_DIVISOR_BITS } from '../rtl-model/spec/index.js';

export type T = tf.Tensor;
/** Limbs: base-2^11 digits, low first; all but the last in [0, 2^11), the last signed. */
export type Wide = T[];

export const LIMB_BITS = 11;
export const LIMB = 2 ** LIMB_BITS;
/** Every value an op here produces is an integer of magnitude at most EXACT. */
export const EXACT = 2 ** 24;

let checking = false;
/** Run f with every op's result checked to be an integer of magnitude <= 2^24 (slow: tests only). */
export function checkBounds<R>(f: () => R): R {
  const was = checking;
  checking = true;
  try {
    return f();
  } finally {
    checking = was;
  }
}

function chk<X extends T>(t: X, op: string): X {
  if (!checking) return t;
  const v = t.dataSync();
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!(Math.abs(x) <= EXACT && Number.isInteger(x))) throw new RangeError(`int-ops: ${op} produced ${x}, outside the integers of magnitude <= 2^24`);
  }
  return t;
}

/**
 * Tensors made once and kept across tidy scopes (scalars, tables), per backend: a tensor made on one
 * backend and used on another is moved by a synchronous read, which webgpu cannot do in Node.
 */
const cache = new Map<string, T>();
export function cached<X extends T>(key: string, make: () => X): X {
  const k = `${tf.getBackend()}:${key}`;
  let x = cache.get(k) as X | undefined;
  if (!x || x.isDisposed) {
    x = tf.keep(make());
    cache.set(k, x);
  }
  return x;
}
export const c = (v: number): tf.Scalar => cached(`scalar ${v}`, () => tf.scalar(v, 'float32'));
const opd = (x: T | number): T => (typeof x === 'number' ? c(x) : x);

export const add = (a: T, b: T | number): T => chk(tf.add(a, opd(b)), 'add');
export const sub = (a: T, b: T | number): T => chk(tf.sub(a, opd(b)), 'sub');
export const mul = (a: T, b: T | number): T => chk(tf.mul(a, opd(b)), 'mul');
/** floor(x·p) for p a power of two (a scaling: exact); only the floored result is an integer. */
export const fl = (x: T, p: T | number): T => chk(tf.floor(tf.mul(x, opd(p))), 'floor');
export const clip = (x: T, lo: number, hi: number): T => chk(tf.clipByValue(x, lo, hi), 'clip');
export const minimum = (a: T, b: T | number): T => chk(tf.minimum(a, opd(b)), 'minimum');
export const maximum = (a: T, b: T | number): T => chk(tf.maximum(a, opd(b)), 'maximum');
/** 1 where a >= b, else 0 (float32). */
export const ge = (a: T, b: T | number): T => tf.cast(tf.greaterEqual(a, opd(b)), 'float32');
export const sumAxis = (x: T, axis: number): T => chk(tf.sum(x, axis), 'sum');
export const maxAxis = (x: T, axis: number): T => chk(tf.max(x, axis), 'max');
/** a table look-up: idx holds integers (float32) in [0, table size). */
/** (gatherND, not gather: the wasm backend's GatherV2 costs ~55 ns per element here, its GatherNd ~10.) */
export const lookup = (table: T, idx: T): T => chk(tf.gatherND(table, tf.expandDims(tf.cast(idx, 'int32'), -1)), 'gather');

/** floor(x / 2^k) for a constant k >= 0: x·2^-k is exact (a power of two), floor is exact. */
export function shr(x: T, k: number): T {
  return k === 0 ? x : fl(x, 2 ** -k);
}

/** x = hi·2^11 + lo with lo in [0, 2^11); exact for every integer |x| <= 2^24. */
export function split(x: T): [T, T] {
  const hi = shr(x, LIMB_BITS);
  return [sub(x, mul(hi, LIMB)), hi];
}

/** Sum of tensors (the caller bounds the result). */
function total(xs: T[]): T {
  let s = xs[0];
  for (let i = 1; i < xs.length; i++) s = add(s, xs[i]);
  return s;
}

/**
 * Carry propagation: columns c_k (value Σ c_k·2^(11k), each |c_k| + 2^13 < 2^24) into digits. The
 * carries are floor(c / 2^11), at most 2^13 in magnitude; the top column takes the last carry.
 */
export function normalize(cols: T[]): Wide {
  const out: T[] = [];
  let carry: T | null = null;
  cols.forEach((col, k) => {
    const v = carry ? add(col, carry) : col;
    if (k === cols.length - 1) {
      out.push(v);
      return;
    }
    const [lo, hi] = split(v);
    out.push(lo);
    carry = hi;
  });
  return out;
}

/** The digits of x, |x| < 2^bits (bits <= 24): one digit per 11 bits, the top one signed. */
export function widen(x: T, bits: number): Wide {
  if (bits > 24) throw new RangeError(`widen: a float32 tensor holds integers below 2^24, not 2^${bits}`);
  if (bits <= LIMB_BITS) return [x];
  const [lo, hi] = split(x);
  if (bits <= 2 * LIMB_BITS) return [lo, hi];
  const [mid, top] = split(hi);
  return [lo, mid, top];
}

/** w with at least n digits: the top digit split (sign-extended) until there are n. */
export function extend(w: Wide, n: number): Wide {
  const out = [...w];
  while (out.length < n) {
    const [lo, hi] = split(out[out.length - 1]);
    out[out.length - 1] = lo;
    out.push(hi);
  }
  return out;
}

/**
 * Σ parts + extra as three digits, for parts of magnitude <= 2^24 each (the K chunks of a matmul),
 * at most 32 of them, and extra two digits [lo, hi] with |hi| <= 2^13 (a 24-bit bias): the parts'
 * low digits sum to < 33·2^11, their high digits to < 33·2^13; both far below 2^24.
 */
function wideSumRaw(parts: T[], extra?: Wide): Wide {
  if (parts.length > 32) throw new RangeError(`wideSum: ${parts.length} parts (at most 32: K <= 16,384)`);
  const los: T[] = [];
  const his: T[] = [];
  for (const p of parts) {
    const [lo, hi] = split(p);
    los.push(lo);
    his.push(hi);
  }
  if (extra) {
    los.push(extra[0]);
    if (extra.length > 1) his.push(extra[1]);
  }
  const [d0, carry] = split(total(los));
  const [d1, d2] = split(add(total(his), carry));
  return [d0, d1, d2];
}

/**
 * The wide value clamped to [lo, hi] (|lo|, |hi| <= 2^22) as one tensor; exact inside the range (and
 * for digits from rqWide: a value it could not compute exactly lies beyond ±(2^23 - 2^12), as the
 * true one does, so it clamps alike).
 */
function collapseRaw(w: Wide, lo: number, hi: number): T {
  if (Math.abs(lo) > 2 ** 22 || Math.abs(hi) > 2 ** 22) throw new RangeError(`collapse: bounds [${lo}, ${hi}] must lie within ±2^22`);
  if (w.length === 1) return clip(w[0], lo, hi);
  // Horner from the top; clipping a partial value at ±2^12 before the next ·2^11 keeps |.| <= 2^23 + 2^11,
  // and a clipped partial value lies beyond ±2^23 - 2^11 at the end, as the true one does: it saturates alike.
  let acc = w[w.length - 1];
  for (let k = w.length - 2; k >= 0; k--) acc = add(mul(clip(acc, -(2 ** 12), 2 ** 12), LIMB), w[k]);
  return clip(acc, lo, hi);
}

/** A multiplier as two digits M = m1·2^11 + m0: m0 in [0, 2^11), |m1| <= 16 (|M| < 2^15). */
export interface Mult {
  m0: T;
  m1: T | null;
}

/** A multiplier from constants (one per channel, or one for the site). */
export function multConst(m: ArrayLike<number>): Mult {
  const m0 = Array.from(m, (v) => v - Math.floor(v / LIMB) * LIMB);
  const m1 = Array.from(m, (v) => Math.floor(v / LIMB));
  const t = (a: number[]): T => (a.length === 1 ? tf.scalar(a[0], 'float32') : tf.tensor1d(a, 'float32'));
  return { m0: tf.keep(t(m0)), m1: m1.every((v) => v === 0) ? null : tf.keep(t(m1)) };
}

/** A multiplier computed at run time (0 <= M < 2^15). */
export function multOf(m: T): Mult {
  const [m0, m1] = split(m);
  return { m0, m1 };
}

/**
 * A shift s = 11a + b (b in [0, 10]) per channel, per row, or for the whole site: for each value of a
 * that occurs, the mask of the elements that have it (null: all do), and the per-element powers of
 * two the requantization needs.
 */
export interface ShiftPlan {
  groups: { a: number; mask: T | null }[];
  /** 2^-b, 2^b, 2^(b-1) where b >= 1 (else 0), and 1 where b = 0 (else 0). */
  pNegB: T;
  pB: T;
  half: T;
  bZero: T;
}

/** A shift plan from constants (the image's `.rq.shift`). */
export function shiftConst(s: ArrayLike<number>): ShiftPlan {
  const a = Array.from(s, (v) => Math.floor(v / LIMB_BITS));
  const b = Array.from(s, (v, i) => v - LIMB_BITS * a[i]);
  const t = (x: number[]): T => tf.keep(x.length === 1 ? tf.scalar(x[0], 'float32') : tf.tensor1d(x, 'float32'));
  const as = [...new Set(a)].sort((x, y) => x - y);
  return {
    groups: as.map((g) => ({ a: g, mask: as.length === 1 ? null : t(a.map((v) => (v === g ? 1 : 0))) })),
    pNegB: t(b.map((v) => 2 ** -v)),
    pB: t(b.map((v) => 2 ** v)),
    half: t(b.map((v) => (v >= 1 ? 2 ** (v - 1) : 0))),
    bZero: t(b.map((v) => (v === 0 ? 1 : 0))),
  };
}

/** 2^k for integer k in [-64, 63], by table look-up (exact; no pow kernel). */
export function pow2(k: T): T {
  const table = cached('pow2', () =>
    tf.tensor1d(
      Array.from({ length: 128 }, (_, i) => 2 ** (i - 64)),
      'float32',
    ),
  );
  return tf.gather(table, tf.cast(add(k, 64), 'int32'));
}

/** A shift plan from a tensor of shifts computed at run time, known to lie in [min, max]. */
export function shiftOf(s: T, min: number, max: number): ShiftPlan {
  const aMin = Math.floor(min / LIMB_BITS);
  const aMax = Math.floor(max / LIMB_BITS);
  let aT: T = tf.zerosLike(s);
  for (let g = aMin + 1; g <= aMax; g++) aT = add(aT, ge(s, g * LIMB_BITS));
  if (aMin > 0) aT = add(aT, aMin);
  const b = sub(s, mul(aT, LIMB_BITS));
  const groups: ShiftPlan['groups'] = [];
  for (let g = aMin; g <= aMax; g++) groups.push({ a: g, mask: aMin === aMax ? null : tf.cast(tf.equal(aT, c(g)), 'float32') });
  const bPos = ge(b, 1);
  return { groups, pNegB: pow2(tf.neg(b)), pB: pow2(b), half: mul(pow2(sub(b, 1)), bPos), bZero: sub(c(1), bPos) };
}

/** v·M as digits (v's digits: low ones in [0, 2^11), top |.| < 2^12; columns < 2^23 + 2^16 + carries). */
function product(v: Wide, m: Mult): Wide {
  const cols: T[] = [];
  const n = v.length + (m.m1 ? 1 : 0);
  for (let k = 0; k < n; k++) {
    const terms: T[] = [];
    if (k < v.length) terms.push(mul(v[k], m.m0));
    if (m.m1 && k >= 1) terms.push(mul(v[k - 1], m.m1));
    cols.push(total(terms));
  }
  return normalize(cols);
}

/**
 * rq(v, M, s) = floor((v·M + 2^(s-1)) / 2^s) (round = false: floor(v·M / 2^s)) as two digits
 * [lo, hi] (R = hi·2^11 + lo, lo in [0, 2^11)), for v given as digits (|v| < 2^31), |M| < 2^15 and
 * s in [1, 46]. With P = v·M = Σ D_k·2^(11k) and s = 11a + b:
 *   Q_lo = D_a + (b >= 1 ? 2^(b-1) : floor(D_{a-1} / 2^10))        the rounding half, added at its digit
 *   Q_hi = Σ_{k>a} D_k·2^(11(k-a-1))                                Horner, clipped at ±2^12 per step
 *   R = floor((Q_hi·2^11 + Q_lo) / 2^b) = q·2^11 + (r·2^(11-b) + floor(Q_lo / 2^b)),  Q_hi = q·2^b + r
 * Exact while |Q_hi| < 2^23 - 2^11; beyond, hi is at least 2^13 - 3 in magnitude with the true
 * result's sign, which every caller saturates (|R| >= 2^24 truly). Sites with several values of a
 * compute each and select by mask (0/1 products, one nonzero term).
 */
function rqWideRaw(v: Wide, m: Mult, s: ShiftPlan, round = true): Wide {
  const maxA = Math.max(...s.groups.map((g) => g.a));
  const p = extend(product(v, m), maxA + 2);
  let lo: T | null = null;
  let hi: T | null = null;
  for (const { a, mask } of s.groups) {
    let rnd: T | null = null;
    if (round) rnd = a >= 1 ? add(s.half, mul(s.bZero, shr(p[a - 1], LIMB_BITS - 1))) : s.half;
    const qLo = rnd ? add(p[a], rnd) : p[a];
    let qHi = p[p.length - 1];
    for (let k = p.length - 2; k > a; k--) qHi = add(mul(clip(qHi, -(2 ** 12), 2 ** 12), LIMB), p[k]);
    const q = fl(qHi, s.pNegB);
    const r = sub(qHi, mul(q, s.pB));
    // r·2^(11-b) = r·2^11·2^-b: r < 2^b, so the product is below 2^11 and exact.
    const [l, carry] = split(add(mul(mul(r, LIMB), s.pNegB), fl(qLo, s.pNegB)));
    const h = add(q, carry);
    lo = lo ? add(lo, mul(l, mask!)) : mask ? mul(l, mask) : l;
    hi = hi ? add(hi, mul(h, mask!)) : mask ? mul(h, mask) : h;
  }
  return [lo!, hi!];
}

/** Σ of digits along an axis for digits [lo (< 2^11), hi] of at most 2^12 elements; normalized. */
function wideSumAxisRaw(w: Wide, axis: number): Wide {
  return normalize(w.map((d) => sumAxis(d, axis)));
}

/** Number of bits of x, 0 <= x < 2^bits (bits <= 24): Σ_j (x >= 2^j). */
export function bitLength(x: T, bits: number): T {
  let b: T = tf.zerosLike(x);
  for (let j = 0; j < bits; j++) b = add(b, ge(x, 2 ** j));
  return b;
}

/**
 * isqrt(t) for 0 <= t < 2^31 given as normalized digits [t0, t1, t2]: the root's bits from 2^15 down,
 * keeping cand where cand^2 <= t. cand^2 (< 2^32) is formed as digits (cand = c1·2^11 + c0:
 * c0^2 < 2^22, 2·c0·c1 < 2^17, c1^2 < 2^10) and compared digit by digit: the sign of
 * Σ (t_k - e_k)·2^(11k) is that of a Horner sum whose partial values are clipped to [-1, 1] (a lower
 * digit difference, |.| < 2^11, cannot overturn a higher one).
 */
function isqrtWideRaw(t: Wide): T {
  const [t0, t1, t2] = extend(t, 3);
  let res: T = tf.zerosLike(t0);
  for (let bit = 15; bit >= 0; bit--) {
    const cand = add(res, 2 ** bit);
    const [c0, c1] = split(cand);
    const [e0, e1, e2] = extend(normalize([mul(c0, c0), mul(mul(c0, c1), 2), mul(c1, c1)]), 3);
    let acc = sub(t2, e2);
    acc = add(mul(clip(acc, -1, 1), LIMB), sub(t1, e1));
    acc = add(mul(clip(acc, -1, 1), LIMB), sub(t0, e0));
    res = add(res, mul(ge(acc, 0), 2 ** bit));
  }
  return res;
}

/** floor(2^23 / xn) for xn in [2^11, 2^12), as a table (computed once, in doubles: exact). */
function recipLookup(xn: T): T {
  const lo = 2 ** (RECIP_DIVISOR_BITS - 1);
  const table = cached('recip', () =>
    tf.tensor1d(
      Array.from({ length: lo }, (_, i) => Math.floor(2 ** RECIP_DIVIDEND_LOG2 / (lo + i))),
      'float32',
    ),
  );
  return lookup(table, sub(xn, lo));
}

/**
 * recipNormalized(x) for 1 <= x < 2^33 given as normalized digits [x0, x1] (x1 < 2^22): b = bitLength(x),
 * xn = the 12-bit mantissa (x·2^(12-b) when b <= 12, floor(x / 2^(b-12)) otherwise), recip = floor(2^23 / xn).
 * The three ways to form xn are computed on clipped operands (so every value stays small whichever
 * applies) and selected by 0/1 masks.
 */
function recipNormalizedWideRaw(x: Wide): { recip: T; b: T } {
  const [x0, x1] = extend(x, 2);
  const bl1 = bitLength(x1, 22);
  const has1 = ge(x1, 1);
  const b = add(mul(has1, add(bl1, LIMB_BITS)), mul(sub(c(1), has1), bitLength(x0, LIMB_BITS)));
  const cc = sub(b, RECIP_DIVISOR_BITS); // b - 12
  const small = mul(add(mul(clip(x1, 0, 1), LIMB), x0), pow2(clip(tf.neg(cc), 0, RECIP_DIVISOR_BITS))); // b <= 12: x < 2^12
  const mid = add(mul(clip(x1, 0, 2 ** 12), pow2(clip(sub(c(LIMB_BITS), cc), 0, LIMB_BITS))), fl(x0, pow2(tf.neg(clip(cc, 0, LIMB_BITS))))); // 1 <= b-12 <= 11
  const high = fl(x1, pow2(tf.neg(clip(sub(cc, LIMB_BITS), 0, 22)))); // b - 12 >= 12
  const mSmall = sub(c(1), ge(cc, 1));
  const mHigh = ge(cc, LIMB_BITS + 1);
  const mMid = sub(sub(c(1), mSmall), mHigh);
  const xn = add(add(mul(mSmall, small), mul(mMid, clip(mid, 0, 2 ** 13))), mul(mHigh, clip(high, 0, 2 ** 13)));
  return { recip: recipLookup(xn), b };
}

/**
 * Exact int8 matmul in K chunks: a [..., M, K] times b [..., K, N] (float32 holding int8/uint8
 * values) -> the chunks' partial sums (float32, |.| <= 512·255·128 < 2^24 each); wideSum adds them.
 * Given the operands' largest |product| (127·128 for int8 weights and activations), consecutive
 * chunks are added first while their sum is bounded by 2^24.
 * (b is not transposed on the fly: the wasm backend's transposed-operand path is an order of
 * magnitude slower.)
 */
export function matmulChunks(a: T, b: T | T[], maxAbsProduct?: number): T[] {
  const k = a.shape[a.shape.length - 1];
  const chunks = Array.isArray(b) ? b : splitK(b);
  const lens = chunks.map((bs) => bs.shape[bs.shape.length - 2]);
  for (const len of lens) if (len > MATMUL_K_CHUNK) throw new RangeError(`matmul: a K chunk of ${len} exceeds ${MATMUL_K_CHUNK}`);
  const covered = lens.reduce((x, y) => x + y, 0);
  if (chunks.length === 0 || covered !== k) throw new Error(`matmul: chunks cover K = ${covered}, operand has K = ${k}`);
  // The operand's K chunks: slices of its last axis are slow on the cpu backend (per-element
  // index arithmetic), so with several chunks a is transposed once to [K, ...] and each chunk is a
  // contiguous slice of rows, transposed back.
  let parts: T[];
  if (chunks.length === 1) parts = [a];
  else {
    const r = a.shape.length;
    const perm = [r - 1, ...Array.from({ length: r - 1 }, (_, i) => i)];
    const back = [...Array.from({ length: r - 1 }, (_, i) => i + 1), 0];
    const at = tf.transpose(a, perm);
    let k0 = 0;
    parts = lens.map((len) => {
      const s = tf.transpose(sliceAxis(at, 0, k0, len), back);
      k0 += len;
      return s;
    });
  }
  const sums = chunks.map((bs, i) => chk(batchedMatMul(parts[i], bs), 'matMul'));
  if (!maxAbsProduct) return sums;
  // Consecutive chunks whose bounds (rows of K times the largest |product|) add up to at most 2^24 are
  // added here, in float32 (exact: every partial sum is an integer within that bound).
  const merged: T[] = [];
  let acc: T | null = null;
  let bound = 0;
  sums.forEach((p, i) => {
    const b = lens[i] * maxAbsProduct;
    if (acc && bound + b <= EXACT) {
      acc = add(acc, p);
      bound += b;
    } else {
      if (acc) merged.push(acc);
      acc = p;
      bound = b;
    }
  });
  merged.push(acc!);
  return merged;
}

/**
 * a [B, M, K] x b [B, K, N] as B two-dimensional products on the wasm backend (its BatchMatMul with a
 * batch runs a scalar loop, its two-dimensional one XNNPACK: ~4x faster for attention's shapes); one
 * batched product elsewhere.
 */
function batchedMatMul(a: T, b: T): T {
  if (a.shape.length !== 3 || a.shape[0] === 1 || tf.getBackend() !== 'wasm') return tf.matMul(a, b);
  // (split and reshape, not unstack: the wasm backend's Unpack costs ~20 ns per element, Slice ~2)
  const [n, m, k] = a.shape;
  const as = tf.split(a, n, 0).map((x) => tf.reshape(x, [m, k]));
  const bs = b.shape.length === 3 ? tf.split(b, n, 0).map((x) => tf.reshape(x, b.shape.slice(1))) : null;
  return tf.stack(as.map((x, i) => tf.matMul(x, bs ? bs[i] : b)));
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

/** The integer values of digits (their data, read back), combined in doubles (exact below 2^53). */
export function wideValues(ds: ArrayLike<number>[]): Int32Array {
  const out = new Int32Array(ds[0].length);
  for (let i = 0; i < out.length; i++) {
    let v = 0;
    for (let k = ds.length - 1; k >= 0; k--) v = v * LIMB + ds[k][i];
    out[i] = v;
  }
  return out;
}

/*
 * The public forms run in their own tidy scope: every intermediate is freed as soon as the result
 * exists, so the backend's memory stays small (on wasm, a large heap costs page faults on first touch
 * and cache misses after).
 */
export function wideSum(...a: Parameters<typeof wideSumRaw>): ReturnType<typeof wideSumRaw> {
  return tf.tidy(() => wideSumRaw(...a));
}
export function collapse(...a: Parameters<typeof collapseRaw>): ReturnType<typeof collapseRaw> {
  return tf.tidy(() => collapseRaw(...a));
}
export function rqWide(...a: Parameters<typeof rqWideRaw>): ReturnType<typeof rqWideRaw> {
  return tf.tidy(() => rqWideRaw(...a));
}
export function wideSumAxis(...a: Parameters<typeof wideSumAxisRaw>): ReturnType<typeof wideSumAxisRaw> {
  return tf.tidy(() => wideSumAxisRaw(...a));
}
export function isqrtWide(...a: Parameters<typeof isqrtWideRaw>): ReturnType<typeof isqrtWideRaw> {
  return tf.tidy(() => isqrtWideRaw(...a));
}
export function recipNormalizedWide(...a: Parameters<typeof recipNormalizedWideRaw>): ReturnType<typeof recipNormalizedWideRaw> {
  return tf.tidy(() => recipNormalizedWideRaw(...a));
}
