/**
 * The pre-training objectives (masked language model, optionally plus next-sentence prediction as
 * in BERT), shared by trainer/pretrain.ts and its gradient workers (trainer/grad-worker.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BertInputs, BertModel } from './model.js';

/** A masked batch as plain arrays: ids [batch * L] with the masked tokens replaced, and the targets. */
export interface MaskedArrays {
  ids: Int32Array;
  /** Flat positions (b * L + i) of the masked tokens. */
  positions: number[];
  /** Original token ids at those positions. */
  targets: number[];
  /** Next-sentence pairs: token types [batch * L] (0: [CLS] A [SEP], 1: B [SEP]) and one label per sequence (0: B follows A, 1: B is random). */
  nsp?: { tokenTypes: Int32Array; labels: number[] };
}

export interface MaskedBatch {
  inputs: BertInputs;
  positions: tf.Tensor1D;
  targets: tf.Tensor1D;
  /** Next-sentence labels [batch] (int32), when the batch holds pairs. */
  nspLabels?: tf.Tensor1D;
}

export function toTensors(m: MaskedArrays, batch: number, L: number): MaskedBatch {
  return {
    inputs: {
      inputIds: tf.tensor2d(m.ids, [batch, L], 'int32'),
      tokenTypeIds: (m.nsp ? tf.tensor2d(m.nsp.tokenTypes, [batch, L], 'int32') : tf.zeros([batch, L], 'int32')) as tf.Tensor2D,
      attentionMask: tf.ones([batch, L], 'int32') as tf.Tensor2D,
    },
    positions: tf.tensor1d(m.positions, 'int32'),
    targets: tf.tensor1d(m.targets, 'int32'),
    ...(m.nsp ? { nspLabels: tf.tensor1d(m.nsp.labels, 'int32') } : {}),
  };
}

export function disposeBatch(b: MaskedBatch): void {
  tf.dispose([b.inputs.inputIds, b.inputs.tokenTypeIds, b.inputs.attentionMask, b.positions, b.targets, ...(b.nspLabels ? [b.nspLabels] : [])]);
}

/** Weights of the two loss terms (a shard's share of the whole batch; 1 and 1 for a whole batch). */
export interface LossWeights {
  mlm: number;
  nsp: number;
}

/**
 * The pre-training loss: w.mlm times the mean cross-entropy over the masked positions (left out
 * when nothing is masked) plus, when the batch holds next-sentence pairs, w.nsp times the mean
 * next-sentence cross-entropy (summed as in BERT). With a shard's shares as weights (its masked
 * tokens over the batch's, its sequences over the batch's) the shards' losses and gradients add up
 * to the whole batch's.
 */
export function mlmLoss(model: BertModel, b: MaskedBatch, training: boolean, w: LossWeights = { mlm: 1, nsp: 1 }): tf.Scalar {
  const hasMlm = b.positions.size > 0;
  if (!b.nspLabels) {
    if (!hasMlm) throw new Error('mlmLoss: a batch with no masked token and no next-sentence pairs has no loss');
    const logits = model.mlmLogits(b.inputs, b.positions, training);
    return tf.mul(tf.losses.softmaxCrossEntropy(tf.oneHot(b.targets, model.g.vocab), logits), w.mlm) as tf.Scalar;
  }
  const { mlm, nsp } = model.pretrainLogits(b.inputs, hasMlm ? b.positions : tf.tensor1d([0], 'int32'), training);
  const nspTerm = tf.mul(tf.losses.softmaxCrossEntropy(tf.oneHot(b.nspLabels, 2), nsp), w.nsp);
  // nothing masked: the masked-LM head still takes part, with a zero gradient (every trainable
  // variable gets a gradient, as the callers expect)
  if (!hasMlm) return tf.add(nspTerm, tf.mul(tf.sum(mlm), 0)) as tf.Scalar;
  return tf.add(tf.mul(tf.losses.softmaxCrossEntropy(tf.oneHot(b.targets, model.g.vocab), mlm), w.mlm), nspTerm) as tf.Scalar;
}

/**
 * Next-sentence pairs from packed sequences ([CLS] body [SEP], body = L - 2 tokens): each becomes
 * [CLS] A [SEP] B [SEP] with A = the body's first a tokens (a uniform in [minLen, L - 3 - minLen])
 * and B = the L - 3 - a tokens that follow it (label 0), or, with probability 1/2, as many tokens
 * from a random place in a random other sequence of `pool` (label 1).
 */
export function nextSentencePairs(
  seqs: Int32Array[],
  pool: Int32Array[],
  rand: () => number,
  sep: number,
  minLen = 8,
): { seqs: Int32Array[]; tokenTypes: Int32Array; labels: number[] } {
  const L = seqs[0].length;
  const total = L - 3; // tokens of A and B
  if (total < 2 * minLen) throw new RangeError(`nextSentencePairs: sequence length ${L} leaves no room for two segments of ${minLen} tokens`);
  const tokenTypes = new Int32Array(seqs.length * L);
  const labels: number[] = [];
  const out = seqs.map((s, i) => {
    if (s.length !== L) throw new RangeError(`nextSentencePairs: sequence ${i} has length ${s.length}, not ${L}`);
    const a = minLen + Math.floor(rand() * (total - 2 * minLen + 1));
    const b = total - a;
    const random = rand() < 0.5;
    let src = s;
    let from = 1 + a;
    if (random) {
      let j = Math.floor(rand() * pool.length);
      if (pool[j] === s) j = (j + 1) % pool.length;
      src = pool[j];
      from = 1 + Math.floor(rand() * (L - 2 - b + 1));
    }
    const p = new Int32Array(L);
    p[0] = s[0];
    p.set(s.subarray(1, 1 + a), 1);
    p[1 + a] = sep;
    p.set(src.subarray(from, from + b), 2 + a);
    p[L - 1] = sep;
    tokenTypes.fill(1, i * L + 2 + a, (i + 1) * L);
    labels.push(random ? 1 : 0);
    return p;
  });
  return { seqs: out, tokenTypes, labels };
}
