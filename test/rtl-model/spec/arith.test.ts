import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  rq,
  roundShift,
  isqrt,
  bitLength,
  recipNormalized,
  saturateInt8,
  quantizeMultiplier,
  layerNorm,
  lnNormalize,
  softmaxRow,
  buildExpLut,
  buildActivationLut,
  gelu,
  erf,
  lnSquareShift,
  SpecRangeError,
  INT32_MAX,
  INT32_MIN,
  MULT_MAX,
  SHIFT_MAX,
  MASKED_SCORE,
  LN_IN_MIN,
  LN_IN_MAX,
  EXP_LUT_SIZE,
} from '../../../rtl-model/spec/index.js';

describe('rq (requantize: multiply, add half, arithmetic shift right)', () => {
  it('rounds ties toward +infinity', () => {
    expect(rq(1, 1, 1)).toBe(1); // 0.5 -> 1
    expect(rq(-1, 1, 1)).toBe(0); // -0.5 -> 0
    expect(rq(3, 1, 1)).toBe(2); // 1.5 -> 2
    expect(rq(-3, 1, 1)).toBe(-1); // -1.5 -> -1
    expect(rq(5, 1, 2)).toBe(1); // 1.25 -> 1
    expect(rq(6, 1, 2)).toBe(2); // 1.5 -> 2
    expect(rq(-6, 1, 2)).toBe(-1); // -1.5 -> -1
    expect(rq(-7, 1, 2)).toBe(-2); // -1.75 -> -2
  });
  it('uses the multiplier exactly (no 32-bit truncation of v*M)', () => {
    expect(rq(INT32_MAX, MULT_MAX, 46)).toBe(Math.floor((INT32_MAX * MULT_MAX + 2 ** 45) / 2 ** 46));
    expect(rq(INT32_MIN, -MULT_MAX, 15)).toBe(2147418112); // (2^31)(2^15-1)/2^15 = 2^31 - 2^16
    expect(rq(INT32_MIN, MULT_MAX, 15)).toBe(-2147418112);
  });
  it('handles the smallest and largest shifts', () => {
    expect(rq(7, 3, 1)).toBe(11); // 10.5 -> 11
    expect(rq(INT32_MAX, 1, SHIFT_MAX)).toBe(0);
    expect(rq(INT32_MIN, MULT_MAX, SHIFT_MAX)).toBe(-1); // -2^46 + 2^31 over 2^46 -> -0.99997 -> -1
    expect(rq(INT32_MIN, 2 ** 14, SHIFT_MAX)).toBe(0); // exactly -0.5 -> 0 (the only tie reachable at sh = 46)
    expect(rq(INT32_MIN, 2 ** 14, SHIFT_MAX - 1)).toBe(-1); // exactly -1
  });
  it('throws instead of wrapping', () => {
    expect(() => rq(INT32_MAX, MULT_MAX, 1)).toThrow(SpecRangeError);
    expect(() => rq(2 ** 31, 1, 1)).toThrow(SpecRangeError);
    expect(() => rq(1, MULT_MAX + 1, 1)).toThrow(SpecRangeError);
    expect(() => rq(1, 1, 0)).toThrow(SpecRangeError);
    expect(() => rq(1, 1, 47)).toThrow(SpecRangeError);
    expect(() => rq(0.5, 1, 1)).toThrow(SpecRangeError);
  });
  it('equals round-half-up of the exact rational for random operands', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: INT32_MIN, max: INT32_MAX }),
        fc.integer({ min: -MULT_MAX, max: MULT_MAX }),
        fc.integer({ min: 15, max: 46 }),
        (v, m, s) => {
          const exact = (BigInt(v) * BigInt(m) + (1n << BigInt(s - 1))) >> BigInt(s); // BigInt >> floors
          expect(rq(v, m, s)).toBe(Number(exact));
        },
      ),
    );
  });
  it('roundShift is rq with multiplier 1', () => {
    expect(roundShift(384, 8)).toBe(2); // 1.5 -> 2
    expect(roundShift(-384, 8)).toBe(-1);
  });
});

describe('saturation', () => {
  it('clamps to both ends of int8', () => {
    expect(saturateInt8(128)).toBe(127);
    expect(saturateInt8(127)).toBe(127);
    expect(saturateInt8(-128)).toBe(-128);
    expect(saturateInt8(-129)).toBe(-128);
    expect(saturateInt8(2 ** 31)).toBe(127);
  });
});

describe('isqrt (restoring digit-by-digit square root)', () => {
  it('is exact at 0, 1, perfect squares, their neighbours and the maximum', () => {
    const cases: [number, number][] = [
      [0, 0],
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 2],
      [8, 2],
      [9, 3],
      [10, 3],
      [15, 3],
      [16, 4],
      [17, 4],
      [65535, 255],
      [65536, 256],
      [65537, 256],
      [2 ** 30 - 1, 32767],
      [2 ** 30, 32768],
      [46340 ** 2 - 1, 46339],
      [46340 ** 2, 46340],
      [INT32_MAX, 46340],
    ];
    for (const [n, r] of cases) expect(isqrt(n), `isqrt(${n})`).toBe(r);
  });
  it('satisfies r^2 <= n < (r+1)^2 for random n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: INT32_MAX }), (n) => {
        const r = isqrt(n);
        expect(r * r <= n && n < (r + 1) * (r + 1)).toBe(true);
      }),
    );
  });
  it('rejects negative and oversized inputs', () => {
    expect(() => isqrt(-1)).toThrow(SpecRangeError);
    expect(() => isqrt(2 ** 31)).toThrow(SpecRangeError);
  });
});

describe('bitLength and the normalized reciprocal', () => {
  it('bitLength counts bits', () => {
    expect([0, 1, 2, 3, 4, 4095, 4096, INT32_MAX].map(bitLength)).toEqual([0, 1, 2, 2, 3, 12, 13, 31]);
  });
  it('recipNormalized keeps a 12-bit divisor and stays within [2^11, 2^12]', () => {
    expect(recipNormalized(1)).toEqual({ recip: 4096, b: 1 });
    expect(recipNormalized(3)).toEqual({ recip: 2730, b: 2 }); // xn = 3072, 2^23/3072 = 2730.67
    expect(recipNormalized(4095)).toEqual({ recip: 2048, b: 12 }); // 2048.5 -> 2048
    expect(recipNormalized(6000)).toEqual({ recip: Math.floor(2 ** 23 / 3000), b: 13 }); // truncating normalization
    expect(recipNormalized(INT32_MAX)).toEqual({ recip: 2048, b: 31 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: INT32_MAX }), (x) => {
        const { recip, b } = recipNormalized(x);
        expect(recip).toBeGreaterThanOrEqual(2 ** 11);
        expect(recip).toBeLessThanOrEqual(2 ** 12);
        // 1/x ~= recip * 2^-(11+b) within the 12-bit mantissa's precision
        expect(Math.abs(recip * 2 ** -(11 + b) * x - 1)).toBeLessThan(2 ** -10);
      }),
    );
  });
});

describe('LayerNorm', () => {
  const mean = quantizeMultiplier(1 / 4, 15);
  it('maps a known row to known outputs (known-answer vector)', () => {
    // x = [-300, -100, 100, 300]; mean 0; u = [-150, -50, 50, 150]; s = 2; sumSq = 5625+625+625+5625 = 12500
    // r = 111; R = floor(2^23 / (111 * 2^5)) = 2361, b = 7; n = rq(d, 2361, 7) = [-5534, -1845, 1845, 5534]
    const n = new Int32Array(4);
    lnNormalize([-300, -100, 100, 300], mean.mult, mean.shift, n);
    expect(Array.from(n)).toEqual([-5534, -1845, 1845, 5534]);
    const y = new Int8Array(4);
    // gain 1/64 (M = 2^14, sh = 20) in units of 2^-8 output LSB, bias 256 (= +1 output LSB)
    layerNorm(
      [-300, -100, 100, 300],
      { meanMult: mean.mult, meanShift: mean.shift, gainMult: [16384, 16384, 16384, 16384], gainShift: [20, 20, 20, 20], bias: [256, 256, 256, 256] },
      y,
    );
    // o = rq(n, 2^14, 20) + 256 = [-86+256, -29+256, 29+256, 86+256]; y = rq(o, 1, 8) = [1, 1, 1, 1] ... [0.66, 0.89, 1.11, 1.34] -> [1, 1, 1, 1]
    expect(Array.from(y)).toEqual([1, 1, 1, 1]);
  });
  it('handles a constant row (zero variance) without dividing by zero', () => {
    const n = new Int32Array(4);
    lnNormalize([7, 7, 7, 7], mean.mult, mean.shift, n);
    expect(Array.from(n)).toEqual([0, 0, 0, 0]);
  });
  it('keeps every intermediate in range for the worst-case row of the widest hidden size', () => {
    const N = 4096;
    const m = quantizeMultiplier(1 / N, 15);
    const rows = [
      Array.from({ length: N }, (_, i) => (i % 2 ? LN_IN_MAX : LN_IN_MIN)),
      Array.from({ length: N }, (_, i) => (i === 0 ? LN_IN_MAX : LN_IN_MIN)),
      Array.from({ length: N }, (_, i) => (i === 0 ? LN_IN_MIN : LN_IN_MAX)),
      Array.from({ length: N }, (_, i) => (i === 0 ? 1 : 0)),
    ];
    for (const x of rows) {
      const n = new Int32Array(N);
      lnNormalize(x, m.mult, m.shift, n); // throws on any out-of-range intermediate
      for (const v of n) expect(Math.abs(v)).toBeLessThan(2 ** 20);
    }
    expect(lnSquareShift(N)).toBe(12);
  });
});

describe('softmax', () => {
  const lut = buildExpLut();
  it('builds the exp table from its formula', () => {
    expect(lut[0]).toBe(32768);
    expect(lut[32]).toBe(Math.round(32768 * Math.exp(-1)));
    expect(lut.length).toBe(EXP_LUT_SIZE);
  });
  it('gives equal scores equal probabilities and masked keys zero', () => {
    const p = new Uint8Array(4);
    softmaxRow([5, 5, 5, 5], [1, 1, 1, 0], 16384, 15, lut, p);
    // e = 2^15 each for 3 keys; S = 3 * 2^15; b = 17; R = floor(2^23 / 3072) = 2730; p = rq(2^15 * 2730, 1, 20) = 85
    expect(Array.from(p)).toEqual([85, 85, 85, 0]);
  });
  it('saturates a single dominant key at 255', () => {
    const p = new Uint8Array(3);
    softmaxRow([2 ** 29, -(2 ** 29), -(2 ** 29)], null, 16384, 15, lut, p);
    expect(Array.from(p)).toEqual([255, 0, 0]);
  });
  it('stays in range at the extremes: 4096 keys, largest and smallest scores, masked keys', () => {
    const L = 4096;
    const p = new Uint8Array(L);
    softmaxRow(new Array(L).fill(2 ** 30 - 1), null, MULT_MAX, 15, lut, p);
    for (const v of p) expect(v).toBe(0); // 2^8 / 4096 rounds to 0: uniform over 4096 keys is below one LSB
    const acc = Array.from({ length: L }, (_, i) => (i % 2 ? 2 ** 30 - 1 : -(2 ** 30) + 1));
    softmaxRow(
      acc,
      Array.from({ length: L }, (_, i) => (i < 2 ? 1 : 0)),
      MULT_MAX,
      15,
      lut,
      p,
    );
    expect(p[1]).toBe(255);
    expect(MASKED_SCORE).toBe(-(2 ** 30));
  });
});

describe('look-up tables and multipliers', () => {
  it('erf and gelu match reference values', () => {
    expect(erf(0)).toBe(0);
    expect(erf(1)).toBeCloseTo(0.8427007929497149, 14);
    expect(erf(-2)).toBeCloseTo(-0.9953222650189527, 14);
    expect(gelu(1)).toBeCloseTo(0.8413447460685429, 13);
  });
  it('an activation table maps index i to f((i - 128) * inScale) / outScale, saturated', () => {
    const lut = buildActivationLut((x) => 2 * x, 1, 1);
    expect(lut[128]).toBe(0);
    expect(lut[129]).toBe(2);
    expect(lut[0]).toBe(-128);
    expect(lut[255]).toBe(127);
  });
  it('quantizeMultiplier normalizes and refuses ratios its site cannot hold', () => {
    expect(quantizeMultiplier(0.5, 15)).toEqual({ mult: 16384, shift: 15 });
    expect(quantizeMultiplier(-0.75, 15)).toEqual({ mult: -24576, shift: 15 });
    expect(quantizeMultiplier(1e-30, 15).shift).toBe(SHIFT_MAX);
    expect(() => quantizeMultiplier(2, 15)).toThrow(SpecRangeError);
    expect(() => quantizeMultiplier(NaN)).toThrow(SpecRangeError);
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 0.99, noNaN: true }), (r) => {
        const q = quantizeMultiplier(r, 15);
        expect(Math.abs(q.mult / 2 ** q.shift - r) / r).toBeLessThan(2 ** -14);
      }),
    );
  });
});
