/**
 * rtl-model/known-answer.ts: the frozen known answer of rom-bert-tiny (as llm.c keeps one).
 *
 * fixtures/golden/known-answer-rom-bert-tiny.json records, for one fixed recipe (rom-bert-tiny's
 * geometry and synthetic-weight seed, its verify variant, calibration seed, input seed and padding),
 * the sha256 of the ROM and SRAM images the exporter makes, the datapath's logits for the input,
 * and a digest of every named intermediate tensor, with the spec and exporter versions that made
 * them. test/rtl-model/known-answer.test.ts fails when any of them changes, and checks that the
 * TensorFlow.js reference agrees, so a change that moves both integer implementations the same way
 * is caught too.
 *
 *   npx tsx rtl-model/known-answer.ts           recompute and compare: exit 0 equal, 1 on a difference
 *   npx tsx rtl-model/known-answer.ts --write   rewrite the file; refused (exit 2) unless SPEC_VERSION
 *                                               (rtl-model/spec/arith.ts) or EXPORTER_VERSION
 *                                               (formats/exporter-version.ts) differs from the file's
 *
 * This file imports rtl-model only: the recipe is written out here, and the test checks it against
 * fixtures/configs/rom-bert-tiny.json and sim/pipeline.ts imagesFor.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';
import { InputError } from '../formats/errors.js';
import { parseFlags } from '../formats/flags.js';
import { isMain, runCli, EXIT_MISMATCH, EXIT_OK } from '../formats/cli.js';
import { checkOutputFile, writeFileAtomic } from '../formats/atomic-write.js';
import { readJsonFile } from '../formats/input-file.js';
import { SPEC_VERSION, VARIANTS, imageSha256, type Geometry, type VariantId } from './spec/index.js';
import { EXPORTER_VERSION } from '../formats/exporter-version.js';
import { exportImages, type ExportResult } from './export.js';
import { syntheticInput, syntheticModel, syntheticTask } from './synthetic-weights.js';
import { Datapath, type IntTensor } from './datapath.js';
import { MemorySystem } from './memory.js';
import { oracleEngine, type GemmEngine } from './gemm/oracle.js';

export const KNOWN_ANSWER_FILE = fileURLToPath(new URL('../fixtures/golden/known-answer-rom-bert-tiny.json', import.meta.url));
export const REGENERATE_COMMAND = 'npx tsx rtl-model/known-answer.ts --write';

/** What the known answer is the answer of: the inputs of sim/pipeline.ts imagesFor and verifyImages. */
export interface KnownAnswerRecipe {
  config: string;
  geometry: Geometry;
  /** Seed of the synthetic base weights (config model.syntheticSeed). */
  syntheticSeed: number;
  /** Seed of the synthetic task (imagesFor: syntheticSeed + 1). */
  taskSeed: number;
  /** The config's verify.variant. */
  variant: VariantId;
  calibrationSeed: number;
  inputSeed: number;
  padTail: number;
}

/** rom-bert-tiny (fixtures/configs/rom-bert-tiny.json over rom-bert-base.json) as sim/run.ts verifies it. */
export const ROM_BERT_TINY_RECIPE: KnownAnswerRecipe = {
  config: 'rom-bert-tiny',
  geometry: { layers: 2, hidden: 128, heads: 2, ffn: 512, seqLen: 128, vocab: 30522, maxPositions: 512, typeVocab: 2, numLabels: 2 },
  syntheticSeed: 1,
  taskSeed: 2,
  variant: 'bitfit',
  calibrationSeed: 7,
  inputSeed: 11,
  padTail: 8,
};

export interface KnownAnswer {
  specVersion: number;
  exporterVersion: number;
  recipe: KnownAnswerRecipe;
  romSha256: string;
  sramSha256: string;
  romBytes: number;
  sramBytes: number;
  /** The datapath's int32 logits for the recipe's input. */
  logits: number[];
  /** sha256 over every named intermediate of the datapath (name, then little-endian bytes, names sorted). */
  tensorsSha256: string;
}

/** sha256 of a forward pass's named tensors: each name, a NUL, its dtype, a NUL, its bytes; names sorted. */
export function hashTensors(records: Map<string, IntTensor>): string {
  const h = createHash('sha256');
  for (const name of [...records.keys()].sort()) {
    const t = records.get(name)!;
    h.update(`${name}\0${t.constructor.name}\0`);
    h.update(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
  }
  return h.digest('hex');
}

/** The known answer of already exported images: their checksums, and the datapath's answer on the recipe's input. */
export async function answerOfImages(
  recipe: KnownAnswerRecipe,
  ex: ExportResult,
  engine: GemmEngine = oracleEngine,
): Promise<{ answer: KnownAnswer; records: Map<string, IntTensor> }> {
  const g = recipe.geometry;
  const records = await new Datapath(new MemorySystem(ex.romImage, ex.sramImage), g, engine).forward(syntheticInput(g, recipe.inputSeed, recipe.padTail));
  const logits = records.get('logits');
  if (!logits) throw new Error('the datapath recorded no logits');
  const answer: KnownAnswer = {
    specVersion: SPEC_VERSION,
    exporterVersion: EXPORTER_VERSION,
    recipe,
    romSha256: imageSha256(ex.rom),
    sramSha256: imageSha256(ex.sram),
    romBytes: ex.rom.byteLength,
    sramBytes: ex.sram.byteLength,
    logits: Array.from(logits),
    tensorsSha256: hashTensors(records),
  };
  return { answer, records };
}

/** Export the recipe's images (synthetic base, synthetic task, calibration input) as sim/pipeline.ts imagesFor does. */
export async function exportRecipe(recipe: KnownAnswerRecipe, engine: GemmEngine = oracleEngine): Promise<ExportResult> {
  const g = recipe.geometry;
  const base = syntheticModel(g, recipe.syntheticSeed);
  return exportImages(base, recipe.variant, syntheticInput(g, recipe.calibrationSeed), engine, syntheticTask(base, recipe.variant, recipe.taskSeed));
}

/** Compute the known answer of a recipe from scratch with this code. */
export async function computeKnownAnswer(recipe: KnownAnswerRecipe = ROM_BERT_TINY_RECIPE): Promise<KnownAnswer> {
  return (await answerOfImages(recipe, await exportRecipe(recipe))).answer;
}

/** Every difference between the recorded answer and a computed one, one line each (empty: equal). */
export function diffKnownAnswers(recorded: KnownAnswer, computed: KnownAnswer): string[] {
  const d: string[] = [];
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  if (recorded.specVersion !== computed.specVersion)
    d.push(`specVersion: the file was made with ${recorded.specVersion}, this code is ${computed.specVersion}`);
  if (recorded.exporterVersion !== computed.exporterVersion)
    d.push(`exporterVersion: the file was made with ${recorded.exporterVersion}, this code is ${computed.exporterVersion}`);
  if (!same(recorded.recipe, computed.recipe)) d.push(`recipe: the file has ${JSON.stringify(recorded.recipe)}, this code ${JSON.stringify(computed.recipe)}`);
  for (const k of ['romSha256', 'sramSha256', 'romBytes', 'sramBytes', 'tensorsSha256'] as const) {
    if (recorded[k] !== computed[k]) d.push(`${k}: the file has ${recorded[k]}, this code makes ${computed[k]}`);
  }
  if (recorded.logits.length !== computed.logits.length)
    d.push(`logits: the file has ${recorded.logits.length} logits, this code makes ${computed.logits.length}`);
  else {
    for (let i = 0; i < recorded.logits.length; i++) {
      if (recorded.logits[i] !== computed.logits[i]) d.push(`logits[${i}]: the file has ${recorded.logits[i]}, this code makes ${computed.logits[i]}`);
    }
  }
  return d;
}

/** The message for a known answer that differs, naming what to do. */
export function describeDifference(file: string, diffs: string[]): string {
  return [
    `${displayPath(file)}: the known answer of ${ROM_BERT_TINY_RECIPE.config} changed:`,
    ...diffs.map((x) => `  ${x}`),
    'If the change is intended, bump SPEC_VERSION (rtl-model/spec/arith.ts) or EXPORTER_VERSION (formats/exporter-version.ts), then regenerate with:',
    `  ${REGENERATE_COMMAND}`,
  ].join('\n');
}

const displayPath = (file: string): string => {
  const r = relative(process.cwd(), file);
  return r && !r.startsWith('..') ? r : file;
};

/** Read and check a known-answer file: every field present with its type (InputError naming the field otherwise). */
export function readKnownAnswer(file: string, field = '--file'): KnownAnswer {
  const raw = readJsonFile(file, field);
  const fail = (path: string, problem: string, value: unknown): never => {
    throw new InputError(file, path, problem, { value, hint: `regenerate it with ${REGENERATE_COMMAND}` });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('(file)', 'must be a JSON object', raw);
  const o = raw as Record<string, unknown>;
  const int = (k: string): number => (Number.isSafeInteger(o[k]) ? (o[k] as number) : fail(k, 'must be an integer', o[k]));
  const hex = (k: string): string =>
    typeof o[k] === 'string' && /^[0-9a-f]{64}$/.test(o[k] as string) ? (o[k] as string) : fail(k, 'must be a sha256 (64 hex digits)', o[k]);
  const logits =
    Array.isArray(o.logits) && o.logits.every((v) => Number.isSafeInteger(v))
      ? (o.logits as number[])
      : fail('logits', 'must be an array of integers', o.logits);
  const recipe = o.recipe as KnownAnswerRecipe;
  if (typeof recipe !== 'object' || recipe === null || !(VARIANTS as readonly unknown[]).includes(recipe.variant))
    fail('recipe', 'must be a recipe object with a variant', o.recipe);
  return {
    specVersion: int('specVersion'),
    exporterVersion: int('exporterVersion'),
    recipe,
    romSha256: hex('romSha256'),
    sramSha256: hex('sramSha256'),
    romBytes: int('romBytes'),
    sramBytes: int('sramBytes'),
    logits,
    tensorsSha256: hex('tensorsSha256'),
  };
}

/** The file's text: the answer with a line saying what it is and how it is regenerated. */
export function formatKnownAnswer(a: KnownAnswer): string {
  const about =
    'Frozen known answer (rtl-model/known-answer.ts): image checksums and datapath logits of this recipe. ' +
    `Checked by test/rtl-model/known-answer.test.ts; regenerate with ${REGENERATE_COMMAND} after bumping SPEC_VERSION or EXPORTER_VERSION.`;
  return `${JSON.stringify({ about, ...a }, null, 2)}\n`;
}

const HELP = `Usage: npx tsx rtl-model/known-answer.ts [--write] [--file <path>]

Recompute the known answer of ${ROM_BERT_TINY_RECIPE.config} (ROM and SRAM image sha256, datapath logits,
a digest of every intermediate) and compare it with the committed file.

  (no flag)      compare; exit 0 when equal, 1 on a difference
  --write        rewrite the file; refused (exit 2) unless SPEC_VERSION (rtl-model/spec/arith.ts)
                 or EXPORTER_VERSION (formats/exporter-version.ts) differs from the file's, so that a change
                 of the answer is always a change of a version
  --file <path>  the known-answer file (default fixtures/golden/known-answer-rom-bert-tiny.json)
  --help         this text`;

export async function main(argv: string[], compute: () => Promise<KnownAnswer> = () => computeKnownAnswer()): Promise<number> {
  const v = parseFlags(argv, {
    write: { type: 'boolean', default: false },
    file: { type: 'string', default: KNOWN_ANSWER_FILE },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (v.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  const write = v.write;
  const file = v.file;
  if (write) {
    checkOutputFile(file, '--file'); // before the answer is computed
    if (existsSync(file)) {
      const old = readKnownAnswer(file);
      if (old.specVersion === SPEC_VERSION && old.exporterVersion === EXPORTER_VERSION) {
        throw new InputError(
          displayPath(file),
          'specVersion, exporterVersion',
          'refusing to rewrite a known answer made by the same spec and exporter versions as this code',
          {
            value: { specVersion: old.specVersion, exporterVersion: old.exporterVersion },
            allowed: `a file whose specVersion differs from ${SPEC_VERSION} or whose exporterVersion differs from ${EXPORTER_VERSION}`,
            hint:
              'a change of the known answer is a change of the integer spec or the exporter: ' +
              'bump SPEC_VERSION (rtl-model/spec/arith.ts) or EXPORTER_VERSION (formats/exporter-version.ts) first',
          },
        );
      }
    }
    const a = await compute();
    writeFileAtomic(file, formatKnownAnswer(a), { field: '--file' });
    const versions = `spec ${a.specVersion}, exporter ${a.exporterVersion}`;
    console.log(`wrote ${displayPath(file)}: ROM ${a.romSha256}, SRAM ${a.sramSha256}, logits [${a.logits.join(', ')}] (${versions})`);
    return EXIT_OK;
  }
  const recorded = readKnownAnswer(file);
  const diffs = diffKnownAnswers(recorded, await compute());
  if (diffs.length) {
    console.error(describeDifference(file, diffs));
    return EXIT_MISMATCH;
  }
  const what = `ROM ${recorded.romSha256.slice(0, 16)}..., SRAM ${recorded.sramSha256.slice(0, 16)}..., logits [${recorded.logits.join(', ')}]`;
  console.log(`${displayPath(file)}: the known answer holds (${what})`);
  return EXIT_OK;
}

if (isMain(import.meta.url)) runCli('rtl-model/known-answer.ts', main);
