/**
 * The integer arithmetic spec: the one definition of every width, rounding rule, saturation range
 * and look-up table of the quantized BERT datapath. Both implementations (the datapath in
 * `rtl-model/` and the TensorFlow.js reference in `trainer/`) follow this file; images record
 * SPEC_VERSION and are refused when it differs.
 *
 * Everything here operates on JS numbers that hold integers. Every function checks its operands'
 * ranges and throws `SpecRangeError` instead of wrapping: overflow is an error, never a wrap.
 *
 * Summary of the arithmetic (see docs/integer-spec.md for the bound arguments):
 *  - weights int8 in [-127, 127] (symmetric, per output channel scale);
 *  - activations int8 in [-128, 127]; attention probabilities uint8 in [0, 255] at scale 2^-8;
 *  - biases 24-bit two's complement in [-2^23, 2^23 - 1], added into the int32 accumulator;
 *  - accumulators int32; every product int8 x int8 (or uint8 x int8) has |p| <= 2^15;
 *  - requantization rq(v, M, sh) = floor((v*M + 2^(sh-1)) / 2^sh): a signed 16-bit multiplier
 *    |M| <= 2^15 - 1, a right shift sh in [1, 46], ties rounded toward +infinity ("add half, then
 *    arithmetic shift right"), followed by a saturation chosen by the site;
 *  - LayerNorm input int16 in [-2^15, 2^15 - 1]; integer square root; normalized reciprocal with a
 *    12-bit divisor and 23-bit dividend so that a float32 divider is exact (see recipNormalized).
 */

export const SPEC_VERSION = 1;

export const INT8_MIN = -128;
export const INT8_MAX = 127;
/** Weights are symmetric so that negation never overflows and |w| <= 127. */
export const WEIGHT_MAX = 127;
export const WEIGHT_MIN = -127;
/** Attention probabilities: unsigned 8-bit, real value p / 2^PROB_FRAC_BITS. */
export const PROB_MAX = 255;
export const PROB_FRAC_BITS = 8;
/** Largest |a*b| of one MAC: uint8 prob (255) x int8 (-128) = 32640 <= 2^15. */
export const MAX_ABS_PRODUCT = 2 ** 15;

export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

/**
 * Bias width. 24 bits: the accumulator of a K <= 4096 GEMM holds at most 4096 * 2^15 = 2^27 in
 * magnitude, so a 24-bit bias (|b| < 2^23, i.e. 256 times the largest single product times the
 * typical K) covers every bias BERT-like models use at their accumulator scale while keeping
 * acc + bias < 2^28 << 2^31, and it stores in 3 bytes instead of 4: the writable SRAM of a BitFit
 * task image is 25% smaller than with int32.
 */
export const BIAS_BITS = 24;
export const BIAS_MIN = -(2 ** 23);
export const BIAS_MAX = 2 ** 23 - 1;

/** Requantization multiplier: signed 16-bit, magnitude at most 2^15 - 1. */
export const MULT_MAX = 2 ** 15 - 1;
export const SHIFT_MIN = 1;
export const SHIFT_MAX = 46;
/**
 * Sites whose input is an arbitrary int32 (GEMM accumulators, softmax score differences, the
 * LayerNorm mean) must use sh >= 15: then |v*M| / 2^sh < 2^31 * 2^15 / 2^15 = 2^31, so the
 * result fits in int32 for every int32 input.
 */
export const SHIFT_MIN_INT32_INPUT = 15;
/** LayerNorm gain shift: |n| < 2^20 (see layerNorm), |M| / 2^sh <= 2^9 keeps the result < 2^29. */
export const SHIFT_MIN_LN_GAIN = 6;

/** LayerNorm input (sum of the residual terms) is saturated to int16. */
export const LN_IN_MIN = -(2 ** 15);
export const LN_IN_MAX = 2 ** 15 - 1;
/** Largest hidden size the LayerNorm bounds are proven for. */
export const MAX_HIDDEN = 4096;
/** Fractional bits of the normalized LayerNorm value n = (d / r) * 2^11. */
export const LN_NORM_FRAC_BITS = 11;
/** Extra fractional bits of the LayerNorm output before its final rounding (bias precision). */
export const LN_OUT_EXTRA_BITS = 8;

/** Normalized reciprocal: divisor mantissa in [2^11, 2^12), dividend 2^23 (both < 2^24). */
export const RECIP_DIVISOR_BITS = 12;
export const RECIP_DIVIDEND_LOG2 = 23;

/** Exp table: t in [-255, 0] units of 2^-5 nat, entries round(2^15 * exp(-i / 32)). */
export const EXP_LUT_SIZE = 256;
export const EXP_FRAC_BITS = 5;
export const EXP_ONE_LOG2 = 15;
/** Largest sequence length: the exp sum is at most L * 2^15 and must stay below 2^31. */
export const MAX_SEQ_LEN = 4096;

/** GELU and tanh tables: one int8 output per int8 input, index = input + 128. */
export const ACT_LUT_SIZE = 256;

/**
 * The tfjs reference multiplies in float32; each chunk of K contributes partial sums of at most
 * K_CHUNK * MAX_ABS_PRODUCT = 512 * 2^15 = 2^24 in magnitude, every one of them an integer that
 * float32 represents exactly, whatever the summation order or fusion (FMA) a backend uses.
 * Chunks are then added in int32.
 */
export const MATMUL_K_CHUNK = 512;

export class SpecRangeError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'SpecRangeError';
  }
}

function checkInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new SpecRangeError(`${name} = ${v} is outside the integer range [${lo}, ${hi}]`);
  }
}

/** Clamp an integer to [lo, hi]. */
export function saturate(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

export function saturateInt8(v: number): number {
  return v < INT8_MIN ? INT8_MIN : v > INT8_MAX ? INT8_MAX : v;
}

/** 2^sh as an exact double for sh in [0, 62]. */
const POW2: number[] = Array.from({ length: 63 }, (_, i) => 2 ** i);

/**
 * Requantize: floor((v*M + 2^(sh-1)) / 2^sh), ties toward +infinity.
 * v: int32; M: |M| <= 2^15 - 1; sh in [1, 46]. The product is below 2^46 and exact in a double.
 * Throws when the result does not fit in int32 (the site's bounds must prevent that).
 */
export function rq(v: number, mult: number, shift: number): number {
  checkInt('rq input', v, INT32_MIN, INT32_MAX);
  checkInt('rq multiplier', mult, -MULT_MAX, MULT_MAX);
  checkInt('rq shift', shift, SHIFT_MIN, SHIFT_MAX);
  const r = Math.floor((v * mult + POW2[shift - 1]) / POW2[shift]);
  if (r < INT32_MIN || r > INT32_MAX) {
    throw new SpecRangeError(`rq(${v}, ${mult}, ${shift}) = ${r} overflows int32`);
  }
  return r;
}

/** Arithmetic shift right with the same rounding as rq (rq with M = 1). */
export function roundShift(v: number, shift: number): number {
  return rq(v, 1, shift);
}

/** Number of bits of a non-negative integer: bitLength(0) = 0, bitLength(1) = 1, bitLength(2^k) = k+1. */
export function bitLength(n: number): number {
  checkInt('bitLength input', n, 0, INT32_MAX);
  return 32 - Math.clz32(n);
}

/**
 * floor(sqrt(n)) for n in [0, 2^31 - 1], by the restoring digit-by-digit method a hardware unit
 * uses: 16 iterations of shift, compare and subtract; no multiplier.
 */
export function isqrt(n: number): number {
  checkInt('isqrt input', n, 0, INT32_MAX);
  let rem = n;
  let root = 0;
  let bit = 2 ** 30; // highest power of four <= 2^31 - 1
  while (bit > rem) bit /= 4;
  while (bit >= 1) {
    if (rem >= root + bit) {
      rem -= root + bit;
      root = Math.floor(root / 2) + bit;
    } else {
      root = Math.floor(root / 2);
    }
    bit /= 4;
  }
  return root;
}

export interface NormalizedReciprocal {
  /** Reciprocal mantissa in [2^11, 2^12]. */
  recip: number;
  /** bitLength of the divisor; 1/x ~= recip * 2^-(11 + b). */
  b: number;
}

/**
 * Normalized reciprocal of x in [1, 2^31 - 1]. The divisor is brought to a 12-bit mantissa
 * xn in [2^11, 2^12) (left shift when b <= 12, truncating right shift otherwise) and divided into
 * 2^23: recip = floor(2^23 / xn), one of 2,048 values (a small table in hardware; the TensorFlow.js
 * reference looks it up too, since webgpu's float division is not correctly rounded).
 */
export function recipNormalized(x: number): NormalizedReciprocal {
  checkInt('reciprocal input', x, 1, INT32_MAX);
  const b = bitLength(x);
  const xn = b <= RECIP_DIVISOR_BITS ? x * POW2[RECIP_DIVISOR_BITS - b] : Math.floor(x / POW2[b - RECIP_DIVISOR_BITS]);
  return { recip: Math.floor(POW2[RECIP_DIVIDEND_LOG2] / xn), b };
}

/** Shift of the LayerNorm squares: s = bitLength(N - 1) = ceil(log2 N), so N * 2^30 / 2^s <= 2^30. */
export function lnSquareShift(n: number): number {
  checkInt('LayerNorm width', n, 1, MAX_HIDDEN);
  return bitLength(n - 1);
}

/**
 * Real value of one unit of the normalized LayerNorm value n:
 * z = (x - mean) / std ~= n * sqrt(N) / 2^(LN_NORM_FRAC_BITS + 1 + s/2).
 */
export function lnNormUnit(n: number): number {
  const s = lnSquareShift(n);
  return Math.sqrt(n) / 2 ** (LN_NORM_FRAC_BITS + 1 + s / 2);
}

export interface LayerNormConsts {
  /** Multiplier and shift approximating 1/N for the mean (an int32-input site, shift >= 15). */
  meanMult: number;
  meanShift: number;
  /** Per channel gain multiplier and shift (shift >= SHIFT_MIN_LN_GAIN). */
  gainMult: ArrayLike<number>;
  gainShift: ArrayLike<number>;
  /** Per channel bias at scale s_out / 2^8 (24-bit). */
  bias: ArrayLike<number>;
}

/**
 * Integer LayerNorm of one row x (int16 values) into int8. The reference semantics:
 *   S = sum x;  m = sat16(rq(S, meanMult, meanShift));  d = x - m          |d| < 2^16
 *   u = floor(d / 2);  sumSq = sum floor(u^2 / 2^s)                         sumSq <= 2^30
 *   r = max(1, isqrt(sumSq));  (R, b) = recipNormalized(r)
 *   n = rq(d, R, b)                                 n ~= (d / r) * 2^11,   |n| < 2^20
 *   o = rq(n, gainMult, gainShift) + bias           o at scale s_out / 2^8, |o| < 2^30
 *   y = sat8(rq(o, 1, 8))
 */
export function layerNorm(x: ArrayLike<number>, c: LayerNormConsts, out: Int8Array | number[]): void {
  const n = x.length;
  const nv = new Int32Array(n);
  lnNormalize(x, c.meanMult, c.meanShift, nv);
  for (let i = 0; i < n; i++) {
    const gs = c.gainShift[i];
    if (gs < SHIFT_MIN_LN_GAIN) throw new SpecRangeError(`LayerNorm gain shift ${gs} < ${SHIFT_MIN_LN_GAIN}`);
    const o = rq(nv[i], c.gainMult[i], gs) + c.bias[i];
    out[i] = saturateInt8(rq(o, 1, LN_OUT_EXTRA_BITS));
  }
}

/** The first half of layerNorm: the normalized values n of one row (|n| < 2^20). */
export function lnNormalize(x: ArrayLike<number>, meanMult: number, meanShift: number, out: Int32Array): void {
  const n = x.length;
  const s = lnSquareShift(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    checkInt('LayerNorm input', x[i], LN_IN_MIN, LN_IN_MAX);
    sum += x[i];
  }
  if (meanShift < SHIFT_MIN_INT32_INPUT) throw new SpecRangeError(`LayerNorm mean shift ${meanShift} < ${SHIFT_MIN_INT32_INPUT}`);
  const m = saturate(rq(sum, meanMult, meanShift), LN_IN_MIN, LN_IN_MAX);
  const div = POW2[s];
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const u = Math.floor((x[i] - m) / 2);
    sumSq += Math.floor((u * u) / div);
  }
  checkInt('LayerNorm sum of squares', sumSq, 0, 2 ** 30);
  const r = Math.max(1, isqrt(sumSq));
  const { recip, b } = recipNormalized(r);
  for (let i = 0; i < n; i++) out[i] = rq(x[i] - m, recip, b);
}

/**
 * Integer softmax of one row of attention scores (int32 accumulators) into uint8 probabilities.
 *   mx = max over unmasked keys;  diff = acc - mx (<= 0; masked keys use -2^30 before the max)
 *   t = rq(diff, mult, shift)   (units of 2^-5 nat, an int32-input site)
 *   e = mask ? (-t <= 255 ? expLut[-t] : 0) : 0        e <= 2^15
 *   S = sum e  (>= 2^15 because the maximum's entry is expLut[0] = 2^15)
 *   (R, b) = recipNormalized(S);  p = min(255, rq(e * R, 1, b + 3))
 * p ~= e / S * 2^8 since 1/S ~= R * 2^-(11 + b).
 */
export function softmaxRow(
  acc: ArrayLike<number>,
  mask: ArrayLike<number> | null,
  mult: number,
  shift: number,
  expLut: ArrayLike<number>,
  out: Uint8Array | number[],
): void {
  const n = acc.length;
  if (shift < SHIFT_MIN_INT32_INPUT) throw new SpecRangeError(`softmax shift ${shift} < ${SHIFT_MIN_INT32_INPUT}`);
  let mx = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = mask && !mask[j] ? MASKED_SCORE : acc[j];
    if (v > mx) mx = v;
  }
  const e = new Array<number>(n);
  let sum = 0;
  for (let j = 0; j < n; j++) {
    if (mask && !mask[j]) {
      e[j] = 0;
      continue;
    }
    const t = rq(acc[j] - mx, mult, shift);
    e[j] = -t < EXP_LUT_SIZE ? expLut[-t] : 0;
    sum += e[j];
  }
  const { recip, b } = recipNormalized(sum);
  for (let j = 0; j < n; j++) {
    const p = rq(e[j] * recip, 1, b + 3);
    out[j] = p > PROB_MAX ? PROB_MAX : p;
  }
}

/** Score substituted for masked keys before the row maximum; |acc| < 2^30 keeps acc - max > -2^31. */
export const MASKED_SCORE = -(2 ** 30);
/** Largest |score accumulator|: d_head * 2^14 (int8 x int8) must stay below 2^30. */
export const MAX_HEAD_DIM = 2 ** 16 - 1;

/** The exp table: entry i = round(2^15 * exp(-i / 2^5)) for i in [0, 255]. Built in doubles. */
export function buildExpLut(): Int32Array {
  const lut = new Int32Array(EXP_LUT_SIZE);
  for (let i = 0; i < EXP_LUT_SIZE; i++) lut[i] = Math.round(2 ** EXP_ONE_LOG2 * Math.exp(-i / 2 ** EXP_FRAC_BITS));
  return lut;
}

/**
 * An int8 -> int8 activation table (GELU, tanh): entry i is
 * sat8(round(f((i - 128) * inScale) / outScale)), computed in doubles at export time and then
 * stored in the ROM image; both implementations only look it up.
 */
export function buildActivationLut(f: (x: number) => number, inScale: number, outScale: number): Int8Array {
  const lut = new Int8Array(ACT_LUT_SIZE);
  for (let i = 0; i < ACT_LUT_SIZE; i++) lut[i] = saturateInt8(Math.round(f((i - 128) * inScale) / outScale));
  return lut;
}

/** erf in doubles: Maclaurin series for |x| < 3, erfc continued fraction beyond; |error| < 1e-14. */
export function erf(x: number): number {
  // Series for small |x|, continued fraction for large |x|: both in doubles, deterministic.
  const ax = Math.abs(x);
  let r: number;
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let k = 1; k < 200; k++) {
      term *= -x2 / k;
      const add = term / (2 * k + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc continued fraction (Lentz), converges fast for ax >= 3
    let f = ax;
    let c = ax;
    let d = 0;
    for (let k = 1; k < 200; k++) {
      const a = k / 2;
      d = ax + a * d;
      d = 1 / d;
      c = ax + a / c;
      const delta = c * d;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  }
  return x < 0 ? -r : r;
}

/** Exact GELU as BERT defines it: x * Phi(x). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

export interface Multiplier {
  mult: number;
  shift: number;
}

/**
 * Quantize a real ratio into (M, sh) with M / 2^sh ~= ratio, |M| normalized into [2^14, 2^15)
 * when the shift range allows. Export-time only (floats allowed here, never in the datapath).
 * minShift enforces the site's bound (e.g. 15 for int32-input sites): ratios too large for it are
 * refused with a message, not silently clipped.
 */
export function quantizeMultiplier(ratio: number, minShift: number = SHIFT_MIN): Multiplier {
  if (!Number.isFinite(ratio)) throw new SpecRangeError(`multiplier ratio ${ratio} is not finite`);
  if (ratio === 0) return { mult: 0, shift: minShift };
  const mag = Math.abs(ratio);
  let shift = 14 - Math.floor(Math.log2(mag));
  let m = Math.round(mag * 2 ** shift);
  if (m > MULT_MAX) {
    shift -= 1;
    m = Math.round(mag * 2 ** shift);
  }
  if (shift > SHIFT_MAX) {
    shift = SHIFT_MAX;
    m = Math.round(mag * 2 ** shift);
  }
  if (shift < minShift) {
    throw new SpecRangeError(
      `multiplier ratio ${ratio} needs shift ${shift}, below the site's minimum ${minShift} (largest ratio ${(MULT_MAX / 2 ** minShift).toPrecision(6)})`,
    );
  }
  return { mult: Math.sign(ratio) * m, shift };
}

/** Largest ratio representable at a minimum shift. */
export function maxRatio(minShift: number): number {
  return MULT_MAX / 2 ** minShift;
}
