import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs'; // gradients
import { selectBackend } from '../../trainer/backend.js';
import { batchedMatMul, useBatchedMatMulOnWasm } from '../../trainer/kernels/batched-matmul.js';

/** The product in doubles, as the reference. */
function naive(a: Float32Array, b: Float32Array, batch: number, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(batch * m * n);
  for (let q = 0; q < batch; q++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += a[(q * m + i) * k + t] * b[(q * k + t) * n + j];
        c[(q * m + i) * n + j] = s;
      }
  return c;
}

const close = (got: ArrayLike<number>, want: ArrayLike<number>, k: number): void => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-5 * k * (1 + Math.abs(want[i])));
};

describe('batched float32 matrix product (trainer/kernels/bmm.wat)', () => {
  it('equals the product for every shape, including row and column tails', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 13 }),
        fc.integer({ min: 1, max: 11 }),
        fc.integer({ min: 1, max: 19 }),
        fc.integer(),
        (batch, m, k, n, seed) => {
          let s = seed >>> 0;
          const r = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
          const a = Float32Array.from({ length: batch * m * k }, r);
          const b = Float32Array.from({ length: batch * k * n }, r);
          close(batchedMatMul(a, b, batch, m, k, n), naive(a, b, batch, m, k, n), k);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('integers below 2^24 come out exact (any summation order is exact there)', () => {
    const a = Float32Array.from({ length: 2 * 8 * 64 }, (_, i) => ((i * 37) % 255) - 127);
    const b = Float32Array.from({ length: 2 * 64 * 16 }, (_, i) => ((i * 91) % 255) - 128);
    expect(Array.from(batchedMatMul(a, b, 2, 8, 64, 16))).toEqual(Array.from(naive(a, b, 2, 8, 64, 16)));
  });

  it('refuses operands that do not fit the shape', () => {
    expect(() => batchedMatMul(new Float32Array(5), new Float32Array(6), 1, 2, 3, 2)).toThrow(/do not fit/);
  });

  describe("as the wasm backend's BatchMatMul", () => {
    beforeAll(async () => {
      await selectBackend('wasm');
      useBatchedMatMulOnWasm();
    });

    it('gives the products (and gradients) of tf.matMul for batched operands; others go to the stock kernel', () => {
      const a = tf.randomNormal([2, 3, 12, 10], 0, 1, 'float32', 1);
      const b = tf.randomNormal([2, 3, 10, 9], 0, 1, 'float32', 2);
      const want = naive(a.dataSync() as Float32Array, b.dataSync() as Float32Array, 6, 12, 10, 9);
      close(tf.matMul(a, b).dataSync(), want, 10);
      // transposed operands and 2-D products keep the backend's kernel: same values
      const bt = tf.transpose(b, [0, 1, 3, 2]);
      close(tf.matMul(a, bt, false, true).dataSync(), want, 10);
      const a2 = tf.randomNormal([5, 7], 0, 1, 'float32', 3);
      const b2 = tf.randomNormal([7, 4], 0, 1, 'float32', 4);
      close(tf.matMul(a2, b2).dataSync(), naive(a2.dataSync() as Float32Array, b2.dataSync() as Float32Array, 1, 5, 7, 4), 7);
      // gradients through the override
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.matMul(x, y)))([a, b]);
      const ga = g[0].dataSync();
      const bs = b.dataSync();
      // d/da[q,i,t] of sum(a b) = sum_j b[q,t,j]
      for (let q = 0; q < 6; q++)
        for (let t = 0; t < 10; t++) {
          let s = 0;
          for (let j = 0; j < 9; j++) s += bs[(q * 10 + t) * 9 + j];
          for (let i = 0; i < 12; i++) expect(Math.abs(ga[(q * 12 + i) * 10 + t] - s)).toBeLessThan(1e-4);
        }
    });
  });
});
