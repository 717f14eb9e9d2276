/**
 * Design-space sweeps on the analytic path (no datapath execution): array shapes x dataflows x
 * variants x technology nodes for one model geometry.
 */
import type { Geometry } from '../rtl-model/spec/index.js';
import { DATAFLOWS, type Dataflow, type HardwareConfig } from './config.js';
import { evaluate, type DesignPoint } from './costs.js';
import { buildWorkload } from './workload.js';
import { SIM_VARIANTS, type SimVariantId } from './variants.js';
import { loadTech, listTechNodes, TechModel } from './tech.js';

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
