import { describe, it, expect } from 'vitest';
import { integerEval } from '../../sim/int-eval.js';
import { syntheticModel, syntheticTask, syntheticInput } from '../../rtl-model/export.js';
import type { Geometry } from '../../rtl-model/spec/index.js';
import type { ForwardInput } from '../../rtl-model/datapath.js';

const g: Geometry = { layers: 2, hidden: 24, heads: 3, ffn: 40, seqLen: 29, vocab: 60, maxPositions: 64, typeVocab: 2, numLabels: 3 };

/** Right-padded example of `used` tokens (the tokenizer's layout). */
function example(seed: number, used: number): ForwardInput {
  const x = syntheticInput(g, seed);
  for (let i = used; i < g.seqLen; i++) {
    x.inputIds[i] = 0;
    x.tokenTypeIds[i] = 0;
    x.attentionMask[i] = 0;
  }
  return x;
}

describe('integer evaluation of a dev set', () => {
  it('gives the same integers when trailing padding is cut (each example at its length rounded up to 8)', async () => {
    const base = syntheticModel(g, 3);
    const task = syntheticTask(base, 'bitfit', 4);
    const lengths = [1, 2, 7, 8, 9, 15, 16, 17, 24, 25, 28, 29];
    const xs = lengths.map((n, i) => example(100 + i, n));
    for (const regression of [true, false]) {
      // regression: the dequantized first logit itself, compared exactly
      const a = await integerEval(g, base.params, task.params, 'bitfit', syntheticInput(g, 9), xs, regression, { trim: true });
      const b = await integerEval(g, base.params, task.params, 'bitfit', syntheticInput(g, 9), xs, regression, { trim: false });
      expect(Array.from(a.predictions)).toEqual(Array.from(b.predictions));
      expect(a.images.romSha256).toBe(b.images.romSha256);
    }
  });
});
