/**
 * TensorFlow.js backend selection. `auto` tries tfjs-node-gpu, then webgpu on a hardware adapter,
 * then wasm, then cpu; every load error is caught and recorded, and the result says which backend
 * was picked and why the others were not. tfjs-node-gpu is an optional dependency: on machines
 * where its native library cannot be downloaded npm skips it, and the import below fails cleanly.
 * webgpu is tfjs-backend-webgpu on Dawn (trainer/webgpu-adapter.ts): `auto` takes it only on a real
 * GPU; a software adapter (Mesa's lavapipe) is used only when asked for by name (`--backend webgpu`),
 * and the choice records the adapter either way. A backend asked for by name that cannot load is
 * the user's to change: a UsageError naming --backend and why (exit 2), not a stack trace.
 *
 * TensorFlow.js itself is imported only when a backend is selected, so that a command which only
 * needs BACKENDS (to parse its flags) does not load it.
 */
import type * as Tf from '@tensorflow/tfjs-core';
import { UsageError } from '../formats/errors.js';
import { describeAdapter, explainSyncReads, installWebGpu, requestWebGpuAdapter, VULKAN_HINT, type AdapterInfo } from './webgpu-adapter.js';

export const BACKENDS = ['auto', 'gpu', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendRequest = (typeof BACKENDS)[number];
export type BackendName = Exclude<BackendRequest, 'auto'>;
export { describeAdapter, type AdapterInfo } from './webgpu-adapter.js';

/** The order `auto` tries, in words (for help texts and hints). */
export const AUTO_ORDER = 'gpu (tfjs-node-gpu), then webgpu on a hardware adapter, then wasm, then cpu';

export interface BackendChoice {
  /** The backend in use: gpu (tfjs-node-gpu, registered as "tensorflow"), webgpu (Dawn), wasm or cpu. */
  name: BackendName;
  /** tfjs's own name for it. */
  tfName: string;
  /** Backends tried before this one, with the error that ruled each out. */
  fallbacks: { name: BackendName; error: string }[];
  /** On webgpu, the adapter in use. */
  adapter?: AdapterInfo;
}

const TF_NAME: Record<BackendName, string> = { gpu: 'tensorflow', webgpu: 'webgpu', wasm: 'wasm', cpu: 'cpu' };

/** A backend that cannot run here, with what the user could do about it. */
class Unavailable extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The webgpu adapter of this thread, asked for once (null: Dawn found none). */
let adapterRequest: Promise<AdapterInfo | null> | null = null;

/** The adapter webgpu would run on; Unavailable when Dawn finds none. */
async function webGpuAdapter(): Promise<AdapterInfo> {
  adapterRequest ??= requestWebGpuAdapter();
  const adapter = await adapterRequest.catch((e: unknown) => {
    adapterRequest = null;
    throw e;
  });
  if (!adapter) throw new Unavailable('Dawn (npm webgpu) found no WebGPU adapter: no Vulkan driver that it accepts is installed', VULKAN_HINT);
  return adapter;
}

async function load(name: BackendName): Promise<void> {
  const tf = await import('@tensorflow/tfjs-core');
  if (name === 'gpu') {
    const mod = '@tensorflow/tfjs-node-gpu';
    await import(/* @vite-ignore */ mod);
  } else if (name === 'webgpu') {
    // the backend registers itself only if navigator.gpu exists when it is imported
    await installWebGpu();
    await import('@tensorflow/tfjs-backend-webgpu');
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
  if (name === 'webgpu') explainSyncReads(tf.backend());
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
 * Select a backend; `auto` falls back gpu -> webgpu (hardware adapter only) -> wasm -> cpu. A named
 * backend that cannot load is a UsageError for --backend (exit 2); `auto` with none loading is a
 * broken installation (Error).
 */
export async function selectBackend(req: BackendRequest): Promise<BackendChoice> {
  const order: BackendName[] = req === 'auto' ? ['gpu', 'webgpu', 'wasm', 'cpu'] : [req];
  const fallbacks: { name: BackendName; error: string }[] = [];
  let hint: string | undefined;
  for (const name of order) {
    try {
      const adapter = name === 'webgpu' ? await webGpuAdapter() : undefined;
      if (adapter?.software && req === 'auto') {
        fallbacks.push({ name, error: `only a software adapter (${describeAdapter(adapter)}), used only with --backend webgpu` });
        continue;
      }
      await load(name);
      return { name, tfName: TF_NAME[name], fallbacks, ...(adapter ? { adapter } : {}) };
    } catch (e) {
      fallbacks.push({ name, error: loadProblem(name, e) });
      hint ??= e instanceof Unavailable ? e.hint : undefined;
    }
  }
  if (req !== 'auto') {
    const others = `use --backend auto (tries ${AUTO_ORDER}) or name another: ${BACKENDS.filter((b) => b !== 'auto' && b !== req).join(', ')}`;
    throw new UsageError('--backend', `the ${req} backend cannot be loaded: ${fallbacks[0].error}`, { hint: hint ? `${hint}; or ${others}` : others });
  }
  const detail = fallbacks.map((f) => `${f.name}: ${f.error}`).join('; ');
  throw new Error(`no TensorFlow.js backend could be loaded for --backend ${req} (${detail})`);
}
