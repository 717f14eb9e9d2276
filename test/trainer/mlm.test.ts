import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../trainer/backend.js';
import { BertModel, initialParams } from '../../trainer/model.js';
import { mlmLoss, nextSentencePairs, toTensors, disposeBatch } from '../../trainer/mlm.js';
import { rng } from '../../rtl-model/spec/random.js';
import type { Geometry } from '../../rtl-model/spec/index.js';

const CLS = 1;
const SEP = 2;
const L = 32;

/** Packed sequences [CLS] body [SEP] whose body tokens are unique across the pool (sequence i, position j -> 100 * i + j + 10). */
const pool = Array.from({ length: 20 }, (_, i) => Int32Array.from({ length: L }, (_, j) => (j === 0 ? CLS : j === L - 1 ? SEP : 100 * i + j + 10)));

describe('next-sentence pairs', () => {
  it('cut each sequence into [CLS] A [SEP] B [SEP] with B the continuation (label 0) or a run of another sequence (label 1)', () => {
    const seqs = pool.slice(0, 10);
    const p = nextSentencePairs(seqs, pool, rng(3), SEP, 4);
    expect(p.seqs).toHaveLength(10);
    p.seqs.forEach((s, i) => {
      expect(s.length).toBe(L);
      expect(s[0]).toBe(CLS);
      expect(s[L - 1]).toBe(SEP);
      const seps = [...s.keys()].filter((j) => s[j] === SEP);
      expect(seps).toHaveLength(2);
      const a = seps[0] - 1;
      expect(a).toBeGreaterThanOrEqual(4);
      expect(L - 3 - a).toBeGreaterThanOrEqual(4);
      // A is the sequence's own start
      expect([...s.subarray(1, 1 + a)]).toEqual([...seqs[i].subarray(1, 1 + a)]);
      const B = [...s.subarray(2 + a, L - 1)];
      const owner = new Set(B.map((t) => Math.floor((t - 10) / 100)));
      expect(owner.size).toBe(1); // one contiguous run of one sequence's body
      const o = [...owner][0];
      expect(B.every((t, k) => k === 0 || t === B[k - 1] + 1)).toBe(true);
      if (p.labels[i] === 0) expect(B).toEqual([...seqs[i].subarray(1 + a, L - 2)]);
      else expect(o).not.toBe(i);
      // token types: 0 up to the first [SEP], 1 after it
      const tt = [...p.tokenTypes.subarray(i * L, (i + 1) * L)];
      expect(tt).toEqual(Array.from({ length: L }, (_, j) => (j <= seps[0] ? 0 : 1)));
    });
  });

  it('draw both labels about equally and repeat exactly under the same seed', () => {
    const p = nextSentencePairs(Array(400).fill(pool[0]), pool, rng(9), SEP);
    const ones = p.labels.filter((y) => y === 1).length;
    expect(ones).toBeGreaterThan(160);
    expect(ones).toBeLessThan(240);
    const q = nextSentencePairs(Array(400).fill(pool[0]), pool, rng(9), SEP);
    expect(q.labels).toEqual(p.labels);
    expect(q.seqs.map((s) => [...s])).toEqual(p.seqs.map((s) => [...s]));
  });

  it('refuse sequences too short for two segments', () => {
    expect(() => nextSentencePairs([new Int32Array(10)], pool, rng(1), SEP, 8)).toThrow(/no room for two segments/);
  });
});

describe('the pre-training loss', () => {
  const g: Geometry = { layers: 1, hidden: 16, heads: 2, ffn: 24, seqLen: L, vocab: 3000, maxPositions: 64, typeVocab: 2, numLabels: 2 };
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('is the masked-LM cross-entropy plus the next-sentence cross-entropy on the pooled [CLS]', () => {
    const model = new BertModel(g, initialParams(g, 5, true), { hiddenDropout: 0, attentionDropout: 0 });
    const p = nextSentencePairs(pool.slice(0, 4), pool, rng(2), SEP);
    const m = { ids: Int32Array.from(p.seqs.flatMap((s) => [...s])), positions: [3, 40, 77, 100], targets: [5, 6, 7, 8] };
    const withNsp = toTensors({ ...m, nsp: { tokenTypes: p.tokenTypes, labels: p.labels } }, 4, L);
    const total = mlmLoss(model, withNsp, false).dataSync()[0];
    const { mlm, nsp } = model.pretrainLogits(withNsp.inputs, withNsp.positions, false);
    const ceMlm = tf.losses.softmaxCrossEntropy(tf.oneHot(withNsp.targets, g.vocab), mlm).dataSync()[0];
    const ceNsp = tf.losses.softmaxCrossEntropy(tf.oneHot(withNsp.nspLabels!, 2), nsp).dataSync()[0];
    expect(total).toBeCloseTo(ceMlm + ceNsp, 5);
    expect(ceNsp).toBeGreaterThan(0.3); // ~ln 2 at initialisation
    // without pairs: the masked-LM term alone (token types 0)
    const plain = toTensors(m, 4, L);
    expect(mlmLoss(model, plain, false).dataSync()[0]).toBeCloseTo(
      tf.losses.softmaxCrossEntropy(tf.oneHot(plain.targets, g.vocab), model.mlmLogits(plain.inputs, plain.positions, false)).dataSync()[0],
      6,
    );
    disposeBatch(withNsp);
    disposeBatch(plain);
    model.dispose();
  });
});
