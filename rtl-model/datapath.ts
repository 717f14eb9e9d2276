/**
 * Implementation A: the hardware-shaped integer datapath. Runs the whole quantized BERT forward
 * pass (embeddings, every encoder layer, pooler, classifier) from the ROM and SRAM images, reading
 * every tensor through the memory model and counting MACs, requantizations and table look-ups.
 *
 * Arithmetic follows rtl-model/spec exactly; the per-element loops inline rq() as
 * floor((v*M + 2^(sh-1)) * 2^-sh), which is exact in doubles because |v*M| < 2^46, and the
 * constants are range-checked once when the datapath is built (checkConstants), so the bounds of
 * docs/integer-spec.md hold for every input and no per-element check is needed.
 */
import {
  MASKED_SCORE,
  MULT_MAX,
  SHIFT_MAX,
  SHIFT_MIN,
  SHIFT_MIN_INT32_INPUT,
  SHIFT_MIN_LN_GAIN,
  type Geometry,
  layerPrefix,
  type TensorData,
} from './spec/index.js';
import { VectorUnit, columnConsts, type ColumnConsts } from './vector/vector-unit.js';
import type { GemmEngine } from './gemm/oracle.js';
import type { MemorySystem } from './memory.js';

export type IntTensor = Int8Array | Uint8Array | Int16Array | Int32Array;

export interface ForwardInput {
  /** Token ids, one sequence of length seqLen. */
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  /** 1 = attend, 0 = padding. */
  attentionMask: Int32Array;
}

export interface OpCounts {
  macs: number;
  requants: number;
  lutLookups: { exp: number; gelu: number; tanh: number };
  isqrts: number;
  reciprocals: number;
}

/** A GEMM accumulator and the bias to add when it leaves the array (null: none). */
interface Acc {
  acc: Int32Array;
  bias: TensorData | null;
}

/** A contiguous block of sequence positions (rows) [from, to). */
export interface RowSlice {
  from: number;
  to: number;
}

/**
 * Hands a layer's keys and values of this block of rows to the other blocks and returns those of
 * every row ([seqLen, hidden] each): the only data one block's attention needs from another.
 */
export type KvExchange = (layer: number, k: Int8Array, v: Int8Array) => Promise<{ k: Int8Array; v: Int8Array }>;

const noExchange: KvExchange = async (_l, k, v) => ({ k, v });

/** Calibration hook: sees a site's integer values before the site's constants are read. */
export interface CalibrationHook {
  observe(site: string, values: Record<string, ArrayLike<number>>): void;
}

function checkedAdd(a: number, b: number): number {
  const s = a + b;
  if (!Number.isSafeInteger(s)) throw new RangeError(`operation counter overflowed (${a} + ${b})`);
  return s;
}

export class Datapath {
  readonly counts: OpCounts = { macs: 0, requants: 0, lutLookups: { exp: 0, gelu: 0, tanh: 0 }, isqrts: 0, reciprocals: 0 };
  private readonly dh: number;
  private readonly vu = new VectorUnit();

  /**
   * Whether whole-tensor reads (weights, biases, constants, tables) are counted. A datapath that
   * runs one block of rows next to others that share the same memories (parallel-datapath.ts) counts
   * them on one block only, so the blocks' counts sum to those of the whole sequence.
   */
  countWholeReads = true;

  constructor(
    readonly mem: MemorySystem,
    readonly g: Geometry,
    readonly engine: GemmEngine,
    readonly hook?: CalibrationHook,
  ) {
    this.dh = g.hidden / g.heads;
    if (!hook) this.checkConstants();
  }

  /** Validate every requantization constant against its site's rules (spec §bounds). */
  checkConstants(): void {
    const names = [...this.mem.rom.names(), ...this.mem.sram.names()];
    for (const name of names) {
      if (!name.endsWith('.rq.shift')) continue;
      const base = name.slice(0, -'.rq.shift'.length);
      const shifts = this.peek(name);
      const mults = this.peek(`${base}.rq.mult`);
      const int8Input = base.endsWith('.res_a') || (base.startsWith('bert.embeddings.') && base.endsWith('_embeddings'));
      const minShift = base.endsWith('.gain') ? SHIFT_MIN_LN_GAIN : int8Input ? SHIFT_MIN : SHIFT_MIN_INT32_INPUT;
      for (let i = 0; i < shifts.length; i++) {
        if (shifts[i] < minShift || shifts[i] > SHIFT_MAX)
          throw new RangeError(`${name}[${i}] = ${shifts[i]} is outside [${minShift}, ${SHIFT_MAX}] for this site`);
        if (Math.abs(mults[i]) > MULT_MAX) throw new RangeError(`${base}.rq.mult[${i}] = ${mults[i]} exceeds ${MULT_MAX}`);
        if (base.endsWith('.scores') && mults[i] < 0) throw new RangeError(`${base}.rq.mult must be >= 0 (got ${mults[i]})`);
      }
    }
  }

  private peek(name: string): TensorData {
    const t = this.mem.sram.tensor(name) ?? this.mem.rom.tensor(name);
    if (!t) throw new Error(`no memory holds tensor ${name}`);
    return t.data;
  }

  private read(name: string, elements?: number): TensorData {
    return elements === undefined && !this.countWholeReads ? this.peek(name) : this.mem.read(name, elements);
  }

  /**
   * The GEMM array. Its accumulators go into one scratch buffer reused by every product (fewer
   * large allocations, hence fewer garbage collections): within a pass every caller consumes a
   * product before the next one starts, and passes do not overlap (forwardRows refuses a second
   * one). While calibrating each product gets its own array (the hook sees them).
   */
  private async gemm(a: Int8Array | Uint8Array, b: Int8Array, m: number, n: number, k: number): Promise<Int32Array> {
    this.counts.macs = checkedAdd(this.counts.macs, m * n * k);
    if (this.hook) return this.engine.matmulNT(a, b, m, n, k);
    if (this.accScratch.length < m * n) this.accScratch = new Int32Array(m * n);
    return this.engine.matmulNT(a, b, m, n, k, this.accScratch);
  }

  private accScratch = new Int32Array(0);

  /**
   * A linear layer stored as `<name>.weight` [out, in] and `<name>.bias`: the array computes
   * x * W^T; the bias is added as the accumulator leaves the array, fused into the consumer's
   * requantization (rq of acc + bias).
   */
  private async linear(name: string, x: Int8Array, rows: number, out: number, inp: number): Promise<Acc> {
    const w = this.read(`${name}.weight`) as Int8Array;
    const acc = await this.gemm(x, w, rows, out, inp);
    return { acc, bias: this.read(`${name}.bias`) };
  }

  /** acc + bias materialized (calibration and the classifier's logits only). */
  private static withBias(a: Acc, cols: number): Int32Array {
    const r = a.acc.slice();
    if (a.bias) for (let i = 0; i < r.length; i++) r[i] += a.bias[i % cols];
    return r;
  }

  /**
   * A site's `.rq.mult` and `.rq.shift` (read, and counted, on every use, as the hardware reads
   * them) in the vector unit's per-column form, which is kept while the arrays are the same ones
   * (a task-image load replaces them). Not kept while calibrating: the hook writes the constants.
   */
  private consts(site: string, cols: number): ColumnConsts {
    const mult = this.read(`${site}.rq.mult`);
    const shift = this.read(`${site}.rq.shift`);
    if (this.hook) return columnConsts(mult, shift, cols);
    const key = `${site}/${cols}`;
    const e = this.constCache.get(key);
    if (e && e.mult === mult && e.shift === shift) return e.c;
    const c = columnConsts(mult, shift, cols);
    this.constCache.set(key, { mult, shift, c });
    return c;
  }

  private readonly constCache = new Map<string, { mult: TensorData; shift: TensorData; c: ColumnConsts }>();

  /** Per-channel requantization of an int32 site (plus its bias) to int8 with saturation. */
  private requantInt8(site: string, a: Acc, rows: number, cols: number): Int8Array {
    if (this.hook) this.hook.observe(site, { acc: Datapath.withBias(a, cols) });
    const c = this.consts(site, cols);
    this.counts.requants = checkedAdd(this.counts.requants, rows * cols);
    return this.vu.rqI8(a.acc, a.bias, c, rows, cols);
  }

  /**
   * Join two or three terms into the LayerNorm input: x = sat16(sum sat16(rq(term))). Each term has
   * its own `<site>.rq.*` (per tensor or per channel); an int32 term carries its bias.
   */
  private join(sites: string[], terms: (Int8Array | Acc)[], rows: number, cols: number, site: string): Int16Array {
    if (this.hook) {
      const obs: Record<string, ArrayLike<number>> = {};
      sites.forEach((s, i) => {
        const t = terms[i];
        obs[s] = t instanceof Int8Array ? t : Datapath.withBias(t, cols);
      });
      this.hook.observe(site, obs);
    }
    const parts = sites.map((s, i) => {
      const t = terms[i];
      const c = this.consts(s, cols);
      return t instanceof Int8Array ? { src: t, bias: null, c } : { src: t.acc, bias: t.bias, c };
    });
    this.counts.requants = checkedAdd(this.counts.requants, sites.length * rows * cols);
    return this.vu.join(parts, rows, cols);
  }

  /** LayerNorm unit (spec: layerNorm): statistics pass, per-row isqrt and reciprocal, output pass. */
  private layerNorm(prefix: string, x: Int16Array, rows: number, cols: number): Int8Array {
    const meanMult = this.read(`${prefix}.mean.rq.mult`)[0];
    const meanShift = this.read(`${prefix}.mean.rq.shift`)[0];
    if (this.hook) this.hook.observe(`${prefix}`, { x });
    const gain = this.consts(`${prefix}.gain`, cols);
    const y = this.vu.layerNorm(x, rows, cols, meanMult, meanShift, gain, this.read(`${prefix}.bias`));
    this.counts.isqrts = checkedAdd(this.counts.isqrts, rows);
    this.counts.reciprocals = checkedAdd(this.counts.reciprocals, rows);
    this.counts.requants = checkedAdd(this.counts.requants, rows * (2 * cols + 1));
    return y;
  }

  private lookup(name: string, x: Int8Array, kind: 'gelu' | 'tanh'): Int8Array {
    const y = this.vu.lookup(x, this.read(name));
    this.counts.lutLookups[kind] = checkedAdd(this.counts.lutLookups[kind], x.length);
    return y;
  }

  /** Extract head h of a [rows, hidden] int8 tensor as a contiguous [rows, dh] block. */
  private head(x: Int8Array, h: number, rows: number): Int8Array {
    const H = this.g.hidden;
    const dh = this.dh;
    const out = new Int8Array(rows * dh);
    for (let i = 0, o = 0; i < rows; i++) for (let d = 0, s = i * H + h * dh; d < dh; d++) out[o++] = x[s + d];
    return out;
  }

  /** Self-attention of the queries of R rows against the keys and values of all L rows. */
  private async attention(l: number, x: Int8Array, R: number, mask: Int32Array, rec: Map<string, IntTensor>, exchange: KvExchange): Promise<Int8Array> {
    const { seqLen: L, hidden: H, heads } = this.g;
    const dh = this.dh;
    const p = layerPrefix(l) + 'attention.self.';
    const q = this.requantInt8(`${p}query`, await this.linear(`${p}query`, x, R, H, H), R, H);
    const k = this.requantInt8(`${p}key`, await this.linear(`${p}key`, x, R, H, H), R, H);
    const v = this.requantInt8(`${p}value`, await this.linear(`${p}value`, x, R, H, H), R, H);
    rec
      .set(`${layerPrefix(l)}q`, q)
      .set(`${layerPrefix(l)}k`, k)
      .set(`${layerPrefix(l)}v`, v);
    const all = await exchange(l, k, v);
    if (all.k.length !== L * H || all.v.length !== L * H)
      throw new RangeError(`attention: the key/value exchange of layer ${l} returned ${all.k.length}/${all.v.length} elements, expected ${L * H}`);
    const probsAll = new Uint8Array(heads * R * L);
    const ctxAcc = new Int32Array(R * H);
    const exp = this.read('softmax.exp.lut');
    let unmasked = 0;
    for (let j = 0; j < L; j++) if (mask[j]) unmasked++;
    for (let h = 0; h < heads; h++) {
      const scores = await this.gemm(this.head(q, h, R), this.head(all.k, h, L), R, L, dh);
      if (this.hook) this.hook.observe(`${p}scores`, { scores });
      const mult = this.read(`${p}scores.rq.mult`)[0];
      const shift = this.read(`${p}scores.rq.shift`)[0];
      const probs = this.vu.softmax(scores, mask, R, L, mult, shift, exp);
      probsAll.set(probs, h * R * L);
      this.counts.lutLookups.exp = checkedAdd(this.counts.lutLookups.exp, R * unmasked);
      this.counts.reciprocals = checkedAdd(this.counts.reciprocals, R);
      this.counts.requants = checkedAdd(this.counts.requants, 2 * R * L);
      // context = probs * V_h: b operand is V_h transposed to [dh, L].
      const vt = new Int8Array(dh * L);
      const av = all.v;
      for (let d = 0; d < dh; d++) for (let i = 0, s = h * dh + d, o = d * L; i < L; i++, s += H) vt[o + i] = av[s];
      const c = await this.gemm(probs, vt, R, dh, L);
      for (let i = 0, o = 0; i < R; i++) for (let d = 0, t = i * H + h * dh; d < dh; d++) ctxAcc[t + d] = c[o++];
    }
    rec.set(`${layerPrefix(l)}probs`, probsAll);
    const ctx = this.requantInt8(`${p}context`, { acc: ctxAcc, bias: null }, R, H);
    rec.set(`${layerPrefix(l)}context`, ctx);
    return ctx;
  }

  /** Reject an input the forward pass cannot run: wrong lengths, ids out of range, [CLS] masked. */
  static checkInput(input: ForwardInput, g: Geometry): void {
    const L = g.seqLen;
    if (input.inputIds.length !== L || input.tokenTypeIds.length !== L || input.attentionMask.length !== L) {
      throw new RangeError(`forward: inputs must have length seqLen = ${L}`);
    }
    for (let pos = 0; pos < L; pos++) {
      const id = input.inputIds[pos];
      const tt = input.tokenTypeIds[pos];
      if (!(id >= 0 && id < g.vocab)) throw new RangeError(`forward: token id ${id} at position ${pos} is outside [0, ${g.vocab})`);
      if (!(tt >= 0 && tt < g.typeVocab)) throw new RangeError(`forward: token type ${tt} at position ${pos} is outside [0, ${g.typeVocab})`);
    }
    if (!input.attentionMask[0]) throw new RangeError('forward: the first token ([CLS]) must not be masked');
  }

  /** Run one sequence; returns every named intermediate (int tensors) including `logits`. */
  async forward(input: ForwardInput): Promise<Map<string, IntTensor>> {
    return this.forwardRows(input, { from: 0, to: this.g.seqLen }, noExchange);
  }

  /**
   * Run the rows [from, to) of one sequence: every tensor is computed for these rows only (the
   * attention probabilities as [heads, rows, seqLen]), except that attention reads the keys and
   * values of every row through `exchange`. The block holding row 0 ([CLS]) also runs the pooler
   * and classifier. With all rows and no exchange this is the whole forward pass.
   */
  async forwardRows(input: ForwardInput, rows: RowSlice, exchange: KvExchange): Promise<Map<string, IntTensor>> {
    // one pass at a time: passes share the accumulator scratch (see gemm)
    if (this.running) throw new Error('Datapath: a forward pass is already running on this datapath');
    this.running = true;
    try {
      return await this.runRows(input, rows, exchange);
    } finally {
      this.running = false;
    }
  }

  private running = false;

  private async runRows(input: ForwardInput, rows: RowSlice, exchange: KvExchange): Promise<Map<string, IntTensor>> {
    const g = this.g;
    const { seqLen: L, hidden: H, ffn: F } = g;
    Datapath.checkInput(input, g);
    if (!(Number.isInteger(rows.from) && Number.isInteger(rows.to) && rows.from >= 0 && rows.from < rows.to && rows.to <= L)) {
      throw new RangeError(`forward: rows [${rows.from}, ${rows.to}) are not a non-empty range within [0, ${L})`);
    }
    const R = rows.to - rows.from;
    const rec = new Map<string, IntTensor>();
    // Embeddings: gather rows (counted as R rows of each table read).
    const e = 'bert.embeddings.';
    const wordT = this.read(`${e}word_embeddings.weight`, R * H);
    const posT = this.read(`${e}position_embeddings.weight`, R * H);
    const typT = this.read(`${e}token_type_embeddings.weight`, R * H);
    const w = new Int8Array(R * H);
    const pe = new Int8Array(R * H);
    const te = new Int8Array(R * H);
    for (let i = 0; i < R; i++) {
      const pos = rows.from + i;
      const id = input.inputIds[pos];
      const tt = input.tokenTypeIds[pos];
      w.set(wordT.subarray(id * H, (id + 1) * H) as Int8Array, i * H);
      pe.set(posT.subarray(pos * H, (pos + 1) * H) as Int8Array, i * H);
      te.set(typT.subarray(tt * H, (tt + 1) * H) as Int8Array, i * H);
    }
    const xe = this.join([`${e}word_embeddings`, `${e}position_embeddings`, `${e}token_type_embeddings`], [w, pe, te], R, H, `${e}join`);
    let x = this.layerNorm(`${e}LayerNorm`, xe, R, H);
    rec.set('bert.embeddings.output', x);
    const mask = input.attentionMask;
    for (let l = 0; l < g.layers; l++) {
      const p = layerPrefix(l);
      const ctx = await this.attention(l, x, R, mask, rec, exchange);
      const m1 = await this.linear(`${p}attention.output.dense`, ctx, R, H, H);
      const j1 = this.join([`${p}attention.output.res_a`, `${p}attention.output.res_b`], [x, m1], R, H, `${p}attention.output.join`);
      const a1 = this.layerNorm(`${p}attention.output.LayerNorm`, j1, R, H);
      rec.set(`${p}attention.output`, a1);
      const up = this.requantInt8(`${p}intermediate.dense`, await this.linear(`${p}intermediate.dense`, a1, R, F, H), R, F);
      const gl = this.lookup(`${p}intermediate.gelu.lut`, up, 'gelu');
      rec.set(`${p}intermediate`, gl);
      const m3 = await this.linear(`${p}output.dense`, gl, R, H, F);
      const j2 = this.join([`${p}output.res_a`, `${p}output.res_b`], [a1, m3], R, H, `${p}output.join`);
      x = this.layerNorm(`${p}output.LayerNorm`, j2, R, H);
      rec.set(`${p}output`, x);
    }
    if (rows.from === 0) {
      const cls = x.slice(0, H);
      const pre = this.requantInt8('bert.pooler.dense', await this.linear('bert.pooler.dense', cls, 1, H, H), 1, H);
      const pooled = this.lookup('bert.pooler.tanh.lut', pre, 'tanh');
      rec.set('bert.pooler.output', pooled);
      const logits = Datapath.withBias(await this.linear('classifier', pooled, 1, g.numLabels, H), g.numLabels);
      rec.set('logits', logits);
    }
    return rec;
  }
}

export { MASKED_SCORE };
