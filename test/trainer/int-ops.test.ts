import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../trainer/backend.js';
import { rqT, floorShift, isqrtT, recipNormalizedT, split16, matmul, bitLengthT } from '../../trainer/int-ops.js';
import { rq, isqrt, recipNormalized, bitLength, INT32_MAX, INT32_MIN, MULT_MAX, MATMUL_K_CHUNK } from '../../rtl-model/spec/index.js';
import { matmulNTOracle } from '../../rtl-model/gemm/oracle.js';

const i32 = (a: number[]): tf.Tensor => tf.tensor1d(a, 'int32');
const arr = (t: tf.Tensor): number[] => Array.from(t.dataSync());

/** Corner operands of rq: extremes of v, of M, ties, every shift. */
const RQ_CORNERS: [number, number, number][] = [];
for (const v of [INT32_MIN, INT32_MIN + 1, -65537, -65536, -32769, -1, 0, 1, 32767, 65535, 65536, INT32_MAX])
  for (const m of [-MULT_MAX, -1, 0, 1, 16384, MULT_MAX])
    for (const s of [1, 2, 8, 15, 16, 17, 18, 30, 31, 45, 46]) {
      try {
        rq(v, m, s);
        // the tensor op's sh <= 16 branch needs |result| < 2^30 (every such site guarantees it)
        if (s > 16 || Math.abs(rq(v, m, s)) < 2 ** 30) RQ_CORNERS.push([v, m, s]);
      } catch {
        /* out of int32: not an admissible operand */
      }
    }

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`integer tensor ops on the ${backend} backend`, () => {
    beforeAll(async () => {
      const c = await selectBackend(backend);
      expect(c.name).toBe(backend);
    });

    it('split16 splits every int32 exactly', () => {
      const xs = [INT32_MIN, INT32_MIN + 1, -65537, -65536, -1, 0, 1, 65535, 65536, INT32_MAX, 123456789, -987654321];
      const [hi, lo] = split16(i32(xs));
      const h = arr(hi);
      const l = arr(lo);
      xs.forEach((x, i) => {
        expect(h[i] * 65536 + l[i]).toBe(x);
        expect(l[i]).toBeGreaterThanOrEqual(0);
        expect(l[i]).toBeLessThan(65536);
      });
    });

    it('rqT equals the spec rq on every corner (ties, both ends, smallest and largest shifts)', () => {
      const v = i32(RQ_CORNERS.map((c) => c[0]));
      const m = i32(RQ_CORNERS.map((c) => c[1]));
      const s = i32(RQ_CORNERS.map((c) => c[2]));
      expect(arr(rqT(v, m, s))).toEqual(RQ_CORNERS.map(([a, b, c]) => rq(a, b, c)));
      expect(RQ_CORNERS.length).toBeGreaterThan(500);
    });

    it('rqT equals rq for random int32-input operands (sh >= 15)', () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.integer({ min: INT32_MIN, max: INT32_MAX }), fc.integer({ min: -MULT_MAX, max: MULT_MAX }), fc.integer({ min: 15, max: 46 })), {
            minLength: 1,
            maxLength: 64,
          }),
          (ops) => {
            const got = tf.tidy(() => arr(rqT(i32(ops.map((o) => o[0])), i32(ops.map((o) => o[1])), i32(ops.map((o) => o[2])))));
            expect(got).toEqual(ops.map(([a, b, c]) => rq(a, b, c)));
          },
        ),
        { numRuns: 30 },
      );
    });

    it('rqT with a known shift range computes the same as without', () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.integer({ min: -(2 ** 20), max: 2 ** 20 }), fc.integer({ min: -MULT_MAX, max: MULT_MAX })), { minLength: 1, maxLength: 32 }),
          fc.integer({ min: 6, max: 46 }),
          (ops, s) => {
            tf.tidy(() => {
              const v = i32(ops.map((o) => o[0]));
              const m = i32(ops.map((o) => o[1]));
              const sh = i32(ops.map(() => s));
              expect(arr(rqT(v, m, sh, { min: s, max: s }))).toEqual(ops.map(([a, b]) => rq(a, b, s)));
            });
          },
        ),
        { numRuns: 30 },
      );
    });

    it('rqT equals rq for small inputs with small shifts (int8 and LayerNorm sites)', () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.integer({ min: -(2 ** 20), max: 2 ** 20 }), fc.integer({ min: -MULT_MAX, max: MULT_MAX }), fc.integer({ min: 6, max: 46 })), {
            minLength: 1,
            maxLength: 64,
          }),
          (ops) => {
            const got = tf.tidy(() => arr(rqT(i32(ops.map((o) => o[0])), i32(ops.map((o) => o[1])), i32(ops.map((o) => o[2])))));
            expect(got).toEqual(ops.map(([a, b, c]) => rq(a, b, c)));
          },
        ),
        { numRuns: 30 },
      );
    });

    it('floorShift floors for every shift 1..30', () => {
      const xs = [INT32_MIN, -65537, -3, -1, 0, 1, 3, 65537, INT32_MAX];
      for (let k = 1; k <= 30; k++) expect(arr(floorShift(i32(xs), k))).toEqual(xs.map((x) => Math.floor(x / 2 ** k)));
    });

    it('floorShift with a tensor of shifts on both sides of 16, broadcast as a suffix, a column or a [1] tensor', () => {
      const xs = [INT32_MIN, -65537, -3, -1, 0, 1, 3, 65537, INT32_MAX, -123456789, 987654321, 40000];
      const x = tf.tensor2d(xs, [3, 4], 'int32');
      const want = (k: (r: number, c: number) => number): number[] => xs.map((v, i) => Math.floor(v / 2 ** k(Math.floor(i / 4), i % 4)));
      const ks = [1, 16, 17, 30];
      expect(arr(floorShift(x, i32(ks)))).toEqual(want((_, c) => ks[c])); // [4]: trailing suffix
      expect(arr(floorShift(x, tf.tensor2d([3, 16, 29], [3, 1], 'int32')))).toEqual(want((r) => [3, 16, 29][r])); // [3, 1]
      expect(arr(floorShift(x, tf.tensor2d(ks, [1, 4], 'int32')))).toEqual(want((_, c) => ks[c])); // [1, 4]
    });

    it('isqrtT and bitLengthT equal the spec at corners and random points', () => {
      const ns = [0, 1, 2, 3, 4, 15, 16, 17, 46339 ** 2, 46340 ** 2 - 1, 46340 ** 2, INT32_MAX, 2 ** 30, 2 ** 30 - 1];
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: INT32_MAX }), { minLength: 1, maxLength: 64 }), (rand) => {
          const all = [...ns, ...rand];
          tf.tidy(() => {
            expect(arr(isqrtT(i32(all)))).toEqual(all.map(isqrt));
            expect(arr(bitLengthT(i32(all)))).toEqual(all.map(bitLength));
          });
        }),
        { numRuns: 10 },
      );
    });

    it('recipNormalizedT equals the spec (float32 division is exact for its operands)', () => {
      const xs = [1, 2, 3, 4095, 4096, 4097, 6000, 46341, 2 ** 27, INT32_MAX];
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: INT32_MAX }), { minLength: 1, maxLength: 64 }), (rand) => {
          const all = [...xs, ...rand];
          tf.tidy(() => {
            const { recip, b } = recipNormalizedT(i32(all));
            expect(arr(recip)).toEqual(all.map((x) => recipNormalized(x).recip));
            expect(arr(b)).toEqual(all.map((x) => recipNormalized(x).b));
          });
        }),
        { numRuns: 10 },
      );
      // every divisor mantissa 2^11..2^12-1 against the dividend 2^23
      const mant = Array.from({ length: 2048 }, (_, i) => 2048 + i);
      expect(arr(recipNormalizedT(i32(mant)).recip)).toEqual(mant.map((x) => recipNormalized(x).recip));
    });

    it('matmulNT is exact at the largest partial sums (uint8 255 x int8 -128 over several chunks)', () => {
      const k = 3 * MATMUL_K_CHUNK + 7;
      const a = new Uint8Array(2 * k).fill(255);
      const b = new Int8Array(3 * k).fill(-128);
      b[5] = 127;
      const got = arr(matmul(tf.tensor2d(Int32Array.from(a), [2, k], 'int32'), tf.transpose(tf.tensor2d(Int32Array.from(b), [3, k], 'int32'))));
      expect(got).toEqual(Array.from(matmulNTOracle(a, b, 2, 3, k)));
      expect(got[1]).toBe(-255 * 128 * k);
    });

    it('matmulNT equals the oracle for random int8 operands and shapes', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 1100 }), fc.integer(), (m, n, k, seed) => {
          let s = seed >>> 0;
          const r = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24) - 128;
          const a = Int8Array.from({ length: m * k }, r);
          const b = Int8Array.from({ length: n * k }, () => Math.max(-127, r()));
          const got = tf.tidy(() =>
            arr(matmul(tf.tensor2d(Int32Array.from(a), [m, k], 'int32'), tf.transpose(tf.tensor2d(Int32Array.from(b), [n, k], 'int32')))),
          );
          expect(got).toEqual(Array.from(matmulNTOracle(a, b, m, n, k)));
        }),
        { numRuns: 20 },
      );
    });
  });
}
