/**
 * rtl-model/float-model.ts: a float model, what the exporter quantizes: HuggingFace parameter names
 * to row-major float data, from a checkpoint (sim/pipeline.ts) or seeded synthetic weights
 * (synthetic-weights.ts).
 */
import type { Geometry } from './spec/index.js';

/** A float model: HuggingFace parameter names to row-major float data. */
export interface FloatModel {
  geometry: Geometry;
  params: Map<string, Float32Array>;
  /** Where the weights came from (checkpoint path and hash, or synthetic seed). */
  source: Record<string, unknown>;
  /**
   * Parameters left out of `params` and made on demand (a lazy synthetic model's weight matrices
   * and embedding tables: synthetic-weights.ts). The exporter reads them from here; a parameter is
   * in `params` or here, never in both.
   */
  lazy?: LazyTensors;
}

/** Parameters made on demand, each exactly as a materialized Float32Array of its shape would hold it. */
export interface LazyTensors {
  has(name: string): boolean;
  shape(name: string): number[];
  /** Elements [start, start + out.length) of parameter `name`, row-major, into out. */
  read(name: string, start: number, out: Float32Array): void;
}

/** Parameter `name` of a model, materialized if it is a lazy one; undefined if it has none. */
export function floatParam(m: FloatModel, name: string): Float32Array | undefined {
  const a = m.params.get(name);
  if (a || !m.lazy?.has(name)) return a;
  const shape = m.lazy.shape(name);
  const out = new Float32Array(shape.reduce((x, y) => x * y, 1));
  m.lazy.read(name, 0, out);
  return out;
}
