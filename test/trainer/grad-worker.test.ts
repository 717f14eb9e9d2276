import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../trainer/backend.js';
import { BertModel, initialParams } from '../../trainer/model.js';
import { AdamW, type Trainable } from '../../trainer/finetune.js';
import { GradWorker, shardedGradients } from '../../trainer/grad-worker.js';
import { mlmLoss, nextSentencePairs, toTensors, disposeBatch, type MaskedArrays } from '../../trainer/mlm.js';
import { maskBatch } from '../../trainer/pretrain.js';
import { rng } from '../../rtl-model/spec/random.js';
import type { Geometry } from '../../rtl-model/spec/index.js';

const g: Geometry = { layers: 1, hidden: 16, heads: 2, ffn: 24, seqLen: 8, vocab: 40, maxPositions: 16, typeVocab: 2, numLabels: 2 };
const L = g.seqLen;
const NO_DROPOUT = { hiddenDropout: 0, attentionDropout: 0 };

/** n sequences [CLS] x x ... [SEP] of random ids in [5, vocab). */
function sequences(seed: number, n: number): Int32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Int32Array.from({ length: L }, (_, i) => (i === 0 ? 1 : i === L - 1 ? 2 : 5 + Math.floor(r() * (g.vocab - 5)))));
}

const concat = (ms: MaskedArrays[], sizes: number[]): MaskedArrays => {
  const n = sizes.reduce((a, b) => a + b, 0);
  const ids = new Int32Array(n * L);
  const tokenTypes = new Int32Array(n * L);
  const positions: number[] = [];
  const targets: number[] = [];
  const labels: number[] = [];
  let row = 0;
  ms.forEach((m, i) => {
    ids.set(m.ids, row * L);
    tokenTypes.set(m.nsp!.tokenTypes, row * L);
    labels.push(...m.nsp!.labels);
    positions.push(...m.positions.map((p) => p + row * L));
    targets.push(...m.targets);
    row += sizes[i];
  });
  return { ids, positions, targets, nsp: { tokenTypes, labels } };
};

/** Shards of next-sentence pairs of the sequences, masked. */
function shardsOf(seqs: Int32Array[], sizes: number[], r: () => number, specials: Set<number>[]): MaskedArrays[] {
  const p = nextSentencePairs(seqs, sequences(99, 12), r, 2, 2);
  let lo = 0;
  return sizes.map((n, i) => {
    const m = {
      ...maskBatch(p.seqs.slice(lo, lo + n), r, g.vocab, 4, specials[i]),
      nsp: { tokenTypes: p.tokenTypes.slice(lo * L, (lo + n) * L), labels: p.labels.slice(lo, lo + n) },
    };
    lo += n;
    return m;
  });
}

describe('data-parallel pre-training gradients (GradWorker, shardedGradients)', () => {
  let model: BertModel;
  let opt: AdamW;
  let names: string[];
  let workers: GradWorker[] = [];

  beforeAll(async () => {
    await selectBackend('wasm');
    const params = initialParams(g, 3, true);
    model = new BertModel(g, params, NO_DROPOUT);
    // as pre-training with next-sentence prediction: everything but the classifier
    names = [...model.vars.keys()].filter((n) => !n.startsWith('classifier.'));
    const trainable: Trainable = { names, masks: new Map(), count: 0, total: 0 };
    opt = new AdamW(model, trainable, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01 });
    workers = await Promise.all([1, 2].map(() => GradWorker.start({ g, params: [...params], names, options: NO_DROPOUT, backend: 'wasm' })));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    opt.dispose();
    model.dispose();
  });

  /** Full-batch loss and gradients on this thread. */
  const fullBatch = async (m: MaskedArrays, n: number): Promise<{ loss: number; grads: Map<string, Float32Array> }> => {
    const b = toTensors(m, n, L);
    const r = await opt.gradients(() => mlmLoss(model, b, true));
    disposeBatch(b);
    const grads = new Map([...r.grads].map(([k, t]) => [k, t.dataSync() as Float32Array]));
    for (const t of r.grads.values()) t.dispose();
    return { loss: r.loss, grads };
  };

  const expectClose = (got: Map<string, tf.Tensor>, want: Map<string, Float32Array>): void => {
    expect([...got.keys()]).toEqual([...want.keys()]);
    for (const [k, t] of got) {
      const a = t.dataSync();
      const b = want.get(k)!;
      const scale = Math.max(1e-6, ...Array.from(b, Math.abs));
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      expect(worst / scale, k).toBeLessThan(1e-4);
    }
  };

  it('three shards (this thread + two workers) of next-sentence pairs give the gradient of the whole batch, before and after an update', async () => {
    const special = new Set([0, 1, 2, 3, 4]);
    const sizes = [3, 2, 4]; // unequal shards: the weighting by masked tokens matters
    for (let round = 0; round < 2; round++) {
      const r = rng(100 + round);
      const seqs = sequences(7 + round, 9);
      const masked = shardsOf(seqs, sizes, r, [special, special, special]);
      expect(masked.every((m) => m.positions.length > 0)).toBe(true);
      const want = await fullBatch(concat(masked, sizes), 9);
      // round 1: the workers still hold the initial values unless they are sent
      const values = round === 0 ? undefined : await model.rawValues(names);
      const got = await shardedGradients(model, opt, names, workers, masked, sizes, L, values);
      expect(got.loss).toBeCloseTo(want.loss, 5);
      expectClose(got.grads, want.grads);
      opt.apply(got.grads); // round 1 runs on new parameters
      for (const t of got.grads.values()) t.dispose();
    }
  }, 60_000);

  it('a shard without a masked token contributes only its next-sentence term (no NaN)', async () => {
    const sizes = [2, 2, 2];
    const seqs = sequences(11, 6);
    const none = new Set(Array.from({ length: g.vocab }, (_, i) => i)); // every token special: nothing masked
    const special = new Set([0, 1, 2, 3, 4]);
    const r = rng(5);
    const masked = shardsOf(seqs, sizes, r, [special, none, special]);
    expect(masked[1].positions.length).toBe(0);
    const want = await fullBatch(concat(masked, sizes), 6);
    const got = await shardedGradients(model, opt, names, workers, masked, sizes, L, await model.rawValues(names));
    expect(Number.isFinite(got.loss)).toBe(true);
    expect(got.loss).toBeCloseTo(want.loss, 5);
    expectClose(got.grads, want.grads);
    for (const t of got.grads.values()) t.dispose();
  }, 60_000);
});
