import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { planFolds, gemmAccesses, scaleSimMetrics, gemmCycles, neumaierSum, naiveSum, foldWeightElements, type ArrayShape } from '../../sim/cycles.js';
import { DoubleBufferedReadScratchpad } from '../../sim/scratchpad.js';
import { runStepped } from '../../sim/stepped.js';
import { matmulNTOracle } from '../../rtl-model/gemm/oracle.js';
import { DATAFLOWS } from '../../sim/config.js';

describe('closed-form cycle model against the cycle-stepped array', () => {
  it('is exact in cycles, outputs and memory fetches for random small shapes and every dataflow', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(...DATAFLOWS),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer(),
        (R, C, df, m, n, k, seed) => {
          let s = seed >>> 0;
          const r = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 25) - 64;
          const a = Int8Array.from({ length: m * k }, r);
          const bT = Int8Array.from({ length: n * k }, r);
          const arr: ArrayShape = { rows: R, cols: C, dataflow: df };
          const st = runStepped(arr, a, bT, m, n, k);
          expect(Array.from(st.c)).toEqual(Array.from(matmulNTOracle(a, bT, m, n, k)));
          const p = planFolds(arr, { m, n, k });
          expect(st.cycles).toBe(p.folds * p.foldCycles);
          expect(st.lastCycle).toBe(scaleSimMetrics(arr, { m, n, k }).totalCycles);
          const acc = gemmAccesses(arr, { m, n, k });
          expect({ w: st.weightReads, i: st.inputReads, o: st.outputWrites }).toEqual({ w: acc.weightReads, i: acc.inputReads, o: acc.outputWrites });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('SCALE-Sim v2 compute report (CALC mode)', () => {
  const alexnetConv1 = { m: 55 * 55, n: 96, k: 11 * 11 * 3 }; // 224x224, 11x11, stride 4, 3 -> 96 channels
  it("reproduces SCALE-Sim's golden WS 32x32 alexnet_part row", () => {
    const r = scaleSimMetrics({ rows: 32, cols: 32, dataflow: 'ws' }, alexnetConv1, naiveSum);
    expect(r).toEqual({
      totalCycles: 112283,
      stallCycles: 0,
      overallUtilPct: 91.68309650614964,
      mappingEfficiencyPct: 94.53125,
      computeUtilPct: 90.78000992063485,
    });
  });
  it("reproduces the compute-only part of SCALE-Sim's GEMM goldens (M=256, N=128, K=256, 32x32)", () => {
    const g = { m: 256, n: 128, k: 256 };
    expect(scaleSimMetrics({ rows: 32, cols: 32, dataflow: 'os' }, g, neumaierSum)).toMatchObject({
      totalCycles: 52447 - 42272,
      mappingEfficiencyPct: 100,
      computeUtilPct: 80.50314465408806,
    });
    expect(scaleSimMetrics({ rows: 32, cols: 32, dataflow: 'ws' }, g, neumaierSum)).toMatchObject({
      totalCycles: 52447 - 41248,
      computeUtilPct: 67.19160104986877,
    });
    expect(scaleSimMetrics({ rows: 32, cols: 32, dataflow: 'is' }, g, neumaierSum)).toMatchObject({
      totalCycles: 19984 - 5777,
      computeUtilPct: 50.59288537549407,
    });
  });
  it('matches the 4x4 output-stationary case of SCALE-Sim issue #125 (9 cycles)', () => {
    expect(scaleSimMetrics({ rows: 4, cols: 4, dataflow: 'os' }, { m: 4, n: 4, k: 4 }).totalCycles).toBe(9);
  });
});

describe('memory-limited cycles', () => {
  const arr: ArrayShape = { rows: 128, cols: 128, dataflow: 'ws' };
  const g = { m: 128, n: 3072, k: 768 };
  it('adds no stall when the memories keep up', () => {
    const c = gemmCycles(arr, g, { weightBitsPerCycle: 1 << 20, bufferBitsPerCycle: 1 << 20, weightBits: 8, inputBits: 8, outputBits: 32 });
    expect(c.stallCycles).toBe(0);
    expect(c.cycles).toBe(c.computeCycles);
  });
  it('stalls a weight-stationary fold by the ROM load time beyond its L cycles (the first tile is loaded before the GEMM)', () => {
    // one fold needs 128*128*8 bits; at 64 bits/cycle that is 2048 cycles against L = 2*128+128+128-2 = 510
    const c = gemmCycles(arr, g, { weightBitsPerCycle: 64, bufferBitsPerCycle: 1 << 20, weightBits: 8, inputBits: 8, outputBits: 32 });
    expect(c.plan.folds).toBe(6 * 24);
    expect(c.weightStallCycles).toBe(143 * (2048 - 510));
    expect(c.cycles).toBe(144 * 510 + 143 * (2048 - 510));
  });

  it('equals the fold-by-fold double-buffered scratchpad for random shapes, dataflows and bandwidths', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(...DATAFLOWS),
        fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 })),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 64 }),
        (R, C, df, [m, n, k], wbw, bbw) => {
          const a: ArrayShape = { rows: R, cols: C, dataflow: df };
          const f = { weightBitsPerCycle: wbw, bufferBitsPerCycle: bbw, weightBits: 8, inputBits: 8, outputBits: 32 };
          const c = gemmCycles(a, { m, n, k }, f);
          const p = c.plan;
          // list the folds in SCALE-Sim's order and step them through two scratchpads
          const loads: [number[], number[]] = [[], []];
          for (let fc2 = 0; fc2 < p.colFolds; fc2++) {
            for (let fr = 0; fr < p.rowFolds; fr++) {
              const ru = Math.min(R, p.sr - fr * R);
              const cu = Math.min(C, p.sc - fc2 * C);
              loads[0].push(Math.ceil((foldWeightElements(df, ru, cu, p.t) * 8) / wbw));
              const buf = df === 'ws' ? p.t * ru * 8 + p.t * cu * 32 : df === 'os' ? p.t * ru * 8 + ru * cu * 32 : ru * cu * 8 + p.t * cu * 32;
              loads[1].push(Math.ceil(buf / bbw));
            }
          }
          const pads = loads.map(
            (l) =>
              new DoubleBufferedReadScratchpad({
                units: l.length,
                activeUnits: 1,
                prefetchUnits: Math.min(1, l.length - 1),
                fillCycles: (i) => l[i],
                initialFillEnd: 0,
              }),
          );
          let t = 0;
          for (let i = 0; i < p.folds; i++) {
            let ready = 0;
            for (const pad of pads) while (!pad.holds(i)) ready = Math.max(ready, pad.advance());
            for (const pad of pads) ready = Math.max(ready, pad.holds(i) && i > 0 ? pad.lastFillEnd : 0);
            t = Math.max(t, ready) + p.foldCycles;
          }
          expect(c.cycles).toBe(t);
        },
      ),
      { numRuns: 300 },
    );
  });
});
