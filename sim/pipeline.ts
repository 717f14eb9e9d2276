/**
 * The steps the CLI, the benchmark and the tests share: build a config's float model, export its
 * images for a variant, run both integer implementations and compare them.
 */
import type { Config } from './config.js';
import { geometryOf } from './config.js';
import { exportImages, syntheticModel, syntheticTask, syntheticInput, type ExportResult, type FloatModel } from '../rtl-model/export.js';
import { Datapath } from '../rtl-model/datapath.js';
import { MemorySystem } from '../rtl-model/memory.js';
import type { GemmEngine } from '../rtl-model/gemm/oracle.js';
import { SPEC_VERSION, type VariantId } from '../rtl-model/spec/index.js';
import { selectBackend, type BackendRequest } from '../trainer/backend.js';
import { TfjsIntReference } from '../trainer/int-reference.js';
import { compareTensors, type Comparison } from './verify.js';

const baseCache = new Map<string, FloatModel>();

/** The config's float model (synthetic, seeded); cached per geometry and seed within a process. */
export function floatModelFor(cfg: Config): FloatModel {
  const g = geometryOf(cfg.model);
  const key = JSON.stringify([g, cfg.model.syntheticSeed]);
  let m = baseCache.get(key);
  if (!m) {
    m = syntheticModel(g, cfg.model.syntheticSeed);
    baseCache.set(key, m);
  }
  return m;
}

/** Export ROM + SRAM images of a config for a variant (task = synthetic perturbation of the base). */
export async function imagesFor(cfg: Config, variant: VariantId, engine: GemmEngine, taskSeed = cfg.model.syntheticSeed + 1): Promise<ExportResult> {
  const base = floatModelFor(cfg);
  const g = base.geometry;
  return exportImages(base, variant, syntheticInput(g, cfg.verify.calibrationSeed), engine, syntheticTask(base, variant, taskSeed));
}

export interface VerifyReport extends Omit<Comparison, 'perTensor'> {
  backend: string;
  backendFallbacks: { name: string; error: string }[];
  gemmEngine: string;
  specVersion: number;
  config: { name: string; sha256: string };
  variant: VariantId;
  inputSeed: number;
  perTensor: Comparison['perTensor'];
  timingsMs: { datapath: number; reference: number };
}

export async function verifyImages(
  cfg: Config,
  ex: ExportResult,
  variant: VariantId,
  engine: GemmEngine,
  backend: BackendRequest,
  inputSeed: number,
): Promise<VerifyReport> {
  const g = geometryOf(cfg.model);
  const input = syntheticInput(g, inputSeed, cfg.verify.padTail);
  const t0 = performance.now();
  const dp = new Datapath(new MemorySystem(ex.romImage, ex.sramImage), g, engine);
  const a = await dp.forward(input);
  const t1 = performance.now();
  const choice = await selectBackend(backend);
  const ref = new TfjsIntReference(ex.romImage, ex.sramImage);
  let b: Map<string, Int32Array>;
  try {
    b = ref.forward(input);
  } finally {
    ref.dispose();
  }
  const t2 = performance.now();
  const cmp = compareTensors(a, b);
  return {
    ...cmp,
    backend: choice.name,
    backendFallbacks: choice.fallbacks,
    gemmEngine: engine.name,
    specVersion: SPEC_VERSION,
    config: { name: cfg.name, sha256: cfg.sha256 },
    variant,
    inputSeed,
    timingsMs: { datapath: t1 - t0, reference: t2 - t1 },
  };
}
