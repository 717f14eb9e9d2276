/**
 * Quantize + export: float weights (a checkpoint's, or seeded synthetic weights with BERT-like
 * statistics) and calibration inputs become a ROM image and an SRAM task image.
 *
 * Quantization happens here, once. Weights: symmetric int8 per output channel. Activations: int8
 * per tensor, scale = max|x| / 127 on the calibration sequence. Calibration is sequential and runs
 * on the integer graph itself: the datapath executes with a hook that, at each requantization
 * site, sees the exact integer values the site will receive, derives their real values from the
 * scales chosen so far, picks the site's output scale and writes its constants before they are
 * read. This file is the only place floats touch the integer constants.
 */
import { rng } from './spec/random.js';
import {
  INT8_MAX, LN_IN_MAX, LN_OUT_EXTRA_BITS, SHIFT_MIN, SHIFT_MIN_INT32_INPUT, SHIFT_MIN_LN_GAIN, WEIGHT_MAX, BIAS_MAX, BIAS_MIN,
  EXP_FRAC_BITS, PROB_FRAC_BITS, type Geometry, type ImageTensor, type VariantId, buildActivationLut, buildExpLut,
  decodeImage, dtypeArray, encodeImage, floatParamShapes, gelu, imageSha256, layerPrefix, lnNormUnit, lnNormalize, maxRatio, modelTensors, quantizeMultiplier,
  tensorElements, writableTensors, type Image,
} from './spec/index.js';
import { Datapath, type CalibrationHook, type ForwardInput } from './datapath.js';
import { MemorySystem } from './memory.js';
import type { GemmEngine } from './gemm/oracle.js';

/** A float model: HuggingFace parameter names to row-major float data. */
export interface FloatModel {
  geometry: Geometry;
  params: Map<string, Float32Array>;
  /** Where the weights came from (checkpoint path and hash, or synthetic seed). */
  source: Record<string, unknown>;
}

export { rng };

export function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-300);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

/** Float parameter names and shapes (defined with the model layout in the spec). */
export { floatParamShapes };

/**
 * Seeded synthetic weights with BERT-like statistics (default BERT_INIT_STATS): weight matrices and
 * embeddings N(0, 0.02) (BERT's initializer range), biases N(0, 0.02), LayerNorm gamma 1 + N(0, 0.05).
 */
export function syntheticModel(g: Geometry, seed: number, stats: SyntheticStats = BERT_INIT_STATS): FloatModel {
  const rand = rng(seed);
  const params = new Map<string, Float32Array>();
  const table = normalQuantiles();
  for (const [name, shape] of floatParamShapes(g)) {
    const a = new Float32Array(tensorElements(shape));
    const isGamma = name.endsWith('LayerNorm.weight');
    const isBias = name.endsWith('.bias');
    const std = isGamma ? stats.gammaStd : isBias ? stats.biasStd : stats.weightStd;
    const mean = isGamma ? 1 : 0;
    // One 32-bit draw gives two 16-bit quantile indices into the standard normal table.
    for (let i = 0; i < a.length; i += 2) {
      const r = (rand() * 4294967296) >>> 0;
      a[i] = mean + std * table[r & 0xffff];
      if (i + 1 < a.length) a[i + 1] = mean + std * table[r >>> 16];
    }
    params.set(name, a);
  }
  return { geometry: g, params, source: { kind: 'synthetic', seed, statistics: stats } };
}

let quantileTable: Float64Array | null = null;
/** The standard normal at the 65,536 quantile midpoints (i + 0.5) / 65536, by Acklam's inverse CDF. */
function normalQuantiles(): Float64Array {
  if (quantileTable) return quantileTable;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const inv = (p: number): number => {
    if (p < 0.02425) {
      const q = Math.sqrt(-2 * Math.log(p));
      return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    if (p > 1 - 0.02425) return -inv(1 - p);
    const q = p - 0.5;
    const r = q * q;
    return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  };
  quantileTable = Float64Array.from({ length: 65536 }, (_, i) => inv((i + 0.5) / 65536));
  return quantileTable;
}

export interface SyntheticStats {
  weightStd: number;
  biasStd: number;
  gammaStd: number;
}

/** BERT's initializer range for weights (0.02); non-zero biases as in a trained model. */
export const BERT_INIT_STATS: SyntheticStats = { weightStd: 0.02, biasStd: 0.02, gammaStd: 0.05 };

/** A synthetic "task": the base model with the variant's writable biases and the head perturbed. */
export function syntheticTask(base: FloatModel, variant: VariantId, seed: number): FloatModel {
  const normal = gaussian(rng(seed ^ 0x5eed));
  const writable = writableTensors(base.geometry, variant);
  const params = new Map(base.params);
  for (const name of params.keys()) {
    if (!writable.has(name) || !(name.endsWith('.bias') || name.startsWith('classifier.'))) continue;
    const a = Float32Array.from(params.get(name)!);
    for (let i = 0; i < a.length; i++) a[i] += 0.02 * normal();
    params.set(name, a);
  }
  return { ...base, params, source: { ...base.source, task: { kind: 'synthetic', seed, variant } } };
}

/** Deterministic calibration / test input: [CLS] random tokens [SEP], optional padding tail. */
export function syntheticInput(g: Geometry, seed: number, padTail = 0): ForwardInput {
  const rand = rng(seed);
  const L = g.seqLen;
  const inputIds = new Int32Array(L);
  const tokenTypeIds = new Int32Array(L);
  const attentionMask = new Int32Array(L);
  const valid = Math.max(1, L - padTail);
  const special = (id: number): number => Math.min(id, g.vocab - 1);
  for (let i = 0; i < L; i++) {
    if (i >= valid) continue;
    attentionMask[i] = 1;
    inputIds[i] = i === 0 ? special(101) : i === valid - 1 && valid > 1 ? special(102) : Math.floor(rand() * g.vocab);
    tokenTypeIds[i] = i > valid / 2 && g.typeVocab > 1 ? 1 : 0;
  }
  return { inputIds, tokenTypeIds, attentionMask };
}

interface QuantState {
  tensors: Map<string, ImageTensor>;
  /** Per-channel real scale of every weight matrix and embedding table. */
  weightScale: Map<string, Float64Array>;
  /** Real scale of every int8 activation, keyed by producer. */
  actScale: Map<string, number>;
  /** Real scale per channel of each bias (accumulator scale), kept for task re-export. */
  biasScale: Map<string, Float64Array>;
  stats: { biasSaturated: number; ratioClamped: number; weightSaturated: number };
}

function maxAbs(a: ArrayLike<number>, scale: (i: number) => number = () => 1): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] * scale(i)));
  return m;
}

const scaleOf = (m: number): number => (m > 0 ? m / INT8_MAX : 1);

/** Set a site's (M, sh) per channel; a ratio beyond what the site's minimum shift allows is clamped and counted. */
function setRq(st: QuantState, site: string, ratios: ArrayLike<number>, minShift: number): void {
  const mult = st.tensors.get(`${site}.rq.mult`)!.data;
  const shift = st.tensors.get(`${site}.rq.shift`)!.data;
  const limit = maxRatio(minShift);
  for (let i = 0; i < ratios.length; i++) {
    let r = ratios[i];
    if (Math.abs(r) > limit) {
      r = Math.sign(r) * limit;
      st.stats.ratioClamped++;
    }
    const q = quantizeMultiplier(r, minShift);
    mult[i] = q.mult;
    shift[i] = q.shift;
  }
}

function quantizeBias(st: QuantState, name: string, f: Float32Array, scales: Float64Array): void {
  const data = st.tensors.get(name)!.data;
  for (let j = 0; j < f.length; j++) {
    const v = Math.round(f[j] / scales[j]);
    if (v > BIAS_MAX || v < BIAS_MIN) st.stats.biasSaturated++;
    data[j] = Math.min(BIAS_MAX, Math.max(BIAS_MIN, v));
  }
  st.biasScale.set(name, scales);
}

/** The calibration hook: sets each site's constants from the values it is about to receive. */
class Calibrator implements CalibrationHook {
  constructor(
    private readonly st: QuantState,
    private readonly model: FloatModel,
  ) {}

  private p(name: string): Float32Array {
    const a = this.model.params.get(name);
    if (!a) throw new Error(`float model has no parameter ${name}`);
    return a;
  }

  /** Quantize the biases of the linears that consume an activation of scale s. */
  private linearBias(name: string, sIn: number): void {
    const ws = this.st.weightScale.get(`${name}.weight`)!;
    this.quantBias(`${name}.bias`, this.p(`${name}.bias`), Float64Array.from(ws, (w) => w * sIn));
  }

  private quantBias(name: string, f: Float32Array, scales: Float64Array): void {
    quantizeBias(this.st, name, f, scales);
  }

  private consumersOf(ln: string, s: number): void {
    const g = this.model.geometry;
    const m = /^bert\.encoder\.layer\.(\d+)\.(attention\.output|output)\.LayerNorm$/.exec(ln);
    const next = ln === 'bert.embeddings.LayerNorm' ? 0 : m && m[2] === 'output' ? Number(m[1]) + 1 : -1;
    if (m && m[2] === 'attention.output') {
      this.linearBias(`${layerPrefix(Number(m[1]))}intermediate.dense`, s);
    } else if (next >= 0 && next < g.layers) {
      for (const q of ['query', 'key', 'value']) this.linearBias(`${layerPrefix(next)}attention.self.${q}`, s);
    } else if (next === g.layers) {
      this.linearBias('bert.pooler.dense', s);
    }
  }

  observe(site: string, v: Record<string, ArrayLike<number>>): void {
    const st = this.st;
    const g = this.model.geometry;
    const H = g.hidden;
    if (site === 'bert.embeddings.join') {
      const names = ['word_embeddings', 'position_embeddings', 'token_type_embeddings'].map((n) => `bert.embeddings.${n}`);
      const sc = names.map((n) => st.weightScale.get(`${n}.weight`)![0]);
      const terms = names.map((n) => v[n]);
      this.joinScale(site, 'bert.embeddings.LayerNorm', names, terms, sc.map((s) => () => s));
      return;
    }
    const join = /^(.*?)\.(attention\.output|output)\.join$/.exec(site);
    if (join) {
      const pre = `${join[1]}.${join[2]}`;
      const resA = join[2] === 'attention.output' ? this.prevOut(join[1]) : `${join[1]}.attention.output.LayerNorm`;
      const sA = st.actScale.get(resA)!;
      const accScale = st.biasScale.get(`${pre}.dense.bias`)!;
      this.joinScale(site, `${pre}.LayerNorm`, [`${pre}.res_a`, `${pre}.res_b`], [v[`${pre}.res_a`], v[`${pre}.res_b`]], [() => sA, (i) => accScale[i % H]]);
      return;
    }
    if (site.endsWith('LayerNorm')) {
      this.layerNorm(site, v.x);
      return;
    }
    const qkv = /^(.*attention\.self\.)(query|key|value)$/.exec(site);
    if (qkv || site.endsWith('intermediate.dense') || site === 'bert.pooler.dense') {
      const bs = st.biasScale.get(`${site}.bias`)!;
      const n = bs.length;
      const acc = v.acc;
      // The output grid may not be finer than the accumulator's (ratio <= maxRatio(15)).
      let s = Math.max(scaleOf(maxAbs(acc, (i) => bs[i % n])), Math.max(...bs) / maxRatio(SHIFT_MIN_INT32_INPUT));
      if (site === 'bert.pooler.dense') s = Math.min(s, 4 / INT8_MAX); // tanh is flat beyond 4
      setRq(st, site, Float64Array.from(bs, (b) => b / s), SHIFT_MIN_INT32_INPUT);
      st.actScale.set(site, s);
      if (qkv && qkv[2] === 'key') {
        const sq = st.actScale.get(`${qkv[1]}query`)!;
        const dh = H / g.heads;
        setRq(st, `${qkv[1]}scores`, [((sq * s) / Math.sqrt(dh)) * 2 ** EXP_FRAC_BITS], SHIFT_MIN_INT32_INPUT);
      }
      if (site.endsWith('intermediate.dense')) {
        let mg = 0;
        for (let i = 0; i < 256; i++) mg = Math.max(mg, Math.abs(gelu((i - 128) * s)));
        const sg = scaleOf(mg);
        const lut = buildActivationLut(gelu, s, sg);
        st.tensors.get(site.replace('intermediate.dense', 'intermediate.gelu.lut'))!.data.set(lut);
        st.actScale.set(site.replace('intermediate.dense', 'intermediate.gelu'), sg);
        this.linearBias(site.replace('intermediate.dense', 'output.dense'), sg);
      }
      if (site === 'bert.pooler.dense') {
        st.tensors.get('bert.pooler.tanh.lut')!.data.set(buildActivationLut(Math.tanh, s, 1 / INT8_MAX));
        st.actScale.set('bert.pooler.tanh', 1 / INT8_MAX);
        this.linearBias('classifier', 1 / INT8_MAX);
      }
      return;
    }
    if (site.endsWith('attention.self.context')) {
      const sv = st.actScale.get(site.replace('context', 'value'))!;
      const accUnit = sv * 2 ** -PROB_FRAC_BITS;
      const s = Math.max(scaleOf(maxAbs(v.acc) * accUnit), accUnit / maxRatio(SHIFT_MIN_INT32_INPUT));
      setRq(st, site, [accUnit / s], SHIFT_MIN_INT32_INPUT);
      st.actScale.set(site, s);
      this.linearBias(site.replace('self.context', 'output.dense'), s);
      return;
    }
    // scores: constants were set with the key projection.
  }

  private prevOut(layerPre: string): string {
    const l = Number(/layer\.(\d+)$/.exec(layerPre)![1]);
    return l === 0 ? 'bert.embeddings.LayerNorm' : `${layerPrefix(l - 1)}output.LayerNorm`;
  }

  /** Pick the LayerNorm input scale so that no term and no sum saturates, and set the terms' rq. */
  private joinScale(site: string, ln: string, sites: string[], terms: ArrayLike<number>[], scales: ((i: number) => number)[]): void {
    const st = this.st;
    let m = 0;
    const n = terms[0].length;
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let t = 0; t < terms.length; t++) {
        const r = terms[t][i] * scales[t](i);
        m = Math.max(m, Math.abs(r));
        sum += r;
      }
      m = Math.max(m, Math.abs(sum));
    }
    let sc = m > 0 ? m / LN_IN_MAX : 1;
    // int32 terms: the LayerNorm input grid may not be finer than their accumulator grid.
    sites.forEach((_, t) => {
      if (t > 0 && site !== 'bert.embeddings.join') for (let j = 0; j < this.model.geometry.hidden; j++) sc = Math.max(sc, scales[t](j) / maxRatio(SHIFT_MIN_INT32_INPUT));
    });
    sites.forEach((s, t) => {
      const channels = st.tensors.get(`${s}.rq.mult`)!.data.length;
      const ratios = Float64Array.from({ length: channels }, (_, j) => scales[t](j) / sc);
      const int8Input = t === 0 || site === 'bert.embeddings.join';
      setRq(st, s, ratios, int8Input ? SHIFT_MIN : SHIFT_MIN_INT32_INPUT);
    });
    st.actScale.set(`${ln}.input`, sc);
  }

  private layerNorm(ln: string, x: ArrayLike<number>): void {
    const st = this.st;
    const H = this.model.geometry.hidden;
    const gamma = this.p(`${ln}.weight`);
    const beta = this.p(`${ln}.bias`);
    const meanMult = st.tensors.get(`${ln}.mean.rq.mult`)!.data[0];
    const meanShift = st.tensors.get(`${ln}.mean.rq.shift`)!.data[0];
    const kappa = lnNormUnit(H);
    const rows = x.length / H;
    const nv = new Int32Array(H);
    let m = 0;
    for (let r = 0; r < rows; r++) {
      lnNormalize(Array.prototype.slice.call(x, r * H, (r + 1) * H), meanMult, meanShift, nv);
      for (let j = 0; j < H; j++) m = Math.max(m, Math.abs(gamma[j] * nv[j] * kappa + beta[j]));
    }
    const s = scaleOf(m);
    const extra = 2 ** LN_OUT_EXTRA_BITS;
    setRq(st, `${ln}.gain`, Float64Array.from(gamma, (gm) => (gm * kappa * extra) / s), SHIFT_MIN_LN_GAIN);
    this.quantBias(`${ln}.bias`, beta, new Float64Array(H).fill(s / extra));
    st.actScale.set(ln, s);
    this.consumersOf(ln, s);
  }
}

/**
 * Version of the exporter's quantization of a task model, recorded with every integer accuracy
 * (results' `integer.images.exporterVersion`); a campaign treats results of another version as
 * stale. 2: the classification head at the task's own per-class scales (1: at the base model's).
 */
export const EXPORTER_VERSION = 2;

/** The exporter version of a result file's integer accuracy (1 when unrecorded), null when it has none. */
export function exporterVersionOf(result: { integer?: { images?: { exporterVersion?: number } } | null }): number | null {
  return result.integer ? (result.integer.images?.exporterVersion ?? 1) : null;
}

export interface ExportResult {
  rom: Uint8Array;
  sram: Uint8Array;
  romImage: Image;
  sramImage: Image;
  /**
   * biasSaturated: biases clamped to the bias width; ratioClamped: requantization ratios clamped;
   * weightSaturated: task weights beyond ±127 at the base model's scales (clamped; the head has its own).
   */
  stats: { biasSaturated: number; ratioClamped: number; weightSaturated: number; romBits: number; sramBits: number; calibrationMs: number };
}

/**
 * Export a base model for a variant: quantize weights, calibrate on `calib` with the integer
 * datapath, split tensors into ROM (everything the variant does not make writable) and SRAM.
 * If `task` is given, its writable tensors are quantized with the base model's scales into the
 * SRAM image (the ROM stays the base model's, as on a chip serving many tasks), except the
 * classification head, quantized at its own per-class scales (the SRAM image's logitScale): a
 * trained head outgrows its random initialisation's range, and nothing in ROM depends on its scale.
 */
export async function exportImages(
  base: FloatModel,
  variant: VariantId,
  calib: ForwardInput,
  engine: GemmEngine,
  task?: FloatModel,
): Promise<ExportResult> {
  const g = base.geometry;
  const st: QuantState = { tensors: new Map(), weightScale: new Map(), actScale: new Map(), biasScale: new Map(), stats: { biasSaturated: 0, ratioClamped: 0, weightSaturated: 0 } };
  for (const t of modelTensors(g)) st.tensors.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, data: dtypeArray(t.dtype, tensorElements(t.shape)) });
  // Weights and embeddings: symmetric int8, per output channel (per table for embeddings).
  for (const t of st.tensors.values()) {
    if (t.dtype !== 'i8' || !t.name.endsWith('.weight')) continue;
    const f = base.params.get(t.name);
    if (!f) throw new Error(`float model has no parameter ${t.name}`);
    const perTable = t.name.startsWith('bert.embeddings.');
    st.weightScale.set(t.name, quantizeWeightRows(f, t.data as Int8Array, perTable ? 1 : t.shape[0]).scales);
  }
  st.tensors.get('softmax.exp.lut')!.data.set(buildExpLut());
  for (const t of st.tensors.values()) {
    if (t.name.endsWith('.mean.rq.mult')) setRq(st, t.name.slice(0, -'.rq.mult'.length), [1 / g.hidden], SHIFT_MIN_INT32_INPUT);
  }
  // Calibrate on the integer graph: images with every tensor, constants filled in by the hook.
  const t0 = performance.now();
  const all = [...st.tensors.values()];
  // The calibration ROM shares the live arrays, so the hook's writes are what the datapath reads next.
  const fullRom: Image = { header: { kind: 'rom', geometry: g, variant, meta: {}, toc: [] }, tensors: st.tensors, sha256: '' };
  const emptySram: Image = { header: { kind: 'sram', geometry: g, variant, meta: {}, toc: [] }, tensors: new Map(), sha256: '' };
  const mem = new MemorySystem(fullRom, emptySram);
  const dp = new Datapath(mem, g, engine, new Calibrator(st, base));
  await dp.forward(calib);
  const calibrationMs = performance.now() - t0;
  // The ROM's record of the head it was calibrated with (its logit scale) and of its own quantization,
  // taken before the task's tensors are quantized, so that the ROM does not depend on the task.
  const baseLogitScale = Array.from(st.biasScale.get('classifier.bias')!);
  const romStats = { biasSaturated: st.stats.biasSaturated, ratioClamped: st.stats.ratioClamped };
  // Re-quantize the task's writable tensors with the base scales; the classification head (in SRAM
  // in every variant) gets the task's own per-class scales: its int32 logits feed no requantization
  // constant, only the logit scale, which the SRAM image carries.
  const writable = writableTensors(g, variant);
  if (task) {
    if (writable.has('classifier.weight') && writable.has('classifier.bias')) {
      const w = task.params.get('classifier.weight');
      if (!w) throw new Error('task model has no classifier.weight');
      const ws = quantizeWeightRows(w, st.tensors.get('classifier.weight')!.data as Int8Array, g.numLabels).scales;
      st.weightScale.set('classifier.weight', ws);
      st.biasScale.set('classifier.bias', Float64Array.from(ws, (x) => x * st.actScale.get('bert.pooler.tanh')!));
    }
    for (const name of writable) {
      if (name === 'classifier.weight') continue;
      const scales = st.biasScale.get(name);
      if (scales) quantizeBias(st, name, task.params.get(name)!, scales);
      else if (name.endsWith('.weight') && st.weightScale.has(name)) requantizeWeight(st, name, task.params.get(name)!);
      else if (name.endsWith('.gain.rq.mult')) {
        // a writable LayerNorm gain (full-ft): the task's gamma at the base output scale
        const ln = name.slice(0, -'.gain.rq.mult'.length);
        const gamma = task.params.get(`${ln}.weight`);
        const s = st.actScale.get(ln);
        if (!gamma || s === undefined) throw new Error(`task model has no ${ln}.weight, or ${ln} was not calibrated`);
        const f = (lnNormUnit(g.hidden) * 2 ** LN_OUT_EXTRA_BITS) / s;
        setRq(st, `${ln}.gain`, Float64Array.from(gamma, (gm) => gm * f), SHIFT_MIN_LN_GAIN);
      }
    }
  }
  const romTensors = all.filter((t) => !writable.has(t.name));
  const sramTensors = all.filter((t) => writable.has(t.name));
  const meta = {
    source: base.source,
    actScale: Object.fromEntries(st.actScale),
    logitScale: baseLogitScale,
    exporter: { biasSaturated: romStats.biasSaturated, ratioClamped: romStats.ratioClamped, calibration: 'one sequence, max-abs, sequential on the integer graph' },
  };
  const rom = encodeImage('rom', g, variant, romTensors, meta);
  const romSha = imageSha256(rom);
  const sram = encodeImage('sram', g, variant, sramTensors, { source: task?.source ?? base.source, logitScale: Array.from(st.biasScale.get('classifier.bias')!) }, romSha);
  const bits = (ts: ImageTensor[]): number => ts.reduce((s, t) => s + t.data.length * ({ i8: 8, u8: 8, i16: 16, i32: 32, b24: 24 } as const)[t.dtype], 0);
  return {
    rom,
    sram,
    romImage: decodeImage(rom, 'rom'),
    sramImage: decodeImage(sram, 'sram'),
    stats: { biasSaturated: st.stats.biasSaturated, ratioClamped: st.stats.ratioClamped, weightSaturated: st.stats.weightSaturated, romBits: bits(romTensors), sramBits: bits(sramTensors), calibrationMs },
  };
}

function requantizeWeight(st: QuantState, name: string, f: Float32Array): void {
  const scales = st.weightScale.get(name)!;
  st.stats.weightSaturated += quantizeWeightRows(f, st.tensors.get(name)!.data as Int8Array, scales.length, scales).clamped;
}

/**
 * Symmetric int8 quantization of `rows` rows: scale = max|row| / 127 (or the given scales),
 * q = clamp(round(x / scale), -127, 127). Returns the scales and how many values were clamped.
 */
function quantizeWeightRows(f: Float32Array, out: Int8Array, rows: number, given?: Float64Array): { scales: Float64Array; clamped: number } {
  const cols = f.length / rows;
  const scales = given ?? new Float64Array(rows);
  let clamped = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    if (!given) {
      let m = 0;
      for (let c = 0; c < cols; c++) {
        const v = Math.abs(f[o + c]);
        if (v > m) m = v;
      }
      scales[r] = m > 0 ? m / WEIGHT_MAX : 1;
    }
    const inv = 1 / scales[r];
    for (let c = 0; c < cols; c++) {
      const q = Math.round(f[o + c] * inv);
      if (q > WEIGHT_MAX || q < -WEIGHT_MAX) clamped++;
      out[o + c] = q > WEIGHT_MAX ? WEIGHT_MAX : q < -WEIGHT_MAX ? -WEIGHT_MAX : q;
    }
  }
  return { scales, clamped };
}
