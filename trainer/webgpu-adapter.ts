/**
 * WebGPU in Node through Dawn (the npm package `webgpu`, which ships dawn.node): install it as
 * `navigator.gpu`, ask it for the adapter TensorFlow.js's webgpu backend will get, and say whether
 * that adapter is a real GPU or a software rasterizer (Mesa's lavapipe, SwiftShader).
 *
 * tfjs-backend-webgpu registers itself only if `navigator.gpu` exists when it is imported, and asks
 * for a 'high-performance' adapter (the project never sets WEBGPU_USE_LOW_POWER_GPU): the same request is made here
 * first, so that the adapter recorded is the one in use, and so that "no adapter" is a clear error
 * rather than tfjs's "Cannot read properties of null".
 *
 * In Node a tensor computed on webgpu can only be read asynchronously (`await t.data()`): tfjs's
 * dataSync() on webgpu reads back through an OffscreenCanvas, which Node does not have, and Dawn's
 * Node binding has no blocking wait. explainSyncReads turns tfjs's "OffscreenCanvas is not defined"
 * into an error that says so.
 *
 * On Linux Dawn runs on Vulkan: without a Vulkan driver, or with one Dawn refuses (Debian bookworm's
 * Mesa 22.3 lacks shaderUniform*ArrayDynamicIndexing), it finds no adapter. Dawn prints its own
 * warnings to stderr ("maxDynamicUniformBuffersPerPipelineLayout artificially reduced ..." on
 * lavapipe); they come from native code and are left alone.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** The adapter a webgpu run uses, as verify.json records it. */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software rasterizer (lavapipe/llvmpipe, SwiftShader, or Dawn's fallback adapter), not a GPU. */
  software: boolean;
}

/** How to get a Vulkan driver Dawn accepts on this project's Debian bookworm machines. */
export const VULKAN_HINT =
  'install a Vulkan driver Dawn accepts: on Debian bookworm add the suite bookworm-backports to the apt source ' +
  '(same URI), then `apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers` ' +
  "(Mesa 25's lavapipe; bookworm's own Mesa 22.3 is refused), or the GPU vendor's Vulkan driver";

const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader/i;

/** Is this adapter a software one? Dawn says architecture 'software' for lavapipe; the names and isFallbackAdapter cover the rest. */
export function isSoftwareAdapter(info: Omit<AdapterInfo, 'software'> & { isFallbackAdapter?: boolean }): boolean {
  return info.architecture === 'software' || info.isFallbackAdapter === true || SOFTWARE_NAMES.test(info.device) || SOFTWARE_NAMES.test(info.description);
}

let gpu: GPU | null = null;

/** This thread's navigator.gpu if it has one, else Dawn's GPU object, created once (loading dawn.node is the first thing that can fail). */
async function dawn(): Promise<GPU> {
  if (gpu) return gpu;
  const existing = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (existing) return (gpu = existing);
  // Dawn (through its windowing code) warns when XDG_RUNTIME_DIR is unset; a private directory of our own silences it
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), `xdg-runtime-${userInfo().uid}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  const { create } = await import('webgpu');
  gpu = create([]);
  return gpu;
}

/**
 * The adapter tfjs-backend-webgpu will be given, or null when Dawn finds none (no Vulkan driver it
 * accepts). Throws only when dawn.node itself cannot load.
 */
export async function requestWebGpuAdapter(): Promise<AdapterInfo | null> {
  const adapter = await (await dawn()).requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return null;
  const i = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  // older WebGPU implementations had isFallbackAdapter on the adapter itself
  const fallback = i.isFallbackAdapter ?? (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const info = { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description };
  return { ...info, software: isSoftwareAdapter({ ...info, isFallbackAdapter: fallback }) };
}

/**
 * Make Dawn this thread's `navigator.gpu` (keeping any other navigator fields) and the WebGPU
 * globals (GPUBufferUsage, ...) that tfjs-backend-webgpu reads; then the backend can be imported.
 */
export async function installWebGpu(): Promise<void> {
  const g = await dawn();
  const { globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const scope = globalThis as { navigator?: { gpu?: GPU } };
  if (scope.navigator?.gpu) return;
  if (scope.navigator) Object.defineProperty(scope.navigator, 'gpu', { value: g, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu: g }, configurable: true, writable: true });
}

/** Why dataSync() fails on webgpu in Node, and what to do instead. */
export const SYNC_READ_PROBLEM =
  'dataSync()/arraySync() of a tensor computed on the webgpu backend cannot work in Node: tfjs reads it back through an ' +
  "OffscreenCanvas, which Node lacks, and Dawn's Node binding has no blocking wait; read it with await tensor.data() (or array())";

const EXPLAINED = Symbol('explainSyncReads');

/**
 * Make the webgpu backend's synchronous read fail with SYNC_READ_PROBLEM instead of a ReferenceError
 * (values still on the CPU, such as an upload not yet used, are read as before). Its performance
 * warning is silenced: the error says more.
 */
export function explainSyncReads(backend: unknown): void {
  if ('OffscreenCanvas' in globalThis) return;
  const b = backend as { readSync(dataId: object): unknown; hasReadSyncWarned?: boolean; [EXPLAINED]?: true };
  if (b[EXPLAINED]) return;
  const readSync = b.readSync.bind(b);
  b.hasReadSyncWarned = true;
  b.readSync = (dataId: object): unknown => {
    try {
      return readSync(dataId);
    } catch (e) {
      if (e instanceof ReferenceError && /OffscreenCanvas/.test(e.message)) throw new Error(SYNC_READ_PROBLEM, { cause: e });
      throw e;
    }
  };
  b[EXPLAINED] = true;
}

/** One line for an adapter: "llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1; vendor mesa, architecture software". */
export function describeAdapter(a: AdapterInfo): string {
  const fields = [a.vendor && `vendor ${a.vendor}`, a.architecture && `architecture ${a.architecture}`].filter((x) => x);
  return [a.description || a.device || '(no name given)', ...(fields.length ? [fields.join(', ')] : [])].join('; ');
}
