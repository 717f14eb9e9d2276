import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { VectorUnit, columnConsts } from '../../../rtl-model/vector/vector-unit.js';
import {
  rq,
  layerNorm,
  softmaxRow,
  buildExpLut,
  quantizeMultiplier,
  maxRatio,
  saturate,
  INT32_MIN,
  INT32_MAX,
  MULT_MAX,
  LN_IN_MIN,
  LN_IN_MAX,
  BIAS_MIN,
  BIAS_MAX,
} from '../../../rtl-model/spec/index.js';

const vu = new VectorUnit();

describe('WebAssembly vector units equal the spec', () => {
  it('rqI8: sat8(rq(acc + bias, M, sh)) per column, including both int32 ends and every shift >= 15', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 7 }), fc.integer(), (rows, cols, seed) => {
        let s = seed >>> 0;
        const r = (lo: number, hi: number): number => lo + ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % (hi - lo + 1));
        const acc = Int32Array.from({ length: rows * cols }, () => r(-(2 ** 29), 2 ** 29));
        acc[0] = -(2 ** 29);
        const bias = Int32Array.from({ length: cols }, () => r(BIAS_MIN, BIAS_MAX));
        const mult = Int16Array.from({ length: cols }, () => r(-MULT_MAX, MULT_MAX));
        const shift = Uint8Array.from({ length: cols }, () => r(15, 46));
        const y = vu.rqI8(acc, bias, columnConsts(mult, shift, cols), rows, cols);
        for (let i = 0; i < rows * cols; i++) expect(y[i]).toBe(saturate(rq(acc[i] + bias[i % cols], mult[i % cols], shift[i % cols]), -128, 127));
      }),
    );
  });
  it('join: sat16 of the sum of sat16 terms (int8 and int32 sources)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: INT32_MIN + 2 ** 23, max: INT32_MAX - 2 ** 23 }), { minLength: 6, maxLength: 6 }),
        fc.array(fc.integer({ min: -128, max: 127 }), { minLength: 6, maxLength: 6 }),
        fc.integer({ min: -MULT_MAX, max: MULT_MAX }),
        fc.integer({ min: 1, max: 20 }),
        (big, small, m, sh) => {
          const a = Int8Array.from(small);
          const b = Int32Array.from(big);
          const bias = Int32Array.from([5, -7, 2 ** 23 - 1]);
          const ca = columnConsts([m], [sh], 3);
          const cb = columnConsts([1000, -2000, 3], [15, 20, 15], 3);
          const x = vu.join(
            [
              { src: a, bias: null, c: ca },
              { src: b, bias, c: cb },
            ],
            2,
            3,
          );
          for (let i = 0; i < 6; i++) {
            const ta = saturate(rq(a[i], m, sh), LN_IN_MIN, LN_IN_MAX);
            const tb = saturate(rq(b[i] + bias[i % 3], [1000, -2000, 3][i % 3], [15, 20, 15][i % 3]), LN_IN_MIN, LN_IN_MAX);
            expect(x[i]).toBe(saturate(ta + tb, LN_IN_MIN, LN_IN_MAX));
          }
        },
      ),
    );
  });
  it('layerNorm equals the spec row by row, including extreme rows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 4 }), fc.integer(), (cols, rows, seed) => {
        let s = seed >>> 0;
        const r = (lo: number, hi: number): number => lo + ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % (hi - lo + 1));
        const x = Int16Array.from({ length: rows * cols }, () => (r(0, 3) === 0 ? (r(0, 1) ? LN_IN_MAX : LN_IN_MIN) : r(LN_IN_MIN, LN_IN_MAX)));
        const mean = quantizeMultiplier(Math.min(1 / cols, maxRatio(15)), 15); // hidden 1: 1/N clamps as the exporter does
        const gm = Int16Array.from({ length: cols }, () => r(-MULT_MAX, MULT_MAX));
        const gs = Uint8Array.from({ length: cols }, () => r(6, 30));
        const bias = Int32Array.from({ length: cols }, () => r(BIAS_MIN, BIAS_MAX));
        const y = vu.layerNorm(x, rows, cols, mean.mult, mean.shift, columnConsts(gm, gs, cols), bias);
        for (let i = 0; i < rows; i++) {
          const want = new Int8Array(cols);
          layerNorm(x.subarray(i * cols, (i + 1) * cols), { meanMult: mean.mult, meanShift: mean.shift, gainMult: gm, gainShift: gs, bias }, want);
          expect(Array.from(y.subarray(i * cols, (i + 1) * cols))).toEqual(Array.from(want));
        }
      }),
    );
  });
  it('softmax equals the spec row by row, with masks and extreme scores', () => {
    const lut = buildExpLut();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: MULT_MAX }), fc.integer({ min: 15, max: 46 }), fc.integer(), (L, m, sh, seed) => {
        let s = seed >>> 0;
        const r = (lo: number, hi: number): number => lo + ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % (hi - lo + 1));
        const scores = Int32Array.from({ length: L * L }, () => r(-(2 ** 30) + 1, 2 ** 30 - 1));
        const mask = Int32Array.from({ length: L }, (_, j) => (j === 0 ? 1 : r(0, 1)));
        const p = vu.softmax(scores, mask, L, L, m, sh, lut);
        for (let i = 0; i < L; i++) {
          const want = new Uint8Array(L);
          softmaxRow(scores.subarray(i * L, (i + 1) * L), mask, m, sh, lut, want);
          expect(Array.from(p.subarray(i * L, (i + 1) * L))).toEqual(Array.from(want));
        }
      }),
    );
  });
});
