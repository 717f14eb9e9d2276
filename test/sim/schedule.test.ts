import { describe, it, expect, beforeAll } from 'vitest';
import { executeSchedule } from '../../sim/schedule.js';
import { evaluate } from '../../sim/costs.js';
import { buildWorkload, workloadMacs } from '../../sim/workload.js';
import { loadConfig, DATAFLOWS } from '../../sim/config.js';
import { loadTech, TechModel } from '../../sim/tech.js';
import { exportImages, syntheticModel, syntheticInput, syntheticTask, type ExportResult } from '../../rtl-model/export.js';
import { MemorySystem } from '../../rtl-model/memory.js';
import { Datapath } from '../../rtl-model/datapath.js';
import { oracleEngine } from '../../rtl-model/gemm/oracle.js';
import type { Geometry, VariantId } from '../../rtl-model/spec/index.js';

const g: Geometry = { layers: 2, hidden: 24, heads: 3, ffn: 40, seqLen: 11, vocab: 50, maxPositions: 16, typeVocab: 2, numLabels: 3 };
const hw = loadConfig('rom-bert-tiny').hardware;
const tech = new TechModel(loadTech('28nm'));
const images = new Map<VariantId, ExportResult>();

beforeAll(async () => {
  const base = syntheticModel(g, 3);
  for (const v of ['bitfit', 'frozen', 'full-ft'] as VariantId[])
    images.set(v, await exportImages(base, v, syntheticInput(g, 4), oracleEngine, syntheticTask(base, v, 5)));
});

describe('access counts', () => {
  for (const df of DATAFLOWS) {
    for (const [rows, cols] of [
      [8, 8],
      [5, 7],
      [64, 64],
    ]) {
      it(`closed form equals the schedule executed on the memory model (${df}, ${rows}x${cols}, every image variant)`, () => {
        const arr = { rows, cols, dataflow: df };
        for (const [v, ex] of images) {
          const mem = new MemorySystem(ex.romImage, ex.sramImage);
          const executed = executeSchedule(buildWorkload(g), arr, mem);
          const point = evaluate(g, { ...hw, array: arr }, tech, v);
          for (const op of point.ops) {
            if (op.kind !== 'gemm' || op.op === 'scores' || op.op === 'context') continue;
            const e = executed.perOp.get(`${op.layer}:${op.op}`)!;
            expect(e.rom + e.sram, `${v} ${op.layer}:${op.op}`).toBe(op.romBits + op.sramBits);
          }
          // weight matrices of writable variants come from SRAM, the rest from ROM
          const q = executed.perOp.get('0:query')!;
          if (v === 'full-ft') expect(q.rom).toBe(0);
          if (v === 'frozen') expect(q.sram).toBe(0);
        }
      });
    }
  }
  it('the workload has exactly the MACs the datapath counts in a forward pass', async () => {
    const ex = images.get('bitfit')!;
    const dp = new Datapath(new MemorySystem(ex.romImage, ex.sramImage), g, oracleEngine);
    await dp.forward(syntheticInput(g, 9, 2));
    expect(workloadMacs(buildWorkload(g))).toBe(dp.counts.macs);
  });
});
