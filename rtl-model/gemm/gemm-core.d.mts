/** Types of gemm-core.mjs (plain JS so that the worker needs no TypeScript loader). */

declare const gemmModuleBrand: unique symbol;
/**
 * A compiled gemm.wasm: a WebAssembly.Module, opaque here so that these typings do not depend on
 * the WebAssembly lib typings (the project's lib is ES2022 without DOM).
 */
export type GemmModule = object & { readonly [gemmModuleBrand]: true };

/** A weight (or a slice of its rows) packed into int16 column panels in one GemmCore's memory. */
export interface PackedB {
  /** Byte offset of the panels in the wasm memory. */
  readonly ptr: number;
  /** Rows of b = output columns, and their count rounded up to 8. */
  readonly n: number;
  readonly np: number;
  /** Inner dimension, and rounded up to even. */
  readonly k: number;
  readonly kp: number;
}

/** b operand of GemmCore.matmul: packed, or raw n x k int8 packed for this call only. */
export type BOperand = PackedB | { readonly raw: Int8Array; readonly n: number };

export declare const GEMM_WASM_URL: URL;
export declare const CTRL: {
  readonly SEQ: 0;
  readonly DONE: 1;
  readonly OP: 2;
  readonly M: 3;
  readonly K: 4;
  readonly N: 5;
  readonly UNSIGNED: 6;
  readonly WEIGHT_ID: 7;
  readonly B_MODE: 8;
  readonly B_OFF: 9;
  readonly COL0: 10;
  readonly LD_OUT: 11;
  readonly STATUS: 12;
  readonly MSGS: 13;
  readonly LENGTH: 16;
};
export declare const OP_MATMUL: 1;
export declare const OP_EXIT: 2;
export declare const B_CACHED: 0;
export declare const B_STORE: 1;
export declare const B_ONCE: 2;

/** Messages the main thread posts on a worker's port (drained synchronously by the worker). */
export type ToWorker =
  | { readonly type: 'buffers'; readonly input: SharedArrayBuffer; readonly output: SharedArrayBuffer }
  | { readonly type: 'free'; readonly ids: readonly number[] };
/** Messages a worker posts on its port. */
export type FromWorker = { readonly type: 'error'; readonly message: string };
/** workerData of gemm-worker.mjs. */
export interface WorkerInit {
  readonly module: GemmModule;
  readonly ctrl: SharedArrayBuffer;
  readonly port: import('node:worker_threads').MessagePort;
}
export declare const MAX_K: number;
export declare function simdSupported(): boolean;
export declare function compileGemmModule(): GemmModule;
export declare function checkShape(a: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number, k: number): void;
export declare function bytesOf(v: ArrayBufferView, length: number): Uint8Array;

export declare class GemmCore {
  constructor(module: GemmModule);
  /** Current size of the wasm memory in bytes. */
  readonly memoryBytes: number;
  alloc(bytes: number): number;
  release(off: number): void;
  scratch(bytes: number): number;
  /** Run a few small products so V8 tiers the kernel up to optimized code. */
  warmUp(): void;
  packB(b: Int8Array, n: number, k: number): PackedB;
  releasePacked(p: PackedB): void;
  /** out[i * ldOut + col0 + j] = sum_p a[i][p] * b[j][p], i < m, j < b.n. */
  matmul(a: Int8Array | Uint8Array, unsigned: boolean, m: number, k: number, b: BOperand, out: Int32Array, ldOut: number, col0: number): void;
}
