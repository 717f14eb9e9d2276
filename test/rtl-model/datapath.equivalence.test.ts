/**
 * The heart of the project: for random geometries, weights, scales, inputs and variants, the
 * datapath (implementation A) and the TensorFlow.js reference (implementation B) agree on every
 * element of every named tensor, on the cpu and the wasm backend.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { exportImages, syntheticModel, syntheticTask, syntheticInput, type SyntheticStats } from '../../rtl-model/export.js';
import { Datapath } from '../../rtl-model/datapath.js';
import { MemorySystem } from '../../rtl-model/memory.js';
import { oracleEngine } from '../../rtl-model/gemm/oracle.js';
import { VARIANTS, type Geometry, type VariantId } from '../../rtl-model/spec/index.js';
import { selectBackend } from '../../trainer/backend.js';
import { TfjsIntReference } from '../../trainer/int-reference.js';
import { compareTensors } from '../../sim/verify.js';

interface Case {
  g: Geometry;
  stats: SyntheticStats;
  variant: VariantId;
  seed: number;
  padTail: number;
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    layers: fc.integer({ min: 1, max: 2 }),
    heads: fc.integer({ min: 1, max: 3 }),
    dh: fc.integer({ min: 1, max: 9 }),
    ffn: fc.integer({ min: 1, max: 40 }),
    seqLen: fc.integer({ min: 1, max: 11 }),
    extraPos: fc.integer({ min: 0, max: 5 }),
    vocab: fc.integer({ min: 2, max: 60 }),
    typeVocab: fc.integer({ min: 1, max: 2 }),
    numLabels: fc.integer({ min: 1, max: 3 }),
    weightStd: fc.double({ min: 1e-3, max: 0.5, noNaN: true }),
    biasStd: fc.double({ min: 0, max: 1, noNaN: true }),
    gammaStd: fc.double({ min: 0, max: 1, noNaN: true }),
    variant: fc.constantFrom(...VARIANTS),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    padFrac: fc.double({ min: 0, max: 0.9, noNaN: true }),
  })
  .map((r) => ({
    g: { layers: r.layers, hidden: r.heads * r.dh, heads: r.heads, ffn: r.ffn, seqLen: r.seqLen, vocab: r.vocab, maxPositions: r.seqLen + r.extraPos, typeVocab: r.typeVocab, numLabels: r.numLabels },
    stats: { weightStd: r.weightStd, biasStd: r.biasStd, gammaStd: r.gammaStd },
    variant: r.variant,
    seed: r.seed,
    padTail: Math.floor(r.padFrac * (r.seqLen - 1)),
  }));

/** Counterexamples found by earlier runs, kept as permanent regression cases. */
const REGRESSIONS: Case[] = [];

async function check(c: Case): Promise<void> {
  const base = syntheticModel(c.g, c.seed, c.stats);
  const ex = await exportImages(base, c.variant, syntheticInput(c.g, c.seed + 1), oracleEngine, syntheticTask(base, c.variant, c.seed + 2));
  const input = syntheticInput(c.g, c.seed + 3, c.padTail);
  const a = await new Datapath(new MemorySystem(ex.romImage, ex.sramImage), c.g, oracleEngine).forward(input);
  const ref = new TfjsIntReference(ex.romImage, ex.sramImage);
  const b = ref.forward(input);
  ref.dispose();
  const cmp = compareTensors(a, b);
  expect(cmp.firstMismatch, JSON.stringify(c)).toBeNull();
  expect(cmp.bitExact).toBe(true);
  expect(cmp.tensorsCompared).toBe(2 + 8 * c.g.layers + 1);
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`datapath and TensorFlow.js reference on ${backend}`, () => {
    beforeAll(async () => {
      expect((await selectBackend(backend)).name).toBe(backend);
    });
    it('agree bit for bit on random geometries, weights, scales, inputs and variants', async () => {
      await fc.assert(fc.asyncProperty(caseArb, check), { numRuns: Number(process.env.FC_EQ_RUNS ?? 25) });
    });
    it('agree on the kept regression cases', async () => {
      for (const c of REGRESSIONS) await check(c);
    });
    it('agree on the odd geometry of the issue (5 layers, hidden 120, 5 heads, FFN 333, sequence 19)', async () => {
      const g: Geometry = { layers: 5, hidden: 120, heads: 5, ffn: 333, seqLen: 19, vocab: 30522, maxPositions: 512, typeVocab: 2, numLabels: 3 };
      await check({ g, stats: { weightStd: 0.02, biasStd: 0.02, gammaStd: 0.05 }, variant: 'bitfit', seed: 5, padTail: 3 });
    });
  });
}
