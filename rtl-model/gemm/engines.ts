/**
 * GEMM engine selection for the datapath: `auto` uses the WebAssembly SIMD kernel on every core
 * (worker_threads), falling back to one core and then to the plain TypeScript oracle if
 * WebAssembly SIMD or workers are unavailable. An engine named explicitly (`--gemm parallel`,
 * `--gemm wasm`) that cannot load is the user's to change: a UsageError naming --gemm and why
 * (exit 2). `auto` cannot fail short of a broken installation, as the oracle always loads.
 */
import { UsageError } from '../../formats/errors.js';
import { oracleEngine, type GemmEngine } from './oracle.js';

export const GEMM_ENGINES = ['auto', 'parallel', 'wasm', 'oracle'] as const;
export type GemmEngineRequest = (typeof GEMM_ENGINES)[number];

/** How an engine loads; a parameter so that a test can make one fail. */
export interface GemmEngineLoaders {
  parallel: (threads: number) => Promise<GemmEngine>;
  wasm: () => Promise<GemmEngine>;
}

const LOADERS: GemmEngineLoaders = {
  parallel: async (threads) => (await import('./parallel-engine.js')).createParallelGemm(threads),
  wasm: async () => (await import('./wasm-engine.js')).createWasmGemm(),
};

export async function createGemmEngine(req: GemmEngineRequest, threads = 2, loaders: GemmEngineLoaders = LOADERS): Promise<GemmEngine> {
  if (req === 'oracle') return oracleEngine;
  const order: GemmEngineRequest[] = req === 'auto' ? ['parallel', 'wasm', 'oracle'] : [req];
  const errors: string[] = [];
  for (const kind of order) {
    try {
      if (kind === 'parallel') return await loaders.parallel(threads);
      if (kind === 'wasm') return await loaders.wasm();
      return oracleEngine;
    } catch (e) {
      errors.push(`${kind}: ${(e as Error).message}`);
    }
  }
  if (req !== 'auto') {
    throw new UsageError('--gemm', `the ${req} engine cannot be loaded: ${errors.join('; ')}`, {
      hint: 'use --gemm auto, which falls back to the next engine that loads (parallel, then wasm, then oracle)',
    });
  }
  throw new Error(`no GEMM engine for --gemm ${req} (${errors.join('; ')})`);
}
