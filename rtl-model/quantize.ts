/**
 * rtl-model/quantize.ts: float values to the integers of the images. Weights: symmetric int8 per
 * output channel (per table for embeddings), q = clamp(round(x / scale), -127, 127) with scale =
 * max|row| / 127. Biases: round(b / accumulator scale), clamped to 24 bits. Requantization sites:
 * a real ratio to a (multiplier, shift) pair. Every clamp is counted in `stats`.
 *
 * The scales of activations are chosen by the calibration (calibrate.ts), which calls these; the
 * two files are the only place floats touch the integer constants.
 */
import {
  BIAS_MAX,
  BIAS_MIN,
  INT8_MAX,
  LN_OUT_EXTRA_BITS,
  SHIFT_MIN_INT32_INPUT,
  SHIFT_MIN_LN_GAIN,
  buildExpLut,
  dtypeArray,
  lnNormUnit,
  maxRatio,
  modelTensors,
  quantizeMultiplier,
  tensorElements,
  writableTensors,
  type Geometry,
  type ImageTensor,
  type TensorData,
  type VariantId,
} from './spec/index.js';
import { floatParam, type FloatModel } from './float-model.js';
import { quantizeLazyRows, quantizeWeightRows } from './export-kernels.js';

/** The export in progress: every tensor of the model (filled in as quantization goes) and the real scales chosen so far. */
export interface QuantState {
  tensors: Map<string, ImageTensor>;
  /** Per-channel real scale of every weight matrix and embedding table. */
  weightScale: Map<string, Float64Array>;
  /** Real scale of every int8 activation, keyed by producer. */
  actScale: Map<string, number>;
  /** Real scale per channel of each bias (accumulator scale), kept for task re-export. */
  biasScale: Map<string, Float64Array>;
  stats: { biasSaturated: number; ratioClamped: number; weightSaturated: number };
}

/** Largest |a[i] * scale(i)|. */
export function maxAbs(a: ArrayLike<number>, scale?: (i: number) => number): number {
  let m = 0;
  if (!scale) {
    for (let i = 0; i < a.length; i++) {
      const v = Math.abs(a[i]);
      if (v > m) m = v;
    }
    return m;
  }
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] * scale(i)));
  return m;
}

/** The int8 scale of values whose largest magnitude is m (1 for all zeros). */
export const scaleOf = (m: number): number => (m > 0 ? m / INT8_MAX : 1);

/** Set a site's (M, sh) per channel; a ratio beyond what the site's minimum shift allows is clamped and counted. */
export function setRq(st: QuantState, site: string, ratios: ArrayLike<number>, minShift: number): void {
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

/** Quantize a bias at its accumulator scales (clamped to 24 bits, counted) and record the scales. */
export function quantizeBias(st: QuantState, name: string, f: Float32Array, scales: Float64Array): void {
  const data = st.tensors.get(name)!.data;
  for (let j = 0; j < f.length; j++) {
    const v = Math.round(f[j] / scales[j]);
    if (v > BIAS_MAX || v < BIAS_MIN) st.stats.biasSaturated++;
    data[j] = Math.min(BIAS_MAX, Math.max(BIAS_MIN, v));
  }
  st.biasScale.set(name, scales);
}

/**
 * The base model's quantization before calibration: every tensor of the layout allocated, weights
 * and embedding tables quantized, the exp table and the LayerNorm mean constants (1 / hidden) set.
 * `place` may give a tensor's (zeroed) array (the exporter's image arena); others are allocated.
 */
export function quantizeBase(base: FloatModel, place?: (name: string) => TensorData | undefined): QuantState {
  const g = base.geometry;
  const st: QuantState = {
    tensors: new Map(),
    weightScale: new Map(),
    actScale: new Map(),
    biasScale: new Map(),
    stats: { biasSaturated: 0, ratioClamped: 0, weightSaturated: 0 },
  };
  for (const t of modelTensors(g)) {
    const n = tensorElements(t.shape);
    const placed = place?.(t.name);
    if (placed && placed.length !== n) throw new Error(`quantizeBase: the array placed for ${t.name} has ${placed.length} elements, not ${n}`);
    st.tensors.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, data: placed ?? dtypeArray(t.dtype, n) });
  }
  // Weights and embeddings: symmetric int8, per output channel (per table for embeddings).
  for (const t of st.tensors.values()) {
    if (t.dtype !== 'i8' || !t.name.endsWith('.weight')) continue;
    const f = base.params.get(t.name);
    const perTable = t.name.startsWith('bert.embeddings.');
    const rows = perTable ? 1 : t.shape[0];
    if (f) st.weightScale.set(t.name, quantizeWeightRows(f, t.data as Int8Array, rows).scales);
    else if (base.lazy?.has(t.name)) st.weightScale.set(t.name, quantizeLazyRows(base.lazy, t.name, t.data as Int8Array, rows));
    else throw new Error(`float model has no parameter ${t.name}`);
  }
  st.tensors.get('softmax.exp.lut')!.data.set(buildExpLut());
  for (const t of st.tensors.values()) {
    if (t.name.endsWith('.mean.rq.mult')) setRq(st, t.name.slice(0, -'.rq.mult'.length), [1 / g.hidden], SHIFT_MIN_INT32_INPUT);
  }
  return st;
}

/**
 * Re-quantize a task's writable tensors (after calibration) with the base model's scales; the
 * classification head (in SRAM in every variant) gets the task's own per-class scales: its int32
 * logits feed no requantization constant, only the logit scale, which the SRAM image carries.
 */
export function quantizeTask(st: QuantState, g: Geometry, variant: VariantId, task: FloatModel): void {
  const writable = writableTensors(g, variant);
  if (writable.has('classifier.weight') && writable.has('classifier.bias')) {
    const w = task.params.get('classifier.weight');
    if (!w) throw new Error('task model has no classifier.weight');
    const ws = quantizeWeightRows(w, st.tensors.get('classifier.weight')!.data as Int8Array, g.numLabels).scales;
    st.weightScale.set('classifier.weight', ws);
    st.biasScale.set(
      'classifier.bias',
      Float64Array.from(ws, (x) => x * st.actScale.get('bert.pooler.tanh')!),
    );
  }
  for (const name of writable) {
    if (name === 'classifier.weight') continue;
    const scales = st.biasScale.get(name);
    if (scales) quantizeBias(st, name, task.params.get(name)!, scales);
    else if (name.endsWith('.weight') && st.weightScale.has(name)) requantizeWeight(st, name, floatParam(task, name)!);
    else if (name.endsWith('.gain.rq.mult')) {
      // a writable LayerNorm gain (full-ft): the task's gamma at the base output scale
      const ln = name.slice(0, -'.gain.rq.mult'.length);
      const gamma = task.params.get(`${ln}.weight`);
      const s = st.actScale.get(ln);
      if (!gamma || s === undefined) throw new Error(`task model has no ${ln}.weight, or ${ln} was not calibrated`);
      const f = (lnNormUnit(g.hidden) * 2 ** LN_OUT_EXTRA_BITS) / s;
      setRq(
        st,
        `${ln}.gain`,
        Float64Array.from(gamma, (gm) => gm * f),
        SHIFT_MIN_LN_GAIN,
      );
    }
  }
}

function requantizeWeight(st: QuantState, name: string, f: Float32Array): void {
  const scales = st.weightScale.get(name)!;
  st.stats.weightSaturated += quantizeWeightRows(f, st.tensors.get(name)!.data as Int8Array, scales.length, scales).clamped;
}
