import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { matmulNTOracle, type GemmEngine } from '../../../rtl-model/gemm/oracle.js';
import { createWasmGemm } from '../../../rtl-model/gemm/wasm-engine.js';
import { createParallelGemm } from '../../../rtl-model/gemm/parallel-engine.js';
import { benchGemm } from '../../../rtl-model/gemm/bench-gemm.js';

/** Deterministic operand fill: random values, or only the extremes, or a mix of both. */
type Fill = 'random' | 'extreme' | 'mixed';
function fill<T extends Int8Array | Uint8Array>(x: T, seed: number, kind: Fill): T {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const [lo, hi] = x instanceof Uint8Array ? [0, 255] : [-128, 127];
  for (let i = 0; i < x.length; i++) {
    const r = next();
    const extreme = kind === 'extreme' || (kind === 'mixed' && (r & 3) === 0);
    x[i] = extreme ? ((r >>> 2) & 1 ? hi : lo) : r >>> 24; // Int8Array wraps 0..255 to -128..127
  }
  return x;
}

interface Case {
  m: number;
  n: number;
  k: number;
  unsigned: boolean;
  seed: number;
  kind: Fill;
}

function operands(c: Case): { a: Int8Array | Uint8Array; b: Int8Array } {
  const a = c.unsigned ? new Uint8Array(c.m * c.k) : new Int8Array(c.m * c.k);
  return { a: fill(a, c.seed, c.kind), b: fill(new Int8Array(c.n * c.k), c.seed + 1, c.kind) };
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  m: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 40 })),
  n: fc.oneof(fc.integer({ min: 1, max: 17 }), fc.integer({ min: 1, max: 80 })),
  k: fc.oneof(fc.integer({ min: 1, max: 17 }), fc.integer({ min: 1, max: 150 })),
  unsigned: fc.boolean(),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  kind: fc.constantFrom<Fill>('random', 'extreme', 'mixed'),
});

/** Run a case three times with the same b (passed once, then cached, then from the cache). */
async function checkCase(engine: GemmEngine, c: Case): Promise<void> {
  const { a, b } = operands(c);
  const want = matmulNTOracle(a, b, c.m, c.n, c.k);
  for (let rep = 0; rep < 3; rep++) {
    const got = await engine.matmulNT(a, b, c.m, c.n, c.k);
    expect(got).toBeInstanceOf(Int32Array);
    expect(got).toEqual(want);
  }
}

const fixedCases: Case[] = [
  { m: 1, n: 1, k: 1, unsigned: false, seed: 1, kind: 'random' },
  { m: 1, n: 1, k: 1, unsigned: true, seed: 2, kind: 'extreme' },
  { m: 19, n: 333, k: 120, unsigned: false, seed: 3, kind: 'random' },
  { m: 19, n: 333, k: 120, unsigned: true, seed: 4, kind: 'mixed' },
  { m: 4, n: 8, k: 8, unsigned: false, seed: 5, kind: 'extreme' },
  { m: 7, n: 9, k: 13, unsigned: true, seed: 6, kind: 'random' },
  { m: 64, n: 72, k: 129, unsigned: false, seed: 7, kind: 'mixed' },
  // every product 255 * -128: |sum| = 16384 * 32640 < 2^31
  { m: 2, n: 3, k: 16384, unsigned: true, seed: 8, kind: 'extreme' },
];

describe.each([
  ['wasm-simd', () => createWasmGemm()],
  // minParallelMacs 0: every product is split between the calling thread and the workers
  ['wasm-simd-x2 (always split)', () => createParallelGemm(2, { minParallelMacs: 0 })],
  ['wasm-simd-x3 (always split)', () => createParallelGemm(3, { minParallelMacs: 0 })],
  ['wasm-simd-x2 (default threshold)', () => createParallelGemm(2)],
])('%s engine', (_label, create) => {
  let engine: GemmEngine;
  beforeAll(async () => {
    engine = await create();
  });
  afterAll(async () => {
    await engine.close?.();
  });

  it('equals the oracle on fixed shapes (M, N, K = 1, odd sizes, K % 8 != 0, extreme values)', async () => {
    for (const c of fixedCases) await checkCase(engine, c);
  });

  it('equals the oracle on random shapes and values', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, (c) => checkCase(engine, c)),
      { seed: 42, numRuns: 60 },
    );
  });

  it('does not return stale results for another weight array of the same shape', async () => {
    const c: Case = { m: 24, n: 40, k: 72, unsigned: false, seed: 11, kind: 'random' };
    const { a } = operands(c);
    const b1 = fill(new Int8Array(c.n * c.k), 12, 'random');
    const b2 = fill(new Int8Array(c.n * c.k), 13, 'random');
    const b3 = b2.slice(); // equal contents, another array
    for (let rep = 0; rep < 3; rep++) {
      for (const b of [b1, b2, b3]) expect(await engine.matmulNT(a, b, c.m, c.n, c.k)).toEqual(matmulNTOracle(a, b, c.m, c.n, c.k));
    }
    // the same array with another shape is re-packed, not read from the cache
    const shapes: Array<[number, number]> = [
      [40, 72],
      [72, 40],
      [40, 72],
    ];
    for (const [n, k] of shapes) expect(await engine.matmulNT(a.subarray(0, c.m * k), b1, c.m, n, k)).toEqual(matmulNTOracle(a, b1, c.m, n, k));
  });

  it('handles empty products and rejects bad shapes', async () => {
    expect(await engine.matmulNT(new Int8Array(0), new Int8Array(0), 0, 5, 0)).toEqual(new Int32Array(0));
    expect(await engine.matmulNT(new Int8Array(0), new Int8Array(0), 3, 2, 0)).toEqual(new Int32Array(6));
    await expect(engine.matmulNT(new Int8Array(5), new Int8Array(6), 2, 2, 3)).rejects.toThrow(/too short/);
    await expect(engine.matmulNT(new Int8Array(4), new Int8Array(4), 2, 2, 1.5)).rejects.toThrow(RangeError);
  });

  it('writes into a given output buffer, and rejects one too small', async () => {
    for (const c of [fixedCases[2], fixedCases[6]]) {
      const { a, b } = operands(c);
      const out = new Int32Array(c.m * c.n + 5).fill(-7);
      const r = await engine.matmulNT(a, b, c.m, c.n, c.k, out);
      expect(r.buffer).toBe(out.buffer);
      expect(r).toEqual(matmulNTOracle(a, b, c.m, c.n, c.k));
      expect(Array.from(out.subarray(c.m * c.n))).toEqual([-7, -7, -7, -7, -7]);
      await expect(engine.matmulNT(a, b, c.m, c.n, c.k, new Int32Array(c.m * c.n - 1))).rejects.toThrow(/output buffer of .* too small/);
    }
  });

  it('serializes concurrent calls correctly', async () => {
    const cases = fixedCases.slice(2, 7);
    const ops = cases.map(operands);
    const got = await Promise.all(cases.map((c, i) => engine.matmulNT(ops[i].a, ops[i].b, c.m, c.n, c.k)));
    cases.forEach((c, i) => expect(got[i]).toEqual(matmulNTOracle(ops[i].a, ops[i].b, c.m, c.n, c.k)));
  });
});

describe('engines', () => {
  it('split large products between threads and agree with the single-threaded engine', async () => {
    const single = await createWasmGemm();
    const par = await createParallelGemm(2);
    try {
      expect(par.name).toBe('wasm-simd-x2');
      expect(single.name).toBe('wasm-simd');
      const [m, n, k] = [64, 200, 200]; // 2.56M MACs: above the default threshold
      const a = fill(new Uint8Array(m * k), 21, 'mixed');
      const b = fill(new Int8Array(n * k), 22, 'mixed');
      const want = matmulNTOracle(a, b, m, n, k);
      for (let rep = 0; rep < 3; rep++) {
        expect(await par.matmulNT(a, b, m, n, k)).toEqual(want);
        expect(await single.matmulNT(a, b, m, n, k)).toEqual(want);
      }
    } finally {
      single.close?.();
      await par.close?.();
    }
  });

  it('do not keep per-call b operands (only arrays used again are cached)', async () => {
    const e = await createWasmGemm();
    const a = fill(new Int8Array(8 * 256), 31, 'random');
    const b0 = fill(new Int8Array(256 * 256), 32, 'random');
    await e.matmulNT(a, b0, 8, 256, 256);
    const before = e.core.memoryBytes;
    for (let i = 0; i < 100; i++) {
      // 100 fresh 256 x 256 operands would take 12.8 MiB packed as int16
      const b = fill(new Int8Array(256 * 256), 100 + i, 'random');
      expect(await e.matmulNT(a, b, 8, 256, 256)).toEqual(matmulNTOracle(a, b, 8, 256, 256));
    }
    expect(e.core.memoryBytes - before).toBeLessThan(2 ** 20);
    e.close();
  });

  it('refuse calls after close', async () => {
    const par = await createParallelGemm(2);
    await par.close?.();
    await expect(par.matmulNT(new Int8Array(1), new Int8Array(1), 1, 1, 1)).rejects.toThrow(/closed/);
    const single = await createWasmGemm();
    single.close?.();
    await expect(single.matmulNT(new Int8Array(1), new Int8Array(1), 1, 1, 1)).rejects.toThrow(/closed/);
  });

  it('benchGemm reports a positive rate', async () => {
    const e = await createWasmGemm();
    const r = await benchGemm(e, 16, 32, 64, 3);
    expect(r.ms).toBeGreaterThan(0);
    expect(r.gmacPerS).toBeGreaterThan(0);
  });
});
