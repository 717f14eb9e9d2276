/**
 * rtl-model/synthetic-weights.ts: seeded synthetic float models and inputs, for configs without a
 * checkpoint and for tests: base weights with BERT-like statistics, a synthetic "task" derived from
 * them, and deterministic token sequences (calibration and test inputs). Pure functions of their seeds.
 */
import { rng } from './spec/random.js';
import { floatParamShapes, tensorElements, writableTensors, type Geometry, type VariantId } from './spec/index.js';
import type { ForwardInput } from './datapath.js';
import type { FloatModel, LazyTensors } from './float-model.js';

export { rng };

export function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-300);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

/**
 * Seeded synthetic weights with BERT-like statistics (default BERT_INIT_STATS): weight matrices and
 * embeddings N(0, 0.02) (BERT's initializer range), biases N(0, 0.02), LayerNorm gamma 1 + N(0, 0.05).
 *
 * With `lazyWeights`, the weight matrices and embedding tables (every 2-D parameter but the
 * classifier's) are not materialized: they are left out of `params` and made on demand by the
 * model's `lazy` source, element for element the values the eager model holds. The exporter
 * quantizes them a row at a time from it (export-kernels.ts quantizeLazyRows), never holding the
 * float weights (4 bytes each): the same integers in a fraction of the memory and time.
 */
export function syntheticModel(g: Geometry, seed: number, stats: SyntheticStats = BERT_INIT_STATS, opts: { lazyWeights?: boolean } = {}): FloatModel {
  const params = new Map<string, Float32Array>();
  const lazy = new SyntheticTensors();
  // One rng(seed) stream over every tensor in order. mulberry32's state after k draws is
  // seed + k * MULBERRY32_STEP, so each tensor starts from its own offset in the stream.
  let state = seed >>> 0;
  for (const [name, shape] of floatParamShapes(g)) {
    const n = tensorElements(shape);
    const isGamma = name.endsWith('LayerNorm.weight');
    const isBias = name.endsWith('.bias');
    const std = isGamma ? stats.gammaStd : isBias ? stats.biasStd : stats.weightStd;
    const table = normalTable(isGamma ? 1 : 0, std);
    if (opts.lazyWeights && shape.length === 2 && !name.startsWith('classifier.')) {
      lazy.add(name, shape, state, table);
    } else {
      const a = new Float32Array(n);
      fillNormal(a, 0, n, state, 0, table);
      params.set(name, a);
    }
    state = (state + Math.imul(Math.ceil(n / 2), MULBERRY32_STEP)) >>> 0;
  }
  const source = { kind: 'synthetic', seed, statistics: stats };
  return lazy.size ? { geometry: g, params, source, lazy } : { geometry: g, params, source };
}

/** mulberry32's state increment per draw (spec/random.ts). */
const MULBERRY32_STEP = 0x6d2b79f5;

/**
 * out[o + k] = element start + k of the tensor whose draws begin after mulberry32 state `state`,
 * for k < n. Element i takes a 16-bit quantile index from draw i >> 1 of the tensor's stream: its
 * low half for even i, its high half for odd i. The draw is rng's, inlined: (rand() * 2^32) >>> 0
 * is exactly its integer.
 */
function fillNormal(out: Float32Array, o: number, n: number, state: number, start: number, table: Float32Array): void {
  let s = (state + Math.imul(start >>> 1, MULBERRY32_STEP)) | 0;
  let i = o;
  const end = o + n;
  if (start & 1 && i < end) {
    s = (s + MULBERRY32_STEP) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i++] = table[(t ^ (t >>> 14)) >>> 16];
  }
  for (; i + 1 < end; i += 2) {
    s = (s + MULBERRY32_STEP) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = t ^ (t >>> 14);
    out[i] = table[r & 0xffff];
    out[i + 1] = table[r >>> 16];
  }
  if (i < end) {
    s = (s + MULBERRY32_STEP) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = table[(t ^ (t >>> 14)) & 0xffff];
  }
}

/** The synthetic tensors a lazy model leaves out of its params (FloatModel.lazy). */
class SyntheticTensors implements LazyTensors {
  private readonly tensors = new Map<string, { shape: number[]; state: number; table: Float32Array }>();

  get size(): number {
    return this.tensors.size;
  }

  add(name: string, shape: number[], state: number, table: Float32Array): void {
    this.tensors.set(name, { shape, state, table });
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  shape(name: string): number[] {
    return this.entry(name).shape;
  }

  read(name: string, start: number, out: Float32Array): void {
    const e = this.entry(name);
    const n = tensorElements(e.shape);
    if (!Number.isSafeInteger(start) || start < 0 || start + out.length > n)
      throw new RangeError(`${name}: elements [${start}, ${start + out.length}) are outside its ${n}`);
    fillNormal(out, 0, out.length, e.state, start, e.table);
  }

  private entry(name: string): { shape: number[]; state: number; table: Float32Array } {
    const e = this.tensors.get(name);
    if (!e) throw new Error(`synthetic model has no lazy tensor ${name}`);
    return e;
  }
}

const normalTables = new Map<string, Float32Array>();
/** mean + std * (the standard normal quantiles), each rounded once to float32 as the stored value is. */
function normalTable(mean: number, std: number): Float32Array {
  const key = `${mean} ${std}`;
  let t = normalTables.get(key);
  if (!t) {
    const q = normalQuantiles();
    t = new Float32Array(q.length);
    for (let i = 0; i < q.length; i++) t[i] = mean + std * q[i];
    normalTables.set(key, t);
  }
  return t;
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
  const t = new Float64Array(65536);
  for (let i = 0; i < t.length; i++) t[i] = inv((i + 0.5) / 65536);
  quantileTable = t;
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
