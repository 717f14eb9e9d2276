/**
 * A faster BatchMatMul for the trainer on the wasm backend. tfjs-backend-wasm hands a product to
 * XNNPACK only when both operands have a batch of one and neither is transposed; every batched
 * product (attention's Q K^T and P V, forward and backward) takes a scalar C++ loop at about
 * 0.7 GMAC/s, which was about half of a pre-training step. This override runs batched,
 * untransposed float32 products with equal batch shapes through a SIMD128 kernel (bmm.wat) and
 * passes everything else to the backend's own kernel.
 *
 * It is used by the trainer only (pre-training, fine-tuning, their benchmark): the simulator's
 * TensorFlow.js integer reference keeps the backend's stock kernels.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

interface BmmExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  bmm(a: number, b: number, c: number, batch: number, m: number, k: number, n: number): void;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let kernel: BmmExports | null = null;
function bmmKernel(): BmmExports {
  if (!kernel) {
    const mod = new WA.Module(new Uint8Array(readFileSync(new URL('./bmm.wasm', import.meta.url))));
    kernel = new WA.Instance(mod, {}).exports as BmmExports;
  }
  return kernel;
}

/** c[q] = a[q] b[q] for float32 row-major a [batch, m, k], b [batch, k, n] (the SIMD kernel). */
export function batchedMatMul(a: Float32Array, b: Float32Array, batch: number, m: number, k: number, n: number, out?: Float32Array): Float32Array {
  if (a.length !== batch * m * k || b.length !== batch * k * n)
    throw new RangeError(`batchedMatMul: operands of ${a.length} and ${b.length} values do not fit [${batch}, ${m}, ${k}] x [${batch}, ${k}, ${n}]`);
  const x = bmmKernel();
  const bytes = 4 * (a.length + b.length + batch * m * n);
  const have = x.memory.buffer.byteLength;
  if (bytes > have) x.memory.grow(Math.ceil((bytes - have) / 65536));
  const f = new Float32Array(x.memory.buffer);
  f.set(a, 0);
  f.set(b, a.length);
  const cOff = a.length + b.length;
  x.bmm(0, 4 * a.length, 4 * cOff, batch, m, k, n);
  const c = out ?? new Float32Array(batch * m * n);
  c.set(f.subarray(cOff, cOff + batch * m * n));
  return c;
}

interface WasmBackendLike {
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

let registered = false;
/** Route the wasm backend's batched float32 products through batchedMatMul (idempotent). */
export function useBatchedMatMulOnWasm(): void {
  if (registered) return;
  const original = tf.getKernel('BatchMatMul', 'wasm');
  if (!original) throw new Error('useBatchedMatMulOnWasm: the wasm backend is not loaded');
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    kernelFunc: (args) => {
      const a = args.inputs.a as tf.TensorInfo;
      const b = args.inputs.b as tf.TensorInfo;
      const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
      const ra = a.shape.length;
      const lead = a.shape.slice(0, -2);
      const batch = lead.reduce((p, q) => p * q, 1);
      const fast =
        !transposeA &&
        !transposeB &&
        a.dtype === 'float32' &&
        b.dtype === 'float32' &&
        ra >= 3 &&
        b.shape.length === ra &&
        lead.every((d, i) => d === b.shape[i]) &&
        batch > 1 &&
        a.shape[ra - 1] === b.shape[ra - 2];
      if (!fast) return original.kernelFunc(args);
      const backend = args.backend as unknown as WasmBackendLike;
      const [m, k] = a.shape.slice(-2);
      const n = b.shape[ra - 1];
      const view = (t: tf.TensorInfo, size: number): Float32Array =>
        new Float32Array(backend.wasm.HEAPU8.buffer, backend.dataIdMap.get(t.dataId)!.memoryOffset, size);
      const out = backend.makeOutput([...lead, m, n], 'float32');
      // views are taken after makeOutput: allocating may grow (and move) the backend's heap
      batchedMatMul(view(a, batch * m * k), view(b, batch * k * n), batch, m, k, n, view(out, batch * m * n));
      return out;
    },
  });
  registered = true;
}
