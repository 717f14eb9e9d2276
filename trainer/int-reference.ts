/**
 * Implementation B: the quantized BERT forward pass written with TensorFlow.js tensor ops, from the
 * same ROM and SRAM images as the datapath. It imports only the spec (constants, types, image
 * format) and trainer/int-ops; never the datapath. Exact on every backend by construction (see
 * int-ops.ts for the bounds).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  EXP_LUT_SIZE,
  INT8_MAX,
  INT8_MIN,
  LN_IN_MAX,
  MATMUL_K_CHUNK,
  LN_IN_MIN,
  LN_OUT_EXTRA_BITS,
  PROB_MAX,
  WEIGHT_MAX,
  type Geometry,
  type Image,
  type TensorData,
  layerPrefix,
  lnSquareShift,
} from '../rtl-model/spec/index.js';
import {
  LIMB,
  LIMB_BITS,
  add,
  cached,
  clip,
  collapse,
  extend,
  isqrtWide,
  lookup,
  matmulChunks,
  maxAxis,
  maximum,
  mul,
  multConst,
  multOf,
  normalize,
  recipNormalizedWide,
  rqWide,
  shiftConst,
  shiftOf,
  shr,
  split,
  sub,
  wideSum,
  wideSumAxis,
  wideValues,
  widen,
  type Mult,
  type ShiftPlan,
  type T,
  type Wide,
} from './int-ops.js';

export interface ReferenceInput {
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Int32Array;
}

/**
 * A contiguous part of the forward pass: the embeddings, encoder layers [from, to), the pooler and
 * classifier ("head"). An instance holding only some parts loads only their tensors (plus the
 * shared tables such as the exponential LUT) and can run only them (forwardLayerwise).
 */
export interface ReferenceParts {
  embeddings: boolean;
  layers: { from: number; to: number };
  head: boolean;
}

export const allParts = (g: Geometry): ReferenceParts => ({ embeddings: true, layers: { from: 0, to: g.layers }, head: true });

function checkParts(p: ReferenceParts, g: Geometry): void {
  const { from, to } = p.layers;
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from <= to && to <= g.layers)) {
    throw new RangeError(`reference parts: layers [${from}, ${to}) is not a range within [0, ${g.layers}]`);
  }
}

const LAYER_NAME = /^bert\.encoder\.layer\.(\d+)\./;

/** Whether the part p needs the image tensor called name. */
function holds(p: ReferenceParts, name: string): boolean {
  if (name.startsWith('bert.embeddings.')) return p.embeddings;
  if (name.startsWith('bert.pooler.') || name.startsWith('classifier.')) return p.head;
  const m = LAYER_NAME.exec(name);
  if (m) {
    const l = Number(m[1]);
    return l >= p.layers.from && l < p.layers.to;
  }
  return true; // tables every layer shares
}

/** The datapath-side tensor each part reads when run layer by layer: the output of the part before it. */
export function layerwiseInputName(part: 'head' | number, g: Geometry): string {
  const l = part === 'head' ? g.layers : part;
  return l === 0 ? 'bert.embeddings.output' : `${layerPrefix(l - 1)}output`;
}

/** The key mask in softmax's layout [keys, heads, queries] (1 kept, 0 masked) and the masked keys' high-digit fill. */
export interface MaskTensors {
  keep: T;
  maskedHigh: T;
}

/** Records a named result: a tensor of integers, or digits (a GEMM accumulator such as the logits). */
type Recorder = (name: string, x: T | Wide) => void;

/**
 * Named results, kept until flush() reads them back asynchronously (the webgpu backend has no
 * synchronous read in Node) into Int32Arrays.
 */
class Records {
  readonly out = new Map<string, Int32Array>();
  private pending: [string, T | Wide][] = [];
  readonly record: Recorder = (name, x) => {
    const own = (t: T): T => tf.keep(tf.clone(t));
    this.pending.push([name, Array.isArray(x) ? x.map(own) : own(x)]);
  };
  async flush(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    for (const [name, x] of pending) {
      const ts = Array.isArray(x) ? x : [x];
      const ds = await Promise.all(ts.map((t) => t.data()));
      this.out.set(name, Array.isArray(x) ? wideValues(ds) : Int32Array.from(ds[0]));
      tf.dispose(ts);
    }
  }
}

/** The multiplier 1 and the shift plan of a constant shift (made once per backend). */
const ONE = (): Mult => ({ m0: cached('mult 1', () => tf.scalar(1, 'float32')), m1: null });
function shiftConstCached(s: number): ShiftPlan {
  const b = s % LIMB_BITS;
  const a = (s - b) / LIMB_BITS;
  const k = (name: string, v: number): T => cached(`shift ${s} ${name}`, () => tf.scalar(v, 'float32'));
  return {
    groups: [{ a, mask: null }],
    pNegB: k('pNegB', 2 ** -b),
    pB: k('pB', 2 ** b),
    half: k('half', b >= 1 ? 2 ** (b - 1) : 0),
    bZero: k('bZero', b === 0 ? 1 : 0),
  };
}

/**
 * Columns [k0, k0 + len) of w [rows, cols] (row-major), transposed to a float32 [len, rows] array, in
 * tiles of 64x64 so that reads and writes both stay in cache (a plain loop over BERT-base's 85 M
 * weights, writing with a stride of `rows`, takes about a second).
 */
function transposeBlock(w: ArrayLike<number>, rows: number, cols: number, k0: number, len: number): Float32Array {
  const out = new Float32Array(len * rows);
  const B = 64;
  for (let o0 = 0; o0 < rows; o0 += B) {
    const o1 = Math.min(rows, o0 + B);
    for (let kb = 0; kb < len; kb += B) {
      const kb1 = Math.min(len, kb + B);
      for (let o = o0; o < o1; o++) {
        const src = o * cols + k0;
        for (let k = kb; k < kb1; k++) out[k * rows + o] = w[src + k];
      }
    }
  }
  return out;
}

const WORD_TABLE = 'bert.embeddings.word_embeddings.weight';

/** Requantization constants of one site, prepared as multiplier digits and a shift plan. */
export interface Site {
  mult: Mult;
  shift: ShiftPlan;
}

/** Fill of a masked key's high score digit: below every real one (|score| <= 4096·2^14 < 2^26, so its high digit >= -2^15). */
const MASKED_HIGH = -(2 ** 16);

/** A site's requantization constants (one per channel, or one for the site), prepared. */
export function siteOf(mult: ArrayLike<number>, shift: ArrayLike<number>): Site {
  return { mult: multConst(mult), shift: shiftConst(shift) };
}

/** 24-bit biases as two digits [lo in [0, 2^11), hi with |hi| <= 2^12]. */
export function biasDigits(b: ArrayLike<number>): Wide {
  const lo = Float32Array.from(b, (v) => v - Math.floor(v / LIMB) * LIMB);
  const hi = Float32Array.from(b, (v) => Math.floor(v / LIMB));
  return [tf.keep(tf.tensor1d(lo, 'float32')), tf.keep(tf.tensor1d(hi, 'float32'))];
}

/** The key mask (1 kept, 0 masked) in softmax's layout [keys, heads, queries], and the masked keys' high-digit fill. */
export function maskTensorsOf(mask: ArrayLike<number>, heads: number, queries: number): MaskTensors {
  const keys = mask.length;
  const keepRow = Float32Array.from(mask, (v) => (v ? 1 : 0));
  const keep = tf.tidy(() => tf.add(tf.zeros([keys, heads, queries], 'float32'), tf.reshape(tf.tensor1d(keepRow, 'float32'), [keys, 1, 1])));
  const maskedHigh = tf.tidy(() => tf.mul(tf.sub(tf.scalar(1, 'float32'), keep), tf.scalar(MASKED_HIGH, 'float32')));
  return { keep, maskedHigh };
}

/**
 * Integer LayerNorm over the last axis of x [rows, N] (spec: layerNorm). The per-row part runs on
 * x^T [N, rows], so every per-row value ([rows]) broadcasts as a trailing suffix (the wasm
 * backend's fast path); the per-channel gain and bias on x again. Bounds (N <= 4096):
 *   S = Σx as digits: Σ lo < 2^23, Σ hi (|hi| <= 16) <= 2^16
 *   d = x - m, |d| < 2^16;  u = floor(d / 2), w = |u| <= 2^15 = w1·2^11 + w0
 *   w^2 = w1^2·2^22 + 2·w0·w1·2^11 + w0^2 (columns < 2^22), shifted right by s = ceil(log2 N)
 *   sumSq = Σ floor(w^2 / 2^s) as digits: Σ lo <= N·2^11 <= 2^23, Σ hi <= N·2^19 / 2^s <= 2^19
 *   n = rq(d, R, b), |n| < 2^20;  o = rq(n, G, sh) + β as digits;  y = sat8(floor((o + 2^7) / 2^8))
 */
function layerNormRowsRaw(x: T, mean: Site, gain: Site, bias: Wide): T {
  const n = x.shape[x.shape.length - 1];
  const s = lnSquareShift(n);
  const xt = tf.transpose(x); // [N, rows]
  const sum = wideSumAxis(split(xt), 0); // [rows]
  const m = collapse(rqWide(sum, mean.mult, mean.shift), LN_IN_MIN, LN_IN_MAX);
  const d = sub(xt, m); // |d| < 2^16
  const w = tf.abs(shr(d, 1)); // |floor(d / 2)| <= 2^15
  const [w0, w1] = split(w);
  const sq = normalize([mul(w0, w0), mul(mul(w0, w1), 2), mul(w1, w1)]);
  const sqShifted = s === 0 ? sq : rqWide(sq, ONE(), shiftConstCached(s), false);
  const sumSq = wideSumAxis(sqShifted, 0); // <= 2^30
  const r = maximum(isqrtWide(extend(sumSq, 3)), 1); // <= 46340
  const { recip, b } = recipNormalizedWide(widen(r, 17));
  const nv = collapse(rqWide(widen(d, 17), multOf(recip), shiftOf(b, 1, 16)), -(2 ** 22), 2 ** 22); // |n| < 2^20, exact
  const [lo, hi] = rqWide(widen(tf.transpose(nv), 21), gain.mult, gain.shift);
  const [bl, bh] = bias;
  const [ol, carry] = split(add(lo, bl));
  const oh = add(add(hi, bh), carry);
  // floor((o + 2^(E-1)) / 2^E), E = 8: oh·2^(11-E) + floor((ol + 2^(E-1)) / 2^E); |oh| clipped at 2^13 (|o| >= 2^24: saturates)
  const E = LN_OUT_EXTRA_BITS;
  return clip(add(mul(clip(oh, -(2 ** 13), 2 ** 13), 2 ** (LIMB_BITS - E)), shr(add(ol, 2 ** (E - 1)), E)), INT8_MIN, INT8_MAX);
}

/**
 * Integer softmax over the last axis of scores [heads, L, L] (spec: softmaxRow), given as digits
 * [lo, hi] (|score| < 2^26). keep is the key mask (1/0) broadcast to [L (keys), heads, L
 * (queries)]: the rows are reduced on that transposed layout, so per-row values ([heads, L])
 * broadcast as a trailing suffix. The maximum is taken on the high digit, then on the low digit
 * among the keys that share the highest high digit; masked keys take a high digit below every real one.
 * expLut: the spec's 256 entries and a 257th, 0.
 */
function softmaxRowsRaw(scores: Wide, site: Site, expLut: T, m: MaskTensors): T {
  const [sl, sh] = scores.map((d) => tf.transpose(d, [2, 0, 1])); // [keys, heads, queries]
  const hiM = add(mul(sh, m.keep), m.maskedHigh);
  const loM = mul(sl, m.keep);
  const mh = maxAxis(hiM, 0);
  const dh = sub(hiM, mh); // <= 0
  const ml = maxAxis(add(mul(clip(dh, -1, 0), 2 ** 12), loM), 0); // the low digit of the maximum
  const diff = extend(normalize([sub(loM, ml), dh]), 3); // score - max, exact for every unmasked key
  const t = collapse(rqWide(diff, site.mult, site.shift), -(2 ** 22), 2 ** 22);
  const idx = clip(tf.neg(t), 0, EXP_LUT_SIZE); // index EXP_LUT_SIZE holds 0
  const e = mul(lookup(expLut, idx), m.keep); // <= 2^15
  const sum = wideSumAxis(split(e), 0); // in [2^15, L·2^15]
  const { recip, b } = recipNormalizedWide(sum);
  // b = bitLength(S) in [16, 28] for S in [2^15, 2^27]: shifts b + 3 in [19, 31]
  const p = collapse(rqWide(widen(e, 16), multOf(recip), shiftOf(add(b, 3), 19, 31)), 0, PROB_MAX);
  return tf.transpose(p, [1, 2, 0]);
}

/** layerNormRows in its own tidy scope (its intermediates freed at once). */
export function layerNormRows(...a: Parameters<typeof layerNormRowsRaw>): ReturnType<typeof layerNormRowsRaw> {
  return tf.tidy(() => layerNormRowsRaw(...a));
}

/** softmaxRows in its own tidy scope (its intermediates freed at once). */
export function softmaxRows(...a: Parameters<typeof softmaxRowsRaw>): ReturnType<typeof softmaxRowsRaw> {
  return tf.tidy(() => softmaxRowsRaw(...a));
}

/**
 * Integer forward pass over tfjs tensors; holds the images' tensors on the current backend as
 * float32 (integers below 2^24; see int-ops.ts), with wide constants as digits.
 */
export class TfjsIntReference {
  private readonly t = new Map<string, T>();
  readonly g: Geometry;

  /** Weight matrices as float32 [in, out] chunks along K. */
  private readonly chunks = new Map<string, T[]>();
  /** Every `<site>.rq.mult` / `.rq.shift` pair, prepared. */
  private readonly sites = new Map<string, Site>();
  /** 24-bit biases as two digits [lo, hi]. */
  private readonly biases = new Map<string, Wide>();
  /** The word-embedding table, left in the image's data (see wordRows). */
  private wordTable: { data: TensorData; shape: [number, number] } | null = null;
  /** Tensors made for this instance (constants of sites and biases), disposed with it. */
  private readonly owned: T[] = [];

  /** Which parts of the model this instance holds (all by default; see ReferenceParts). */
  readonly parts: ReferenceParts;

  constructor(rom: Image, sram: Image, parts?: ReferenceParts) {
    this.g = rom.header.geometry;
    this.parts = parts ?? allParts(this.g);
    checkParts(this.parts, this.g);
    const rq = new Map<string, { mult?: Int32Array | ArrayLike<number>; shift?: ArrayLike<number> }>();
    const keep = (x: T): T => {
      this.owned.push(x);
      return tf.keep(x);
    };
    for (const img of [rom, sram]) {
      for (const x of img.tensors.values()) {
        if (!holds(this.parts, x.name)) continue;
        const m = /^(.*)\.rq\.(mult|shift)$/.exec(x.name);
        if (m) {
          const e = rq.get(m[1]) ?? {};
          e[m[2] as 'mult' | 'shift'] = x.data;
          rq.set(m[1], e);
          continue;
        }
        if (x.name.endsWith('.weight') && !x.name.startsWith('bert.embeddings.')) {
          // Weight matrices [out, in] are kept only as float32 [in, out] chunks of at most
          // MATMUL_K_CHUNK rows of K (int8 values are exact in float32): matmuls need no transposed
          // operand and no per-call slicing or casting.
          const [nOut, nIn] = x.shape;
          const cs: T[] = [];
          for (let k0 = 0; k0 < nIn; k0 += MATMUL_K_CHUNK) {
            const len = Math.min(MATMUL_K_CHUNK, nIn - k0);
            cs.push(keep(tf.tensor2d(transposeBlock(x.data, nOut, nIn, k0, len), [len, nOut], 'float32')));
          }
          this.chunks.set(x.name, cs);
          continue;
        }
        if (x.name.endsWith('.bias')) {
          const b = biasDigits(x.data);
          this.owned.push(...b);
          this.biases.set(x.name, b);
          continue;
        }
        if (x.name === WORD_TABLE) {
          // the table (BERT-base: 23 M entries) stays in the image; embed() uploads the rows an input uses
          this.wordTable = { data: x.data, shape: [x.shape[0], x.shape[1]] };
          continue;
        }
        let data = new Float32Array(x.data);
        // the exponential table gets a 257th entry, 0, for every index beyond it
        if (x.name === 'softmax.exp.lut') data = Float32Array.from([...data, 0]);
        this.t.set(x.name, keep(tf.tensor(data, x.name === 'softmax.exp.lut' ? [data.length] : x.shape, 'float32')));
      }
    }
    for (const [name, e] of rq) {
      if (!e.mult || !e.shift) throw new Error(`reference: site ${name} lacks its ${e.mult ? 'shift' : 'multiplier'}`);
      const site = siteOf(e.mult, e.shift);
      const { mult, shift } = site;
      for (const x of [mult.m0, mult.m1, shift.pNegB, shift.pB, shift.half, shift.bZero, ...shift.groups.map((g) => g.mask)]) if (x) this.owned.push(x);
      this.sites.set(name, site);
    }
  }

  /**
   * Multiply a row of zeros by every weight chunk once: the wasm backend packs a matrix for XNNPACK
   * on its first product (about 20 ms per 768 x 3072 chunk), so a thread that has to wait for its
   * inputs does that while it waits. Changes nothing else; does nothing on other backends.
   */
  warmUp(): void {
    if (tf.getBackend() !== 'wasm') return;
    for (const cs of this.chunks.values())
      for (const c of cs)
        tf.tidy(() => {
          tf.matMul(tf.zeros([1, c.shape[0]], 'float32'), c).dataSync();
        });
  }

  dispose(): void {
    for (const x of this.owned) x.dispose();
    this.owned.length = 0;
    this.t.clear();
    this.chunks.clear();
    this.sites.clear();
    this.biases.clear();
  }

  private get(name: string): T {
    const x = this.t.get(name);
    if (!x) throw new Error(`reference: no tensor ${name} in either image`);
    return x;
  }

  private site(name: string): Site {
    const s = this.sites.get(name);
    if (!s) throw new Error(`reference: no requantization constants ${name}.rq.* in either image`);
    return s;
  }

  private bias(name: string): Wide {
    const b = this.biases.get(name);
    if (!b) throw new Error(`reference: no bias ${name} in either image`);
    return b;
  }

  /** acc = x W^T + b as digits: x [rows, in], W stored as [in, out]. */
  private linear(name: string, x: T): Wide {
    const w = this.chunks.get(`${name}.weight`);
    if (!w) throw new Error(`reference: no weight ${name}.weight in either image`);
    // int8 activations [-128, 127] times int8 weights [-127, 127]
    return tf.tidy(() => wideSum(matmulChunks(x, w, -INT8_MIN * WEIGHT_MAX), this.bias(`${name}.bias`)));
  }

  /** rq with a site's constants, as digits. */
  private rqSite(site: string, v: Wide): Wide {
    const s = this.site(site);
    return rqWide(v, s.mult, s.shift);
  }

  private requant8(site: string, acc: Wide): T {
    return tf.tidy(() => collapse(this.rqSite(site, acc), INT8_MIN, INT8_MAX));
  }

  private term16(site: string, v: Wide): T {
    return tf.tidy(() => collapse(this.rqSite(site, v), LN_IN_MIN, LN_IN_MAX));
  }

  /** sat16(Σ sat16(rq(term))): at most three int16 terms, |sum| < 2^17. */
  private join(sites: string[], terms: Wide[]): T {
    let s: T = this.term16(sites[0], terms[0]);
    for (let i = 1; i < sites.length; i++) s = add(s, this.term16(sites[i], terms[i]));
    return clip(s, LN_IN_MIN, LN_IN_MAX);
  }

  private layerNorm(prefix: string, x: T): T {
    return layerNormRows(x, this.site(`${prefix}.mean`), this.site(`${prefix}.gain`), this.bias(`${prefix}.bias`));
  }

  private softmax(site: string, scores: Wide, m: MaskTensors): T {
    return softmaxRows(scores, this.site(site), this.get('softmax.exp.lut'), m);
  }

  /** Split [L, H] into heads [heads, L, dh]. */
  private heads(x: T): T {
    const { seqLen: L, heads, hidden } = this.g;
    return tf.transpose(tf.reshape(x, [L, heads, hidden / heads]), [1, 0, 2]);
  }

  /** Tensors made once per sequence: the key mask in softmax's layout and the masked-score fill. */
  private maskTensors(input: ReferenceInput): MaskTensors {
    const { seqLen: L, heads } = this.g;
    if (input.attentionMask.length !== L) throw new RangeError(`reference: attention mask has ${input.attentionMask.length} entries, seqLen is ${L}`);
    return maskTensorsOf(input.attentionMask, heads, L); // made once for every layer
  }

  private requireParts(what: string, ok: boolean): void {
    if (!ok) throw new Error(`reference: ${what} is not among the parts this instance holds`);
  }

  /** The word table's rows that `ids` use, in order of first use (a float32 tensor [rows, H]). */
  private wordRows(ids: ArrayLike<number>): T {
    if (!this.wordTable) throw new Error(`reference: no tensor ${WORD_TABLE} in either image`);
    const [vocab, h] = this.wordTable.shape;
    const uniq = [...new Set(Array.from(ids))];
    const rows = new Float32Array(uniq.length * h);
    uniq.forEach((id, i) => {
      if (!(Number.isInteger(id) && id >= 0 && id < vocab)) throw new RangeError(`reference: token id ${id} is outside the vocabulary [0, ${vocab})`);
      rows.set(this.wordTable!.data.subarray(id * h, (id + 1) * h), i * h);
    });
    return tf.tensor2d(rows, [uniq.length, h], 'float32');
  }

  /** Each id's row in wordRows(ids). */
  private wordIndex(ids: ArrayLike<number>): Int32Array {
    const at = new Map<number, number>();
    for (const id of Array.from(ids)) if (!at.has(id)) at.set(id, at.size);
    return Int32Array.from(ids, (id) => at.get(id)!);
  }

  private embed(input: ReferenceInput): T {
    this.requireParts('the embeddings', this.parts.embeddings);
    const { seqLen: L, hidden: H } = this.g;
    return tf.tidy(() => {
      const e = 'bert.embeddings.';
      const w = tf.gather(this.wordRows(input.inputIds), tf.tensor1d(this.wordIndex(input.inputIds), 'int32'));
      const p = tf.slice(this.get(`${e}position_embeddings.weight`), [0, 0], [L, H]);
      const ty = tf.gather(this.get(`${e}token_type_embeddings.weight`), tf.tensor1d(input.tokenTypeIds, 'int32'));
      const sites = ['word_embeddings', 'position_embeddings', 'token_type_embeddings'].map((s) => e + s);
      // int8 table entries: one signed digit each
      return this.layerNorm(`${e}LayerNorm`, this.join(sites, [[w], [p], [ty]]));
    });
  }

  /** Encoder layer l on x [L, H]; records its intermediates; returns its output (recorded by the caller). */
  private layer(l: number, x: T, m: MaskTensors, record: Recorder): T {
    this.requireParts(`layer ${l}`, l >= this.parts.layers.from && l < this.parts.layers.to);
    const { seqLen: L, hidden: H } = this.g;
    const pre = layerPrefix(l);
    return tf.tidy(() => {
      const a = `${pre}attention.self.`;
      const q = this.requant8(`${a}query`, this.linear(`${a}query`, x));
      const k = this.requant8(`${a}key`, this.linear(`${a}key`, x));
      const v = this.requant8(`${a}value`, this.linear(`${a}value`, x));
      record(`${pre}q`, q);
      record(`${pre}k`, k);
      record(`${pre}v`, v);
      // [heads, L, dh] x [heads, dh, L]; |score| <= dh·2^14 < 2^26: two digits
      const [s0, s1, s2] = wideSum(matmulChunks(this.heads(q), tf.transpose(this.heads(k), [0, 2, 1]), INT8_MIN * INT8_MIN));
      const probs = this.softmax(`${a}scores`, [s0, add(s1, mul(s2, LIMB))], m);
      record(`${pre}probs`, probs);
      // [heads, L, L] x [heads, L, dh], each digit back to [L, H]
      const ctxAcc = wideSum(matmulChunks(probs, this.heads(v), PROB_MAX * -INT8_MIN)).map((d) => tf.reshape(tf.transpose(d, [1, 0, 2]), [L, H]));
      const ctx = this.requant8(`${a}context`, ctxAcc);
      record(`${pre}context`, ctx);
      const m1 = this.linear(`${pre}attention.output.dense`, ctx);
      const j1 = this.join([`${pre}attention.output.res_a`, `${pre}attention.output.res_b`], [[x], m1]);
      const a1 = this.layerNorm(`${pre}attention.output.LayerNorm`, j1);
      record(`${pre}attention.output`, a1);
      const up = this.requant8(`${pre}intermediate.dense`, this.linear(`${pre}intermediate.dense`, a1));
      const gl = lookup(this.get(`${pre}intermediate.gelu.lut`), add(up, 128));
      record(`${pre}intermediate`, gl);
      const m3 = this.linear(`${pre}output.dense`, gl);
      const j2 = this.join([`${pre}output.res_a`, `${pre}output.res_b`], [[a1], m3]);
      return this.layerNorm(`${pre}output.LayerNorm`, j2);
    });
  }

  /** Pooler and classifier on the last layer's output x [L, H]. */
  private head(x: T, record: Recorder): void {
    this.requireParts('the pooler and classifier', this.parts.head);
    tf.tidy(() => {
      const cls = tf.slice(x, [0, 0], [1, this.g.hidden]);
      const pre = this.requant8('bert.pooler.dense', this.linear('bert.pooler.dense', cls));
      const pooled = lookup(this.get('bert.pooler.tanh.lut'), add(pre, 128));
      record('bert.pooler.output', pooled);
      record('logits', this.linear('classifier', pooled));
    });
  }

  /** Forward one sequence; resolves to the same named intermediates as the datapath (as Int32Arrays). onLayer follows the encoder layers. */
  async forward(input: ReferenceInput, onLayer?: (done: number, layers: number) => void): Promise<Map<string, Int32Array>> {
    const g = this.g;
    const rec = new Records();
    const m = this.maskTensors(input);
    let x: T | null = null;
    try {
      x = this.embed(input);
      rec.record('bert.embeddings.output', x);
      await rec.flush();
      for (let l = 0; l < g.layers; l++) {
        const next = this.layer(l, x, m, rec.record);
        x.dispose();
        x = next;
        rec.record(`${layerPrefix(l)}output`, x);
        await rec.flush();
        onLayer?.(l + 1, g.layers);
      }
      this.head(x, rec.record);
      await rec.flush();
    } finally {
      x?.dispose();
      tf.dispose([m.keep, m.maskedHigh]);
    }
    return rec.out;
  }

  /**
   * Run this instance's parts layer by layer: each part reads, instead of the previous part's
   * result, the given tensor of that name (layerwiseInputName: the datapath's output of the part
   * before it). If every part's outputs equal the datapath's, the chained forward pass from the same
   * input equals the datapath's too (by induction over the parts: each part then reads exactly
   * what the chain would hand it), so checking the parts independently, on several threads, proves
   * the same thing as forward(). onPart is called after each part with its name. It yields to the
   * event loop between parts, so other threads' messages are handled while this one computes.
   */
  async forwardLayerwise(
    input: ReferenceInput,
    given: ReadonlyMap<string, ArrayLike<number>>,
    onPart?: (part: string) => void,
  ): Promise<Map<string, Int32Array>> {
    const { seqLen: L, hidden: H } = this.g;
    const rec = new Records();
    const record = rec.record;
    const inputOf = (part: 'head' | number): T => {
      const name = layerwiseInputName(part, this.g);
      const v = given.get(name);
      if (!v) throw new Error(`reference: layer-by-layer run needs ${name}, which was not given`);
      if (v.length !== L * H) throw new RangeError(`reference: ${name} has ${v.length} elements, expected ${L * H}`);
      return tf.tensor2d(Float32Array.from(v), [L, H], 'float32');
    };
    const pause = (): Promise<void> => new Promise((r) => setImmediate(r));
    if (this.parts.embeddings) {
      tf.tidy(() => record('bert.embeddings.output', this.embed(input)));
      await rec.flush();
      onPart?.('embeddings');
      await pause();
    }
    const { from, to } = this.parts.layers;
    if (to > from) {
      const m = this.maskTensors(input);
      try {
        for (let l = from; l < to; l++) {
          const x = inputOf(l);
          try {
            const y = this.layer(l, x, m, record);
            record(`${layerPrefix(l)}output`, y);
            y.dispose();
            await rec.flush();
          } finally {
            x.dispose();
          }
          onPart?.(`layer ${l}`);
          await pause();
        }
      } finally {
        tf.dispose([m.keep, m.maskedHigh]);
      }
    }
    if (this.parts.head) {
      const x = inputOf('head');
      try {
        this.head(x, record);
        await rec.flush();
      } finally {
        x.dispose();
      }
      onPart?.('head');
    }
    return rec.out;
  }
}
