/**
 * Analytic evaluation of one design point: the workload's schedule on the hardware (cycles per
 * op, access counts) and its area and energy per inference from a technology table, for one
 * variant. Pure functions of (geometry, hardware, tech, variant): a design point costs
 * milliseconds, so sweeps of thousands are cheap.
 */
import type { ReportCounts, ReportMemory } from '../formats/report-schema.js';
import type { Geometry } from '../rtl-model/spec/index.js';
import type { HardwareConfig } from './config.js';
import { buildWorkload, type Op } from './workload.js';
import { gemmCycles, type ArrayShape } from './cycles.js';
import { storagePlan, type SimVariantId, type StoragePlan } from './variants.js';
import type { TechModel } from './tech.js';
import { memoryCost, type MemoryCost, type MemoryKind } from './memory.js';

const BIAS_BITS = 24;
const ACT_BITS = 8;
const PSUM_BITS = 32;
/** Fixed latency of the LayerNorm unit's per-row isqrt (16 steps) and reciprocal (12 steps). */
const LN_ROW_LATENCY = 28;

export interface OpResult {
  layer: number;
  op: string;
  kind: Op['kind'];
  cycles: number;
  /** Cycles not hidden behind the producing GEMM (what the op adds to the latency). */
  addedCycles: number;
  stallCycles: number;
  utilization: number;
  macs: number;
  romBits: number;
  sramBits: number;
  bufferBits: number;
  dramBits: number;
}

/** Access and operation counts per inference: the report's own type (formats/report-schema.ts), declared once. */
export type Counts = ReportCounts;

export interface Breakdown {
  total: number;
  [part: string]: number;
}

export interface DesignPoint {
  variant: SimVariantId;
  plan: StoragePlan;
  ops: OpResult[];
  counts: Counts;
  cycles: number;
  latencyUs: number;
  inferencesPerS: number;
  areaMm2: Breakdown;
  energyUJ: Breakdown;
  taskSwitch: { cycles: number; energyUJ: number; source: string };
  /** Task images that fit in one MiB of on-chip SRAM. */
  tasksPerMiB: number;
  /** On-chip SRAM area of one more stored task image. */
  perTaskAreaMm2: number;
  /** Processing elements of the array (rows x cols). */
  arrayPEs: number;
  /** Every on-chip memory of the design, as the banked memory model (sim/memory.ts) organises it. */
  memories: Record<string, MemoryUse>;
}

/** One storage class: `count` identical memories, and the wire from their ports to the MAC array (fields: formats/report-schema.ts ReportMemory). */
export interface MemoryUse extends ReportMemory {
  kind: MemoryKind;
}

/** A count past 2^53 - 1, where doubles stop counting exactly: the design point is too large to cost (bad input, not a bug). */
export class CountOverflowError extends RangeError {
  constructor(
    readonly counter: string,
    readonly count: number,
  ) {
    super(`counter ${counter} = ${count} is past 2^53 - 1, where counts stop being exact`);
    this.name = 'CountOverflowError';
  }
}

function checkCount(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`counter ${name} = ${v} is negative or not finite`);
  if (!Number.isSafeInteger(Math.round(v))) throw new CountOverflowError(name, v);
  return v;
}

/** Evaluate one variant of a design point: its schedule (scheduleOf), then its costs (costOf). */
export function evaluate(g: Geometry, hw: HardwareConfig, tech: TechModel, variant: SimVariantId, ops: Op[] = buildWorkload(g)): DesignPoint {
  return costOf(scheduleOf(g, hw, variant, ops), hw, tech);
}

/**
 * The part of a design point that no technology constant touches: the storage plan, the cycles and
 * accesses of every op, the counts and the latency. costOf adds the area, energy and task switch
 * from a technology table, so an analysis that varies constants (sim/report.ts uncertaintyOf)
 * schedules each variant once and re-costs only this.
 */
export interface Schedule {
  variant: SimVariantId;
  plan: StoragePlan;
  ops: OpResult[];
  counts: Counts;
  cycles: number;
  latencyUs: number;
}

/** The schedule of one variant on the hardware (no technology table needed). */
export function scheduleOf(g: Geometry, hw: HardwareConfig, variant: SimVariantId, ops: Op[] = buildWorkload(g)): Schedule {
  const plan = storagePlan(g, variant);
  const arr: ArrayShape = hw.array;
  const romBW = hw.rom.banks * hw.rom.wordBits * hw.rom.readPorts;
  const dramBitsPerCycle = (hw.dram.bandwidthGBs * 8e9) / (hw.clockMHz * 1e6);
  const weightSource = plan.dramBitsPerInference > 0 ? 'dram' : plan.weightsInSram ? 'sram' : 'rom';
  const weightBW = weightSource === 'dram' ? dramBitsPerCycle : romBW; // a weight SRAM is organised like the ROM it replaces
  const bufBW = hw.buffers.bandwidthBitsPerCycle;
  const nl = hw.nonlinear;
  const rate = (u: { units: number; elementsPerCycle: number }): number => u.units * u.elementsPerCycle;
  const c: Counts = {
    macs: 0,
    correctionMacs: 0,
    romBitsRead: 0,
    sramBitsRead: 0,
    patchBitsRead: 0,
    bufferBitsRead: 0,
    bufferBitsWritten: 0,
    dramBitsRead: 0,
    lutLookups: 0,
    requants: 0,
    lnElements: 0,
    rowOps: 0,
  };
  const results: OpResult[] = [];
  const patchPerWeight = plan.patch ? plan.patch.entries / encoderWeights(g) : 0;
  const sramRowFraction = plan.sramRows ? (plan.sramRows * g.hidden) / encoderWeights(g) : 0;
  let prevGemmCycles = 0;
  for (const op of ops) {
    const r: OpResult = {
      layer: op.layer,
      op: op.name,
      kind: op.kind,
      cycles: 0,
      addedCycles: 0,
      stallCycles: 0,
      utilization: 0,
      macs: 0,
      romBits: 0,
      sramBits: 0,
      bufferBits: 0,
      dramBits: 0,
    };
    if (op.gemm) {
      const gm = op.gemm;
      const fromAct = gm.weightFromActivations;
      const shape = { m: gm.sr, n: gm.sc, k: gm.t };
      const gc = gemmCycles(arr, shape, {
        weightBitsPerCycle: fromAct ? bufBW : weightBW,
        bufferBitsPerCycle: bufBW,
        weightBits: ACT_BITS,
        inputBits: ACT_BITS,
        outputBits: Math.ceil(gm.t / (arr.dataflow === 'os' ? Infinity : arr.rows)) > 1 ? PSUM_BITS : ACT_BITS,
      });
      const n = gm.count;
      r.cycles = gc.cycles * n;
      r.addedCycles = r.cycles;
      r.stallCycles = gc.stallCycles * n;
      r.utilization = gc.utilization;
      r.macs = gc.macs * n;
      const wBits = gc.accesses.weightReads * ACT_BITS * n;
      const outBits = gc.accesses.outputWrites * (gc.plan.rowFolds > 1 && arr.dataflow !== 'os' ? PSUM_BITS : ACT_BITS) * n;
      r.bufferBits = gc.accesses.inputReads * ACT_BITS * n + outBits;
      c.bufferBitsRead += gc.accesses.inputReads * ACT_BITS * n;
      c.bufferBitsWritten += outBits;
      if (fromAct) {
        r.bufferBits += wBits;
        c.bufferBitsRead += wBits;
      } else if (weightSource === 'dram') {
        r.dramBits = wBits;
        c.dramBitsRead += wBits;
      } else if (weightSource === 'sram') {
        r.sramBits = wBits;
      } else {
        // rand-rowcol: a fraction of the encoder's rows sits in SRAM instead of ROM
        const isEncoder = op.layer >= 0 && op.layer < g.layers;
        const sramPart = isEncoder ? Math.round(wBits * sramRowFraction) : 0;
        r.sramBits = sramPart;
        r.romBits = wBits - sramPart;
      }
      if (gm.bias) {
        // one bias per output element, added as the accumulator leaves the array
        // (ROM-resident biases are read as often; they are costed at the register/SRAM rate)
        r.sramBits += gm.sr * gm.sc * BIAS_BITS * n;
      }
      // rand-uniform: each patched weight of this matrix adds Sr correction MACs
      if (plan.patch && gm.weight && op.layer >= 0 && op.layer < g.layers) {
        const patched = gm.sc * gm.t * patchPerWeight;
        const corr = patched * gm.sr;
        c.correctionMacs += corr;
        const corrCycles = Math.ceil(corr / hw.patch.macsPerCycle);
        const extra = Math.max(0, corrCycles - r.cycles); // the correction unit runs beside the array
        r.cycles += extra;
        r.addedCycles += extra;
        c.patchBitsRead += Math.round(patched * plan.patch.entryBits);
      }
      c.macs += r.macs;
      c.requants += gm.sr * gm.sc * n;
      prevGemmCycles = r.cycles;
    } else {
      switch (op.kind) {
        case 'softmax':
          r.cycles = Math.ceil((3 * op.elements) / rate(nl.exp)); // max, exp + sum, normalize
          // head h's softmax overlaps head h+1's score GEMM: only the excess adds latency
          r.addedCycles = Math.max(0, r.cycles - prevGemmCycles);
          c.lutLookups += op.elements;
          c.requants += 2 * op.elements;
          c.rowOps += op.rows;
          break;
        case 'gelu':
        case 'tanh':
          r.cycles = Math.ceil(op.elements / rate(nl.gelu));
          r.addedCycles = Math.max(0, r.cycles - prevGemmCycles); // table look-up in the GEMM's output path
          c.lutLookups += op.elements;
          break;
        case 'layernorm':
          r.cycles = Math.ceil((2 * op.elements) / rate(nl.layerNorm)) + LN_ROW_LATENCY;
          r.addedCycles = r.cycles;
          c.lnElements += op.elements;
          c.requants += 2 * op.elements + op.rows;
          c.rowOps += op.rows;
          r.sramBits = op.elements * BIAS_BITS; // the LayerNorm bias per element
          break;
        case 'residual':
          // two requantized terms summed on the way into the LayerNorm unit: no extra cycles
          c.requants += 2 * op.elements;
          r.bufferBits = op.elements * ACT_BITS;
          c.bufferBitsRead += r.bufferBits;
          break;
        case 'embed': {
          const bits = op.elements * ACT_BITS;
          r.cycles = Math.ceil(bits / (weightSource === 'dram' ? dramBitsPerCycle : romBW));
          r.addedCycles = r.cycles;
          if (weightSource === 'dram') r.dramBits = bits;
          else if (weightSource === 'sram') r.sramBits = bits;
          else r.romBits = bits;
          c.requants += op.elements;
          break;
        }
      }
    }
    c.romBitsRead += r.romBits;
    c.sramBitsRead += r.sramBits;
    if (r.dramBits) c.dramBitsRead += op.gemm ? 0 : r.dramBits;
    results.push(r);
  }
  // dram-stream: the non-weight parameters (biases, LayerNorm, constants, tables) stream too.
  if (plan.dramBitsPerInference > 0) c.dramBitsRead = Math.max(c.dramBitsRead, plan.dramBitsPerInference);
  for (const [k, v] of Object.entries(c)) checkCount(k, v);
  const cycles = checkCount(
    'cycles',
    results.reduce((s, r) => s + r.addedCycles, 0),
  );
  if (cycles <= 0) throw new RangeError(`design point has ${cycles} cycles`);
  return { variant, plan, ops: results, counts: c, cycles, latencyUs: cycles / hw.clockMHz };
}

/** A schedule's area, energy and task switch from a technology table: the design point. */
export function costOf(s: Schedule, hw: HardwareConfig, tech: TechModel): DesignPoint {
  const { variant, plan, counts: c, cycles, latencyUs } = s;
  const mems = memoriesOf(hw, tech, plan);
  const area = areaOf(hw, tech, plan, mems);
  const energy = energyOf(tech, c, latencyUs, area.bits, mems);
  const ts = taskSwitch(hw, tech, plan, variant, mems);
  return {
    variant,
    plan,
    ops: s.ops,
    counts: c,
    cycles,
    latencyUs,
    inferencesPerS: 1e6 / latencyUs,
    areaMm2: area.mm2,
    energyUJ: energy,
    taskSwitch: ts,
    tasksPerMiB: Math.floor((8 * 2 ** 20) / plan.taskImageBits),
    perTaskAreaMm2: plan.taskImageBits * mems.taskStoragePerBitMm2,
    arrayPEs: hw.array.rows * hw.array.cols,
    memories: mems.uses,
  };
}

/**
 * Task images kept on chip beside the active one: hardware.taskStorage.tasks for the designs whose
 * image is small; none for full-ft (a conventional design keeps one model and reloads it from DRAM)
 * and dram-stream (everything stays in DRAM).
 */
export function tasksOnChip(hw: HardwareConfig, plan: StoragePlan): number {
  return plan.weightsInSram || plan.dramBitsPerInference > 0 ? 0 : hw.taskStorage.tasks;
}

function encoderWeights(g: Geometry): number {
  return g.layers * (4 * g.hidden * g.hidden + 2 * g.hidden * g.ffn);
}

function positive(b: Breakdown, what: string): Breakdown {
  for (const [k, v] of Object.entries(b)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${what}.${k} = ${v}: a cost must be finite and non-negative`);
  }
  if (!(b.total > 0)) throw new RangeError(`${what}.total = ${b.total}: zero ${what} is not a real design`);
  return b;
}

interface OnChipBits {
  rom: number;
  sram: number;
  buffers: number;
  taskStorage: number;
}

interface Memories {
  uses: Record<string, MemoryUse>;
  /** Area per stored task-image bit of the task storage (mm²/bit). */
  taskStoragePerBitMm2: number;
  /** One exp-table look-up (8 bits from a 1 KiB ROM), pJ. */
  lutReadPJ: number;
}

/** One storage class of `count` memories of `capacityBits` in all. */
function useOf(t: TechModel, kind: MemoryKind, capacityBits: number, count: number, wordBits: number, bankKB: number | undefined): MemoryUse {
  const n = Math.max(1, count);
  const m: MemoryCost = memoryCost(t, { kind, capacityBits: Math.max(1, capacityBits / n), wordBits, bankKB });
  const areaMm2 = capacityBits > 0 ? n * m.areaMm2 : 0;
  const arrayWireMm = t.c('arrayWireFactor') * Math.sqrt(areaMm2);
  const wire = t.f('wirePJPerBitMm') * arrayWireMm;
  return {
    kind,
    count: capacityBits > 0 ? n : 0,
    capacityBytes: capacityBits / 8,
    wordBits,
    banks: m.banks,
    bankBytes: m.bankBytes,
    readEnergyPJ: m.readEnergyPJ,
    readPJPerBit: m.readPJPerBit + wire,
    writePJPerBit: kind === 'rom' ? 0 : m.writePJPerBit + wire,
    areaMm2,
    wireMm: m.wireMm,
    arrayWireMm,
  };
}

/**
 * Every memory of a design point, organised by one set of rules (sim/memory.ts): the ROM as
 * hardware.rom.banks memories of rom.wordBits; full-ft's weight SRAM exactly like the ROM it
 * replaces; the other writable bits (biases, patch memory, writable rows) as hardware.biasSram;
 * the stored task images; and the two activation buffers.
 */
function memoriesOf(hw: HardwareConfig, t: TechModel, plan: StoragePlan): Memories {
  const writable = plan.weightsInSram
    ? useOf(t, 'sram', plan.writableBits, hw.rom.banks, hw.rom.wordBits, hw.rom.bankKB)
    : useOf(t, 'sram', plan.writableBits, hw.biasSram.banks, hw.biasSram.wordBits, hw.biasSram.bankKB);
  const tasks = tasksOnChip(hw, plan);
  const taskStorage = useOf(t, 'sram', tasks * plan.taskImageBits, 1, hw.biasSram.wordBits, hw.taskStorage.bankKB);
  // area per image bit of a task storage holding the configured number of images (also for designs that keep none)
  const perTask = useOf(t, 'sram', hw.taskStorage.tasks * plan.taskImageBits, 1, hw.biasSram.wordBits, hw.taskStorage.bankKB);
  const bufWord = Math.max(8, Math.floor(hw.buffers.bandwidthBitsPerCycle / 2));
  const buffers = useOf(t, 'sram', (hw.buffers.ifmapKB + hw.buffers.ofmapKB) * 8192, 2, bufWord, hw.buffers.bankKB);
  const lut = memoryCost(t, { kind: 'rom', capacityBits: 256 * 32, wordBits: 8 });
  return {
    uses: { rom: useOf(t, 'rom', plan.romBits, hw.rom.banks, hw.rom.wordBits, hw.rom.bankKB), writableSram: writable, taskStorage, buffers },
    taskStoragePerBitMm2: plan.taskImageBits > 0 ? perTask.areaMm2 / (hw.taskStorage.tasks * plan.taskImageBits) : 0,
    lutReadPJ: lut.readEnergyPJ,
  };
}

function areaOf(hw: HardwareConfig, t: TechModel, plan: StoragePlan, mems: Memories): { mm2: Breakdown; bits: OnChipBits } {
  const um2 = 1e-6;
  const bufferBits = (hw.buffers.ifmapKB + hw.buffers.ofmapKB) * 8192;
  const taskStorageBits = tasksOnChip(hw, plan) * plan.taskImageBits;
  const mac = hw.array.rows * hw.array.cols * t.f('macAreaUm2') * um2;
  const nl = hw.nonlinear;
  const nonlinear =
    (nl.gelu.units * nl.gelu.elementsPerCycle * t.c('geluUnitAreaUm2') +
      nl.exp.units * nl.exp.elementsPerCycle * t.c('expUnitAreaUm2') +
      nl.layerNorm.units * nl.layerNorm.elementsPerCycle * t.c('lnUnitAreaUm2')) *
    um2;
  const correction = plan.patch ? hw.patch.macsPerCycle * t.f('macAreaUm2') * um2 : 0;
  const u = mems.uses;
  const parts: Breakdown = {
    rom: u.rom.areaMm2,
    writableSram: u.writableSram.areaMm2,
    taskStorage: u.taskStorage.areaMm2,
    buffers: u.buffers.areaMm2,
    macArray: mac,
    nonlinear,
    correction,
    control: (mac + nonlinear + correction) * t.c('controlAreaFraction'),
    total: 0,
  };
  parts.total = Object.entries(parts).reduce((s, [k, v]) => (k === 'total' ? s : s + v), 0);
  return { mm2: positive(parts, 'areaMm2'), bits: { rom: plan.romBits, sram: plan.writableBits, buffers: bufferBits, taskStorage: taskStorageBits } };
}

function energyOf(t: TechModel, c: Counts, latencyUs: number, bits: OnChipBits, mems: Memories): Breakdown {
  const pj = 1e-6; // pJ -> uJ
  const u = mems.uses;
  const leakNW = bits.rom * t.c('romLeakageNWPerBit') + (bits.sram + bits.buffers + bits.taskStorage) * t.c('sramLeakageNWPerBit');
  const parts: Breakdown = {
    macs: (c.macs + c.correctionMacs) * t.f('macEnergyPJ') * pj,
    rom: c.romBitsRead * u.rom.readPJPerBit * pj,
    writableSram: (c.sramBitsRead + c.patchBitsRead) * u.writableSram.readPJPerBit * pj,
    buffers: (c.bufferBitsRead * u.buffers.readPJPerBit + c.bufferBitsWritten * u.buffers.writePJPerBit) * pj,
    nonlinear:
      (c.lutLookups * mems.lutReadPJ + c.requants * t.f('requantEnergyPJ') + c.lnElements * 2 * t.f('macEnergyPJ') + c.rowOps * 40 * t.f('add32EnergyPJ')) * pj,
    dram: c.dramBitsRead * t.c('dramPJPerBit') * pj,
    leakage: leakNW * 1e-9 * latencyUs * 1e-6 * 1e6, // W * s -> J -> uJ
    total: 0,
  };
  parts.total = Object.entries(parts).reduce((s, [k, v]) => (k === 'total' ? s : s + v), 0);
  return positive(parts, 'energyUJ');
}

function taskSwitch(
  hw: HardwareConfig,
  t: TechModel,
  plan: StoragePlan,
  variant: SimVariantId,
  mems: Memories,
): { cycles: number; energyUJ: number; source: string } {
  if (plan.dramBitsPerInference > 0) {
    return { cycles: 0, energyUJ: 0, source: 'every parameter streams from DRAM on each inference; switching tasks changes a DRAM base address' };
  }
  const bits = plan.taskImageBits;
  const cycles = Math.ceil(bits / hw.taskLoad.bandwidthBitsPerCycle);
  const energyUJ = bits * (t.c('dramPJPerBit') + mems.uses.writableSram.writePJPerBit) * 1e-6;
  const what = variant === 'full-ft' ? 'all weights and biases' : 'the task image';
  return {
    cycles,
    energyUJ,
    source: `${what} (${bits} bits) read from DRAM and written into on-chip SRAM over the ${hw.taskLoad.bandwidthBitsPerCycle}-bit task-load interface`,
  };
}
