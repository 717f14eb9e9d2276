/**
 * rtl-model/synthetic-weights.ts: seeded synthetic float models and inputs, for configs without a
 * checkpoint and for tests: base weights with BERT-like statistics, a synthetic "task" derived from
 * them, and deterministic token sequences (calibration and test inputs). Pure functions of their seeds.
 */
import { rng } from './spec/random.js';
import { floatParamShapes, tensorElements, writableTensors, type Geometry, type VariantId } from './spec/index.js';
import type { ForwardInput } from './datapath.js';
import type { FloatModel } from './float-model.js';

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
