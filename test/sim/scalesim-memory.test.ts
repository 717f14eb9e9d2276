import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { DATAFLOWS } from '../../sim/config.js';
import {
  forEachDemandRow,
  gemmAsConv,
  isDenseUnique,
  operandMatrices,
  prefetchOrders,
  simulateLayerMemory,
  simulateLayerMemoryByFolds,
  simulateLayerMemoryByRows,
  sramCounts,
  type ConvShape,
  type MemoryConfig,
} from '../../sim/scalesim-memory.js';
import { referenceCompute, referenceOperands } from '../../sim/scalesim-reference.js';

const offsets = { ifmapOffset: 0, filterOffset: 10000000, ofmapOffset: 20000000 };

const shapeArb: fc.Arbitrary<ConvShape> = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 })).map(([m, n, k]) => gemmAsConv(m, n, k)),
  fc
    .record({
      h: fc.integer({ min: 2, max: 7 }),
      fh: fc.integer({ min: 1, max: 3 }),
      ch: fc.integer({ min: 1, max: 2 }),
      nf: fc.integer({ min: 1, max: 5 }),
      s: fc.integer({ min: 1, max: 2 }),
    })
    .filter((x) => x.fh <= x.h)
    .map((x) => ({ ifmapH: x.h, ifmapW: x.h, filterH: x.fh, filterW: x.fh, channels: x.ch, filters: x.nf, strideH: x.s, strideW: x.s })),
);

describe('SCALE-Sim memory model: closed-form demand against the literal port of its matrices', () => {
  it('generates the same demand rows, prefetch orders and SRAM counts for every dataflow', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.constantFrom(...DATAFLOWS), shapeArb, (R, C, df, shape) => {
        const op = operandMatrices(shape, offsets);
        const ref = referenceCompute(df, R, C, referenceOperands(shape, offsets));
        const rows: number[][][] = [[], [], []];
        forEachDemandRow(df, R, C, op, (i, f, o) => [i, f, o].forEach((r, j) => rows[j].push(Array.from(r))));
        expect(rows).toEqual([ref.ifmapDemand, ref.filterDemand, ref.ofmapDemand]);
        const pf = prefetchOrders(df, R, C, op);
        expect([Array.from(pf.ifmap), Array.from(pf.filter)]).toEqual([ref.ifmapPrefetch, ref.filterPrefetch]);
        expect(sramCounts(df, R, C, op)).toEqual(ref.reads);
      }),
      { numRuns: 200 },
    );
  });

  it('gives the same reports from either demand, in USER and CALC mode, with small SRAMs that stall', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(...DATAFLOWS),
        shapeArb,
        fc.constantFrom('USER', 'CALC'),
        fc.integer({ min: 1, max: 6 }),
        fc.tuple(fc.integer({ min: 100, max: 400 }), fc.integer({ min: 100, max: 400 }), fc.integer({ min: 8, max: 400 })),
        (R, C, df, shape, mode, bandwidth, [iw, fw, ow]) => {
          const cfg: MemoryConfig = { rows: R, cols: C, dataflow: df, mode, bandwidth, ifmapWords: iw, filterWords: fw, ofmapWords: ow, ...offsets };
          const ref = referenceCompute(df, R, C, referenceOperands(shape, offsets));
          const toRows = (m: number[][]): Int32Array[] => m.map((r) => Int32Array.from(r));
          const [ri, rf, ro] = [toRows(ref.ifmapDemand), toRows(ref.filterDemand), toRows(ref.ofmapDemand)];
          const viaReference = simulateLayerMemory(cfg, shape, {
            rows: (emit) => ri.forEach((r, i) => emit(r, rf[i], ro[i])),
            prefetch: { ifmap: Int32Array.from(ref.ifmapPrefetch), filter: Int32Array.from(ref.filterPrefetch) },
          });
          expect(simulateLayerMemory(cfg, shape)).toEqual(viaReference);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('fold by fold equals row by row, address by address, for random layers, arrays and small SRAMs that stall', () => {
    // odd GEMMs, convolutions whose windows overlap or leave the input (ifmap served by address) and patch convolutions (dense)
    const layerArb: fc.Arbitrary<ConvShape> = fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 60 })).map(([m, n, k]) => gemmAsConv(m, n, k)),
      fc
        .record({
          h: fc.integer({ min: 2, max: 10 }),
          dw: fc.integer({ min: 0, max: 3 }),
          fh: fc.integer({ min: 1, max: 4 }),
          ch: fc.integer({ min: 1, max: 3 }),
          nf: fc.integer({ min: 1, max: 12 }),
          s: fc.integer({ min: 1, max: 4 }),
        })
        .filter((x) => x.fh <= x.h)
        .map((x) => ({ ifmapH: x.h, ifmapW: x.h + x.dw, filterH: x.fh, filterW: x.fh, channels: x.ch, filters: x.nf, strideH: x.s, strideW: x.s })),
    );
    let stalled = 0;
    let user = 0;
    let dense = 0;
    let runs = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.constantFrom(...DATAFLOWS),
        layerArb,
        fc.constantFrom('USER', 'CALC'),
        fc.integer({ min: 1, max: 12 }),
        fc.tuple(fc.integer({ min: 100, max: 400 }), fc.integer({ min: 100, max: 400 }), fc.integer({ min: 8, max: 400 })),
        (R, C, df, shape, mode, bandwidth, [iw, fw, ow]) => {
          const cfg: MemoryConfig = { rows: R, cols: C, dataflow: df, mode, bandwidth, ifmapWords: iw, filterWords: fw, ofmapWords: ow, ...offsets };
          const folds = simulateLayerMemoryByFolds(cfg, shape);
          expect(folds).toEqual(simulateLayerMemoryByRows(cfg, shape));
          runs++;
          if (mode === 'USER') user++;
          if (mode === 'USER' && folds.stallCycles > 0) stalled++;
          if (isDenseUnique(shape)) dense++;
        },
      ),
      { numRuns: 400 },
    );
    // the draws exercise both kinds of ifmap, and many USER-mode draws stall
    expect(dense / runs).toBeGreaterThan(0.4);
    expect(dense).toBeLessThan(runs);
    expect(stalled / user).toBeGreaterThan(0.25);
  });

  it('fold by fold equals row by row on 32x32 and 16x8 arrays with 4 KiB and odd-sized SRAMs', () => {
    const shapes = [gemmAsConv(100, 300, 70), gemmAsConv(128, 64, 128), gemmAsConv(33, 65, 97)];
    for (const df of DATAFLOWS) {
      for (const [R, C] of [
        [32, 32],
        [16, 8],
      ]) {
        for (const shape of shapes) {
          for (const [words, bw] of [
            [4096, 20],
            [1234, 3],
          ]) {
            const cfg: MemoryConfig = {
              rows: R,
              cols: C,
              dataflow: df,
              mode: 'USER',
              bandwidth: bw,
              ifmapWords: words,
              filterWords: words,
              ofmapWords: words,
              ...offsets,
            };
            expect(simulateLayerMemoryByFolds(cfg, shape), `${df} ${R}x${C} ${JSON.stringify(shape)} ${words}`).toEqual(simulateLayerMemoryByRows(cfg, shape));
          }
        }
      }
    }
  });

  it('knows which layers have every operand address once', () => {
    expect(isDenseUnique(gemmAsConv(7, 5, 3))).toBe(true);
    // 2x2 patches at stride 2 over a 4x6 input: neither overlapping nor leaving the input
    expect(isDenseUnique({ ifmapH: 4, ifmapW: 6, filterH: 2, filterW: 2, channels: 3, filters: 4, strideH: 2, strideW: 2 })).toBe(true);
    // overlapping windows (stride 1, 3x3) and windows that leave the input (5 wide, 2x2 at stride 2)
    expect(isDenseUnique({ ifmapH: 5, ifmapW: 5, filterH: 3, filterW: 3, channels: 1, filters: 4, strideH: 1, strideW: 1 })).toBe(false);
    expect(isDenseUnique({ ifmapH: 4, ifmapW: 5, filterH: 2, filterW: 2, channels: 1, filters: 4, strideH: 2, strideW: 2 })).toBe(false);
  });

  it('stalls a 100x300x70 GEMM on 32x32 WS with 4 KiB SRAMs at 20 words/cycle (compute part as in CALC mode)', () => {
    const r = simulateLayerMemory(
      { rows: 32, cols: 32, dataflow: 'ws', mode: 'USER', bandwidth: 20, ifmapWords: 4096, filterWords: 4096, ofmapWords: 4096, ...offsets },
      gemmAsConv(100, 300, 70),
    );
    // measured with this model; SCALE-Sim itself was not run (see fixtures/scalesim/README.md)
    expect(r.totalCycles - r.stallCycles).toBe(5819);
    expect({ total: r.totalCycles, stall: r.stallCycles }).toEqual({ total: 30116, stall: 24297 });
  });
});
