/**
 * Design-space sweeps on the analytic path (no datapath execution): array shapes x dataflows x
 * variants x technology nodes for one model geometry (`sweep`, the benchmark's), and one chunk of an
 * exploration's cross product (`evaluateChunk`: sim/explore.ts, its threads and the queue's workers).
 */
import type { Geometry } from '../rtl-model/spec/index.js';
import { DATAFLOWS, type Dataflow, type HardwareConfig } from './config.js';
import { evaluate, type DesignPoint } from './costs.js';
import { buildWorkload, type Op } from './workload.js';
import { SIM_VARIANTS, type SimVariantId } from './variants.js';
import { loadTech, listTechNodes, TechModel } from './tech.js';
import { hardwareAt, pointAt, type ExploreAxes, type SpacePoint } from './explore-space.js';
import { InputError } from '../formats/errors.js';

export interface SweepAxis {
  arrays: [number, number][];
  dataflows: Dataflow[];
  variants: SimVariantId[];
  nodes: string[];
}

export const DEFAULT_ARRAYS: [number, number][] = [8, 16, 32, 64, 128, 256].flatMap((r) => [16, 64, 256].map((c) => [r, c] as [number, number]));

export function defaultAxes(): SweepAxis {
  return { arrays: DEFAULT_ARRAYS, dataflows: [...DATAFLOWS], variants: [...SIM_VARIANTS], nodes: listTechNodes() };
}

export interface SweepPoint {
  rows: number;
  cols: number;
  dataflow: Dataflow;
  node: string;
  point: DesignPoint;
}

/** Evaluate up to `limit` points of the cross product, in axis order. */
export function sweep(g: Geometry, hw: HardwareConfig, axes: SweepAxis, limit = Infinity): SweepPoint[] {
  const ops = buildWorkload(g);
  const techs = new Map(axes.nodes.map((n) => [n, new TechModel(loadTech(n))]));
  const out: SweepPoint[] = [];
  for (const node of axes.nodes) {
    for (const [rows, cols] of axes.arrays) {
      for (const dataflow of axes.dataflows) {
        for (const v of axes.variants) {
          if (out.length >= limit) return out;
          const h: HardwareConfig = { ...hw, technology: node, array: { rows, cols, dataflow } };
          out.push({ rows, cols, dataflow, node, point: evaluate(g, h, techs.get(node)!, v, ops) });
        }
      }
    }
  }
  return out;
}

/** What one sweep chunk evaluates: points [start, end) of the axes' cross product on the base hardware. */
export interface ChunkSpec {
  geometry: Geometry;
  hardware: HardwareConfig;
  axes: ExploreAxes;
  start: number;
  end: number;
}

/** A chunk's figures: one row per point, the columns named once (snake_case, units in the names). */
export interface ChunkResult {
  columns: string[];
  rows: (number | string)[][];
}

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Every figure of one design point, in a fixed column order (breakdown parts and counts as the cost model names them). */
export function pointRecord(index: number, p: SpacePoint, d: DesignPoint): [string, number | string][] {
  const parts = (b: Record<string, number>, prefix: string, unit: string): [string, number][] =>
    Object.entries(b)
      .filter(([k]) => k !== 'total')
      .map(([k, v]) => [`${prefix}_${snake(k)}_${unit}`, v]);
  return [
    ['index', index],
    ['variant', p.variant],
    ['tech', p.node],
    ['rows', p.rows],
    ['cols', p.cols],
    ['dataflow', p.dataflow],
    ['buffer_kb', p.bufferKB],
    ['rom_banks', p.romBanks],
    ['sram_banks', p.sramBanks],
    ['clock_mhz', p.clockMHz],
    ['cycles', d.cycles],
    ['latency_us', d.latencyUs],
    ['inferences_per_s', d.inferencesPerS],
    ['utilization', d.counts.macs / (d.cycles * d.arrayPEs)],
    ['area_mm2', d.areaMm2.total],
    ...parts(d.areaMm2, 'area', 'mm2'),
    ['energy_uj', d.energyUJ.total],
    ...parts(d.energyUJ, 'energy', 'uj'),
    ['task_switch_cycles', d.taskSwitch.cycles],
    ['task_switch_energy_uj', d.taskSwitch.energyUJ],
    ['task_image_bits', d.plan.taskImageBits],
    ['tasks_per_mib', d.tasksPerMiB],
    ['per_task_area_mm2', d.perTaskAreaMm2],
    ...Object.entries(d.counts).map(([k, v]): [string, number] => [snake(k), v]),
  ];
}

const techCache = new Map<string, TechModel>();
const workloadCache = new Map<string, Op[]>();

/**
 * Evaluate points [start, end) of the cross product (sim/explore-space.ts order). A pure function of
 * its data: the local explorer's threads and the queue's workers both run it, so their rows are the same.
 * A point the cost model cannot cost (e.g. a count past 2^53) is an InputError naming the point.
 */
export function evaluateChunk(spec: ChunkSpec): ChunkResult {
  const gk = JSON.stringify(spec.geometry);
  let ops = workloadCache.get(gk);
  if (!ops) workloadCache.set(gk, (ops = buildWorkload(spec.geometry)));
  let columns: string[] | null = null;
  const rows: (number | string)[][] = [];
  for (let i = spec.start; i < spec.end; i++) {
    const p = pointAt(spec.axes, i);
    let tech = techCache.get(p.node);
    if (!tech) techCache.set(p.node, (tech = new TechModel(loadTech(p.node))));
    let d: DesignPoint;
    try {
      d = evaluate(spec.geometry, hardwareAt(spec.hardware, p), tech, p.variant, ops);
    } catch (e) {
      if (e instanceof RangeError)
        throw new InputError(`point ${i}`, `${p.variant} ${p.node} ${p.rows}x${p.cols} ${p.dataflow}`, `cannot be costed: ${e.message}`);
      throw e;
    }
    const rec = pointRecord(i, p, d);
    if (columns === null) columns = rec.map(([k]) => k);
    else if (rec.length !== columns.length || rec.some(([k], j) => k !== columns![j]))
      throw new Error(`point ${i}: its figures are not those of the chunk's first point`);
    rows.push(rec.map(([, v]) => v));
  }
  return { columns: columns ?? [], rows };
}
