/**
 * The datapath split along the sequence (rtl-model/parallel-datapath.ts) computes every tensor and
 * every count of the single-threaded datapath, on any number of blocks, pass after pass.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { exportImages, syntheticModel, syntheticTask, syntheticInput, type ExportResult } from '../../rtl-model/export.js';
import { oracleEngine } from '../../rtl-model/gemm/oracle.js';
import { Datapath, type IntTensor } from '../../rtl-model/datapath.js';
import { MemorySystem } from '../../rtl-model/memory.js';
import { ParallelDatapath, rowBlocks } from '../../rtl-model/parallel-datapath.js';
import type { Geometry } from '../../rtl-model/spec/index.js';

describe('rowBlocks', () => {
  it('cuts the sequence into contiguous, nearly equal blocks from row 0', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1, max: 16 }), (L, threads) => {
        const b = rowBlocks(L, threads);
        expect(b.length).toBe(Math.min(L, threads));
        expect(b[0].from).toBe(0);
        expect(b[b.length - 1].to).toBe(L);
        const sizes = b.map((x) => x.to - x.from);
        expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        b.forEach((x, i) => i > 0 && expect(x.from).toBe(b[i - 1].to));
      }),
    );
  });
  it('rejects a thread count that is not a positive integer', () => {
    expect(() => rowBlocks(10, 0)).toThrow(/datapath threads must be an integer >= 1 \(got 0\)/);
  });
});

const g: Geometry = { layers: 3, hidden: 120, heads: 5, ffn: 333, seqLen: 19, vocab: 300, maxPositions: 40, typeVocab: 2, numLabels: 3 };

function sameTensors(a: Map<string, IntTensor>, b: Map<string, IntTensor>): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [name, x] of a) {
    const y = b.get(name)!;
    expect(y.constructor, name).toBe(x.constructor);
    expect(Array.from(y), name).toEqual(Array.from(x));
  }
}

describe('ParallelDatapath', () => {
  let ex: ExportResult;
  let single: Datapath;
  const pools: ParallelDatapath[] = [];
  beforeAll(async () => {
    const base = syntheticModel(g, 21, { weightStd: 0.05, biasStd: 0.05, gammaStd: 0.1 });
    ex = await exportImages(base, 'bitfit', syntheticInput(g, 22), oracleEngine, syntheticTask(base, 'bitfit', 23));
    single = new Datapath(new MemorySystem(ex.romImage, ex.sramImage), g, oracleEngine);
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  for (const threads of [1, 2, 3]) {
    it(`equals the single-threaded datapath tensor for tensor and count for count on ${threads} block(s), pass after pass`, async () => {
      const p = await ParallelDatapath.create(ex.rom, ex.sram, threads);
      pools.push(p);
      const ref = new Datapath(new MemorySystem(ex.romImage, ex.sramImage), g, oracleEngine);
      for (const seed of [31, 32]) {
        const input = syntheticInput(g, seed, seed === 31 ? 5 : 0);
        sameTensors(await ref.forward(input), await p.forward(input));
      }
      expect(p.counts).toEqual(ref.counts);
      expect(p.memCounts.bitsRead).toEqual(ref.mem.counts.bitsRead);
      expect(new Map([...p.memCounts.perTensorBits].sort())).toEqual(new Map([...ref.mem.counts.perTensorBits].sort()));
    });
  }

  it('refuses a second pass on one Datapath while the first runs (they share the accumulator scratch)', async () => {
    const dp = new Datapath(new MemorySystem(ex.romImage, ex.sramImage), g, oracleEngine);
    const first = dp.forward(syntheticInput(g, 38));
    await expect(dp.forward(syntheticInput(g, 39))).rejects.toThrow(/a forward pass is already running/);
    await first;
  });

  it('rejects a bad input before any block starts, and keeps working', async () => {
    const p = await ParallelDatapath.create(ex.rom, ex.sram, 2);
    pools.push(p);
    const input = syntheticInput(g, 33);
    const bad = { ...input, inputIds: Int32Array.from(input.inputIds) };
    bad.inputIds[15] = g.vocab; // a row of the second block
    await expect(p.forward(bad)).rejects.toThrow(/token id 300 at position 15 is outside \[0, 300\)/);
    sameTensors(await single.forward(input), await p.forward(input));
  });

  for (const when of ['before a barrier', 'after the last barrier'] as const) {
    it(`a pass that fails on the calling thread ${when} rejects, and the instance refuses later passes`, async () => {
      const p = await ParallelDatapath.create(ex.rom, ex.sram, 2);
      pools.push(p);
      const main = (p as unknown as { main: Datapath }).main;
      const orig = main.forwardRows.bind(main);
      main.forwardRows = async (inp, rows, exchange) => {
        if (when === 'before a barrier') {
          return orig(inp, rows, async (l, k, v) => {
            if (l === 1) throw new Error('injected failure at layer 1');
            return exchange(l, k, v);
          });
        }
        await orig(inp, rows, exchange);
        throw new Error('injected failure after the barriers');
      };
      await expect(p.forward(syntheticInput(g, 35))).rejects.toThrow(/injected failure/);
      await expect(p.forward(syntheticInput(g, 36))).rejects.toThrow(/unusable after a failed pass \(injected failure/);
    });
  }

  it("a worker's error reply fails the pass instead of hanging it", async () => {
    const p = await ParallelDatapath.create(ex.rom, ex.sram, 2);
    pools.push(p);
    const handles = (p as unknown as { handles: { worker: { postMessage(m: unknown): void } }[] }).handles;
    handles[0].worker.postMessage({ type: 'forward', seq: -1, input: null }); // the worker throws on it
    await new Promise((r) => setTimeout(r, 200));
    await expect(p.forward(syntheticInput(g, 37))).rejects.toThrow(/datapath worker 1: /);
  });

  it('fails, rather than waiting forever at a barrier, when a worker has died', async () => {
    const p = await ParallelDatapath.create(ex.rom, ex.sram, 3);
    pools.push(p);
    const handles = (p as unknown as { handles: { worker: { terminate(): Promise<number> } }[] }).handles;
    await handles[1].worker.terminate();
    await expect(p.forward(syntheticInput(g, 34))).rejects.toThrow(/datapath worker 2 exited/);
  });
});
