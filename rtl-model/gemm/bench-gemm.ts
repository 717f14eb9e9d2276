/**
 * GEMM micro-benchmark: median time of `reps` calls of engine.matmulNT on random int8 operands
 * (a M x K, b N x K), after one untimed call that packs and caches the weight.
 */
import type { GemmEngine } from './oracle.js';

export interface GemmBench {
  /** Multiply-accumulates per second / 1e9, from the median time. */
  gmacPerS: number;
  /** Median milliseconds per call. */
  ms: number;
}

/** Deterministic int8 fill (xorshift32), so runs are comparable. */
function fillRandom(x: Int8Array, seed: number): Int8Array {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < x.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    x[i] = s;
  }
  return x;
}

export async function benchGemm(engine: GemmEngine, m: number, n: number, k: number, reps = 9): Promise<GemmBench> {
  if (!(reps >= 1)) throw new RangeError(`benchGemm: reps = ${reps}`);
  const a = fillRandom(new Int8Array(m * k), 1);
  const b = fillRandom(new Int8Array(n * k), 2);
  // The weight is cached from its second use on: two untimed calls.
  await engine.matmulNT(a, b, m, n, k);
  await engine.matmulNT(a, b, m, n, k);
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await engine.matmulNT(a, b, m, n, k);
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  const mid = times.length >> 1;
  const ms = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return { gmacPerS: (m * n * k) / (ms * 1e6), ms };
}
