#!/usr/bin/env -S npx tsx
/**
 * sim/run.ts: the command-line entry point.
 *
 *   npx tsx sim/run.ts --config rom-bert-base            export images, verify, summarize variants
 *   npx tsx sim/run.ts --config rom-bert-base --verify   only the bit-exact check
 *
 * Data flow (DESIGN.md §2): config -> float model -> quantize + export (ROM image, SRAM task
 * image) -> datapath (rtl-model) and TensorFlow.js reference (trainer) -> compare -> out/<config>/.
 * Exit codes: 0 success, 1 the two implementations differ, 2 bad input (flag, config, image).
 */
import { parseArgs } from 'node:util';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, geometryOf, type Config } from './config.js';
import { imagesFor, verifyImages, type VerifyReport } from './pipeline.js';
import { createGemmEngine, GEMM_ENGINES, type GemmEngineRequest } from '../rtl-model/gemm/engines.js';
import { BACKENDS, type BackendRequest } from '../trainer/backend.js';
import { ImageFormatError, VARIANTS, type VariantId, encoderBiasParams, imageLayoutBits } from '../rtl-model/spec/index.js';
import { Progress } from './progress.js';

const HELP = `Usage: npx tsx sim/run.ts --config <name|path.json> [options]

Simulate a ROM-weight / SRAM-bias BERT accelerator design point.

Options:
  --config <name|path>   config name in fixtures/configs (e.g. rom-bert-base, rom-bert-tiny)
                         or a path to a JSON config (required)
  --verify               only run the bit-exact check of the integer datapath against the
                         TensorFlow.js reference and write verify.json
  --variant <id>         variant whose images are verified (default: the config's verify.variant)
                         one of: ${VARIANTS.join(', ')}
  --seed <n>             seed of the verification input sequence (default: the config's verify.inputSeed)
  --backend <b>          TensorFlow.js backend: ${BACKENDS.join(', ')} (default auto: gpu, then wasm, then cpu)
  --gemm <e>             datapath GEMM engine: ${GEMM_ENGINES.join(', ')} (default auto)
  --out <dir>            output directory (default out/<config name>)
  -h, --help             show this help

Outputs (in the output directory): rom.bin and sram-<variant>.bin (the images), verify.json,
and without --verify also variants.json. Exit status: 0 ok, 1 mismatch, 2 bad input.
`;

class UsageError extends Error {}

interface Args {
  config: string;
  verifyOnly: boolean;
  variant?: VariantId;
  seed?: number;
  backend: BackendRequest;
  gemm: GemmEngineRequest;
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
        variant: { type: 'string' },
        seed: { type: 'string' },
        backend: { type: 'string', default: 'auto' },
        gemm: { type: 'string', default: 'auto' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (v.help) return null;
  if (!v.config) throw new UsageError('--config is required (e.g. --config rom-bert-base)');
  if (!(BACKENDS as readonly string[]).includes(v.backend!)) throw new UsageError(`--backend ${v.backend}: allowed: ${BACKENDS.join(', ')}`);
  if (!(GEMM_ENGINES as readonly string[]).includes(v.gemm!)) throw new UsageError(`--gemm ${v.gemm}: allowed: ${GEMM_ENGINES.join(', ')}`);
  if (v.variant !== undefined && !(VARIANTS as readonly string[]).includes(v.variant)) throw new UsageError(`--variant ${v.variant}: allowed: ${VARIANTS.join(', ')}`);
  let seed: number | undefined;
  if (v.seed !== undefined) {
    seed = Number(v.seed);
    if (!/^\d+$/.test(v.seed) || !Number.isSafeInteger(seed) || seed > 2 ** 32 - 1) throw new UsageError(`--seed ${v.seed}: must be an integer in [0, 4294967295]`);
  }
  return {
    config: v.config,
    verifyOnly: v.verify!,
    variant: v.variant as VariantId | undefined,
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

function printVerify(r: VerifyReport): void {
  const status = r.bitExact ? 'bit-exact' : 'MISMATCH';
  console.log(
    `verify ${r.config.name} [${r.variant}]: ${status} — ${r.tensorsCompared} tensors, ${r.elementsCompared.toLocaleString('en-US')} elements compared, ` +
      `${r.mismatches} mismatches (datapath ${r.gemmEngine}: ${r.timingsMs.datapath.toFixed(0)} ms; tfjs ${r.backend}: ${r.timingsMs.reference.toFixed(0)} ms)`,
  );
  for (const f of r.backendFallbacks) console.log(`  backend ${f.name} not used: ${f.error}`);
  if (r.firstMismatch) {
    const m = r.firstMismatch;
    console.log(`  first mismatch: ${m.tensor}[${m.index}] datapath ${m.datapath} vs reference ${m.reference}; largest difference ${r.maxAbsDiff}`);
  }
  if (r.missing.datapathOnly.length || r.missing.referenceOnly.length) console.log(`  tensors produced by one side only: ${JSON.stringify(r.missing)}`);
}

function variantSummary(cfg: Config): Record<string, unknown>[] {
  const g = geometryOf(cfg.model);
  return cfg.variants.map((v) => {
    const bits = imageLayoutBits(g, v);
    return { id: v, biasParams: encoderBiasParams(g, v), writableBits: bits.sram, romBits: bits.rom, taskImageBytes: Math.ceil(bits.sram / 8) };
  });
}

async function main(argv: string[]): Promise<number> {
  const args = parse(argv);
  if (!args) {
    process.stdout.write(HELP);
    return 0;
  }
  const cfg = loadConfig(args.config);
  const variant = args.variant ?? cfg.verify.variant;
  const seed = args.seed ?? cfg.verify.inputSeed;
  const outDir = resolve(args.out ?? join('out', cfg.name));
  const progress = new Progress(args.verifyOnly ? 4 : 5);
  progress.step(`GEMM engine (${args.gemm})`);
  const engine = await createGemmEngine(args.gemm);
  try {
    progress.step(`export images for ${cfg.name} [${variant}] (synthetic seed ${cfg.model.syntheticSeed})`);
    const ex = await imagesFor(cfg, variant, engine);
    progress.step(`verify: datapath vs TensorFlow.js (${args.backend})`);
    const report = await verifyImages(cfg, ex, variant, engine, args.backend, seed);
    progress.step('write outputs');
    const files: Record<string, string | Uint8Array> = {
      'rom.bin': ex.rom,
      [`sram-${variant}.bin`]: ex.sram,
      'verify.json': JSON.stringify({ ...report, images: { rom: { sha256: ex.romImage.sha256, bytes: ex.rom.length }, sram: { sha256: ex.sramImage.sha256, bytes: ex.sram.length } }, exporter: ex.stats }, null, 2) + '\n',
    };
    if (!args.verifyOnly) files['variants.json'] = JSON.stringify({ config: { name: cfg.name, sha256: cfg.sha256 }, variants: variantSummary(cfg) }, null, 2) + '\n';
    writeAll(outDir, files);
    progress.done();
    printVerify(report);
    if (!args.verifyOnly) {
      console.log('\nvariant          writable bias params   task image bytes   ROM bits');
      for (const v of variantSummary(cfg)) {
        console.log(`${String(v.id).padEnd(16)} ${String(v.biasParams).padStart(20)} ${String(v.taskImageBytes).padStart(18)} ${String(v.romBits).padStart(12)}`);
      }
    }
    console.log(`\nwrote ${Object.keys(files).map((f) => join(outDir, f)).join(', ')}`);
    return report.bitExact ? 0 : 1;
  } finally {
    await engine.close?.();
  }
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
