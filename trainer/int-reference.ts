/**
 * Implementation B: the quantized BERT forward pass written with TensorFlow.js tensor ops, from the
 * same ROM and SRAM images as the datapath. It imports only the spec (constants, types, image
 * format) and trainer/int-ops; never the datapath. Exact on every backend by construction (see
 * int-ops.ts for the bounds).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  EXP_LUT_SIZE,
  LN_IN_MAX,
  MATMUL_K_CHUNK,
  LN_IN_MIN,
  LN_OUT_EXTRA_BITS,
  MASKED_SCORE,
  PROB_MAX,
  type Geometry,
  type Image,
  layerPrefix,
  lnSquareShift,
} from '../rtl-model/spec/index.js';
import { clamp, clampInt8, floorShift, int, isqrtT, matmul, recipNormalizedT, rqT, type ShiftRange } from './int-ops.js';

type T = tf.Tensor;

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

/** Integer forward pass over tfjs tensors; holds the images' tensors on the current backend. */
export class TfjsIntReference {
  private readonly t = new Map<string, T>();
  readonly g: Geometry;

  /** Weight matrices as float32 [in, out] chunks along K. */
  private readonly chunks = new Map<string, T[]>();
  /** Range of every `.rq.shift` tensor, so rqT computes only the branch its site needs. */
  private readonly shiftRange = new Map<string, ShiftRange>();

  /** Which parts of the model this instance holds (all by default; see ReferenceParts). */
  readonly parts: ReferenceParts;

  constructor(rom: Image, sram: Image, parts?: ReferenceParts) {
    this.g = rom.header.geometry;
    this.parts = parts ?? allParts(this.g);
    checkParts(this.parts, this.g);
    for (const img of [rom, sram]) {
      for (const x of img.tensors.values()) {
        if (!holds(this.parts, x.name)) continue;
        // A per-tensor constant (shape [1]) is held as a scalar: the wasm backend's binary ops take
        // a fast path only when an operand's shape is a trailing suffix of the output's (a [1]
        // operand against [L, N] goes through per-element index arithmetic, about 15x slower).
        const shape = x.name.endsWith('.rq.mult') || x.name.endsWith('.rq.shift') ? (x.data.length === 1 ? [] : [x.data.length]) : x.shape;
        if (x.name.endsWith('.weight') && !x.name.startsWith('bert.embeddings.')) {
          // Weight matrices [out, in] are kept only as float32 [in, out] chunks of at most
          // MATMUL_K_CHUNK rows of K (int8 values are exact in float32): matmuls need no transposed
          // operand and no per-call slicing or casting.
          const [nOut, nIn] = x.shape;
          const cs: T[] = [];
          for (let k0 = 0; k0 < nIn; k0 += MATMUL_K_CHUNK) {
            const len = Math.min(MATMUL_K_CHUNK, nIn - k0);
            const c = new Float32Array(len * nOut);
            for (let o = 0; o < nOut; o++) for (let k = 0; k < len; k++) c[k * nOut + o] = x.data[o * nIn + k0 + k];
            cs.push(tf.keep(tf.tensor2d(c, [len, nOut], 'float32')));
          }
          this.chunks.set(x.name, cs);
          continue;
        }
        this.t.set(x.name, tf.keep(tf.tensor(Int32Array.from(x.data), shape, 'int32')));
        if (x.name.endsWith('.rq.shift')) {
          let min = Infinity;
          let max = -Infinity;
          for (const v of x.data) {
            min = Math.min(min, v);
            max = Math.max(max, v);
          }
          this.shiftRange.set(x.name, { min, max });
        }
      }
    }
  }

  dispose(): void {
    for (const x of this.t.values()) x.dispose();
    for (const cs of this.chunks.values()) for (const c of cs) c.dispose();
    this.t.clear();
    this.chunks.clear();
  }

  private get(name: string): T {
    const x = this.t.get(name);
    if (!x) throw new Error(`reference: no tensor ${name} in either image`);
    return x;
  }

  /** acc = x W^T + b: x [rows, in], W stored as [in, out]. */
  private linear(name: string, x: T): T {
    const w = this.chunks.get(`${name}.weight`);
    if (!w) throw new Error(`reference: no weight ${name}.weight in either image`);
    return tf.add(matmul(x, w), this.get(`${name}.bias`));
  }

  /** rq with a site's `<site>.rq.mult` and `<site>.rq.shift`. */
  private rqSite(site: string, v: T): T {
    return rqT(v, this.get(`${site}.rq.mult`), this.get(`${site}.rq.shift`), this.shiftRange.get(`${site}.rq.shift`));
  }

  private requant8(site: string, acc: T): T {
    return clampInt8(this.rqSite(site, acc));
  }

  private term16(site: string, v: T): T {
    return clamp(this.rqSite(site, v), LN_IN_MIN, LN_IN_MAX);
  }

  private join(sites: string[], terms: T[]): T {
    let s: T = this.term16(sites[0], terms[0]);
    for (let i = 1; i < sites.length; i++) s = tf.add(s, this.term16(sites[i], terms[i]));
    return clamp(s, LN_IN_MIN, LN_IN_MAX);
  }

  /**
   * Integer LayerNorm over the last axis of x [rows, N] (spec: layerNorm). The per-row part runs on
   * x^T [N, rows], so every per-row value ([rows]) broadcasts as a trailing suffix (the wasm
   * backend's fast path; see the constructor); the per-channel gain and bias on x again.
   */
  private layerNorm(prefix: string, x: T): T {
    const n = x.shape[x.shape.length - 1];
    const s = lnSquareShift(n);
    const xt = tf.transpose(x); // [N, rows]
    const sum = tf.sum(xt, 0); // [rows], |.| <= N * 2^15 <= 2^27
    const m = clamp(this.rqSite(`${prefix}.mean`, sum), LN_IN_MIN, LN_IN_MAX);
    const d = tf.sub(xt, m); // |d| < 2^16
    const u = tf.floorDiv(d, int(2)); // |d| < 2^24: exact
    const uu = tf.mul(u, u); // <= 2^30
    const sq = s === 0 ? uu : floorShift(uu, s);
    const sumSq = tf.sum(sq, 0); // <= 2^30
    const r = tf.maximum(isqrtT(sumSq), int(1));
    const { recip, b } = recipNormalizedT(r);
    const nv = tf.transpose(rqT(d, recip, b, { min: 1, max: 16 })); // |d * R| < 2^28; b = bitLength(r), r <= 2^15
    const o = tf.add(this.rqSite(`${prefix}.gain`, nv), this.get(`${prefix}.bias`));
    return clampInt8(rqT(o, 1, LN_OUT_EXTRA_BITS));
  }

  /**
   * Integer softmax over the last axis of scores [heads, L, L] (spec: softmaxRow). keep is the key
   * mask broadcast to [L (keys), heads, L (queries)]: the rows are reduced on that transposed
   * layout, so per-row values ([heads, L]) broadcast as a trailing suffix.
   */
  private softmax(site: string, scores: T, keep: T, maskedScores: T): T {
    const st = tf.transpose(scores, [2, 0, 1]); // [keys, heads, queries]
    const masked = tf.where(keep, st, maskedScores);
    const mx = tf.max(masked, 0);
    const diff = tf.sub(masked, mx); // >= -2^31 + 1: |scores| < 2^30
    const t = this.rqSite(site, diff);
    const idx = tf.neg(t);
    const inTable = tf.logicalAnd(keep, tf.lessEqual(idx, int(EXP_LUT_SIZE - 1)));
    const looked = tf.gather(this.get('softmax.exp.lut'), tf.minimum(idx, int(EXP_LUT_SIZE - 1)));
    const e = tf.where(inTable, looked, tf.zerosLike(looked)); // <= 2^15
    const sum = tf.sum(e, 0); // in [2^15, L * 2^15]
    const { recip, b } = recipNormalizedT(sum);
    const p = rqT(tf.mul(e, recip), 1, tf.add(b, int(3)), { min: 19, max: 34 }); // e * R <= 2^27; b = bitLength(S), S in [2^15, 2^31)
    return tf.transpose(tf.minimum(p, int(PROB_MAX)), [1, 2, 0]);
  }

  /** Split [L, H] into heads [heads, L, dh]. */
  private heads(x: T): T {
    const { seqLen: L, heads, hidden } = this.g;
    return tf.transpose(tf.reshape(x, [L, heads, hidden / heads]), [1, 0, 2]);
  }

  /** Tensors made once per sequence: the key mask in softmax's layout and the masked-score fill. */
  private maskTensors(input: ReferenceInput): { keep: T; maskedScores: T } {
    const { seqLen: L, heads } = this.g;
    if (input.attentionMask.length !== L) throw new RangeError(`reference: attention mask has ${input.attentionMask.length} entries, seqLen is ${L}`);
    // the key mask as [keys, heads, queries] (softmax's layout), made once for every layer
    const keep = tf.tidy(() => tf.broadcastTo(tf.reshape(tf.cast(tf.tensor1d(input.attentionMask, 'int32'), 'bool'), [L, 1, 1]), [L, heads, L]));
    return { keep, maskedScores: tf.fill([L, heads, L], MASKED_SCORE, 'int32') };
  }

  private requireParts(what: string, ok: boolean): void {
    if (!ok) throw new Error(`reference: ${what} is not among the parts this instance holds`);
  }

  private embed(input: ReferenceInput): T {
    this.requireParts('the embeddings', this.parts.embeddings);
    const { seqLen: L, hidden: H } = this.g;
    return tf.tidy(() => {
      const e = 'bert.embeddings.';
      const w = tf.gather(this.get(`${e}word_embeddings.weight`), tf.tensor1d(input.inputIds, 'int32'));
      const p = tf.slice(this.get(`${e}position_embeddings.weight`), [0, 0], [L, H]);
      const ty = tf.gather(this.get(`${e}token_type_embeddings.weight`), tf.tensor1d(input.tokenTypeIds, 'int32'));
      const sites = ['word_embeddings', 'position_embeddings', 'token_type_embeddings'].map((s) => e + s);
      return this.layerNorm(`${e}LayerNorm`, this.join(sites, [w, p, ty]));
    });
  }

  /** Encoder layer l on x [L, H]; records its intermediates; returns its output (recorded by the caller). */
  private layer(l: number, x: T, m: { keep: T; maskedScores: T }, record: (name: string, x: T) => void): T {
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
      const scores = matmul(this.heads(q), tf.transpose(this.heads(k), [0, 2, 1])); // [heads, L, dh] x [heads, dh, L]
      const probs = this.softmax(`${a}scores`, scores, m.keep, m.maskedScores);
      record(`${pre}probs`, probs);
      const ctxAcc = tf.reshape(tf.transpose(matmul(probs, this.heads(v)), [1, 0, 2]), [L, H]); // [heads, L, L] x [heads, L, dh]
      const ctx = this.requant8(`${a}context`, ctxAcc);
      record(`${pre}context`, ctx);
      const m1 = this.linear(`${pre}attention.output.dense`, ctx);
      const j1 = this.join([`${pre}attention.output.res_a`, `${pre}attention.output.res_b`], [x, m1]);
      const a1 = this.layerNorm(`${pre}attention.output.LayerNorm`, j1);
      record(`${pre}attention.output`, a1);
      const up = this.requant8(`${pre}intermediate.dense`, this.linear(`${pre}intermediate.dense`, a1));
      const gl = tf.gather(this.get(`${pre}intermediate.gelu.lut`), tf.add(up, int(128)));
      record(`${pre}intermediate`, gl);
      const m3 = this.linear(`${pre}output.dense`, gl);
      const j2 = this.join([`${pre}output.res_a`, `${pre}output.res_b`], [a1, m3]);
      return this.layerNorm(`${pre}output.LayerNorm`, j2);
    });
  }

  /** Pooler and classifier on the last layer's output x [L, H]. */
  private head(x: T, record: (name: string, x: T) => void): void {
    this.requireParts('the pooler and classifier', this.parts.head);
    tf.tidy(() => {
      const cls = tf.slice(x, [0, 0], [1, this.g.hidden]);
      const pre = this.requant8('bert.pooler.dense', this.linear('bert.pooler.dense', cls));
      const pooled = tf.gather(this.get('bert.pooler.tanh.lut'), tf.add(pre, int(128)));
      record('bert.pooler.output', pooled);
      record('logits', this.linear('classifier', pooled));
    });
  }

  /** Forward one sequence; returns the same named intermediates as the datapath (as Int32Arrays). onLayer follows the encoder layers. */
  forward(input: ReferenceInput, onLayer?: (done: number, layers: number) => void): Map<string, Int32Array> {
    const g = this.g;
    const out = new Map<string, Int32Array>();
    const record = (name: string, x: T): void => {
      out.set(name, x.dataSync() as Int32Array);
    };
    const m = this.maskTensors(input);
    try {
      let x = this.embed(input);
      record('bert.embeddings.output', x);
      for (let l = 0; l < g.layers; l++) {
        const next = this.layer(l, x, m, record);
        x.dispose();
        x = next;
        record(`${layerPrefix(l)}output`, x);
        onLayer?.(l + 1, g.layers);
      }
      this.head(x, record);
      x.dispose();
    } finally {
      tf.dispose([m.keep, m.maskedScores]);
    }
    return out;
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
    const out = new Map<string, Int32Array>();
    const record = (name: string, x: T): void => {
      out.set(name, x.dataSync() as Int32Array);
    };
    const inputOf = (part: 'head' | number): T => {
      const name = layerwiseInputName(part, this.g);
      const v = given.get(name);
      if (!v) throw new Error(`reference: layer-by-layer run needs ${name}, which was not given`);
      if (v.length !== L * H) throw new RangeError(`reference: ${name} has ${v.length} elements, expected ${L * H}`);
      return tf.tensor2d(Int32Array.from(v), [L, H], 'int32');
    };
    const pause = (): Promise<void> => new Promise((r) => setImmediate(r));
    if (this.parts.embeddings) {
      tf.tidy(() => record('bert.embeddings.output', this.embed(input)));
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
          } finally {
            x.dispose();
          }
          onPart?.(`layer ${l}`);
          await pause();
        }
      } finally {
        tf.dispose([m.keep, m.maskedScores]);
      }
    }
    if (this.parts.head) {
      const x = inputOf('head');
      try {
        this.head(x, record);
      } finally {
        x.dispose();
      }
      onPart?.('head');
    }
    return out;
  }
}
