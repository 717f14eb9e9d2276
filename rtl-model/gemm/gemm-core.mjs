// @ts-check
/**
 * Plain-JS core around gemm.wasm, shared by the main-thread engines (wasm-engine.ts,
 * parallel-engine.ts) and the worker (gemm-worker.mjs, which runs without a TypeScript loader).
 * Types for TypeScript callers are in gemm-core.d.mts.
 *
 * One GemmCore = one wasm instance with its own memory, a first-fit allocator over that memory
 * (grown on demand, up to the engine's 4 GiB wasm32 limit), one reusable scratch region for the
 * per-call operands, and packed weights that live until released.
 */
import fs from 'node:fs';

/** URL of the compiled kernel (build.ts writes it next to gemm.wat). */
export const GEMM_WASM_URL = new URL('./gemm.wasm', import.meta.url);

/** Largest K for which int32 sums are exact: |sum| <= K * 255 * 128 < 2^31. */
export const MAX_K = 65535;

/**
 * Control block shared by the parallel engine and each worker: Int32Array indices of one
 * SharedArrayBuffer per worker (see parallel-engine.ts and gemm-worker.mjs).
 */
export const CTRL = Object.freeze({
  /** Command counter: the main thread increments it (and notifies) to start a command. */
  SEQ: 0,
  /** The worker stores the SEQ of the command it finished here (and notifies). */
  DONE: 1,
  /** OP_MATMUL or OP_EXIT. */
  OP: 2,
  M: 3,
  K: 4,
  /** Output columns of this worker's slice (rows of its slice of b). */
  N: 5,
  /** 1 if the activation bytes are uint8, 0 if int8. */
  UNSIGNED: 6,
  /** Weight id (main-thread assigned, per Int8Array) of the slice. */
  WEIGHT_ID: 7,
  /** B_CACHED, B_STORE or B_ONCE. */
  B_MODE: 8,
  /** Byte offset of the raw b slice (n x k int8) in the input buffer (B_STORE, B_ONCE). */
  B_OFF: 9,
  /** Output: rows of LD_OUT int32, this slice in columns [COL0, COL0 + N). */
  COL0: 10,
  LD_OUT: 11,
  /** 0 = ok, 1 = failed (the worker posts {type: 'error', message} on its port first). */
  STATUS: 12,
  /** Messages the main thread has posted on the port so far; the worker drains up to this count. */
  MSGS: 13,
  LENGTH: 16,
});
export const OP_MATMUL = 1;
export const OP_EXIT = 2;
/** b slice already cached by the worker under WEIGHT_ID. */
export const B_CACHED = 0;
/** b slice in the input buffer at B_OFF: pack it and cache it under WEIGHT_ID. */
export const B_STORE = 1;
/** b slice in the input buffer at B_OFF: use it for this command only. */
export const B_ONCE = 2;

const PAGE = 65536;
const ALIGN = 64;

// (module (memory 1) (func (result v128)
//   (i32x4.dot_i16x8_s (v128.const i32x4 0 0 0 0) (v128.load32_splat (i32.const 0)))))
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 5, 3, 1, 0, 1, 10, 31, 1, 29, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 65,
  0, 253, 9, 2, 0, 253, 186, 1, 11,
]);

/** True if this JavaScript engine validates WebAssembly SIMD128 (including i32x4.dot_i16x8_s). */
export function simdSupported() {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/**
 * Compile gemm.wasm (synchronously; it is a few KB). A compiled module can be posted to workers,
 * which then share its machine code.
 * @returns {WebAssembly.Module}
 */
export function compileGemmModule() {
  if (!simdSupported()) {
    throw new Error(
      'WebAssembly SIMD (simd128) is not available in this JavaScript engine; the wasm GEMM engines need it ' +
        '(Node >= 16.4 has it on by default). Use the ts-oracle engine instead.',
    );
  }
  return new WebAssembly.Module(fs.readFileSync(GEMM_WASM_URL));
}

/**
 * Validate matmulNT arguments (shapes as in oracle.ts); throws a RangeError.
 * @param {ArrayLike<number>} a @param {ArrayLike<number>} b
 * @param {number} m @param {number} n @param {number} k
 */
export function checkShape(a, b, m, n, k) {
  for (const [name, v] of /** @type {const} */ ([
    ['m', m],
    ['n', n],
    ['k', k],
  ])) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`matmulNT: ${name} = ${v} is not a non-negative integer`);
  }
  if (k > MAX_K) throw new RangeError(`matmulNT: k = ${k} exceeds ${MAX_K} (int32 sums could overflow)`);
  if (a.length < m * k || b.length < n * k) throw new RangeError(`matmulNT: operands too short for ${m}x${k} by ${n}x${k}`);
}

/** @param {number} x */
const alignUp = (x) => Math.ceil(x / ALIGN) * ALIGN;

/** Bytes view of any typed array (no copy). @param {ArrayBufferView} v @param {number} length */
export function bytesOf(v, length) {
  return new Uint8Array(v.buffer, v.byteOffset, length);
}

export class GemmCore {
  /** @param {WebAssembly.Module} module */
  constructor(module) {
    const instance = new WebAssembly.Instance(module, {});
    /** @type {any} */
    const ex = instance.exports;
    /** @type {WebAssembly.Memory} */
    this.memory = ex.memory;
    /** @type {(a: number, b: number, c: number, m: number, np: number, kp: number) => void} */
    this.gemmFn = ex.gemm;
    /** @type {(src: number, dst: number, m: number, k: number, kp: number, u: number) => void} */
    this.packAFn = ex.pack_a;
    /** @type {(src: number, dst: number, n: number, k: number, kp: number) => void} */
    this.packBFn = ex.pack_b;
    /** Free blocks, sorted by offset, never adjacent (coalesced). @type {{ off: number, size: number }[]} */
    this.freeList = [{ off: ALIGN, size: this.memory.buffer.byteLength - ALIGN }];
    /** Live allocations: offset -> size. @type {Map<number, number>} */
    this.live = new Map();
    this.scratchOff = 0;
    this.scratchSize = 0;
  }

  /** Current size of the wasm memory in bytes. */
  get memoryBytes() {
    return this.memory.buffer.byteLength;
  }

  /** Allocate `bytes` (rounded up to 64) of wasm memory, growing it if needed; returns the offset. @param {number} bytes */
  alloc(bytes) {
    const size = alignUp(Math.max(bytes, 1));
    let i = this.freeList.findIndex((f) => f.size >= size);
    if (i < 0) {
      this.grow(size);
      i = this.freeList.findIndex((f) => f.size >= size);
    }
    const f = this.freeList[i];
    const off = f.off;
    if (f.size === size) this.freeList.splice(i, 1);
    else {
      f.off += size;
      f.size -= size;
    }
    this.live.set(off, size);
    return off;
  }

  /** Free a block returned by alloc. @param {number} off */
  release(off) {
    const size = this.live.get(off);
    if (size === undefined) throw new Error(`GemmCore.release: ${off} is not allocated`);
    this.live.delete(off);
    const fl = this.freeList;
    let i = 0;
    while (i < fl.length && fl[i].off < off) i++;
    fl.splice(i, 0, { off, size });
    // coalesce with the next, then with the previous block
    if (i + 1 < fl.length && off + size === fl[i + 1].off) {
      fl[i].size += fl[i + 1].size;
      fl.splice(i + 1, 1);
    }
    if (i > 0 && fl[i - 1].off + fl[i - 1].size === off) {
      fl[i - 1].size += fl[i].size;
      fl.splice(i, 1);
    }
  }

  /** Grow the memory so a free block of `size` bytes exists at its end. @param {number} size */
  grow(size) {
    const end = this.memory.buffer.byteLength;
    const last = this.freeList[this.freeList.length - 1];
    const tailFree = last && last.off + last.size === end ? last.size : 0;
    // grow by at least 1/8 of the current size so that growing steps stay few
    const need = Math.max(size - tailFree, end >>> 3);
    const pages = Math.ceil(need / PAGE);
    try {
      this.memory.grow(pages);
    } catch (e) {
      const mib = (bytes) => (bytes / 2 ** 20).toFixed(0);
      throw new RangeError(`wasm GEMM: cannot grow memory from ${mib(end)} MiB by ${mib(pages * PAGE)} MiB (${e})`, { cause: e });
    }
    const added = pages * PAGE;
    if (tailFree) last.size += added;
    else this.freeList.push({ off: end, size: added });
  }

  /** The scratch region, at least `bytes` long (contents are not preserved). @param {number} bytes */
  scratch(bytes) {
    if (bytes > this.scratchSize) {
      if (this.scratchSize) this.release(this.scratchOff);
      this.scratchSize = alignUp(Math.max(bytes, this.scratchSize * 1.5, 1 << 16));
      this.scratchOff = this.alloc(this.scratchSize);
    }
    return this.scratchOff;
  }

  /**
   * Warm the kernel up: V8 first runs wasm code from its baseline compiler (about 3x slower here)
   * and tiers up to optimized code in the background after some use, without on-stack
   * replacement; without this the first large product would run entirely on baseline code.
   */
  warmUp() {
    const s = 64;
    const a = new Int8Array(s * s),
      b = new Int8Array(s * s),
      out = new Int32Array(s * s);
    for (let i = 0; i < 8; i++) this.matmul(a, false, s, s, { raw: b, n: s }, out, s, 0);
  }

  /**
   * Pack b (n x k int8, row-major) into int16 column panels at `dst` (np * kp * 2 bytes).
   * @param {Int8Array} b @param {number} n @param {number} k @param {number} dst
   */
  packBInto(b, n, k, dst) {
    const raw = this.scratch(n * k);
    new Uint8Array(this.memory.buffer).set(bytesOf(b, n * k), raw);
    this.packBFn(raw, dst, n, k, k + (k & 1));
  }

  /**
   * Pack b (n x k int8, row-major: a weight in [out, in] layout, or a slice of its rows) into
   * newly allocated memory; release it with releasePacked.
   * @param {Int8Array} b @param {number} n @param {number} k
   * @returns {import('./gemm-core.d.mts').PackedB}
   */
  packB(b, n, k) {
    const np = Math.ceil(n / 8) * 8;
    const kp = k + (k & 1);
    const ptr = this.alloc(np * kp * 2);
    this.packBInto(b, n, k, ptr);
    return { ptr, n, k, np, kp };
  }

  /** @param {import('./gemm-core.d.mts').PackedB} p */
  releasePacked(p) {
    this.release(p.ptr);
  }

  /**
   * out[i * ldOut + col0 + j] = sum_p a[i][p] * b[j][p] for i < m, j < n, with b either packed
   * (PackedB) or raw (n x k Int8Array, packed into scratch for this call only).
   * @param {Int8Array | Uint8Array} a m x k bytes, row-major
   * @param {boolean} unsigned whether the bytes of a are uint8 (else int8) values
   * @param {number} m @param {number} k
   * @param {import('./gemm-core.d.mts').PackedB | { raw: Int8Array, n: number }} b
   * @param {Int32Array} out @param {number} ldOut @param {number} col0
   */
  matmul(a, unsigned, m, k, b, out, ldOut, col0) {
    const n = b.n;
    const np = Math.ceil(n / 8) * 8;
    const kp = k + (k & 1);
    if (m === 0 || n === 0) return;
    if (k === 0) {
      for (let i = 0; i < m; i++) out.fill(0, i * ldOut + col0, i * ldOut + col0 + n);
      return;
    }
    // scratch: [packed a | c | packed b (if raw) | raw a, raw b (if raw)]
    const aBytes = alignUp(m * kp * 2);
    const cBytes = alignUp(m * np * 4);
    const bBytes = 'raw' in b ? alignUp(np * kp * 2) : 0;
    const rawBytes = alignUp(m * k) + ('raw' in b ? alignUp(n * k) : 0);
    const s = this.scratch(aBytes + cBytes + bBytes + rawBytes);
    const pa = s,
      pc = s + aBytes,
      pb = 'raw' in b ? pc + cBytes : b.ptr;
    const rawA = pc + cBytes + bBytes;
    const mem = new Uint8Array(this.memory.buffer);
    mem.set(bytesOf(a, m * k), rawA);
    this.packAFn(rawA, pa, m, k, kp, unsigned ? 1 : 0);
    if ('raw' in b) {
      const rawB = rawA + alignUp(m * k);
      mem.set(bytesOf(b.raw, n * k), rawB);
      this.packBFn(rawB, pb, n, k, kp);
    }
    this.gemmFn(pa, pb, pc, m, np, kp);
    const c = new Int32Array(this.memory.buffer, pc, m * np);
    if (np === n && ldOut === n && col0 === 0) out.set(c);
    else for (let i = 0; i < m; i++) out.set(c.subarray(i * np, i * np + n), i * ldOut + col0);
  }
}
