/**
 * The reference on several threads (trainer/int-reference-pool.ts): its parts cover the forward
 * pass, run layer by layer on the chained forward pass's own results they reproduce it exactly, and
 * they really read the given part inputs (a changed input changes exactly the part that reads it).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { exportImages, syntheticModel, syntheticTask, syntheticInput, type ExportResult } from '../../rtl-model/export.js';
import { oracleEngine } from '../../rtl-model/gemm/oracle.js';
import { layerPrefix, type Geometry } from '../../rtl-model/spec/index.js';
import { selectBackend } from '../../trainer/backend.js';
import { TfjsIntReference } from '../../trainer/int-reference.js';
import { runReferenceLayerwise, splitParts } from '../../trainer/int-reference-pool.js';

describe('splitParts', () => {
  it('cuts the layers into contiguous, nearly equal parts, embeddings first and head last', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 8 }), (layers, threads) => {
        const g = { layers } as Geometry;
        const parts = splitParts(g, threads);
        expect(parts.length).toBe(Math.min(threads, layers));
        expect(parts[0].layers.from).toBe(0);
        expect(parts[parts.length - 1].layers.to).toBe(layers);
        const sizes = parts.map((p) => p.layers.to - p.layers.from);
        expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        parts.forEach((p, i) => {
          if (i > 0) expect(p.layers.from).toBe(parts[i - 1].layers.to);
          expect(p.embeddings).toBe(i === 0);
          expect(p.head).toBe(i === parts.length - 1);
        });
      }),
    );
  });
  it('rejects a thread count that is not a positive integer', () => {
    expect(() => splitParts({ layers: 4 } as Geometry, 0)).toThrow(/reference threads must be an integer >= 1 \(got 0\)/);
    expect(() => splitParts({ layers: 4 } as Geometry, 1.5)).toThrow(/got 1.5/);
  });
});

const g: Geometry = { layers: 5, hidden: 120, heads: 5, ffn: 333, seqLen: 19, vocab: 300, maxPositions: 40, typeVocab: 2, numLabels: 3 };

async function fixture(): Promise<{ ex: ExportResult; input: ReturnType<typeof syntheticInput> }> {
  const base = syntheticModel(g, 11, { weightStd: 0.05, biasStd: 0.05, gammaStd: 0.1 });
  const ex = await exportImages(base, 'bitfit', syntheticInput(g, 12), oracleEngine, syntheticTask(base, 'bitfit', 13));
  return { ex, input: syntheticInput(g, 14, 4) };
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`the reference layer by layer on ${backend}`, () => {
    let ex: ExportResult;
    let input: ReturnType<typeof syntheticInput>;
    let chained: Map<string, Int32Array>;
    beforeAll(async () => {
      expect((await selectBackend(backend)).name).toBe(backend);
      ({ ex, input } = await fixture());
      const ref = new TfjsIntReference(ex.romImage, ex.sramImage);
      chained = await ref.forward(input);
      ref.dispose();
    });
    const run = (threads: number, given: ReadonlyMap<string, ArrayLike<number>>, b: string = backend) =>
      runReferenceLayerwise({ rom: ex.rom, sram: ex.sram, backend: b, threads }, input, given);

    it('reproduces the chained forward pass on 1 and 3 threads', async () => {
      for (const threads of [1, 3]) {
        const { records, parts } = await run(threads, chained);
        expect(parts.length).toBe(threads);
        expect([...records.keys()].sort()).toEqual([...chained.keys()].sort());
        for (const [name, v] of chained) expect(Array.from(records.get(name)!), `${name} on ${threads} threads`).toEqual(Array.from(v));
      }
    });

    it('reads the given part inputs: a changed layer-1 output changes layer 2 and nothing else', async () => {
      const given = new Map(chained);
      const x = Int32Array.from(chained.get(`${layerPrefix(1)}output`)!);
      for (let i = 0; i < x.length; i++) x[i] = x[i] === 127 ? 126 : 127;
      given.set(`${layerPrefix(1)}output`, x);
      const { records } = await run(2, given);
      let changed = 0;
      for (const [name, v] of chained) {
        const same = Array.from(records.get(name)!).every((y, i) => y === v[i]);
        if (name.startsWith(layerPrefix(2))) changed += same ? 0 : 1;
        else expect(same, name).toBe(true);
      }
      expect(changed).toBeGreaterThan(0);
    });

    it('names a part input missing from the given results', async () => {
      const given = new Map(chained);
      given.delete(`${layerPrefix(3)}output`);
      await expect(run(2, given)).rejects.toThrow(/bert\.encoder\.layer\.3\.output/);
    });

    it("reports a worker's failure (here: a backend it cannot load)", async () => {
      await expect(run(2, chained, 'gpu')).rejects.toThrow(/reference worker 1: .*gpu/s);
    });
  });
}
