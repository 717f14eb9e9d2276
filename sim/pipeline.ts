/**
 * The steps the CLI, the benchmark and the tests share: build a config's float model, export its
 * images for a variant, run both integer implementations and compare them.
 */
import type { Config } from './config.js';
import { checkpointDir, geometryOf } from './config.js';
import { readSafetensors } from '../formats/safetensors.js';
import { validateAgainstShapes } from '../formats/hf-checkpoint.js';
import { exportImages, syntheticModel, syntheticTask, syntheticInput, type ExportResult, type FloatModel } from '../rtl-model/export.js';
import { floatParam } from '../rtl-model/float-model.js';
import { Datapath } from '../rtl-model/datapath.js';
import { MemorySystem } from '../rtl-model/memory.js';
import type { GemmEngine } from '../rtl-model/gemm/oracle.js';
import { SPEC_VERSION, floatParamShapes, type Geometry, type VariantId } from '../rtl-model/spec/index.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { selectBackend, type AdapterInfo, type BackendChoice, type BackendRequest } from '../trainer/backend.js';
import type { CachedFiles, ImageCache } from './cache.js';
import type { ReferenceParts } from '../trainer/int-reference.js';
import { runReferenceLayerwise } from '../trainer/int-reference-pool.js';
import { compareTensors, type Comparison } from './verify.js';
import { checkpointSha256 } from './checkpoint-sha.js';

export { checkpointSha256 };

const baseCache = new Map<string, FloatModel>();

/**
 * The config's float model: its checkpoint's weights (the pretraining head cls.* left out), or
 * seeded synthetic weights; cached per geometry and seed or checkpoint within a process.
 */
export function floatModelFor(cfg: Config): FloatModel {
  const g = geometryOf(cfg.model);
  const key = JSON.stringify([g, cfg.model.checkpoint ?? cfg.model.syntheticSeed]);
  let m = baseCache.get(key);
  if (!m) {
    m = cfg.model.checkpoint === null ? syntheticModel(g, cfg.model.syntheticSeed) : checkpointModel(g, cfg.model.checkpoint, cfg.model.syntheticSeed);
    baseCache.set(key, m);
  }
  return m;
}

/**
 * A checkpoint's weights. Its task head (classifier.*) is not used: a pre-training checkpoint's head
 * is no task's, and the config's numLabels may differ; the head, and a pooler the checkpoint lacks
 * (HF BertForMaskedLM saves none), come from the seeded synthetic model, as a task image would.
 */
function checkpointModel(g: Geometry, checkpoint: string, seed: number): FloatModel {
  const file = join(checkpointDir(checkpoint), 'model.safetensors');
  const head = ['classifier.weight', 'classifier.bias'];
  const synthetic = ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', ...head];
  const all = readSafetensors(file).tensors;
  const tensors = validateAgainstShapes(new Map([...all].filter(([k]) => !head.includes(k))), floatParamShapes(g), file, { optional: synthetic });
  const params = new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array]));
  const filled = synthetic.filter((k) => !params.has(k));
  // the synthetic model's weight matrices made on demand: only the pooler's (if filled) is needed
  const syn = syntheticModel(g, seed, undefined, { lazyWeights: true });
  for (const k of filled) params.set(k, floatParam(syn, k)!);
  return { geometry: g, params, source: { kind: 'checkpoint', path: checkpoint, sha256: checkpointSha256(checkpoint), synthetic: filled } };
}

/**
 * Export ROM + SRAM images of a config for a variant (task = synthetic perturbation of the base),
 * or read them back from the cache when it holds them (a damaged entry is rebuilt: sim/cache.ts).
 */
export async function imagesFor(
  cfg: Config,
  variant: VariantId,
  engine: GemmEngine,
  cache?: ImageCache,
): Promise<ExportResult & { cached: boolean; cachedFiles?: CachedFiles }> {
  const taskSeed = cfg.model.syntheticSeed + 1;
  const g = geometryOf(cfg.model);
  const key = cache ? cacheKey(g, cfg, variant, taskSeed) : null;
  if (cache && key) {
    const hit = cache.read(key, g, variant);
    if (hit) {
      const { files, ...images } = hit;
      return { ...images, cached: true, cachedFiles: files };
    }
  }
  // A synthetic base is made with its weight matrices on demand: the exporter quantizes them row by
  // row as it makes them, never holding the float model's 4 bytes per weight (same values, same images).
  const base = cfg.model.checkpoint === null ? syntheticModel(g, cfg.model.syntheticSeed, undefined, { lazyWeights: true }) : floatModelFor(cfg);
  const ex = await exportImages(base, variant, syntheticInput(g, cfg.verify.calibrationSeed), engine, syntheticTask(base, variant, taskSeed));
  if (cache && key) cache.write(key, ex);
  return { ...ex, cached: false };
}

/**
 * Images depend only on the geometry, the seeds, the variant and the code that makes them; the
 * cache key hashes all of these, including the exporter's and the datapath's sources, so a code
 * change never reuses a stale image.
 */
function cacheKey(g: Geometry, cfg: Config, variant: VariantId, taskSeed: number): string {
  const h = createHash('sha256');
  const weights = cfg.model.checkpoint === null ? { seed: cfg.model.syntheticSeed } : { checkpoint: checkpointSha256(cfg.model.checkpoint) };
  h.update(JSON.stringify({ g, ...weights, calib: cfg.verify.calibrationSeed, variant, taskSeed, spec: SPEC_VERSION }));
  for (const f of EXPORT_SOURCES) h.update(readFileSync(new URL(f, import.meta.url)));
  return h.digest('hex').slice(0, 24);
}

const EXPORT_SOURCES = [
  '../rtl-model/export.ts',
  '../rtl-model/quantize.ts',
  '../rtl-model/export-kernels.ts',
  '../rtl-model/calibrate.ts',
  '../rtl-model/synthetic-weights.ts',
  '../rtl-model/float-model.ts',
  '../rtl-model/datapath.ts',
  '../rtl-model/memory.ts',
  '../rtl-model/spec/arith.ts',
  '../rtl-model/spec/model.ts',
  '../rtl-model/spec/image-format.ts',
  '../rtl-model/vector/vector.wasm',
  '../rtl-model/vector/vector-unit.ts',
];

export interface VerifyReport extends Omit<Comparison, 'perTensor'> {
  backend: string;
  backendFallbacks: { name: string; error: string }[];
  /** On webgpu, the adapter the reference ran on (software: lavapipe or another rasterizer, not a GPU). */
  adapter?: AdapterInfo;
  gemmEngine: string;
  specVersion: number;
  config: { name: string; sha256: string };
  variant: VariantId;
  inputSeed: number;
  /**
   * How the reference ran: each part (embeddings + layers, further layers, ..., pooler + classifier)
   * on its own thread, reading the datapath's output of the part before it (see
   * TfjsIntReference.forwardLayerwise for why this proves the chained forward pass equal).
   */
  reference: { mode: 'layer-by-layer'; threads: number; parts: ReferenceParts[] };
  perTensor: Comparison['perTensor'];
  timingsMs: { datapath: number; reference: number };
}

export async function verifyImages(
  cfg: Config,
  ex: ExportResult,
  variant: VariantId,
  engine: GemmEngine,
  backend: BackendRequest | BackendChoice,
  inputSeed: number,
  onProgress?: (text: string) => void,
  refThreads = availableParallelism(),
): Promise<VerifyReport> {
  const g = geometryOf(cfg.model);
  // the backend first: one that cannot load (--backend gpu without tfjs-node-gpu) fails before any work
  const choice = typeof backend === 'string' ? await selectBackend(backend) : backend;
  const input = syntheticInput(g, inputSeed, cfg.verify.padTail);
  const t0 = performance.now();
  const dp = new Datapath(new MemorySystem(ex.romImage, ex.sramImage), g, engine);
  onProgress?.('integer datapath');
  // the reference's worker threads start (load their backend and images) while the datapath runs
  let t1 = t0;
  const datapath = dp.forward(input).then((r) => {
    t1 = performance.now();
    return r;
  });
  datapath.catch(() => undefined); // awaited below; a failure of the reference first must not leave it unhandled
  // tfjs-node(-gpu) does not load in worker threads (its native module registers once per process),
  // and webgpu has one device to share: on either the whole reference runs on this thread
  const threads = choice.name === 'gpu' || choice.name === 'webgpu' ? 1 : Math.min(refThreads, g.layers);
  const what = `TensorFlow.js reference (${choice.name}, ${threads} thread${threads === 1 ? '' : 's'})`;
  onProgress?.(`${what}: loading the images`);
  const { records: b, parts } = await runReferenceLayerwise(
    {
      rom: ex.rom,
      sram: ex.sram,
      romImage: ex.romImage,
      sramImage: ex.sramImage,
      backend: choice.name,
      threads,
      onProgress: (done, total) => onProgress?.(`${what}: part ${done}/${total}`),
    },
    input,
    datapath,
  );
  const t2 = performance.now();
  const a = await datapath;
  const cmp = compareTensors(a, b);
  return {
    ...cmp,
    backend: choice.name,
    backendFallbacks: choice.fallbacks,
    ...(choice.adapter ? { adapter: choice.adapter } : {}),
    gemmEngine: engine.name,
    specVersion: SPEC_VERSION,
    config: { name: cfg.name, sha256: cfg.sha256 },
    variant,
    inputSeed,
    reference: { mode: 'layer-by-layer', threads: parts.length, parts },
    timingsMs: { datapath: t1 - t0, reference: t2 - t1 },
  };
}
