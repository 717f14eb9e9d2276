/**
 * Fine-tuning step time per variant (for `npm run bench`): one AdamW step (forward, backward for the
 * variant's trainable set only, update) of the project's model geometry on a fixed batch, median of
 * `reps`. Bias-only variants skip every weight-gradient product (BertModel.frozen), so their steps are
 * shorter than full fine-tuning's; frozen back-propagates only into the head.
 */
import * as tf from '@tensorflow/tfjs-core';
import { selectTrainingBackend } from './backend.js';
import { BertModel, initialParams, ownModelGeometry } from './model.js';
import { AdamW, selectTrainable, type TrainVariant } from './finetune.js';
import type { Geometry } from '../rtl-model/spec/index.js';

export interface StepTiming {
  variant: TrainVariant;
  ms: number;
  trainable: number;
}

export async function stepTimes(
  variants: TrainVariant[],
  opts: { batch?: number; seqLen?: number; reps?: number; geometry?: Partial<Geometry> } = {},
): Promise<{ backend: string; geometry: Geometry; batch: number; timings: StepTiming[] }> {
  const batch = opts.batch ?? 16;
  const L = opts.seqLen ?? 128;
  const reps = opts.reps ?? 5;
  const choice = await selectTrainingBackend('wasm');
  const g: Geometry = { ...ownModelGeometry(L), ...opts.geometry };
  const timings: StepTiming[] = [];
  for (const variant of variants) {
    const model = new BertModel(g, initialParams(g, 1), { head: 'classification' });
    const tr = selectTrainable(model, variant, 1);
    const opt = new AdamW(model, tr, { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0 });
    const inp = {
      inputIds: tf.tensor2d(
        Int32Array.from({ length: batch * L }, (_, i) => 1000 + ((i * 7919) % 20000)),
        [batch, L],
        'int32',
      ),
      tokenTypeIds: tf.zeros([batch, L], 'int32') as tf.Tensor2D,
      attentionMask: tf.ones([batch, L], 'int32') as tf.Tensor2D,
    };
    const labels = tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % 2),
      'float32',
    );
    const step = (): Promise<number> => opt.step(() => model.loss(model.classify(inp, true), labels));
    await step(); // warm-up
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await step();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    timings.push({ variant, ms: times[times.length >> 1], trainable: tr.count });
    tf.dispose([inp.inputIds, inp.tokenTypeIds, inp.attentionMask, labels]);
    opt.dispose();
    model.dispose();
  }
  return { backend: choice.name, geometry: g, batch, timings };
}
