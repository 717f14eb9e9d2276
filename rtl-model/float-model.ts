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
}
