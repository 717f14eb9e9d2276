#!/usr/bin/env -S npx tsx
/**
 * sim/run.ts: the command-line entry point.
 *
 *   npx tsx sim/run.ts --config rom-bert-base            every variant: cycles, area, energy, task switch, verify
 *   npx tsx sim/run.ts --config rom-bert-base --verify   only the bit-exact check
 *   npx tsx sim/run.ts --scalesim X.cfg --topology T.csv --out DIR   SCALE-Sim v2 compatible COMPUTE, BANDWIDTH and DETAILED_ACCESS reports (CALC and USER)
 *
 * Data flow (README.md, "What the simulator models" and "How the check runs"; the integer
 * semantics in docs/integer-spec.md): config -> float model -> quantize + export (ROM image, SRAM
 * task image) -> datapath (rtl-model) and TensorFlow.js reference (trainer) -> compare ->
 * out/<config>/.
 *
 * Everything the user gave is checked before any computation: the flags, the config, every input
 * path (--rom, --sram, --scalesim, --topology), every output place (--out, --cache-dir), the
 * memory a verify run needs against the machine's (sim/memory-estimate.ts), and, last, the
 * TensorFlow.js backend (--backend) and the GEMM engine (--gemm) a verify run will use: one named
 * there that cannot load is refused (exit 2) before the cost model and the first progress step.
 * Only the checking is imported up front; TensorFlow.js and the GEMM kernels are imported for
 * that last check of a verify run, and the cost model and the report when a run gets past it, so
 * --help and a bad flag, config or path answer without loading any of them.
 *
 * Exit codes (formats/cli.ts): 0 success, 1 the two implementations differ, 2 bad input (a flag,
 * config, path, image or a run too large for the machine: one message naming the file or flag and
 * the field), 3 a bug (with the stack).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { runCli, isMain } from '../formats/cli.js';
import { InputError, UsageError } from '../formats/errors.js';
import { flagNumber, parseFlags } from '../formats/flags.js';
import { checkOutputDir, writeFilesAtomic, type FileData } from '../formats/atomic-write.js';
import { checkInputFile } from '../formats/input-file.js';
import { loadConfig, geometryOf, type Config } from './config.js';
import type { VerifyReport } from './pipeline.js';
import { GEMM_ENGINES, type GemmEngineRequest } from '../rtl-model/gemm/engines.js';
import type { GemmEngine } from '../rtl-model/gemm/oracle.js';
import { BACKENDS, describeAdapter, type BackendChoice, type BackendRequest } from '../trainer/backend.js';
import { ImageFormatError, VARIANTS, decodeImage, type Geometry, type VariantId } from '../rtl-model/spec/index.js';
import type { ExportResult } from '../rtl-model/export.js';
import type { DesignPoint } from './costs.js';
import { Progress } from './progress.js';
import { SIM_VARIANTS, isImageVariant, type SimVariantId } from './variants.js';
import { listTechNodes } from './tech.js';
import { DEFAULT_CACHE_MAX_BYTES, ImageCache, type CachedFiles } from './cache.js';
import { describeEstimate, estimateVerifyMemory, freeMemory, memoryLimit } from './memory-estimate.js';
import { formatBytes, parseSize } from './sizes.js';
import type { PySum } from './scalesim.js';
import { sizeWarnings } from './size-warnings.js';

const HELP = `Usage: npx tsx sim/run.ts --config <name|path.json> [options]
       npx tsx sim/run.ts --scalesim <config.cfg> --topology <topology.csv> --out <dir> [--pysum naive|neumaier]

Simulate a ROM-weight / SRAM-bias BERT accelerator design point: cycles, area, energy and
task-switch cost of every variant, and a bit-exact check of the integer datapath against the
TensorFlow.js reference.

Options:
  --config <name|path>   config name in fixtures/configs (e.g. rom-bert-base, rom-bert-large,
                         rom-bert-tiny) or a path to a JSON config (required)
  --verify               only run the bit-exact check and write verify.json
  --no-verify            skip the bit-exact check (report.verify is null)
  --variant <id>         evaluate one variant only: ${SIM_VARIANTS.join(', ')}
                         (with --verify: the image variant to verify, one of ${VARIANTS.join(', ')})
  --tech <node>          technology table to use instead of the config's (${listTechNodes().join(', ')})
  --seed <n>             seed of the verification input sequence (default: the config's verify.inputSeed)
  --backend <b>          TensorFlow.js backend: ${BACKENDS.join(', ')} (default auto: gpu (tfjs-node-gpu),
                         then webgpu on a hardware adapter, then wasm, then cpu); webgpu (Dawn, on Vulkan)
                         on a software adapter such as lavapipe only when named; a backend named here
                         that cannot load is an error
  --gemm <e>             datapath GEMM engine: ${GEMM_ENGINES.join(', ')} (default auto: parallel, then wasm,
                         then oracle); an engine named here that cannot load is an error
  --ref-threads <n>      threads of the TensorFlow.js reference (default: every core, ${availableParallelism()} here; at most
                         one per layer; 1 on gpu and webgpu); each runs a contiguous part of the layers
                         on the datapath's output of the part before
  --out <dir>            output directory (default out/<config name>); checked before any work
  --rom <file> --sram <file>
                         verify these images (made earlier, or elsewhere) instead of exporting;
                         their magic, versions, checksum, layout and geometry are checked against the config
  --max-memory <size>    memory a verify run may use, e.g. 8G or 512M (default: the machine's, ${formatBytes(memoryLimit().bytes)}
                         here); a run estimated to need more is refused before any work (exit 2)
  --cache-dir <dir>      where exported images are kept for reuse (default out/.cache)
  --cache-max <size>     cap on the cache's size, e.g. 2G (default ${formatBytes(DEFAULT_CACHE_MAX_BYTES)}); the least recently
                         used entries are removed to stay within it
  --no-cache             always re-export the images (default: reuse images exported before
                         by the same code with the same config and seeds, from the cache)
  -h, --help             show this help

The cache heals: an entry that does not read back (a file missing or damaged) is rebuilt with a
note, and temporary files left by a killed run are removed on the next run.

SCALE-Sim mode reads a SCALE-Sim v2 .cfg and a topology CSV (convolution or GEMM M,N,K layout)
and writes DIR/COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv in
SCALE-Sim's columns (CALC or USER bandwidth mode, stalls included); a config key it does not model
is exit 2; --pysum picks the float summation of its averages (naive = Python <= 3.11, neumaier = 3.12+).

Outputs (in the output directory): report.json, report.html (design-review page, D3 charts),
layers.csv, verify.json, rom.bin and sram-<variant>.bin, each written whole or not at all.
Exit status: 0 ok, 1 the two implementations differ, 2 bad input (a flag, config, path or image,
or a run too large for the machine), 3 a bug.
`;

interface Args {
  config: string;
  verifyOnly: boolean;
  noVerify: boolean;
  noCache: boolean;
  cacheDir: string;
  cacheMaxBytes: number;
  maxMemoryBytes?: number;
  images?: { rom: string; sram: string };
  variant?: SimVariantId;
  tech?: string;
  scalesim?: { cfg: string; topology: string; out: string; pysum: PySum };
  seed?: number;
  backend: BackendRequest;
  gemm: GemmEngineRequest;
  refThreads?: number;
  out?: string;
}

function parse(argv: string[]): Args | null {
  const v = parseFlags(argv, {
    config: { type: 'string' },
    verify: { type: 'boolean', default: false },
    'no-verify': { type: 'boolean', default: false },
    'no-cache': { type: 'boolean', default: false },
    'cache-dir': { type: 'string' },
    'cache-max': { type: 'string' },
    'max-memory': { type: 'string' },
    rom: { type: 'string' },
    sram: { type: 'string' },
    variant: { type: 'string' },
    tech: { type: 'string' },
    scalesim: { type: 'string' },
    topology: { type: 'string' },
    pysum: { type: 'string', default: 'naive' },
    seed: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    gemm: { type: 'string', default: 'auto' },
    'ref-threads': { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (v.help) return null;
  const cacheMaxBytes = v['cache-max'] === undefined ? DEFAULT_CACHE_MAX_BYTES : parseSize(v['cache-max'], '--cache-max');
  const maxMemoryBytes = v['max-memory'] === undefined ? undefined : parseSize(v['max-memory'], '--max-memory');
  const cacheDir = v['cache-dir'] ?? join('out', '.cache');
  if (v['cache-dir'] === '') throw new UsageError('--cache-dir', 'is empty', { hint: 'give a directory, or --no-cache' });
  if (v.scalesim !== undefined || v.topology !== undefined) {
    if (!v.scalesim || !v.topology || !v.out) {
      const missing = !v.scalesim ? '--scalesim' : !v.topology ? '--topology' : '--out';
      throw new UsageError(missing, 'is missing: SCALE-Sim mode needs --scalesim CONFIG.cfg, --topology TOPOLOGY.csv and --out DIR');
    }
    if (v.pysum !== 'naive' && v.pysum !== 'neumaier') throw new UsageError('--pysum', 'is not a summation', { value: v.pysum, allowed: 'naive, neumaier' });
    return {
      config: '',
      verifyOnly: false,
      noVerify: true,
      noCache: true,
      cacheDir,
      cacheMaxBytes,
      backend: 'auto',
      gemm: 'auto',
      scalesim: { cfg: v.scalesim, topology: v.topology, out: v.out, pysum: v.pysum },
    };
  }
  if (!v.config) throw new UsageError('--config', 'is required (e.g. --config rom-bert-base)');
  if (v.verify && v['no-verify']) throw new UsageError('--verify', 'and --no-verify exclude each other');
  if ((v.rom === undefined) !== (v.sram === undefined))
    throw new UsageError(v.rom === undefined ? '--rom' : '--sram', 'is missing: --rom and --sram go together');
  if (!(BACKENDS as readonly string[]).includes(v.backend!))
    throw new UsageError('--backend', 'is not a backend', { value: v.backend, allowed: BACKENDS.join(', ') });
  if (!(GEMM_ENGINES as readonly string[]).includes(v.gemm!))
    throw new UsageError('--gemm', 'is not a GEMM engine', { value: v.gemm, allowed: GEMM_ENGINES.join(', ') });
  if (v.variant !== undefined) {
    const allowed: readonly string[] = v.verify ? VARIANTS : SIM_VARIANTS;
    if (!allowed.includes(v.variant))
      throw new UsageError('--variant', `is not a variant${v.verify ? ' with --verify' : ''}`, { value: v.variant, allowed: allowed.join(', ') });
  }
  if (v.tech !== undefined && !listTechNodes().includes(v.tech))
    throw new UsageError('--tech', 'has no technology table', { value: v.tech, allowed: listTechNodes().join(', ') });
  const seed = v.seed === undefined ? undefined : flagNumber('--seed', v.seed, { integer: true, min: 0, max: 2 ** 32 - 1 });
  const refThreads = v['ref-threads'] === undefined ? undefined : flagNumber('--ref-threads', v['ref-threads'], { integer: true, min: 1, max: 64 });
  return {
    refThreads,
    config: v.config,
    verifyOnly: v.verify!,
    noVerify: v['no-verify']!,
    noCache: v['no-cache']!,
    cacheDir,
    cacheMaxBytes,
    maxMemoryBytes,
    images: v.rom !== undefined && v.sram !== undefined ? { rom: v.rom, sram: v.sram } : undefined,
    variant: v.variant as SimVariantId | undefined,
    tech: v.tech,
    seed,
    backend: v.backend as BackendRequest,
    gemm: v.gemm as GemmEngineRequest,
    out: v.out,
  };
}

/** Read and check a ROM and an SRAM image file (magic, versions, checksum, layout, geometry, ROM binding). */
function readImages(romFile: string, sramFile: string, g: Geometry): ExportResult {
  const rom = new Uint8Array(readFileSync(romFile));
  const sram = new Uint8Array(readFileSync(sramFile));
  const romImage = decodeImage(rom, romFile, { kind: 'rom', geometry: g });
  const sramImage = decodeImage(sram, sramFile, { kind: 'sram', geometry: g });
  if (sramImage.header.romSha256 && sramImage.header.romSha256 !== romImage.sha256) {
    throw new ImageFormatError(
      sramFile,
      'romSha256',
      `the task image was exported for ROM ${sramImage.header.romSha256.slice(0, 16)}..., not ${romFile} (${romImage.sha256.slice(0, 16)}...)`,
    );
  }
  const stats = { biasSaturated: 0, ratioClamped: 0, weightSaturated: 0, romBits: 0, sramBits: 0, calibrationMs: 0 }; // not exported here
  return { rom, sram, romImage, sramImage, stats };
}

function printVerify(r: VerifyReport): void {
  const status = r.bitExact ? 'bit-exact' : 'MISMATCH';
  console.log(
    `verify ${r.config.name} [${r.variant}]: ${status} — ${r.tensorsCompared} tensors, ${r.elementsCompared.toLocaleString('en-US')} elements compared, ` +
      `${r.mismatches} mismatches (datapath ${r.gemmEngine}: ${r.timingsMs.datapath.toFixed(0)} ms; ` +
      `tfjs ${r.backend}, ${r.reference.threads} thread${r.reference.threads === 1 ? '' : 's'}: ${r.timingsMs.reference.toFixed(0)} ms)`,
  );
  for (const f of r.backendFallbacks) console.log(`  backend ${f.name} not used: ${f.error}`);
  if (r.adapter) console.log(`  webgpu adapter: ${describeAdapter(r.adapter)}${r.adapter.software ? ' (a software adapter, not a GPU)' : ''}`);
  if (r.firstMismatch) {
    const m = r.firstMismatch;
    console.log(`  first mismatch: ${m.tensor}[${m.index}] datapath ${m.datapath} vs reference ${m.reference}; largest difference ${r.maxAbsDiff}`);
  }
  if (r.missing.datapathOnly.length || r.missing.referenceOnly.length) console.log(`  tensors produced by one side only: ${JSON.stringify(r.missing)}`);
}

async function runScaleSim(a: NonNullable<Args['scalesim']>): Promise<number> {
  checkInputFile(a.cfg, '--scalesim');
  checkInputFile(a.topology, '--topology');
  checkOutputDir(a.out, '--out');
  const { scaleSimReports, loadScaleSimConfig, loadTopology } = await import('./scalesim.js');
  const cfg = loadScaleSimConfig(resolve(a.cfg));
  const layers = loadTopology(resolve(a.topology));
  const reports = scaleSimReports(cfg, layers, a.pysum);
  const dir = resolve(a.out);
  writeFilesAtomic(dir, { ...reports }, { field: '--out' });
  process.stdout.write(reports['COMPUTE_REPORT.csv']);
  const what = `${layers.length} layers, ${cfg.rows}x${cfg.cols} ${cfg.dataflow}, ${cfg.interfaceBandwidth} bandwidth`;
  console.log(`wrote ${Object.keys(reports).join(', ')} in ${dir} (${what})`);
  return 0;
}

/** Refuse, before any work, a verify run the machine (or --max-memory) cannot hold; note a tight one. */
function checkMemory(cfg: Config, variant: VariantId, args: Args): void {
  const g = geometryOf(cfg.model);
  const threads = args.backend === 'gpu' || args.backend === 'webgpu' ? 1 : Math.min(args.refThreads ?? availableParallelism(), g.layers);
  const est = estimateVerifyMemory(g, variant, { threads, exporting: !args.images });
  const limit = memoryLimit(args.maxMemoryBytes);
  const shape = `layers ${g.layers}, hidden ${g.hidden}, ffn ${g.ffn}, seqLen ${g.seqLen}, vocab ${g.vocab}`;
  if (est.bytes > limit.bytes) {
    throw new InputError(cfg.file, 'model', `${shape}: a verify run needs about ${describeEstimate(est)} of memory, more than ${limit.source}`, {
      hint:
        `cost it without the bit-exact check (--no-verify), verify a smaller geometry${threads > 1 ? ', use fewer --ref-threads' : ''}, ` +
        'or give --max-memory <size> if more is available',
    });
  }
  const free = freeMemory();
  if (args.maxMemoryBytes === undefined && est.bytes > free) {
    console.error(`note: a verify run of ${cfg.name} needs about ${formatBytes(est.bytes)}; ${formatBytes(free)} is free now (it may swap or be killed)`);
  }
}

/** Where a config's weights come from, for the progress line. */
const weightsOf = (cfg: Config): string => (cfg.model.checkpoint === null ? `synthetic seed ${cfg.model.syntheticSeed}` : `checkpoint ${cfg.model.checkpoint}`);

async function main(argv: string[]): Promise<number> {
  const args = parse(argv);
  if (!args) {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.scalesim) return runScaleSim(args.scalesim);
  const cfg = loadConfig(args.config);
  const outDir = resolve(args.out ?? join('out', cfg.name));
  const seed = args.seed ?? cfg.verify.inputSeed;
  const verifyVariant: VariantId = args.variant && isImageVariant(args.variant) ? args.variant : cfg.verify.variant;
  const doVerify = !args.noVerify;
  const useCache = doVerify && !args.images && !args.noCache;
  // every path and size before any work
  checkOutputDir(outDir, args.out === undefined ? `--out (default out/${cfg.name})` : '--out');
  if (args.images) {
    checkInputFile(args.images.rom, '--rom');
    checkInputFile(args.images.sram, '--sram');
  }
  if (useCache) checkOutputDir(args.cacheDir, args.cacheDir === join('out', '.cache') ? '--cache-dir (default out/.cache)' : '--cache-dir');
  if (doVerify) checkMemory(cfg, verifyVariant, args);
  // The backend and the GEMM engine of a verify run, last of the checks: one named by --backend or
  // --gemm that cannot load is refused here (exit 2), before the cost model and the first step.
  // TensorFlow.js and the GEMM kernels are imported only now (see the header).
  let backend: BackendChoice | undefined;
  let engine: GemmEngine | undefined;
  if (doVerify) {
    const { selectBackend } = await import('../trainer/backend.js');
    backend = await selectBackend(args.backend);
    const { createGemmEngine } = await import('../rtl-model/gemm/engines.js');
    engine = await createGemmEngine(args.gemm);
  }
  try {
    return await runChecked(argv, args, cfg, { outDir, seed, verifyVariant, useCache }, backend && engine ? { backend, engine } : null);
  } finally {
    await engine?.close?.();
  }
}

/** The run itself, once every input, output place, the memory and (for a verify run) the backend and engine passed. */
async function runChecked(
  argv: string[],
  args: Args,
  cfg: Config,
  run: { outDir: string; seed: number; verifyVariant: VariantId; useCache: boolean },
  verify: { backend: BackendChoice; engine: GemmEngine } | null,
): Promise<number> {
  const { outDir, seed, verifyVariant, useCache } = run;
  // the cost model first: it takes milliseconds, and a bad technology table is found before the verify run
  let points: DesignPoint[] = [];
  let tech;
  if (!args.verifyOnly) {
    const { loadTech, TechModel } = await import('./tech.js');
    const { evaluate, CountOverflowError } = await import('./costs.js');
    tech = new TechModel(loadTech(args.tech ?? cfg.hardware.technology));
    const g = geometryOf(cfg.model);
    const costOf = (v: SimVariantId): DesignPoint => {
      try {
        return evaluate(g, cfg.hardware, tech!, v);
      } catch (e) {
        if (!(e instanceof CountOverflowError)) throw e;
        throw new InputError(cfg.file, 'model', `variant ${v}: the cost model's ${e.message}: the design point is too large to cost`, {
          hint: 'a smaller geometry (layers, hidden, ffn, seqLen) or a larger array (hardware.array)',
        });
      }
    };
    points = (args.variant ? [args.variant] : cfg.variants).map(costOf);
  }

  const progress = new Progress((args.verifyOnly ? 0 : 1) + (verify ? 2 : 0) + 1);
  const files: Record<string, FileData> = {};
  let report: VerifyReport | null = null;
  let exitCode = 0;
  if (verify) {
    const { backend, engine } = verify;
    const { imagesFor, verifyImages } = await import('./pipeline.js');
    let ex: ExportResult & { cached?: boolean; cachedFiles?: CachedFiles };
    if (args.images) {
      progress.step(`read images ${args.images.rom} and ${args.images.sram}`);
      ex = readImages(args.images.rom, args.images.sram, geometryOf(cfg.model));
    } else {
      progress.step(`export images for ${cfg.name} [${verifyVariant}] (${weightsOf(cfg)})`);
      let cache: ImageCache | undefined;
      if (useCache) {
        cache = new ImageCache(resolve(args.cacheDir), { maxBytes: args.cacheMaxBytes, onNote: (t) => progress.say(t) });
        cache.removeStale();
      }
      ex = await imagesFor(cfg, verifyVariant, engine, cache);
      if (ex.cached) progress.note(`images reused from ${args.cacheDir} (same code, config and seeds)`);
    }
    progress.step(`verify: datapath (${engine.name}) vs TensorFlow.js (${backend.name})`);
    report = await verifyImages(
      cfg,
      ex,
      args.images ? ex.sramImage.header.variant : verifyVariant,
      engine,
      backend,
      seed,
      (t) => progress.detail(t),
      args.refThreads,
    );
    // images read from the cache are copied from its files (same bytes, checked when read)
    files['rom.bin'] = ex.cachedFiles ? { bytes: ex.rom, copyOf: ex.cachedFiles.rom } : ex.rom;
    files[`sram-${report.variant}.bin`] = ex.cachedFiles ? { bytes: ex.sram, copyOf: ex.cachedFiles.sram } : ex.sram;
    files['verify.json'] =
      JSON.stringify(
        {
          ...report,
          images: { rom: { sha256: ex.romImage.sha256, bytes: ex.rom.length }, sram: { sha256: ex.sramImage.sha256, bytes: ex.sram.length } },
          exporter: args.images ? null : ex.stats,
        },
        null,
        2,
      ) + '\n';
    exitCode = report.bitExact ? 0 : 1;
  }
  let summary = '';
  let accuracyNote = '';
  if (!args.verifyOnly && tech) {
    const { buildReport, layersCsv, summaryTable } = await import('./report.js');
    progress.step(`report of ${points.length} variant(s) at ${tech.table.node}`);
    const command = ['npx tsx sim/run.ts', ...argv].join(' ');
    const reportJson = buildReport(cfg, tech, points, report, command);
    files['report.json'] = JSON.stringify(reportJson, null, 2) + '\n';
    // The design-review page, built from the report exactly as analysis/report.ts rebuilds it.
    const { renderPage } = await import('../analysis/html.js');
    files['report.html'] = renderPage(JSON.parse(files['report.json'] as string));
    files['layers.csv'] = layersCsv(points);
    const measured = new Map(reportJson.variants.filter((v) => v.accuracy).map((v) => [v.id, v.accuracy!]));
    summary = summaryTable(points, tech.table.node, measured);
    accuracyNote = reportJson.sources.accuracy;
  }
  progress.step('write outputs');
  writeFilesAtomic(outDir, files, { field: '--out' });
  progress.done();
  if (report) printVerify(report);
  if (summary)
    console.log(
      `\n${cfg.name}: ${cfg.hardware.array.rows}x${cfg.hardware.array.cols} ${cfg.hardware.array.dataflow.toUpperCase()} array ` +
        `at ${cfg.hardware.clockMHz} MHz (costs from the technology table; cycles from the schedule model)\n${summary}\naccuracy: ${accuracyNote}`,
    );
  for (const w of sizeWarnings(points)) console.error(w);
  console.log(
    `\nwrote ${Object.keys(files)
      .map((f) => join(outDir, f))
      .join(', ')}`,
  );
  return exitCode;
}

if (isMain(import.meta.url)) runCli('sim/run.ts', main);
