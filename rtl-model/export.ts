/**
 * Quantize + export: float weights (a checkpoint's, or seeded synthetic weights with BERT-like
 * statistics) and calibration inputs become a ROM image and an SRAM task image.
 *
 * Quantization happens once, in this step, in four modules with one job each:
 *   synthetic-weights.ts  seeded synthetic float models and inputs (configs without a checkpoint, tests)
 *   quantize.ts           float to integer: weights, biases, requantization constants
 *                         (its loops over every weight in export-kernels.ts)
 *   calibrate.ts          activation scales, chosen on the integer graph itself
 *   export.ts             this file: the order of the steps, and the split into ROM and SRAM images
 * The functions other folders use are re-exported here.
 */
import { encodeImageDecoded, imageArena, modelTensors, writableTensors, type ImageTensor, type VariantId, type Image } from './spec/index.js';
import type { ForwardInput } from './datapath.js';
import type { GemmEngine } from './gemm/oracle.js';
import type { FloatModel } from './float-model.js';
import { quantizeBase, quantizeTask } from './quantize.js';
import { calibrate } from './calibrate.js';

export type { FloatModel } from './float-model.js';
export { BERT_INIT_STATS, gaussian, rng, syntheticInput, syntheticModel, syntheticTask, type SyntheticStats } from './synthetic-weights.js';
/** Float parameter names and shapes (defined with the model layout in the spec). */
export { floatParamShapes } from './spec/index.js';
// The exporter's version (results' `integer.images.exporterVersion`) is declared in formats/, which the readers share.
export { EXPORTER_VERSION, exporterVersionOf } from '../formats/exporter-version.js';

export interface ExportResult {
  rom: Uint8Array;
  sram: Uint8Array;
  romImage: Image;
  sramImage: Image;
  /**
   * biasSaturated: biases clamped to the bias width; ratioClamped: requantization ratios clamped;
   * weightSaturated: task weights beyond ±127 at the base model's scales (clamped; the head has its own).
   */
  stats: { biasSaturated: number; ratioClamped: number; weightSaturated: number; romBits: number; sramBits: number; calibrationMs: number };
}

/**
 * Export a base model for a variant: quantize weights, calibrate on `calib` with the integer
 * datapath, split tensors into ROM (everything the variant does not make writable) and SRAM.
 * If `task` is given, its writable tensors are quantized with the base model's scales into the
 * SRAM image (the ROM stays the base model's, as on a chip serving many tasks), except the
 * classification head, quantized at its own per-class scales (the SRAM image's logitScale): a
 * trained head outgrows its random initialisation's range, and nothing in ROM depends on its scale.
 */
export async function exportImages(base: FloatModel, variant: VariantId, calib: ForwardInput, engine: GemmEngine, task?: FloatModel): Promise<ExportResult> {
  const g = base.geometry;
  const writable = writableTensors(g, variant);
  // The ROM image's buffer, its tensors quantized in place: encoding it copies none of them.
  const arena = imageArena(modelTensors(g).filter((t) => !writable.has(t.name)));
  const st = quantizeBase(base, (name) => arena.arrays.get(name));
  const calibrationMs = await calibrate(st, base, variant, calib, engine);
  // The ROM's record of the head it was calibrated with (its logit scale) and of its own quantization,
  // taken before the task's tensors are quantized, so that the ROM does not depend on the task.
  const baseLogitScale = Array.from(st.biasScale.get('classifier.bias')!);
  const romStats = { biasSaturated: st.stats.biasSaturated, ratioClamped: st.stats.ratioClamped };
  if (task) quantizeTask(st, g, variant, task);
  const all = [...st.tensors.values()];
  const romTensors = all.filter((t) => !writable.has(t.name));
  const sramTensors = all.filter((t) => writable.has(t.name));
  const meta = {
    source: base.source,
    actScale: Object.fromEntries(st.actScale),
    logitScale: baseLogitScale,
    exporter: {
      biasSaturated: romStats.biasSaturated,
      ratioClamped: romStats.ratioClamped,
      calibration: 'one sequence, max-abs, sequential on the integer graph',
    },
  };
  // The images as decodeImage reads them back, without a second checksum pass or a copy: they share
  // the quantized arrays (the ROM's are views into its bytes), which nothing changes after this point.
  const { bytes: rom, image: romImage } = encodeImageDecoded('rom', g, variant, romTensors, meta, undefined, arena);
  const { bytes: sram, image: sramImage } = encodeImageDecoded(
    'sram',
    g,
    variant,
    sramTensors,
    { source: task?.source ?? base.source, logitScale: Array.from(st.biasScale.get('classifier.bias')!) },
    romImage.sha256,
  );
  const bits = (ts: ImageTensor[]): number => ts.reduce((s, t) => s + t.data.length * ({ i8: 8, u8: 8, i16: 16, i32: 32, b24: 24 } as const)[t.dtype], 0);
  return {
    rom,
    sram,
    romImage,
    sramImage,
    stats: {
      biasSaturated: st.stats.biasSaturated,
      ratioClamped: st.stats.ratioClamped,
      weightSaturated: st.stats.weightSaturated,
      romBits: bits(romTensors),
      sramBits: bits(sramTensors),
      calibrationMs,
    },
  };
}
