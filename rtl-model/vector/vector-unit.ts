/**
 * The datapath's vector units (vector.wat): requantization with the bias add fused, residual
 * joins, LayerNorm and softmax element passes, table look-ups. The per-row steps between passes
 * (integer square root, normalized reciprocal) run here in TypeScript through the spec.
 * Operands are copied into the module's memory through a bump arena reset on every call.
 */
import { readFileSync } from 'node:fs';
import { isqrt, recipNormalized, lnSquareShift, type TensorData } from '../spec/index.js';

const POW2 = Array.from({ length: 64 }, (_, i) => 2 ** i);
const INV_POW2 = Array.from({ length: 64 }, (_, i) => 2 ** -i);

/** Per-column requantization constants: M, 2^(sh-1), 2^-sh as doubles. */
export interface ColumnConsts {
  m: Float64Array;
  half: Float64Array;
  inv: Float64Array;
}

export function columnConsts(mult: ArrayLike<number>, shift: ArrayLike<number>, cols: number): ColumnConsts {
  const per = mult.length === cols;
  const m = new Float64Array(cols);
  const half = new Float64Array(cols);
  const inv = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    const c = per ? j : 0;
    m[j] = mult[c];
    half[j] = POW2[shift[c] - 1];
    inv[j] = INV_POW2[shift[c]];
  }
  return { m, half, inv };
}

/** The slice of the WebAssembly JS API used here (lib "DOM" is not in this project's tsconfig). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Exports {
  memory: WasmMemory;
  rq_i8(acc: number, bias: number, m: number, half: number, inv: number, out: number, rows: number, cols: number): void;
  join_term(src: number, isI8: number, bias: number, m: number, half: number, inv: number, sum: number, rows: number, cols: number): void;
  sat16(sum: number, x: number, n: number): void;
  ln_stats(x: number, rows: number, cols: number, meanM: number, meanHalf: number, meanInv: number, sqInv: number, mean: number, sumSq: number): void;
  ln_apply(
    x: number,
    rows: number,
    cols: number,
    mean: number,
    rowR: number,
    rowHalf: number,
    rowInv: number,
    g: number,
    gHalf: number,
    gInv: number,
    bias: number,
    y: number,
  ): void;
  sm_exp(s: number, mask: number, rows: number, L: number, m: number, half: number, inv: number, lut: number, e: number, sums: number): void;
  sm_norm(e: number, rows: number, L: number, rowR: number, rowHalf: number, rowInv: number, p: number): void;
  lut_i8(x: number, lut: number, y: number, n: number): void;
}

let compiled: object | null = null;

export class VectorUnit {
  private readonly x: Exports;
  private top = 0;

  constructor() {
    compiled ??= new WA.Module(readFileSync(new URL('./vector.wasm', import.meta.url)));
    this.x = new WA.Instance(compiled, {}).exports as unknown as Exports;
  }

  private reset(): void {
    this.top = 64;
  }

  /** Reserve `bytes` (8-aligned) in the arena, growing the memory as needed. */
  private alloc(bytes: number): number {
    const at = this.top;
    this.top = Math.ceil((at + bytes) / 8) * 8;
    const mem = this.x.memory;
    if (this.top > mem.buffer.byteLength) mem.grow(Math.ceil((this.top - mem.buffer.byteLength) / 65536));
    return at;
  }

  private put(a: ArrayBufferView): number {
    const at = this.alloc(a.byteLength);
    new Uint8Array(this.x.memory.buffer, at, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return at;
  }

  private i32(a: ArrayLike<number>): number {
    return this.put(a instanceof Int32Array ? a : Int32Array.from(a));
  }

  /** out = sat8(rq(acc + bias, M, sh)) per column. */
  rqI8(acc: Int32Array, bias: TensorData | null, c: ColumnConsts, rows: number, cols: number): Int8Array {
    this.reset();
    const pa = this.put(acc);
    const pb = this.i32(bias ?? new Int32Array(cols));
    const pm = this.put(c.m);
    const ph = this.put(c.half);
    const pi = this.put(c.inv);
    const po = this.alloc(rows * cols);
    this.x.rq_i8(pa, pb, pm, ph, pi, po, rows, cols);
    return new Int8Array(this.x.memory.buffer, po, rows * cols).slice();
  }

  /** x = sat16(sum of sat16(rq(term + bias, M, sh))) over the terms. */
  join(terms: { src: Int32Array | Int8Array; bias: TensorData | null; c: ColumnConsts }[], rows: number, cols: number): Int16Array {
    this.reset();
    const n = rows * cols;
    const sum = this.alloc(4 * n);
    new Int32Array(this.x.memory.buffer, sum, n).fill(0);
    for (const t of terms) {
      const ps = this.put(t.src);
      const pb = this.i32(t.bias ?? new Int32Array(cols));
      this.x.join_term(ps, t.src instanceof Int8Array ? 1 : 0, pb, this.put(t.c.m), this.put(t.c.half), this.put(t.c.inv), sum, rows, cols);
    }
    const px = this.alloc(2 * n);
    this.x.sat16(sum, px, n);
    return new Int16Array(this.x.memory.buffer, px, n).slice();
  }

  /** The spec's layerNorm over each row of x. */
  layerNorm(x: Int16Array, rows: number, cols: number, meanMult: number, meanShift: number, gain: ColumnConsts, bias: TensorData): Int8Array {
    this.reset();
    const px = this.put(x);
    const mean = this.alloc(4 * rows);
    const sumSq = this.alloc(8 * rows);
    this.x.ln_stats(px, rows, cols, meanMult, POW2[meanShift - 1], INV_POW2[meanShift], INV_POW2[lnSquareShift(cols)], mean, sumSq);
    const sq = new Float64Array(this.x.memory.buffer, sumSq, rows);
    const rowR = new Float64Array(rows);
    const rowHalf = new Float64Array(rows);
    const rowInv = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const { recip, b } = recipNormalized(Math.max(1, isqrt(sq[r])));
      rowR[r] = recip;
      rowHalf[r] = POW2[b - 1];
      rowInv[r] = INV_POW2[b];
    }
    const pR = this.put(rowR);
    const pH = this.put(rowHalf);
    const pI = this.put(rowInv);
    const pb = this.i32(bias);
    const py = this.alloc(rows * cols);
    this.x.ln_apply(px, rows, cols, mean, pR, pH, pI, this.put(gain.m), this.put(gain.half), this.put(gain.inv), pb, py);
    return new Int8Array(this.x.memory.buffer, py, rows * cols).slice();
  }

  /** The spec's softmaxRow over each row of scores (rows x L) with a key mask. */
  softmax(scores: Int32Array, mask: Int32Array, rows: number, L: number, mult: number, shift: number, expLut: TensorData): Uint8Array {
    this.reset();
    const ps = this.put(scores);
    const pm = this.i32(mask);
    const pl = this.i32(expLut);
    const pe = this.alloc(4 * rows * L);
    const psum = this.alloc(4 * rows);
    this.x.sm_exp(ps, pm, rows, L, mult, POW2[shift - 1], INV_POW2[shift], pl, pe, psum);
    const sums = new Int32Array(this.x.memory.buffer, psum, rows);
    const rowR = new Float64Array(rows);
    const rowHalf = new Float64Array(rows);
    const rowInv = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const { recip, b } = recipNormalized(sums[r]);
      rowR[r] = recip;
      rowHalf[r] = POW2[b + 2];
      rowInv[r] = INV_POW2[b + 3];
    }
    const pR = this.put(rowR);
    const pH = this.put(rowHalf);
    const pI = this.put(rowInv);
    const pp = this.alloc(rows * L);
    this.x.sm_norm(pe, rows, L, pR, pH, pI, pp);
    return new Uint8Array(this.x.memory.buffer, pp, rows * L).slice();
  }

  /** y = lut[x + 128]. */
  lookup(x: Int8Array, lut: TensorData): Int8Array {
    this.reset();
    const px = this.put(x);
    const pl = this.put(lut instanceof Int8Array ? lut : Int8Array.from(lut));
    const py = this.alloc(x.length);
    this.x.lut_i8(px, pl, py, x.length);
    return new Int8Array(this.x.memory.buffer, py, x.length).slice();
  }
}
