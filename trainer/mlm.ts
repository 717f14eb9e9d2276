/**
 * The masked-language-model objective, shared by pre-training (trainer/pretrain.ts) and its
 * gradient workers (trainer/grad-worker.ts).
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
}

export interface MaskedBatch {
  inputs: BertInputs;
  positions: tf.Tensor1D;
  targets: tf.Tensor1D;
}

export function toTensors(m: MaskedArrays, batch: number, L: number): MaskedBatch {
  return {
    inputs: { inputIds: tf.tensor2d(m.ids, [batch, L], 'int32'), tokenTypeIds: tf.zeros([batch, L], 'int32') as tf.Tensor2D, attentionMask: tf.ones([batch, L], 'int32') as tf.Tensor2D },
    positions: tf.tensor1d(m.positions, 'int32'),
    targets: tf.tensor1d(m.targets, 'int32'),
  };
}

export function disposeBatch(b: MaskedBatch): void {
  tf.dispose([b.inputs.inputIds, b.inputs.tokenTypeIds, b.inputs.attentionMask, b.positions, b.targets]);
}

/** Mean cross-entropy over the masked positions. */
export function mlmLoss(model: BertModel, b: MaskedBatch, training: boolean): tf.Scalar {
  const logits = model.mlmLogits(b.inputs, b.positions, training);
  return tf.losses.softmaxCrossEntropy(tf.oneHot(b.targets, model.g.vocab), logits) as tf.Scalar;
}
