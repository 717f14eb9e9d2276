/**
 * The memory a verify run needs, estimated from the geometry before any work, so that a config too
 * large for the machine is refused with the estimate (exit 2) instead of dying hours in.
 *
 * From the tensor sizes of the spec (rtl-model/spec: modelTensors, imageLayoutBits,
 * floatParamShapes), with I = bytes of the ROM and SRAM images, T = elements of their tensors,
 * C = elements of the activations compared, F = float parameters, t = reference threads:
 *
 *   runtime      280 MB                     node, tsx, TensorFlow.js and its wasm backend, the GEMM engine's workers
 *   images       3 I                        the images read or exported, their decoding, the GEMM engine's packed weight slices
 *   reference    8 T                        the TensorFlow.js reference's tensors (float32 weights, int32 others)
 *                                           and the JS arrays they are built from
 *   activations  12 C                       int32 records of both implementations and the part inputs sent to threads
 *   threads      (t - 1) (64 MiB + 4.5 I)   each reference worker: a runtime, its copy of both images
 *                                           (structured clone), their decoding, its backend's heap
 *   export       4 F                        the float model (float32), when the images are exported (not cached, no --rom)
 *
 * C = layers (seqLen (4 hidden + ffn) + 2 heads seqLen^2) + 2 seqLen hidden.
 *
 * Checked against the peak resident set (GNU time's maximum RSS) of `sim/run.ts --verify` on a
 * 2-core machine (node 20, wasm backend, 2026-12), measured / estimated:
 *   rom-bert-base, cached images: 1 thread 1.61 / 1.66 GB, 2 threads 2.14 / 2.22 GB, 4 threads 3.57 / 3.35 GB;
 *   rom-bert-base, exporting: 1 thread 2.08 / 2.10 GB, 2 threads 2.65 / 2.66 GB;
 *   rom-bert-large, exporting, 2 threads: 6.64 / 7.35 GB; rom-bert-tiny, exporting, 2 threads: 0.45 / 0.44 GB.
 * So within about -6% to +11%: an estimate for refusing what cannot fit, not a promise.
 */
import { freemem, totalmem } from 'node:os';
import { floatParamShapes, imageLayoutBits, modelTensors, tensorElements, type Geometry, type VariantId } from '../rtl-model/spec/index.js';
import { formatBytes } from './sizes.js';

export interface MemoryEstimate {
  /** Total bytes. */
  bytes: number;
  /** The terms above, in bytes. */
  parts: { runtime: number; images: number; reference: number; activations: number; threads: number; export: number };
}

const MB = 1e6;
const MIB = 2 ** 20;

/** Elements of the activations a verify run records and compares (both implementations). */
export function activationElements(g: Geometry): number {
  return g.layers * (g.seqLen * (4 * g.hidden + g.ffn) + 2 * g.heads * g.seqLen * g.seqLen) + 2 * g.seqLen * g.hidden;
}

/** Estimate the peak memory of a verify run (see the formula above). */
export function estimateVerifyMemory(g: Geometry, variant: VariantId, opts: { threads: number; exporting: boolean }): MemoryEstimate {
  const bits = imageLayoutBits(g, variant);
  const imageBytes = (bits.rom + bits.sram) / 8;
  const tensors = modelTensors(g).reduce((s, t) => s + tensorElements(t.shape), 0);
  let floats = 0;
  for (const shape of floatParamShapes(g).values()) floats += tensorElements(shape);
  const parts = {
    runtime: 280 * MB,
    images: 3 * imageBytes,
    reference: 8 * tensors,
    activations: 12 * activationElements(g),
    threads: Math.max(0, opts.threads - 1) * (64 * MIB + 4.5 * imageBytes),
    export: opts.exporting ? 4 * floats : 0,
  };
  const bytes = Object.values(parts).reduce((a, b) => a + b, 0);
  return { bytes, parts };
}

/** "2.1 GiB (images 314 MiB, reference 837 MiB, ...)" */
export function describeEstimate(e: MemoryEstimate): string {
  const terms = Object.entries(e.parts)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${formatBytes(v)}`);
  return `${formatBytes(e.bytes)} (${terms.join(', ')})`;
}

export interface MemoryLimit {
  bytes: number;
  /** Where the limit comes from, for the message. */
  source: string;
}

/**
 * What a run may use: `--max-memory` when given, else the machine's memory (os.totalmem), or the
 * container's limit when it is lower (process.constrainedMemory, cgroups).
 */
export function memoryLimit(maxMemory?: number): MemoryLimit {
  if (maxMemory !== undefined) return { bytes: maxMemory, source: `--max-memory ${formatBytes(maxMemory)}` };
  const total = totalmem();
  const constrained = (process as unknown as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  if (constrained && constrained > 0 && constrained < total) return { bytes: constrained, source: `the ${formatBytes(constrained)} this container may use` };
  return { bytes: total, source: `the ${formatBytes(total)} this machine has` };
}

/** Bytes free now (os.freemem: on Linux the kernel's MemAvailable). */
export const freeMemory = (): number => freemem();
