import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../trainer/backend.js';
import { BertModel, initialParams, bertParamShapes } from '../../trainer/model.js';
import { AdamW, selectTrainable, batchLoss, TRAIN_VARIANTS } from '../../trainer/finetune.js';
import { encoderBiasParams, type Geometry } from '../../rtl-model/spec/index.js';

const g: Geometry = { layers: 2, hidden: 16, heads: 2, ffn: 24, seqLen: 8, vocab: 30, maxPositions: 16, typeVocab: 2, numLabels: 2 };

function batch(seed: number, n = 8): { inp: { inputIds: tf.Tensor2D; tokenTypeIds: tf.Tensor2D; attentionMask: tf.Tensor2D }; labels: tf.Tensor1D } {
  let s = seed;
  const r = (k: number): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % k;
  const ids: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: g.seqLen }, () => 6 + r(g.vocab - 6));
    const y = r(2);
    if (y)
      row[1 + r(g.seqLen - 1)] = 5; // label 1: token 5 appears
    else for (let j = 0; j < row.length; j++) if (row[j] === 5) row[j] = 6;
    row[0] = 1;
    ids.push(...row);
    labels.push(y);
  }
  return {
    inp: { inputIds: tf.tensor2d(ids, [n, g.seqLen], 'int32'), tokenTypeIds: tf.zeros([n, g.seqLen], 'int32'), attentionMask: tf.ones([n, g.seqLen], 'int32') },
    labels: tf.tensor1d(labels, 'float32'),
  };
}

describe('tfjs BERT and the BitFit variants', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('names every parameter as HuggingFace does and round-trips them in HF layout', async () => {
    const p = initialParams(g, 1);
    expect([...p.keys()]).toContain('bert.encoder.layer.1.attention.self.query.bias');
    expect(bertParamShapes(g).get('bert.encoder.layer.0.intermediate.dense.weight')).toEqual([24, 16]);
    const m = new BertModel(g, p);
    const back = await m.exportParams();
    for (const [k, v] of p) expect(Array.from(back.get(k)!), k).toEqual(Array.from(v));
    m.dispose();
  });

  it('draws the same initial values for a tensor whichever others are asked for', () => {
    const all = initialParams(g, 5);
    const some = initialParams(g, 5, false, undefined, (k) => k.startsWith('classifier.') || k.endsWith('layer.1.output.dense.weight'));
    expect([...some.keys()].sort()).toEqual(['bert.encoder.layer.1.output.dense.weight', 'classifier.bias', 'classifier.weight']);
    for (const [k, v] of some) expect(Array.from(v), k).toEqual(Array.from(all.get(k)!));
  });

  it('classifies a batch deterministically without dropout', () => {
    const m = new BertModel(g, initialParams(g, 2));
    const { inp } = batch(3);
    const a = m.classify(inp, false).arraySync();
    const b = m.classify(inp, false).arraySync();
    expect(a).toEqual(b);
    expect(a.length).toBe(8);
    expect(a[0].length).toBe(2);
    m.dispose();
  });

  it('counts the trainable parameters of each variant', () => {
    const m = new BertModel(g, initialParams(g, 4));
    const head = 16 + 2 * 16 + 2;
    expect(selectTrainable(m, 'bitfit').count).toBe(encoderBiasParams(g, 'bitfit') + head);
    expect(selectTrainable(m, 'bitfit-bq').count).toBe(encoderBiasParams(g, 'bitfit-bq') + head);
    expect(selectTrainable(m, 'frozen').count).toBe(head);
    expect(selectTrainable(m, 'rand-uniform', 1).count).toBe(encoderBiasParams(g, 'bitfit') + head);
    expect(selectTrainable(m, 'rand-rowcol', 1).count).toBe(Math.ceil(encoderBiasParams(g, 'bitfit') / g.hidden) * g.hidden + head);
    expect(selectTrainable(m, 'full-ft').count).toBe(selectTrainable(m, 'full-ft').total);
    m.dispose();
  });

  for (const variant of TRAIN_VARIANTS) {
    it(`${variant}: training changes only the selected parameters (others bit-identical)`, async () => {
      const m = new BertModel(g, initialParams(g, 5), { hiddenDropout: 0, attentionDropout: 0 });
      const tr = selectTrainable(m, variant, 3);
      const before = await m.exportParams();
      const opt = new AdamW(m, tr, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01 });
      for (let i = 0; i < 3; i++) {
        const { inp, labels } = batch(10 + i);
        await opt.step(batchLoss(m, inp, labels));
      }
      const after = await m.exportParams();
      let changed = 0;
      for (const [name, v0] of before) {
        const v1 = after.get(name)!;
        const mask = tr.masks.get(name);
        const trainableTensor = tr.names.includes(name);
        for (let i = 0; i < v0.length; i++) {
          // masks are in variable layout [in, out]; exported weights are [out, in]
          let selected = trainableTensor;
          if (mask) {
            const [out, inn] = bertParamShapes(g).get(name)!;
            const o = Math.floor(i / inn);
            const c = i % inn;
            selected = mask[c * out + o] === 1;
          }
          if (!selected) expect(Object.is(v1[i], v0[i]), `${name}[${i}] changed`).toBe(true);
          else if (v1[i] !== v0[i]) changed++;
        }
      }
      expect(changed).toBeGreaterThan(0);
      opt.dispose();
      m.dispose();
    });
  }

  it('learns a toy task (loss falls) with bitfit', async () => {
    const m = new BertModel(g, initialParams(g, 6), { hiddenDropout: 0, attentionDropout: 0 });
    const opt = new AdamW(m, selectTrainable(m, 'full-ft'), { lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0 });
    const losses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const { inp, labels } = batch(100 + i, 16);
      losses.push(await opt.step(batchLoss(m, inp, labels)));
    }
    const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
    const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
    expect(last).toBeLessThan(first * 0.8);
    m.dispose();
  });

  it('bias-only variants do not compute weight-matrix gradients (fewer matmul kernels per step)', async () => {
    const kernels = async (variant: 'bitfit' | 'full-ft'): Promise<number> => {
      const m = new BertModel(g, initialParams(g, 7), { hiddenDropout: 0, attentionDropout: 0 });
      const opt = new AdamW(m, selectTrainable(m, variant));
      const { inp, labels } = batch(1);
      const prof = await tf.profile(() => opt.step(batchLoss(m, inp, labels)));
      m.dispose();
      return prof.kernels.filter((k) => k.name === 'BatchMatMul' || k.name === '_FusedMatMul').length;
    };
    const bit = await kernels('bitfit');
    const full = await kernels('full-ft');
    // full-ft computes dW for the 6 matrices of each layer, the pooler and the classifier
    expect(full - bit).toBeGreaterThanOrEqual(6 * g.layers);
  });
});
