/**
 * Plain TypeScript int8 GEMM, the oracle the fast kernels are tested against.
 * c (M x N, int32) = a (M x K, int8 or uint8, row-major) * b^T, where b is N x K (row-major,
 * i.e. a weight matrix in [out, in] layout). Sums are exact: |c| <= K * 2^15 < 2^31 for K < 2^16.
 */
export function matmulNTOracle(a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number, k: number): Int32Array {
  if (a.length < m * k || b.length < n * k) throw new RangeError(`matmulNT: operands too short for ${m}x${k} by ${n}x${k}`);
  const c = new Int32Array(m * n);
  for (let i = 0; i < m; i++) {
    const ao = i * k;
    for (let j = 0; j < n; j++) {
      const bo = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ao + p] * b[bo + p];
      c[i * n + j] = s;
    }
  }
  return c;
}

/** The result array of an engine: `out`'s first n elements (checked) or a new array. */
export function resultArray(n: number, out?: Int32Array): Int32Array {
  if (!out) return new Int32Array(n);
  if (out.length < n) throw new RangeError(`matmulNT: output buffer of ${out.length} elements is too small for ${n}`);
  return out.subarray(0, n);
}

function intoOut(c: Int32Array, out?: Int32Array): Int32Array {
  if (!out) return c;
  const r = resultArray(c.length, out);
  r.set(c);
  return r;
}

/** The interface every GEMM engine offers the datapath. */
export interface GemmEngine {
  readonly name: string;
  /**
   * c = a * b^T (see matmulNTOracle). `b` may be cached by identity (weights from ROM). With `out`
   * (at least m * n elements) the product is written there and returned as out's first m * n
   * elements, instead of into a new array.
   */
  matmulNT(a: Int8Array | Uint8Array, b: Int8Array, m: number, n: number, k: number, out?: Int32Array): Promise<Int32Array>;
  close?(): Promise<void> | void;
}

export const oracleEngine: GemmEngine = {
  name: 'ts-oracle',
  matmulNT: async (a, b, m, n, k, out) => intoOut(matmulNTOracle(a, b, m, n, k), out),
};
