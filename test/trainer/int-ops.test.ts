/**
 * The reference's integer primitives (trainer/int-ops.ts) against the spec (rtl-model/spec) on every
 * backend the project supports: cpu, wasm and webgpu (Dawn; lavapipe on CI, skipped where Dawn finds
 * no adapter unless REQUIRE_WEBGPU=1). On cpu, the worst cases the spec admits also run under
 * checkBounds, which fails on any intermediate that is not an integer of magnitude <= 2^24: the bound
 * webgpu computes int32 and float32 exactly within.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../trainer/backend.js';
import { requestWebGpuAdapter } from '../../trainer/webgpu-adapter.js';
import {
  bitLength,
  c,
  checkBounds,
  collapse,
  isqrtWide,
  matmulChunks,
  mul,
  multConst,
  multOf,
  recipNormalizedWide,
  rqWide,
  shiftConst,
  shiftOf,
  wideSum,
  wideValues,
  type Wide,
} from '../../trainer/int-ops.js';
import { layerNormRows, softmaxRows, siteOf, biasDigits, maskTensorsOf, type Site } from '../../trainer/int-reference.js';
import {
  rq,
  isqrt,
  recipNormalized,
  bitLength as specBitLength,
  layerNorm,
  softmaxRow,
  buildExpLut,
  INT32_MAX,
  INT32_MIN,
  MULT_MAX,
  MATMUL_K_CHUNK,
  BIAS_MAX,
  BIAS_MIN,
  LN_IN_MAX,
  LN_IN_MIN,
} from '../../rtl-model/spec/index.js';
import { matmulNTOracle } from '../../rtl-model/gemm/oracle.js';

const REQUIRE_WEBGPU = process.env.REQUIRE_WEBGPU === '1';
const adapter = await requestWebGpuAdapter().catch(() => null);
if (!adapter && !REQUIRE_WEBGPU)
  console.warn('int-ops on webgpu skipped: Dawn found no WebGPU adapter (no Vulkan driver it accepts); REQUIRE_WEBGPU=1 fails instead');

const f32 = (a: ArrayLike<number>): tf.Tensor => tf.tensor1d(Float32Array.from(a), 'float32');
const read = async (t: tf.Tensor): Promise<number[]> => Array.from(await t.data());
const clamp = (x: bigint, lo: number, hi: number): number => Number(x < BigInt(lo) ? BigInt(lo) : x > BigInt(hi) ? BigInt(hi) : x);

/** floor((v·M + 2^(s-1)) / 2^s) in BigInt (round = false: floor(v·M / 2^s)). */
function rqBig(v: number, m: number, s: number, round = true): bigint {
  const num = BigInt(v) * BigInt(m) + (round ? 1n << BigInt(s - 1) : 0n);
  const d = 1n << BigInt(s);
  const q = num / d;
  return num < 0n && q * d !== num ? q - 1n : q;
}

/** Three base-2^11 digits of int32 values (the top one signed). */
function digitsOf(vs: number[]): Wide {
  const d0 = vs.map((v) => v - Math.floor(v / 2048) * 2048);
  const h = vs.map((v) => Math.floor(v / 2048));
  const d1 = h.map((v) => v - Math.floor(v / 2048) * 2048);
  const d2 = h.map((v) => Math.floor(v / 2048));
  return [f32(d0), f32(d1), f32(d2)];
}

/** Corner operands: extremes of v and M, digit boundaries, every shift 1..46. */
const V_CORNERS = [INT32_MIN, INT32_MIN + 1, -(2 ** 22) - 1, -(2 ** 22), -65537, -2049, -2048, -1, 0, 1, 1023, 1024, 2047, 2048, 2 ** 22, 2 ** 30, INT32_MAX];
const M_CORNERS = [-MULT_MAX, -2049, -2048, -1, 0, 1, 2047, 2048, 16384, MULT_MAX];
const CORNERS: [number, number, number][] = [];
for (const v of V_CORNERS) for (const m of M_CORNERS) for (let s = 1; s <= 46; s++) CORNERS.push([v, m, s]);

const BACKENDS = ['cpu', 'wasm', 'webgpu'] as const;

for (const backend of BACKENDS) {
  const skip = backend === 'webgpu' && !adapter && !REQUIRE_WEBGPU;
  describe.skipIf(skip)(`integer tensor ops on the ${backend} backend`, () => {
    beforeAll(async () => {
      const choice = await selectBackend(backend);
      expect(choice.name).toBe(backend);
    });

    it('rqWide equals the spec rq on every corner (ties, both ends, every shift 1..46, per-element constants)', async () => {
      const v = digitsOf(CORNERS.map((x) => x[0]));
      const m = multConst(CORNERS.map((x) => x[1]));
      const s = shiftConst(CORNERS.map((x) => x[2]));
      for (const round of [true, false]) {
        const got = await read(collapse(rqWide(v, m, s, round), -(2 ** 22), 2 ** 22));
        const want = CORNERS.map(([a, b, k]) => clamp(rqBig(a, b, k, round), -(2 ** 22), 2 ** 22));
        expect(got).toEqual(want);
      }
      // and the spec's own rq, wherever its result is an int32 it returns
      const spec = CORNERS.filter(([a, b, k]) => Math.abs(Number(rqBig(a, b, k))) < 2 ** 23).map(([a, b, k]) => rq(a, b, k));
      expect(spec).toEqual(CORNERS.filter(([a, b, k]) => Math.abs(Number(rqBig(a, b, k))) < 2 ** 23).map(([a, b, k]) => Number(rqBig(a, b, k))));
      expect(CORNERS.length).toBeGreaterThan(7000);
    });

    it('rqWide returns the two digits of results up to 2^31 exactly (the LayerNorm gain site keeps them)', async () => {
      const ops = CORNERS.filter(([a, b, k]) => {
        const r = rqBig(a, b, k);
        return r >= BigInt(INT32_MIN) && r <= BigInt(INT32_MAX) && Math.abs(Number(r)) < 2 ** 23 - 2 ** 12;
      });
      const [lo, hi] = rqWide(digitsOf(ops.map((x) => x[0])), multConst(ops.map((x) => x[1])), shiftConst(ops.map((x) => x[2])));
      expect(wideValues([await lo.data(), await hi.data()])).toEqual(Int32Array.from(ops.map(([a, b, k]) => Number(rqBig(a, b, k)))));
    });

    it('rqWide equals rq for random operands, with constant and with run-time multipliers and shifts', async () => {
      const cases = fc.sample(
        fc.tuple(fc.integer({ min: INT32_MIN, max: INT32_MAX }), fc.integer({ min: -MULT_MAX, max: MULT_MAX }), fc.integer({ min: 1, max: 46 })),
        { numRuns: 2000, seed: 7 },
      );
      const v = digitsOf(cases.map((x) => x[0]));
      const got = await read(collapse(rqWide(v, multConst(cases.map((x) => x[1])), shiftConst(cases.map((x) => x[2]))), -128, 127));
      expect(got).toEqual(cases.map(([a, b, k]) => clamp(rqBig(a, b, k), -128, 127)));
      // run time: M >= 0 (a reciprocal), shifts known to lie in [1, 34]
      const rt = cases.map(([a, b, k]): [number, number, number] => [a, Math.abs(b), Math.min(k, 34)]);
      const got2 = await read(
        collapse(rqWide(digitsOf(rt.map((x) => x[0])), multOf(f32(rt.map((x) => x[1]))), shiftOf(f32(rt.map((x) => x[2])), 1, 34)), -(2 ** 15), 2 ** 15),
      );
      expect(got2).toEqual(rt.map(([a, b, k]) => clamp(rqBig(a, b, k), -(2 ** 15), 2 ** 15)));
    });

    it('collapse saturates wide values at both ends and is exact inside', async () => {
      const vs = [INT32_MIN, -(2 ** 24), -129, -128, 0, 127, 128, 2 ** 24, INT32_MAX];
      expect(await read(collapse(digitsOf(vs), -128, 127))).toEqual(vs.map((v) => Math.max(-128, Math.min(127, v))));
    });

    it('isqrtWide and bitLength equal the spec at corners and random points', async () => {
      const xs = [0, 1, 2, 3, 4, 15, 16, 17, 2 ** 22 - 1, 2 ** 22, 2 ** 30, 2 ** 30 + 1, 46340 ** 2 - 1, 46340 ** 2, 46340 ** 2 + 1, INT32_MAX];
      for (let i = 0; i < 200; i++) xs.push((Math.imul(i + 1, 2654435761) >>> 1) % 2 ** 31);
      expect(await read(isqrtWide(digitsOf(xs)))).toEqual(xs.map((x) => isqrt(x)));
      const small = [0, 1, 2, 3, 2047, 2048, 2 ** 20, 2 ** 22 - 1];
      expect(await read(bitLength(f32(small), 22))).toEqual(small.map((x) => specBitLength(x)));
    });

    it('recipNormalizedWide equals the spec for every divisor mantissa and for wide divisors', async () => {
      const xs = [1, 2, 3, 2047, 2048, 4095, 4096, 4097, 2 ** 15, 2 ** 23, 2 ** 27, 2 ** 30, INT32_MAX];
      for (let i = 2048; i < 4096; i++) xs.push(i);
      for (let i = 0; i < 300; i++) xs.push(1 + ((Math.imul(i + 3, 2246822519) >>> 1) % INT32_MAX));
      const d = digitsOf(xs);
      const { recip, b } = recipNormalizedWide([d[0], tf.add(d[1], tf.mul(d[2], 2048))]);
      expect(await read(recip)).toEqual(xs.map((x) => recipNormalized(x).recip));
      expect(await read(b)).toEqual(xs.map((x) => recipNormalized(x).b));
    });

    it('matmulChunks and wideSum are exact at the largest partial sums (uint8 255 x int8 -128 over several chunks)', async () => {
      const k = 3 * MATMUL_K_CHUNK + 7;
      const a = new Uint8Array(2 * k).fill(255);
      const b = new Int8Array(3 * k).fill(-128);
      b[5] = 127;
      const bt = tf.transpose(tf.tensor2d(Float32Array.from(b), [3, k], 'float32'));
      const w = wideSum(matmulChunks(tf.tensor2d(Float32Array.from(a), [2, k], 'float32'), bt));
      const got = wideValues(await Promise.all(w.map((x) => x.data())));
      expect(Array.from(got)).toEqual(Array.from(matmulNTOracle(a, b, 2, 3, k)));
      expect(got[1]).toBe(-255 * 128 * k);
    });

    it('matmulChunks and wideSum equal the oracle for random int8 operands, shapes and biases', async () => {
      for (let run = 0; run < 12; run++) {
        let s = 99 + run;
        const r = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24) - 128;
        const m = 1 + (run % 5);
        const n = 1 + ((run * 7) % 9);
        const k = 1 + ((run * 389) % 1500);
        const a = Int8Array.from({ length: m * k }, r);
        const b = Int8Array.from({ length: n * k }, () => Math.max(-127, r()));
        const bias = Array.from({ length: n }, (_, j) => (j % 2 ? BIAS_MAX : BIAS_MIN) - run);
        const w = wideSum(
          matmulChunks(tf.tensor2d(Float32Array.from(a), [m, k], 'float32'), tf.transpose(tf.tensor2d(Float32Array.from(b), [n, k], 'float32'))),
          biasDigits(bias),
        );
        const want = Array.from(matmulNTOracle(a, b, m, n, k), (x, i) => x + bias[i % n]);
        expect(Array.from(wideValues(await Promise.all(w.map((x) => x.data()))))).toEqual(want);
      }
    });

    it('layerNormRows equals the spec layerNorm on random rows and rows at both int16 extremes', async () => {
      const n = 768;
      const rows = 6;
      const x: number[][] = [];
      let s = 5;
      const r = (k: number): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % k;
      x.push(Array.from({ length: n }, (_, i) => (i === 0 ? LN_IN_MAX : LN_IN_MIN)));
      x.push(Array.from({ length: n }, (_, i) => (i % 2 ? LN_IN_MAX : LN_IN_MIN)));
      x.push(Array.from({ length: n }, () => 7));
      while (x.length < rows) x.push(Array.from({ length: n }, () => r(2 ** 16) - 2 ** 15));
      const consts = lnConsts(n, 11);
      const got = await read(layerNormRows(tf.tensor2d(Float32Array.from(x.flat()), [rows, n], 'float32'), ...lnSites(consts)));
      expect(got).toEqual(x.flatMap((row) => specLayerNorm(row, consts)));
    });

    it('softmaxRows equals the spec softmaxRow with masked keys and scores at the head dimension extremes', async () => {
      const keys = 64;
      const heads = 2;
      const mask = Array.from({ length: keys }, (_, j) => (j % 5 === 3 ? 0 : 1));
      const cases = softmaxCases(heads, keys, 2 ** 26 - 2 ** 14);
      const got = await read(runSoftmax(cases.scores, heads, keys, mask, cases.mult, cases.shift));
      expect(got).toEqual(specSoftmax(cases.scores, keys, mask, cases.mult, cases.shift));
    });
  });
}

describe('checkBounds: every intermediate of the worst cases the spec admits is an integer of magnitude <= 2^24', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('fails where an op leaves the bound (the check can fail)', () => {
    expect(() => checkBounds(() => mul(c(2 ** 13), 2 ** 12))).toThrow(/outside the integers of magnitude <= 2\^24/);
    expect(() => checkBounds(() => mul(c(3), 0.5))).toThrow(/produced 1.5/);
  });

  it('rqWide over every corner (int32 extremes, |M| = 2^15 - 1, shifts 1..46), both roundings', () => {
    checkBounds(() => {
      const v = digitsOf(CORNERS.map((x) => x[0]));
      const m = multConst(CORNERS.map((x) => x[1]));
      const s = shiftConst(CORNERS.map((x) => x[2]));
      collapse(rqWide(v, m, s), -128, 127);
      collapse(rqWide(v, m, s, false), -(2 ** 22), 2 ** 22);
    });
  });

  it('isqrtWide and recipNormalizedWide at their extremes', () => {
    checkBounds(() => {
      isqrtWide(digitsOf([0, 1, 2 ** 30, INT32_MAX]));
      const d = digitsOf([1, 2047, 4096, INT32_MAX]);
      recipNormalizedWide([d[0], tf.add(d[1], tf.mul(d[2], 2048))]);
    });
  });

  it('matmulChunks and wideSum at K = 16,384 (32 chunks) with uint8 255 x int8 -128 and a 24-bit bias', async () => {
    const k = 16384;
    const w = checkBounds(() => wideSum(matmulChunks(tf.fill([1, k], 255, 'float32'), tf.fill([k, 2], -128, 'float32')), biasDigits([BIAS_MIN, BIAS_MAX])));
    expect(Array.from(wideValues(await Promise.all(w.map((x) => x.data()))))).toEqual([-255 * 128 * k + BIAS_MIN, -255 * 128 * k + BIAS_MAX]);
  });

  it('matmulChunks merges chunks only within 2^24: K = 16,384 at the int8 extremes (-128 x -127), merged and not', async () => {
    const k = 16384;
    const a = tf.fill([1, k], -128, 'float32');
    const b = tf.fill([k, 2], -127, 'float32');
    const merged = checkBounds(() => matmulChunks(a, b, 128 * 127));
    expect(merged.length).toBe(16); // pairs of 512-row chunks: 1,024·16,256 < 2^24
    for (const parts of [merged, matmulChunks(a, b)]) {
      const w = wideSum(parts, biasDigits([BIAS_MAX, BIAS_MIN]));
      expect(Array.from(wideValues(await Promise.all(w.map((x) => x.data()))))).toEqual([128 * 127 * k + BIAS_MAX, 128 * 127 * k + BIAS_MIN]);
    }
  });

  it('layerNormRows for N = 4,096 with rows at both int16 extremes, the largest gains and 24-bit biases', async () => {
    const n = 4096;
    const x = [
      Array.from({ length: n }, (_, i) => (i === 0 ? LN_IN_MAX : LN_IN_MIN)),
      Array.from({ length: n }, (_, i) => (i % 2 ? LN_IN_MAX : LN_IN_MIN)),
      Array.from({ length: n }, (_, i) => (i < 3 ? LN_IN_MIN : LN_IN_MAX)),
    ];
    const consts = lnConsts(n, 6);
    const got = checkBounds(() => layerNormRows(tf.tensor2d(Float32Array.from(x.flat()), [x.length, n], 'float32'), ...lnSites(consts)));
    expect(await read(got)).toEqual(x.flatMap((row) => specLayerNorm(row, consts)));
  });

  it('softmaxRows for 4,096 keys with scores at ±4096·2^14 (head dimension 4,096)', async () => {
    const keys = 4096;
    const heads = 1;
    const mask = Array.from({ length: keys }, (_, j) => (j % 7 === 0 ? 0 : 1));
    const cases = softmaxCases(heads, keys, 4096 * 2 ** 14);
    const got = checkBounds(() => runSoftmax(cases.scores, heads, keys, mask, cases.mult, cases.shift));
    expect(await read(got)).toEqual(specSoftmax(cases.scores, keys, mask, cases.mult, cases.shift));
  });
});

// --- LayerNorm and softmax cases, with the spec's functions as the expectation ---

interface LnConsts {
  meanMult: number;
  meanShift: number;
  gainMult: number[];
  gainShift: number[];
  bias: number[];
}

/** LayerNorm constants of width n: the mean's 1/N, gains at ±(2^15 - 1) (shift gainShift) and smaller, biases at both 24-bit ends. */
function lnConsts(n: number, gainShift: number): LnConsts {
  const meanShift = 14 + Math.ceil(Math.log2(n)); // 1/N as 2^14 / 2^meanShift
  return {
    meanMult: Math.round(2 ** meanShift / n),
    meanShift,
    gainMult: Array.from({ length: n }, (_, i) => [MULT_MAX, -MULT_MAX, 12345, 1, -7][i % 5]),
    gainShift: Array.from({ length: n }, (_, i) => gainShift + (i % 3)),
    bias: Array.from({ length: n }, (_, i) => [BIAS_MAX, BIAS_MIN, 0, 1000, -999][i % 5]),
  };
}

function lnSites(k: LnConsts): [Site, Site, Wide] {
  return [siteOf([k.meanMult], [k.meanShift]), siteOf(k.gainMult, k.gainShift), biasDigits(k.bias)];
}

function specLayerNorm(row: number[], k: LnConsts): number[] {
  const out = new Array<number>(row.length);
  layerNorm(row, k, out);
  return out;
}

/** Scores [heads, queries = 3, keys] spread over ±span (with ties at the maximum), the exp site's constants. */
function softmaxCases(heads: number, keys: number, span: number): { scores: number[]; mult: number; shift: number } {
  const q = 3;
  const scores: number[] = [];
  let s = 17;
  const r = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < q; i++)
      for (let j = 0; j < keys; j++) {
        const v = i === 0 ? (j % 2 ? span : -span) : i === 1 ? Math.round(span - r() * 4096) : Math.round((2 * r() - 1) * span);
        scores.push(v);
      }
  return { scores, mult: 23170, shift: 15 + Math.ceil(Math.log2(span)) - 9 };
}

function runSoftmax(scores: number[], heads: number, keys: number, mask: number[], mult: number, shift: number): tf.Tensor {
  const q = scores.length / heads / keys;
  // two digits (|score| < 2^26 is beyond float32's exact integers)
  const lo = scores.map((v) => v - Math.floor(v / 2048) * 2048);
  const hi = scores.map((v) => Math.floor(v / 2048));
  const two: Wide = [lo, hi].map((d) => tf.tensor3d(Float32Array.from(d), [heads, q, keys], 'float32'));
  const lut = tf.tensor1d(Float32Array.from([...buildExpLut(), 0]), 'float32');
  return softmaxRows(two, siteOf([mult], [shift]), lut, maskTensorsOf(mask, heads, q));
}

function specSoftmax(scores: number[], keys: number, mask: number[], mult: number, shift: number): number[] {
  const out: number[] = [];
  const lut = buildExpLut();
  for (let r = 0; r < scores.length / keys; r++) {
    const row = new Array<number>(keys);
    softmaxRow(scores.slice(r * keys, (r + 1) * keys), mask, mult, shift, lut, row);
    out.push(...row);
  }
  return out;
}
