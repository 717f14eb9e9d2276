/**
 * GEMM engine selection for the datapath: `auto` uses the WebAssembly SIMD kernel on every core
 * (worker_threads), falling back to one core and then to the plain TypeScript oracle if
 * WebAssembly SIMD or workers are unavailable.
 */
import { oracleEngine, type GemmEngine } from './oracle.js';

export const GEMM_ENGINES = ['auto', 'parallel', 'wasm', 'oracle'] as const;
export type GemmEngineRequest = (typeof GEMM_ENGINES)[number];

export async function createGemmEngine(req: GemmEngineRequest, threads = 2): Promise<GemmEngine> {
  if (req === 'oracle') return oracleEngine;
  const order: GemmEngineRequest[] = req === 'auto' ? ['parallel', 'wasm', 'oracle'] : [req];
  const errors: string[] = [];
  for (const kind of order) {
    try {
      if (kind === 'parallel') return await (await import('./parallel-engine.js')).createParallelGemm(threads);
      if (kind === 'wasm') return await (await import('./wasm-engine.js')).createWasmGemm();
      return oracleEngine;
    } catch (e) {
      errors.push(`${kind}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no GEMM engine for --gemm ${req} (${errors.join('; ')})`);
}
