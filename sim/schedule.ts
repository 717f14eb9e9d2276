/**
 * Executes the schedule of a workload fold by fold against the datapath's memory model
 * (rtl-model/memory.ts): every weight tile fetched into the array and every bias added to a
 * finished output is a counted read of the ROM or SRAM that holds it. The closed-form counts the
 * cost model uses for fast sweeps must equal these (test/sim/schedule.test.ts).
 */
import type { MemorySystem } from '../rtl-model/memory.js';
import type { Op } from './workload.js';
import { foldWeightElements, planFolds, type ArrayShape } from './cycles.js';

export interface ExecutedCounts {
  /** Bits read per op name (layer-qualified), split by memory. */
  perOp: Map<string, { rom: number; sram: number }>;
}

export function executeSchedule(ops: Op[], arr: ArrayShape, mem: MemorySystem): ExecutedCounts {
  const perOp = new Map<string, { rom: number; sram: number }>();
  for (const op of ops) {
    const gm = op.gemm;
    if (!gm || !gm.weight) continue;
    const before = { rom: mem.counts.bitsRead.rom, sram: mem.counts.bitsRead.sram };
    const p = planFolds(arr, { m: gm.sr, n: gm.sc, k: gm.t });
    for (let c = 0; c < gm.count; c++) {
      for (let fc = 0; fc < p.colFolds; fc++) {
        const cu = Math.min(arr.cols, p.sc - fc * arr.cols);
        for (let fr = 0; fr < p.rowFolds; fr++) {
          const ru = Math.min(arr.rows, p.sr - fr * arr.rows);
          mem.read(gm.weight, foldWeightElements(arr.dataflow, ru, cu, p.t));
          // Outputs completed in this fold get their bias: every fold for OS (the reduction is
          // not folded), the last reduction fold for WS and IS.
          if (gm.bias) {
            if (arr.dataflow === 'os') mem.read(gm.bias, ru * cu);
            else if (fr === p.rowFolds - 1) mem.read(gm.bias, p.t * cu);
          }
        }
      }
    }
    perOp.set(`${op.layer}:${op.name}`, { rom: mem.counts.bitsRead.rom - before.rom, sram: mem.counts.bitsRead.sram - before.sram });
  }
  return { perOp };
}
