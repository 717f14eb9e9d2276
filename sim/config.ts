/**
 * Config loading and validation. A config is JSON in fixtures/configs/ (by name) or any path; it
 * may `extends` another config (by name or relative path) and override fields (objects merge,
 * arrays and scalars replace). Every problem throws ConfigError (an InputError) naming the file,
 * the field path, the value and what is allowed; the CLI turns it into exit code 2.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VARIANTS, type Geometry, type VariantId, geometryProblems } from '../rtl-model/spec/index.js';
import { SIM_VARIANTS, type SimVariantId } from './variants.js';
import { InputError, type InputErrorDetails } from '../formats/errors.js';
import { readBertConfig, type BertConfig } from '../formats/hf-config.js';

export const CONFIG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/configs');

/** A config problem: `<file>: <field>: <problem>`, an InputError (exit 2). */
export class ConfigError extends InputError {
  constructor(file: string, field: string, problem: string, details: InputErrorDetails = {}) {
    super(file, field, problem, details);
    this.name = 'ConfigError';
  }
}

export interface ModelConfig extends Geometry {
  /** Path to a checkpoint (safetensors); null means seeded synthetic weights. */
  checkpoint: string | null;
  syntheticSeed: number;
  /** Fine-tuning results of this checkpoint (a campaign directory under fixtures/results); null: none. */
  results: string | null;
}

export interface VerifyConfig {
  /** Variant whose images the bit-exact check uses. */
  variant: VariantId;
  calibrationSeed: number;
  inputSeed: number;
  /** Padding tokens at the end of the verification sequence (exercises the attention mask). */
  padTail: number;
}

export const DATAFLOWS = ['os', 'ws', 'is'] as const;
export type Dataflow = (typeof DATAFLOWS)[number];

/** Throughput of one kind of non-linear unit: `units` units, each taking `elementsPerCycle` elements a cycle. */
export interface UnitConfig {
  units: number;
  elementsPerCycle: number;
}

/** The bank sizes (KiB) a config may set per memory (`bankKB`): the range the banked memory model (sim/memory.ts) was checked over. */
export const BANK_KB_RANGE: readonly [number, number] = [8, 256];

export interface HardwareConfig {
  /** Technology table in fixtures/tech/<technology>.json. */
  technology: string;
  clockMHz: number;
  array: { rows: number; cols: number; dataflow: Dataflow };
  /**
   * ROM organisation: `banks` independent memories (each with `readPorts` ports of `wordBits`),
   * each built from subarrays of at most `bankKB` KiB (default: the technology table's memBankKB).
   * A weight SRAM that replaces the ROM (full-ft) is organised the same way.
   */
  rom: { banks: number; wordBits: number; readPorts: number; bankKB?: number };
  /** Bias SRAM (writable registers of the variant): word width, memories, subarray size. */
  biasSram: { wordBits: number; banks: number; bankKB?: number };
  /** On-chip storage for task images (task images kept ready to swap); subarray size. */
  taskStorage: { tasks: number; bankKB?: number };
  /** Activation buffers: sizes and bandwidth to/from the array; subarray size. */
  buffers: { ifmapKB: number; ofmapKB: number; bandwidthBitsPerCycle: number; bankKB?: number };
  nonlinear: { gelu: UnitConfig; exp: UnitConfig; layerNorm: UnitConfig };
  /** Off-chip memory: streams weights for the dram-stream baseline and task images. */
  dram: { bandwidthGBs: number };
  /** Host interface that loads a task image into SRAM. */
  taskLoad: { bandwidthBitsPerCycle: number };
  /** Correction unit of the random-subset variants: patched weights applied as extra MACs. */
  patch: { macsPerCycle: number };
}

export interface Config {
  name: string;
  description: string;
  model: ModelConfig;
  hardware: HardwareConfig;
  variants: SimVariantId[];
  verify: VerifyConfig;
  /** Where it was loaded from and the sha256 of the merged config. */
  file: string;
  sha256: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObj(v) && isObj(base[k]) ? merge(base[k] as Obj, v) : v;
  return out;
}

/** Resolve a config argument: a name in fixtures/configs, or a path to a .json file. */
export function resolveConfigPath(arg: string, relativeTo = process.cwd()): string {
  if (arg.endsWith('.json') || arg.includes('/')) return resolve(relativeTo, arg);
  return resolve(CONFIG_DIR, `${arg}.json`);
}

function readJson(file: string, chain: string[]): Obj {
  if (!existsSync(file)) {
    const from = chain.length ? ` (extended by ${chain[chain.length - 1]})` : '';
    throw new ConfigError(file, '(file)', `does not exist${from}; configs in ${CONFIG_DIR}: name them without .json, or pass a path`);
  }
  if (chain.includes(file)) throw new ConfigError(file, 'extends', `cycle: ${[...chain, file].map((f) => basename(f)).join(' -> ')}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(file, '(file)', `is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObj(raw)) throw new ConfigError(file, '(root)', 'must be a JSON object');
  if (raw.extends === undefined) return raw;
  if (typeof raw.extends !== 'string') throw new ConfigError(file, 'extends', `${JSON.stringify(raw.extends)} must be a config name or a relative path`);
  const parent = readJson(resolveConfigPath(raw.extends, dirname(file)), [...chain, file]);
  const { extends: _ignored, ...rest } = raw;
  void _ignored;
  return merge(parent, rest);
}

class Checker {
  constructor(readonly file: string) {}

  fail(field: string, message: string): never {
    throw new ConfigError(this.file, field, message);
  }

  fields(o: Json | undefined, path: string, required: string[], optional: string[] = []): Obj {
    if (!isObj(o)) this.fail(path || '(root)', `${JSON.stringify(o)} must be an object`);
    for (const k of required) if (!(k in o)) this.fail(path ? `${path}.${k}` : k, 'is missing');
    const allowed = new Set([...required, ...optional]);
    for (const k of Object.keys(o)) {
      if (!allowed.has(k)) this.fail(path ? `${path}.${k}` : k, `unknown field; allowed: ${[...allowed].join(', ')}`);
    }
    return o;
  }

  int(v: Json | undefined, field: string, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(field, `${JSON.stringify(v)} must be an integer in [${min}, ${max}]`);
    return v;
  }

  str(v: Json | undefined, field: string): string {
    if (typeof v !== 'string' || v.length === 0) this.fail(field, `${JSON.stringify(v)} must be a non-empty string`);
    return v;
  }

  simVariant(v: Json | undefined, field: string): SimVariantId {
    if (typeof v !== 'string' || !(SIM_VARIANTS as readonly string[]).includes(v))
      this.fail(field, `${JSON.stringify(v)} is not a variant; allowed: ${SIM_VARIANTS.join(', ')}`);
    return v as SimVariantId;
  }

  variant(v: Json | undefined, field: string): VariantId {
    if (typeof v !== 'string' || !(VARIANTS as readonly string[]).includes(v))
      this.fail(field, `${JSON.stringify(v)} is not a variant; allowed: ${VARIANTS.join(', ')}`);
    return v as VariantId;
  }
}

const GEOMETRY_FIELDS = ['layers', 'hidden', 'heads', 'ffn', 'seqLen', 'vocab', 'maxPositions', 'typeVocab', 'numLabels'] as const;

/** Project root: relative checkpoint paths in configs are resolved against it. */
export const PROJECT_ROOT = resolve(CONFIG_DIR, '../..');

/** Absolute directory of a config's checkpoint (config.json + model.safetensors). */
export const checkpointDir = (checkpoint: string): string => resolve(PROJECT_ROOT, checkpoint);

/**
 * `model.checkpoint`: a directory (relative to the project root, or absolute) holding HuggingFace
 * `config.json` and `model.safetensors`; the config's geometry must be the checkpoint's.
 */
function checkCheckpoint(c: Checker, v: Json | undefined, g: Geometry): string {
  if (typeof v !== 'string' || v === '') c.fail('model.checkpoint', `${JSON.stringify(v)} must be null (seeded synthetic weights) or a checkpoint directory`);
  const dir = checkpointDir(v);
  for (const f of ['config.json', 'model.safetensors']) {
    if (!existsSync(resolve(dir, f)))
      c.fail('model.checkpoint', `${JSON.stringify(v)}: ${resolve(dir, f)} does not exist (a checkpoint directory holds config.json and model.safetensors)`);
  }
  let hf: BertConfig;
  try {
    hf = readBertConfig(resolve(dir, 'config.json'));
  } catch (e) {
    c.fail('model.checkpoint', `${JSON.stringify(v)}: ${(e as Error).message}`);
  }
  const theirs: Partial<Record<keyof Geometry, number>> = {
    layers: hf.num_hidden_layers,
    hidden: hf.hidden_size,
    heads: hf.num_attention_heads,
    ffn: hf.intermediate_size,
    vocab: hf.vocab_size,
    maxPositions: hf.max_position_embeddings,
    typeVocab: hf.type_vocab_size,
  }; // numLabels is the task head's, not the checkpoint's (its head is not used)
  for (const [k, x] of Object.entries(theirs) as [keyof Geometry, number][]) {
    if (g[k] !== x) c.fail(`model.${k}`, `${g[k]} but the checkpoint ${JSON.stringify(v)} has ${x} (its config.json); the geometry must be the checkpoint's`);
  }
  return v;
}

/** Load, merge `extends`, validate. */
export function loadConfig(arg: string): Config {
  const file = resolveConfigPath(arg);
  const raw = readJson(file, []);
  const c: Checker = new Checker(file);
  const root = c.fields(raw, '', ['name', 'model', 'hardware', 'variants', 'verify'], ['description', 'extends']);
  const m = c.fields(root.model, 'model', [...GEOMETRY_FIELDS, 'checkpoint', 'syntheticSeed'], ['results']);
  const geometry = {} as Geometry;
  for (const k of GEOMETRY_FIELDS) {
    const v = m[k];
    if (typeof v !== 'number' || !Number.isInteger(v)) c.fail(`model.${k}`, `${JSON.stringify(v)} must be a positive integer`);
    geometry[k] = v;
  }
  for (const p of geometryProblems(geometry)) {
    const field = /^(\w+) =/.exec(p)?.[1] ?? 'geometry';
    c.fail(`model.${field}`, p);
  }
  const checkpoint = m.checkpoint === null ? null : checkCheckpoint(c, m.checkpoint, geometry);
  let results: string | null = null;
  if (m.results !== undefined && m.results !== null) {
    if (typeof m.results !== 'string' || m.results === '')
      c.fail('model.results', `${JSON.stringify(m.results)} must be null or a results directory (e.g. fixtures/results/<campaign>)`);
    if (checkpoint === null)
      c.fail('model.results', `${JSON.stringify(m.results)}: results need a model.checkpoint (synthetic weights have no measured accuracy)`);
    if (!existsSync(resolve(PROJECT_ROOT, m.results)))
      c.fail('model.results', `${JSON.stringify(m.results)}: ${resolve(PROJECT_ROOT, m.results)} does not exist`);
    results = m.results;
  }
  const model: ModelConfig = { ...geometry, checkpoint, syntheticSeed: c.int(m.syntheticSeed, 'model.syntheticSeed', 0, 2 ** 32 - 1), results };
  if (!Array.isArray(root.variants) || root.variants.length === 0)
    c.fail('variants', `${JSON.stringify(root.variants)} must be a non-empty array of variant ids`);
  const variants = root.variants.map((v, i) => c.simVariant(v, `variants[${i}]`));
  const seen = new Set<string>();
  variants.forEach((v, i) => {
    if (seen.has(v)) c.fail(`variants[${i}]`, `${v} is listed twice`);
    seen.add(v);
  });
  const vf = c.fields(root.verify, 'verify', ['variant', 'calibrationSeed', 'inputSeed', 'padTail']);
  const verify: VerifyConfig = {
    variant: c.variant(vf.variant, 'verify.variant'),
    calibrationSeed: c.int(vf.calibrationSeed, 'verify.calibrationSeed', 0, 2 ** 32 - 1),
    inputSeed: c.int(vf.inputSeed, 'verify.inputSeed', 0, 2 ** 32 - 1),
    padTail: c.int(vf.padTail, 'verify.padTail', 0, model.seqLen - 1),
  };
  const hardware = parseHardware(c, root.hardware);
  const name = c.str(root.name, 'name');
  const description = root.description === undefined ? '' : c.str(root.description, 'description');
  const sha256 = createHash('sha256').update(JSON.stringify(raw)).digest('hex');
  return { name, description, model, hardware, variants, verify, file, sha256 };
}

function parseHardware(c: Checker, raw: Json | undefined): HardwareConfig {
  const h = c.fields(raw, 'hardware', [
    'technology',
    'clockMHz',
    'array',
    'rom',
    'biasSram',
    'taskStorage',
    'buffers',
    'nonlinear',
    'dram',
    'taskLoad',
    'patch',
  ]);
  const tech = c.str(h.technology, 'hardware.technology');
  if (!/^[\w.-]+$/.test(tech)) c.fail('hardware.technology', `${JSON.stringify(tech)} must name a table in fixtures/tech/`);
  const a = c.fields(h.array, 'hardware.array', ['rows', 'cols', 'dataflow']);
  if (typeof a.dataflow !== 'string' || !(DATAFLOWS as readonly string[]).includes(a.dataflow))
    c.fail('hardware.array.dataflow', `${JSON.stringify(a.dataflow)} is not a dataflow; allowed: ${DATAFLOWS.join(', ')}`);
  const r = c.fields(h.rom, 'hardware.rom', ['banks', 'wordBits', 'readPorts'], ['bankKB']);
  const b = c.fields(h.biasSram, 'hardware.biasSram', ['wordBits', 'banks'], ['bankKB']);
  const t = c.fields(h.taskStorage, 'hardware.taskStorage', ['tasks'], ['bankKB']);
  const bu = c.fields(h.buffers, 'hardware.buffers', ['ifmapKB', 'ofmapKB', 'bandwidthBitsPerCycle'], ['bankKB']);
  const bank = (o: Obj, field: string): { bankKB?: number } => {
    if (o.bankKB === undefined) return {};
    const v = o.bankKB;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < BANK_KB_RANGE[0] || v > BANK_KB_RANGE[1])
      c.fail(
        `${field}.bankKB`,
        `${JSON.stringify(v)} must be a bank (subarray) size in KiB in [${BANK_KB_RANGE[0]}, ${BANK_KB_RANGE[1]}], ` +
          'the range the banked memory model (sim/memory.ts) was checked over',
      );
    return { bankKB: v };
  };
  const n = c.fields(h.nonlinear, 'hardware.nonlinear', ['gelu', 'exp', 'layerNorm']);
  const unit = (k: string): UnitConfig => {
    const u = c.fields(n[k], `hardware.nonlinear.${k}`, ['units', 'elementsPerCycle']);
    return {
      units: c.int(u.units, `hardware.nonlinear.${k}.units`, 1, 1 << 16),
      elementsPerCycle: c.int(u.elementsPerCycle, `hardware.nonlinear.${k}.elementsPerCycle`, 1, 1 << 16),
    };
  };
  const d = c.fields(h.dram, 'hardware.dram', ['bandwidthGBs']);
  const tl = c.fields(h.taskLoad, 'hardware.taskLoad', ['bandwidthBitsPerCycle']);
  const pa = c.fields(h.patch, 'hardware.patch', ['macsPerCycle']);
  const pos = (v: Json | undefined, field: string, max: number): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max) c.fail(field, `${JSON.stringify(v)} must be a number in (0, ${max}]`);
    return v;
  };
  return {
    technology: tech,
    clockMHz: pos(h.clockMHz, 'hardware.clockMHz', 1e5),
    array: { rows: c.int(a.rows, 'hardware.array.rows', 1, 1 << 14), cols: c.int(a.cols, 'hardware.array.cols', 1, 1 << 14), dataflow: a.dataflow as Dataflow },
    rom: {
      banks: c.int(r.banks, 'hardware.rom.banks', 1, 1 << 16),
      wordBits: c.int(r.wordBits, 'hardware.rom.wordBits', 8, 1 << 16),
      readPorts: c.int(r.readPorts, 'hardware.rom.readPorts', 1, 16),
      ...bank(r, 'hardware.rom'),
    },
    biasSram: {
      wordBits: c.int(b.wordBits, 'hardware.biasSram.wordBits', 8, 1 << 16),
      banks: c.int(b.banks, 'hardware.biasSram.banks', 1, 1 << 16),
      ...bank(b, 'hardware.biasSram'),
    },
    taskStorage: { tasks: c.int(t.tasks, 'hardware.taskStorage.tasks', 1, 1 << 20), ...bank(t, 'hardware.taskStorage') },
    buffers: {
      ifmapKB: pos(bu.ifmapKB, 'hardware.buffers.ifmapKB', 1 << 20),
      ofmapKB: pos(bu.ofmapKB, 'hardware.buffers.ofmapKB', 1 << 20),
      bandwidthBitsPerCycle: c.int(bu.bandwidthBitsPerCycle, 'hardware.buffers.bandwidthBitsPerCycle', 8, 1 << 20),
      ...bank(bu, 'hardware.buffers'),
    },
    nonlinear: { gelu: unit('gelu'), exp: unit('exp'), layerNorm: unit('layerNorm') },
    dram: { bandwidthGBs: pos(d.bandwidthGBs, 'hardware.dram.bandwidthGBs', 1e5) },
    taskLoad: { bandwidthBitsPerCycle: c.int(tl.bandwidthBitsPerCycle, 'hardware.taskLoad.bandwidthBitsPerCycle', 1, 1 << 20) },
    patch: { macsPerCycle: c.int(pa.macsPerCycle, 'hardware.patch.macsPerCycle', 1, 1 << 20) },
  };
}

export function geometryOf(m: ModelConfig): Geometry {
  const g = {} as Geometry;
  for (const k of GEOMETRY_FIELDS) g[k] = m[k];
  return g;
}
