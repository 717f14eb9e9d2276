import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { DATAFLOWS } from '../../sim/config.js';
import {
  forEachDemandRow,
  gemmAsConv,
  operandMatrices,
  prefetchOrders,
  simulateLayerMemory,
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
