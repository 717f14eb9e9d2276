#!/usr/bin/env -S npx tsx
/**
 * sim/run.ts: the command-line entry point.
 *
 *   npx tsx sim/run.ts --config rom-bert-base            every variant: cycles, area, energy, task switch, verify
 *   npx tsx sim/run.ts --config rom-bert-base --verify   only the bit-exact check
 *   npx tsx sim/run.ts --scalesim X.cfg --topology T.csv --out DIR   SCALE-Sim v2 compatible COMPUTE_REPORT.csv
 *
 * Data flow (DESIGN.md §2): config -> float model -> quantize + export (ROM image, SRAM task
 * image) -> datapath (rtl-model) and TensorFlow.js reference (trainer) -> compare -> out/<config>/.
 * Exit codes: 0 success, 1 the two implementations differ, 2 bad input (flag, config, image).
 */
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { ConfigError, loadConfig, geometryOf } from './config.js';
import type { VerifyReport } from './pipeline.js';
import { GEMM_ENGINES, type GemmEngineRequest } from '../rtl-model/gemm/engines.js';
import { BACKENDS, type BackendRequest } from '../trainer/backend.js';
import { ImageFormatError, VARIANTS, decodeImage, type Geometry, type VariantId } from '../rtl-model/spec/index.js';
import type { ExportResult } from '../rtl-model/export.js';
import { Progress } from './progress.js';
import { SIM_VARIANTS, isImageVariant, type SimVariantId } from './variants.js';
import { evaluate } from './costs.js';
import { loadTech, listTechNodes, TechModel } from './tech.js';
import { buildReport, layersCsv, summaryTable, type VariantAccuracy } from './report.js';
import { computeReport, loadScaleSimConfig, loadTopology, type PySum } from './scalesim.js';

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
  --backend <b>          TensorFlow.js backend: ${BACKENDS.join(', ')} (default auto: gpu, then wasm, then cpu)
  --gemm <e>             datapath GEMM engine: ${GEMM_ENGINES.join(', ')} (default auto)
  --ref-threads <n>      threads of the TensorFlow.js reference (default: every core, ${availableParallelism()} here; at most
                         one per layer; 1 on the gpu backend); each runs a contiguous part of the layers
                         on the datapath's output of the part before
  --out <dir>            output directory (default out/<config name>)
  --rom <file> --sram <file>
                         verify these images (made earlier, or elsewhere) instead of exporting;
                         their magic, versions, checksum and geometry are checked against the config
  --no-cache             always re-export the images (default: reuse images exported before
                         by the same code with the same config and seeds, from out/.cache)
  -h, --help             show this help

SCALE-Sim mode reads a SCALE-Sim v2 .cfg and a topology CSV (convolution or GEMM M,N,K layout)
and writes DIR/COMPUTE_REPORT.csv in SCALE-Sim's columns and conventions (CALC mode);
--pysum picks the float summation of its averages (naive = Python <= 3.11, neumaier = 3.12+).

Outputs (in the output directory): report.json, report.html (design-review page, D3 charts),
layers.csv, verify.json, rom.bin and sram-<variant>.bin. Exit status: 0 ok, 1 the two implementations differ, 2 bad input.
`;

class UsageError extends Error {}

interface Args {
  config: string;
  verifyOnly: boolean;
  noVerify: boolean;
  noCache?: boolean;
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
  let v;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        verify: { type: 'boolean', default: false },
        'no-verify': { type: 'boolean', default: false },
        'no-cache': { type: 'boolean', default: false },
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
      },
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (v.help) return null;
  if (v.scalesim !== undefined || v.topology !== undefined) {
    if (!v.scalesim || !v.topology || !v.out) throw new UsageError('SCALE-Sim mode needs --scalesim CONFIG.cfg, --topology TOPOLOGY.csv and --out DIR');
    if (v.pysum !== 'naive' && v.pysum !== 'neumaier') throw new UsageError(`--pysum ${v.pysum}: allowed: naive, neumaier`);
    return { config: '', verifyOnly: false, noVerify: true, backend: 'auto', gemm: 'auto', scalesim: { cfg: v.scalesim, topology: v.topology, out: v.out, pysum: v.pysum } };
  }
  if (!v.config) throw new UsageError('--config is required (e.g. --config rom-bert-base)');
  if (v.verify && v['no-verify']) throw new UsageError('--verify and --no-verify exclude each other');
  if ((v.rom === undefined) !== (v.sram === undefined)) throw new UsageError('--rom and --sram go together');
  if (!(BACKENDS as readonly string[]).includes(v.backend!)) throw new UsageError(`--backend ${v.backend}: allowed: ${BACKENDS.join(', ')}`);
  if (!(GEMM_ENGINES as readonly string[]).includes(v.gemm!)) throw new UsageError(`--gemm ${v.gemm}: allowed: ${GEMM_ENGINES.join(', ')}`);
  if (v.variant !== undefined) {
    const allowed: readonly string[] = v.verify ? VARIANTS : SIM_VARIANTS;
    if (!allowed.includes(v.variant)) throw new UsageError(`--variant ${v.variant}: allowed${v.verify ? ' with --verify' : ''}: ${allowed.join(', ')}`);
  }
  if (v.tech !== undefined && !listTechNodes().includes(v.tech)) throw new UsageError(`--tech ${v.tech}: allowed: ${listTechNodes().join(', ')}`);
  let seed: number | undefined;
  if (v.seed !== undefined) {
    seed = Number(v.seed);
    if (!/^\d+$/.test(v.seed) || !Number.isSafeInteger(seed) || seed > 2 ** 32 - 1) throw new UsageError(`--seed ${v.seed}: must be an integer in [0, 4294967295]`);
  }
  let refThreads: number | undefined;
  if (v['ref-threads'] !== undefined) {
    refThreads = Number(v['ref-threads']);
    if (!/^\d+$/.test(v['ref-threads']) || refThreads < 1 || refThreads > 64) throw new UsageError(`--ref-threads ${v['ref-threads']}: must be an integer in [1, 64]`);
  }
  return {
    refThreads,
    config: v.config,
    verifyOnly: v.verify!,
    noVerify: v['no-verify']!,
    noCache: v['no-cache']!,
    images: v.rom || v.sram ? { rom: v.rom ?? '', sram: v.sram ?? '' } : undefined,
    variant: v.variant as SimVariantId | undefined,
    tech: v.tech,
    seed,
    backend: v.backend as BackendRequest,
    gemm: v.gemm as GemmEngineRequest,
    out: v.out,
  };
}

/** Write every file to a temporary name first, then rename: nothing is left half-written. */
function writeAll(dir: string, files: Record<string, string | Uint8Array>): void {
  mkdirSync(dir, { recursive: true });
  const tmp = Object.keys(files).map((name) => join(dir, `.${name}.tmp-${process.pid}`));
  Object.values(files).forEach((data, i) => writeFileSync(tmp[i], data));
  Object.keys(files).forEach((name, i) => renameSync(tmp[i], join(dir, name)));
}

/** Read and check a ROM and an SRAM image file (magic, versions, checksum, geometry, ROM binding). */
function readImages(romFile: string, sramFile: string, g: Geometry): ExportResult {
  const load = (f: string): Uint8Array => {
    if (!existsSync(f)) throw new ImageFormatError(f, '(file)', 'does not exist');
    return new Uint8Array(readFileSync(f));
  };
  const rom = load(romFile);
  const sram = load(sramFile);
  const romImage = decodeImage(rom, romFile, { kind: 'rom', geometry: g });
  const sramImage = decodeImage(sram, sramFile, { kind: 'sram', geometry: g });
  if (sramImage.header.romSha256 && sramImage.header.romSha256 !== romImage.sha256) {
    throw new ImageFormatError(sramFile, 'romSha256', `the task image was exported for ROM ${sramImage.header.romSha256.slice(0, 16)}..., not ${romFile} (${romImage.sha256.slice(0, 16)}...)`);
  }
  return { rom, sram, romImage, sramImage, stats: { biasSaturated: 0, ratioClamped: 0, weightSaturated: 0, romBits: 0, sramBits: 0, calibrationMs: 0 } }; // stats: not exported here
}

function printVerify(r: VerifyReport): void {
  const status = r.bitExact ? 'bit-exact' : 'MISMATCH';
  console.log(
    `verify ${r.config.name} [${r.variant}]: ${status} — ${r.tensorsCompared} tensors, ${r.elementsCompared.toLocaleString('en-US')} elements compared, ` +
      `${r.mismatches} mismatches (datapath ${r.gemmEngine}: ${r.timingsMs.datapath.toFixed(0)} ms; tfjs ${r.backend}, ${r.reference.threads} thread${r.reference.threads === 1 ? '' : 's'}: ${r.timingsMs.reference.toFixed(0)} ms)`,
  );
  for (const f of r.backendFallbacks) console.log(`  backend ${f.name} not used: ${f.error}`);
  if (r.firstMismatch) {
    const m = r.firstMismatch;
    console.log(`  first mismatch: ${m.tensor}[${m.index}] datapath ${m.datapath} vs reference ${m.reference}; largest difference ${r.maxAbsDiff}`);
  }
  if (r.missing.datapathOnly.length || r.missing.referenceOnly.length) console.log(`  tensors produced by one side only: ${JSON.stringify(r.missing)}`);
}

function runScaleSim(a: NonNullable<Args['scalesim']>): number {
  const cfg = loadScaleSimConfig(resolve(a.cfg));
  const layers = loadTopology(resolve(a.topology));
  const csv = computeReport(cfg, layers, a.pysum);
  const dir = resolve(a.out);
  writeAll(dir, { 'COMPUTE_REPORT.csv': csv });
  if (cfg.interfaceBandwidth === 'USER') {
    console.error(`note: ${a.cfg} asks for InterfaceBandwidth USER; this tool reproduces CALC mode (no stall cycles), as SCALE-Sim's USER-mode stalls come from a trace simulation it does not port`);
  }
  process.stdout.write(csv);
  console.log(`wrote ${join(dir, 'COMPUTE_REPORT.csv')} (${layers.length} layers, ${cfg.rows}x${cfg.cols} ${cfg.dataflow})`);
  return 0;
}

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
  const progress = new Progress((args.verifyOnly ? 0 : 1) + (doVerify ? 3 : 0) + 1);
  const files: Record<string, string | Uint8Array> = {};
  let report: VerifyReport | null = null;
  let exitCode = 0;
  if (doVerify) {
    // TensorFlow.js and the GEMM kernels load only when needed: flag and config errors stay fast.
    const { imagesFor, verifyImages } = await import('./pipeline.js');
    const { createGemmEngine } = await import('../rtl-model/gemm/engines.js');
    progress.step(`GEMM engine (${args.gemm})`);
    const engine = await createGemmEngine(args.gemm);
    try {
      let ex;
      if (args.images) {
        progress.step(`read images ${args.images.rom} and ${args.images.sram}`);
        ex = readImages(args.images.rom, args.images.sram, geometryOf(cfg.model));
      } else {
        progress.step(`export images for ${cfg.name} [${verifyVariant}] (${cfg.model.checkpoint === null ? `synthetic seed ${cfg.model.syntheticSeed}` : `checkpoint ${cfg.model.checkpoint}`})`);
        ex = await imagesFor(cfg, verifyVariant, engine, args.noCache ? undefined : resolve('out', '.cache'));
        if (ex.cached) progress.note('images reused from out/.cache (same code, config and seeds)');
      }
      progress.step(`verify: datapath (${engine.name}) vs TensorFlow.js (${args.backend})`);
      report = await verifyImages(cfg, ex, args.images ? ex.sramImage.header.variant : verifyVariant, engine, args.backend, seed, (t) => progress.detail(t), args.refThreads);
      files['rom.bin'] = ex.rom;
      files[`sram-${report.variant}.bin`] = ex.sram;
      files['verify.json'] = JSON.stringify({ ...report, images: { rom: { sha256: ex.romImage.sha256, bytes: ex.rom.length }, sram: { sha256: ex.sramImage.sha256, bytes: ex.sram.length } }, exporter: args.images ? null : ex.stats }, null, 2) + '\n';
      exitCode = report.bitExact ? 0 : 1;
    } finally {
      await engine.close?.();
    }
  }
  let summary = '';
  let accuracyNote = '';
  if (!args.verifyOnly) {
    const tech = new TechModel(loadTech(args.tech ?? cfg.hardware.technology));
    const variants = args.variant ? [args.variant] : cfg.variants;
    progress.step(`cost ${variants.length} variant(s) at ${tech.table.node}`);
    const g = geometryOf(cfg.model);
    const points = variants.map((v) => evaluate(g, cfg.hardware, tech, v));
    const command = ['npx tsx sim/run.ts', ...argv].join(' ');
    const reportJson = buildReport(cfg, tech, points, report, command);
    files['report.json'] = JSON.stringify(reportJson, null, 2) + '\n';
    // The design-review page, built from the report exactly as analysis/report.ts rebuilds it.
    const { renderPage } = await import('../analysis/html.js');
    files['report.html'] = renderPage(JSON.parse(files['report.json'] as string));
    files['layers.csv'] = layersCsv(points);
    const rj = reportJson as { sources: { accuracy: string }; variants: { id: string; accuracy: VariantAccuracy | null }[] };
    const measured = new Map(rj.variants.filter((v) => v.accuracy).map((v) => [v.id, v.accuracy!]));
    summary = summaryTable(points, tech.table.node, measured);
    accuracyNote = rj.sources.accuracy;
  }
  progress.step('write outputs');
  writeAll(outDir, files);
  progress.done();
  if (report) printVerify(report);
  if (summary) console.log(`\n${cfg.name}: ${cfg.hardware.array.rows}x${cfg.hardware.array.cols} ${cfg.hardware.array.dataflow.toUpperCase()} array at ${cfg.hardware.clockMHz} MHz (costs from the technology table; cycles from the schedule model)\n${summary}\naccuracy: ${accuracyNote}`);
  console.log(`\nwrote ${Object.keys(files).map((f) => join(outDir, f)).join(', ')}`);
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n\n${HELP}`);
      process.exit(2);
    }
    if (e instanceof ConfigError || e instanceof ImageFormatError) {
      console.error(`error: ${e.message}`);
      process.exit(2);
    }
    console.error(e);
    process.exit(3);
  },
);
