import { describe, it, expect } from 'vitest';
import { UsageError } from '../../../formats/errors.js';
import { createGemmEngine, type GemmEngineLoaders } from '../../../rtl-model/gemm/engines.js';
import { oracleEngine } from '../../../rtl-model/gemm/oracle.js';

const broken: GemmEngineLoaders = {
  parallel: () => Promise.reject(new Error('worker_threads are unavailable')),
  wasm: () => Promise.reject(new Error('WebAssembly SIMD is unavailable')),
};

describe('rtl-model/gemm/engines.ts createGemmEngine', () => {
  it('a named engine that cannot load is a UsageError naming --gemm, why, and the auto fallback', async () => {
    for (const [req, why] of [
      ['wasm', 'WebAssembly SIMD is unavailable'],
      ['parallel', 'worker_threads are unavailable'],
    ] as const) {
      const e = await createGemmEngine(req, 2, broken).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e, req).toBeInstanceOf(UsageError);
      expect((e as UsageError).field).toBe('--gemm');
      expect((e as UsageError).message).toBe(
        `(command line): --gemm: the ${req} engine cannot be loaded: ${req}: ${why}\n` +
          '  hint: use --gemm auto, which falls back to the next engine that loads (parallel, then wasm, then oracle)',
      );
    }
  });

  it('auto falls back past engines that cannot load, to the oracle', async () => {
    expect(await createGemmEngine('auto', 2, broken)).toBe(oracleEngine);
    expect(await createGemmEngine('oracle', 2, broken)).toBe(oracleEngine);
  });

  it('loads the real wasm engine where it can', async () => {
    const e = await createGemmEngine('wasm');
    try {
      expect(e.name).toMatch(/wasm/);
    } finally {
      await e.close?.();
    }
  });
});
