/**
 * BitFit and its variants: which parameters (or which elements of them) a fine-tuning run may
 * change, and an AdamW optimizer that changes nothing else. Gradients are requested only for the
 * trainable variables, so bias-only variants never compute a weight matrix's gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  LAYER_BIAS_TERMS,
  VARIANT_BIAS_TERMS,
  HEAD_TENSORS,
  encoderBiasParams,
  layerLinears,
  layerPrefix,
  type Geometry,
  type VariantId,
} from '../rtl-model/spec/index.js';
import type { BertInputs, BertModel } from './model.js';
import { rng } from '../rtl-model/spec/random.js';
import { TRAINABLE_VARIANTS } from '../formats/variants.js';

/** The variants a run can train, in order: those of the one registry (formats/variants.ts) with a trainable set. */
export const TRAIN_VARIANTS = TRAINABLE_VARIANTS;
export type TrainVariant = (typeof TRAIN_VARIANTS)[number];

export interface Trainable {
  /** Variables that receive gradients. */
  names: string[];
  /** Element masks (variable layout) for variables only partly trainable (random variants). */
  masks: Map<string, Float32Array>;
  /** Trainable scalar parameters, and the model's total. */
  count: number;
  total: number;
}

/** The encoder's weight matrices with their HF shapes [out, in]. */
function encoderMatrices(g: Geometry): { name: string; out: number; in: number }[] {
  const m: { name: string; out: number; in: number }[] = [];
  for (let l = 0; l < g.layers; l++) for (const lin of layerLinears(g)) m.push({ name: `${layerPrefix(l)}${lin.suffix}.weight`, out: lin.out, in: lin.in });
  return m;
}

/** What a variant trains. The classifier head and the pooler bias are trainable in every variant. */
export function selectTrainable(model: BertModel, variant: TrainVariant, seed = 0): Trainable {
  const g = model.g;
  const total = [...model.vars.entries()].filter(([n]) => !n.startsWith('cls.')).reduce((s, [, v]) => s + v.size, 0);
  const names = new Set<string>(HEAD_TENSORS);
  const masks = new Map<string, Float32Array>();
  if (variant === 'full-ft') {
    for (const n of model.vars.keys()) if (!n.startsWith('cls.')) names.add(n);
  } else if (variant === 'rand-uniform' || variant === 'rand-rowcol') {
    const want = encoderBiasParams(g, 'bitfit');
    const mats = encoderMatrices(g);
    const rand = rng(seed ^ 0xb17f17);
    if (variant === 'rand-uniform') {
      // uniform without replacement over all encoder weight elements (Floyd's algorithm on the flat index)
      const sizes = mats.map((m) => m.out * m.in);
      const all = sizes.reduce((a, b) => a + b, 0);
      const picked = new Set<number>();
      for (let j = all - want; j < all; j++) {
        const t = Math.floor(rand() * (j + 1));
        picked.add(picked.has(t) ? j : t);
      }
      const starts: number[] = [];
      sizes.reduce((s, n) => (starts.push(s), s + n), 0);
      for (const flat of picked) {
        let i = starts.length - 1;
        while (starts[i] > flat) i--;
        const m = mats[i];
        const within = flat - starts[i]; // HF layout [out, in]
        const o = Math.floor(within / m.in);
        const c = within % m.in;
        let mask = masks.get(m.name);
        if (!mask) masks.set(m.name, (mask = new Float32Array(m.out * m.in)));
        mask[c * m.out + o] = 1; // variable layout [in, out]
      }
    } else {
      // whole rows of length `hidden`: output rows of the hidden-input matrices, input columns of FFN-down
      const lines: { m: (typeof mats)[number]; idx: number }[] = [];
      for (const m of mats) {
        if (m.in === g.hidden) for (let o = 0; o < m.out; o++) lines.push({ m, idx: o });
        else for (let c = 0; c < m.in; c++) lines.push({ m, idx: c });
      }
      const n = Math.ceil(want / g.hidden);
      for (let k = 0; k < n; k++) {
        const j = k + Math.floor(rand() * (lines.length - k));
        [lines[k], lines[j]] = [lines[j], lines[k]];
        const { m, idx } = lines[k];
        let mask = masks.get(m.name);
        if (!mask) masks.set(m.name, (mask = new Float32Array(m.out * m.in)));
        if (m.in === g.hidden) for (let c = 0; c < m.in; c++) mask[c * m.out + idx] = 1;
        else for (let o = 0; o < m.out; o++) mask[idx * m.out + o] = 1;
      }
    }
    for (const n of masks.keys()) names.add(n);
  } else {
    for (let l = 0; l < g.layers; l++) for (const term of VARIANT_BIAS_TERMS[variant as VariantId]) names.add(layerPrefix(l) + LAYER_BIAS_TERMS[term]);
  }
  let count = 0;
  for (const n of names) count += masks.get(n)?.reduce((s, x) => s + x, 0) ?? model.vars.get(n)!.size;
  return { names: [...names].sort(), masks, count, total };
}

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWOptions = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01 };

/**
 * AdamW (decoupled weight decay), restricted to the trainable set: masked elements get neither an
 * update nor decay, so they stay bit-identical. Biases and LayerNorm weights are not decayed (as
 * in HuggingFace's BERT recipes).
 */
/**
 * The loss and the gradients of the named variables of model (the caller disposes them). The loss is
 * read asynchronously: on webgpu in Node a computed tensor cannot be read with dataSync().
 */
export async function gradientsOf(
  model: BertModel,
  names: readonly string[],
  lossFn: () => tf.Scalar,
): Promise<{ loss: number; grads: Map<string, tf.Tensor> }> {
  const vars = names.map((n) => {
    const v = model.vars.get(n);
    if (!v) throw new Error(`gradientsOf: no variable ${n}`);
    return v;
  });
  const { value, grads } = tf.variableGrads(lossFn, vars);
  const loss = (await value.data())[0];
  value.dispose();
  return { loss, grads: new Map(names.map((n, i) => [n, grads[vars[i].name]])) };
}

export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly mask = new Map<string, tf.Tensor>();
  private t = 0;

  constructor(
    private readonly model: BertModel,
    private readonly trainable: Trainable,
    readonly opts: AdamWOptions = DEFAULT_ADAMW,
  ) {
    // matrices outside the trainable set never get a dW product in the backward pass
    model.frozen = new Set([...model.vars.keys()].filter((n) => !trainable.names.includes(n)));
    for (const n of trainable.names) {
      const w = model.vars.get(n)!;
      this.m.set(n, tf.variable(tf.zerosLike(w), false));
      this.v.set(n, tf.variable(tf.zerosLike(w), false));
      const mk = trainable.masks.get(n);
      if (mk) this.mask.set(n, tf.keep(tf.tensor(mk, w.shape)));
    }
  }

  /** One step: gradients of `lossFn` for the trainable variables only, then the masked update. */
  async step(lossFn: () => tf.Scalar): Promise<number> {
    const { loss, grads } = await this.gradients(lossFn);
    try {
      this.apply(grads);
    } finally {
      for (const g of grads.values()) g.dispose();
    }
    return loss;
  }

  /** The loss and the gradients of the trainable variables by name (the caller disposes them). */
  gradients(lossFn: () => tf.Scalar): Promise<{ loss: number; grads: Map<string, tf.Tensor> }> {
    return gradientsOf(this.model, this.trainable.names, lossFn);
  }

  /** The masked AdamW update from gradients by name (every trainable name must be present). */
  apply(grads: Map<string, tf.Tensor>): void {
    this.t++;
    const { lr, beta1, beta2, eps, weightDecay } = this.opts;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      for (const n of this.trainable.names) {
        const w = this.model.vars.get(n)!;
        const mk = this.mask.get(n);
        let gr = grads.get(n);
        if (!gr) throw new Error(`AdamW.apply: no gradient for ${n}`);
        if (mk) gr = tf.mul(gr, mk);
        const m = this.m.get(n)!;
        const v = this.v.get(n)!;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(gr, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(gr), 1 - beta2)));
        let upd = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        const decay = n.endsWith('.bias') || n.includes('LayerNorm') ? 0 : weightDecay;
        if (decay > 0) upd = tf.add(upd, tf.mul(w, decay));
        if (mk) upd = tf.mul(upd, mk);
        w.assign(tf.sub(w, tf.mul(upd, lr)));
      }
    });
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values(), ...this.mask.values()]) x.dispose();
  }
}

/** A classification/regression loss closure for one batch. */
export function batchLoss(model: BertModel, inp: BertInputs, labels: tf.Tensor1D): () => tf.Scalar {
  return () => model.loss(model.classify(inp, true), labels);
}
