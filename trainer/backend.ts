/**
 * TensorFlow.js backend selection. `auto` tries tfjs-node-gpu, then wasm, then cpu; every load
 * error is caught and recorded, and the result says which backend was picked and why the others
 * were not. tfjs-node-gpu is an optional dependency: on machines where its native library cannot
 * be downloaded npm skips it, and the import below fails cleanly. A backend asked for by name
 * (`--backend gpu`) that cannot load is the user's to change: a UsageError naming --backend and
 * why (exit 2), not a stack trace.
 *
 * TensorFlow.js itself is imported only when a backend is selected, so that a command which only
 * needs BACKENDS (to parse its flags) does not load it.
 */
import type * as Tf from '@tensorflow/tfjs-core';
import { UsageError } from '../formats/errors.js';

export const BACKENDS = ['auto', 'gpu', 'wasm', 'cpu'] as const;
export type BackendRequest = (typeof BACKENDS)[number];
export type BackendName = 'gpu' | 'wasm' | 'cpu';

export interface BackendChoice {
  /** The backend in use: gpu (tfjs-node-gpu, registered as "tensorflow"), wasm or cpu. */
  name: BackendName;
  /** tfjs's own name for it. */
  tfName: string;
  /** Backends tried before this one, with the error that ruled each out. */
  fallbacks: { name: BackendName; error: string }[];
}

const TF_NAME: Record<BackendName, string> = { gpu: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

async function load(name: BackendName): Promise<void> {
  const tf = await import('@tensorflow/tfjs-core');
  if (name === 'gpu') {
    const mod = '@tensorflow/tfjs-node-gpu';
    await import(/* @vite-ignore */ mod);
  } else if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    shareIdentityOnWasm(tf);
  } else {
    await import('@tensorflow/tfjs-backend-cpu');
  }
  const ok = await tf.setBackend(TF_NAME[name]);
  if (!ok) throw new Error(`tf.setBackend('${TF_NAME[name]}') returned false`);
  await tf.ready();
  if (name === 'cpu') {
    // The cpu backend advertises tfjs-node on its first write; the choice is reported by us instead.
    const b = tf.backend() as unknown as { firstUse?: boolean };
    b.firstUse = false;
  }
}

/**
 * The wasm backend's Identity kernel copies its input; the engine calls it for every tensor a
 * gradient saves (and for tf.clone), which cost about a third of a fine-tuning step. Tensors are
 * immutable and no wasm kernel writes into an input, so sharing the buffer by reference count,
 * as the cpu backend and the wasm backend's own Reshape do, gives the same values without the copy.
 */
let identityShared = false;
function shareIdentityOnWasm(tf: typeof Tf): void {
  if (identityShared) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as Tf.TensorInfo;
      (backend as unknown as { incRef(id: object): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  identityShared = true;
}

/**
 * selectBackend for training (pre-training, fine-tuning, their benchmark): on wasm, batched
 * float32 products also go through the trainer's SIMD kernel (kernels/batched-matmul.ts), about
 * 10x faster than the backend's own loop for attention. The simulator's integer reference does
 * not use this: it keeps the backend's stock kernels.
 */
export async function selectTrainingBackend(req: BackendRequest): Promise<BackendChoice> {
  const choice = await selectBackend(req);
  if (choice.name === 'wasm') (await import('./kernels/batched-matmul.js')).useBatchedMatMulOnWasm();
  return choice;
}

/** Why a backend did not load, in one line (a missing optional package said so in words). */
function loadProblem(name: BackendName, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (name === 'gpu' && (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND') && /tfjs-node-gpu/.test(err.message ?? '')) {
    return '@tensorflow/tfjs-node-gpu is not installed (an optional dependency, which npm skips where its native library cannot be downloaded)';
  }
  return (err?.message ?? String(e)).split('\n')[0];
}

/**
 * Select a backend; `auto` falls back gpu -> wasm -> cpu. A named backend that cannot load is a
 * UsageError for --backend (exit 2); `auto` with none loading is a broken installation (Error).
 */
export async function selectBackend(req: BackendRequest): Promise<BackendChoice> {
  const order: BackendName[] = req === 'auto' ? ['gpu', 'wasm', 'cpu'] : [req];
  const fallbacks: { name: BackendName; error: string }[] = [];
  for (const name of order) {
    try {
      await load(name);
      return { name, tfName: TF_NAME[name], fallbacks };
    } catch (e) {
      fallbacks.push({ name, error: loadProblem(name, e) });
    }
  }
  if (req !== 'auto') {
    throw new UsageError('--backend', `the ${req} backend cannot be loaded: ${fallbacks[0].error}`, {
      hint: `use --backend auto (tries gpu, then wasm, then cpu) or name another: ${BACKENDS.filter((b) => b !== 'auto' && b !== req).join(', ')}`,
    });
  }
  const detail = fallbacks.map((f) => `${f.name}: ${f.error}`).join('; ');
  throw new Error(`no TensorFlow.js backend could be loaded for --backend ${req} (${detail})`);
}
