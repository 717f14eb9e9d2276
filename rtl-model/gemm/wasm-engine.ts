/**
 * Single-threaded GEMM engine on the hand-written WebAssembly SIMD kernel (gemm.wat).
 *
 * Weights are packed once into the wasm memory and reused by identity of the Int8Array (the
 * datapath reads every weight from ROM as the same array object), see WeightCache.
 */
import { resultArray, type GemmEngine } from './oracle.js';
import { GemmCore, checkShape, compileGemmModule, type BOperand, type GemmModule, type PackedB } from './gemm-core.mjs';

interface CacheEntry {
  /** Null until the array is seen for the second time (see WeightCache). */
  packed: PackedB | null;
  readonly n: number;
  readonly k: number;
}

/**
 * b operands cached by identity in one GemmCore's memory.
 *
 * An array is packed into permanent memory the second time it is passed (with the same shape);
 * the first time it is packed into scratch for that call only. Weights are reused on every forward
 * pass, so they are cached from the second pass on, while the per-call temporaries the datapath
 * passes as b (attention heads of K and V^T) are never kept: caching them on first sight would grow
 * the wasm memory on every forward pass until the garbage collector finalized them, which in an
 * await chain without macrotasks may be never. Cached panels are freed when their array is garbage
 * collected (FinalizationRegistry).
 *
 * Caveat (the GemmEngine contract): an array mutated in place after being cached gives stale results.
 */
export class WeightCache {
  private readonly entries = new WeakMap<Int8Array, CacheEntry>();
  private readonly registry: FinalizationRegistry<PackedB>;
  private closed = false;

  constructor(private readonly core: GemmCore) {
    this.registry = new FinalizationRegistry((p) => {
      if (!this.closed) core.releasePacked(p);
    });
  }

  /** The b operand for this call: cached panels, or the raw array to pack for this call only. */
  operand(b: Int8Array, n: number, k: number): BOperand {
    const e = this.entries.get(b);
    if (!e || e.n !== n || e.k !== k) {
      // first use, or the same array with another shape: start over
      if (e?.packed) {
        this.registry.unregister(e);
        this.core.releasePacked(e.packed);
      }
      this.entries.set(b, { packed: null, n, k });
      return { raw: b, n };
    }
    if (!e.packed) {
      e.packed = this.core.packB(b, n, k);
      this.registry.register(b, e.packed, e);
    }
    return e.packed;
  }

  close(): void {
    this.closed = true;
  }
}

/** An engine whose internals the parallel engine reuses for its small products. */
export interface WasmGemmEngine extends GemmEngine {
  readonly core: GemmCore;
  close(): void;
}

/** Create the single-threaded wasm SIMD engine ('wasm-simd'). Throws if wasm SIMD is unavailable. */
export async function createWasmGemm(): Promise<WasmGemmEngine> {
  return wasmGemmFromModule(compileGemmModule());
}

/** The 'wasm-simd' engine on an already compiled gemm.wasm (see compileGemmModule). */
export function wasmGemmFromModule(module: GemmModule): WasmGemmEngine {
  const core = new GemmCore(module);
  core.warmUp();
  const cache = new WeightCache(core);
  let closed = false;
  return {
    name: 'wasm-simd',
    core,
    async matmulNT(a, b, m, n, k, out) {
      if (closed) throw new Error('wasm-simd engine is closed');
      checkShape(a, b, m, n, k);
      const c = resultArray(m * n, out);
      core.matmul(a, a instanceof Uint8Array, m, k, cache.operand(b, n, k), c, n, 0);
      return c;
    },
    close() {
      closed = true;
      cache.close();
    },
  };
}
