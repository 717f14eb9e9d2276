/**
 * formats/report-schema.ts: report.json, the simulator's report of one design point (schema
 * bitfit-rom-accel/report@1), declared once. sim/report.ts writes it (typed as ReportJson, so the
 * writer cannot drift from this declaration); analysis/ reads it with `readReport`, which checks
 * every field declared here and throws a ReportError (an InputError: exit 2) naming the file, the
 * field path, the value and what is allowed.
 *
 * A change of a field's meaning or a removed field is a new schema version (report@2); a reader of
 * another version refuses the file rather than misread it.
 */
import { InputError, type InputErrorDetails } from './errors.js';
import { readJsonFile } from './input-file.js';
import { fieldChecker, type FieldChecker, type JsonObject } from './json-fields.js';

/** The schema this tool writes and reads. */
export const REPORT_SCHEMA = 'bitfit-rom-accel/report@1';

/** A cost by part (mm², µJ) and its total. */
export interface Breakdown {
  total: number;
  [part: string]: number;
}

export interface ReportStat {
  mean: number;
  std: number;
}

/** A variant's measured accuracy (from the config's fine-tuning results), scores x 100 rounded to 0.1. */
export interface ReportAccuracy {
  /** Per seed, the average over `task` of the headline dev score x 100 (float model); mean ± std over seeds. */
  mean: number;
  std: number;
  metric: string;
  seeds: number[];
  /** The tasks averaged, comma-separated. */
  task: string;
  /** The same through the integer datapath (images of each run's best epoch); null when the variant has no images. */
  integer: ReportStat | null;
  perTask: { task: string; metric: string; lr: number; float: ReportStat; integer: ReportStat | null }[];
  /** Variant whose fine-tuning results these are (dram-stream hosts full fine-tuning). */
  from: string;
}

/** Access and operation counts per inference (sim/costs.ts Counts). */
export interface ReportCounts {
  macs: number;
  correctionMacs: number;
  romBitsRead: number;
  sramBitsRead: number;
  patchBitsRead: number;
  bufferBitsRead: number;
  bufferBitsWritten: number;
  dramBitsRead: number;
  lutLookups: number;
  requants: number;
  lnElements: number;
  rowOps: number;
}

/** The fields of ReportCounts, for the reader's check. */
const COUNT_FIELDS: readonly (keyof ReportCounts)[] = [
  'macs',
  'correctionMacs',
  'romBitsRead',
  'sramBitsRead',
  'patchBitsRead',
  'bufferBitsRead',
  'bufferBitsWritten',
  'dramBitsRead',
  'lutLookups',
  'requants',
  'lnElements',
  'rowOps',
];

export interface ReportLayerCycles {
  /** "embeddings", the encoder layer's index, or "head". */
  layer: string;
  cycles: number;
  macs: number;
  utilization: number;
}

/**
 * One storage class of a design point as the banked memory model organises it (sim/costs.ts
 * MemoryUse): `count` identical memories, and the wire from their ports to the MAC array.
 */
export interface ReportMemory {
  kind: string;
  count: number;
  capacityBytes: number;
  wordBits: number;
  banks: number;
  bankBytes: number;
  /** Per access of one memory (pJ), bank and H-tree. */
  readEnergyPJ: number;
  /** Per bit delivered at the MAC array: the memory's own read plus the floor-plan wire (pJ/bit). */
  readPJPerBit: number;
  writePJPerBit: number;
  /** All `count` memories (mm²). */
  areaMm2: number;
  /** H-tree inside one memory (mm). */
  wireMm: number;
  /** Floor-plan wire from a memory's port to the MAC array: arrayWireFactor x the side of the class's total area (mm). */
  arrayWireMm: number;
}

/** How the headline ratios move across the ranges of the assumed constants (sim/report.ts uncertaintyOf). */
export interface ReportUncertainty {
  method: string;
  headline: { id: string; metric: 'area' | 'energy'; numerator: string; denominator: string; base: number; low: number; high: number; survives: boolean }[];
  /** Most influential first. `ratios[id]`: the ratio with the constant at [low, high]. */
  constants: {
    name: string;
    value: number;
    unit: string;
    low: number;
    high: number;
    source: string;
    ratios: Record<string, [number, number]>;
    influence: number;
  }[];
  /** Per variant: [low, high] of area and energy over all the settings. */
  bands: Record<string, { areaMm2: [number, number]; energyUJ: [number, number] }>;
}

export interface ReportVariant {
  id: string;
  biasParams: number;
  writableParams: number;
  writableBits: number;
  romBits: number;
  areaMm2: Breakdown;
  energyUJ: Breakdown;
  cycles: number;
  latencyUs: number;
  inferencesPerS: number;
  macs: number;
  counts: ReportCounts;
  taskImageBytes: number;
  taskSwitch: { cycles: number; energyUJ: number; source: string };
  tasksOnChip: number;
  tasksPerMiB: number;
  perTaskAreaMm2: number;
  cyclesByLayer: ReportLayerCycles[];
  cyclesByOpKind: Record<string, number>;
  accuracy: ReportAccuracy | null;
  /** The design point's memories (absent in reports written before the banked memory model). */
  memories?: Record<string, ReportMemory>;
}

export interface ReportVerify {
  bitExact: boolean;
  backend: string;
  backendFallbacks: { name: string; error: string }[];
  /** On webgpu, the adapter the reference ran on; software: lavapipe or another rasterizer, not a GPU. */
  adapter?: { vendor: string; architecture: string; device: string; description: string; software: boolean };
  gemmEngine: string;
  variant: string;
  inputSeed: number;
  tensorsCompared: number;
  elementsCompared: number;
  mismatches: number;
  firstMismatch: { tensor: string; index: number; datapath: number; reference: number } | null;
}

export interface ReportConstant {
  name: string;
  value: number;
  unit: string;
  /** measured, derived or assumed. */
  kind: string;
  source: string;
  formula?: string;
  /** An assumed constant's plausible range [low, high]. */
  range?: [number, number];
}

export interface ReportJson {
  schema: string;
  config: { name: string; sha256: string; file: string };
  provenance: { tool: string; specVersion: number; gitCommit: string; command: string; time: string; node: string };
  model: {
    layers: number;
    hidden: number;
    heads: number;
    ffn: number;
    seqLen: number;
    vocab: number;
    params: number;
    /** synthetic: `seed`; checkpoint: `path` and `sha256`. */
    weights: { kind: 'synthetic' | 'checkpoint'; seed?: number; path?: string; sha256?: string; note: string };
  };
  /** The config's hardware section as run, and the ROM read bandwidth. */
  hardware: { technology: string; clockMHz: number; array: { rows: number; cols: number; dataflow: string }; romBitsPerCycle: number; [k: string]: unknown };
  technology: { node: string; file: string; description: string; constants: ReportConstant[]; formulas: Record<string, string> };
  /** Where each kind of figure came from, in words. */
  sources: { counts: string; costs: string; verify: string; accuracy: string };
  verify: ReportVerify | null;
  variants: ReportVariant[];
  /** Absent in reports written before the uncertainty analysis. */
  uncertainty?: ReportUncertainty;
}

/** A report.json that is not one this tool reads: `<file>: <field>: <problem>`. */
export class ReportError extends InputError {
  constructor(file: string, field: string, problem: string, details: InputErrorDetails = {}) {
    super(file, field, problem, details);
    this.name = 'ReportError';
  }
}

/** Every field of a cost breakdown is a finite number, `total` among them. */
function checkBreakdown(f: FieldChecker, v: unknown, path: string): void {
  const o = f.numberRecord(v, path);
  f.number(o.total, `${path}.total`);
}

function checkStat(f: FieldChecker, v: unknown, path: string): void {
  const o = f.object(v, path);
  f.number(o.mean, `${path}.mean`);
  f.number(o.std, `${path}.std`);
}

function checkAccuracy(f: FieldChecker, v: unknown, path: string): void {
  if (v === null) return;
  const a = f.object(v, path);
  checkStat(f, a, path);
  f.string(a.metric, `${path}.metric`);
  f.array(a.seeds, `${path}.seeds`).forEach((s, i) => f.integer(s, `${path}.seeds[${i}]`));
  f.string(a.task, `${path}.task`);
  if (a.integer !== null) checkStat(f, a.integer, `${path}.integer`);
  f.array(a.perTask, `${path}.perTask`).forEach((t, i) => {
    const p = `${path}.perTask[${i}]`;
    const o = f.object(t, p);
    f.string(o.task, `${p}.task`);
    f.string(o.metric, `${p}.metric`);
    f.number(o.lr, `${p}.lr`);
    checkStat(f, o.float, `${p}.float`);
    if (o.integer !== null) checkStat(f, o.integer, `${p}.integer`);
  });
  f.string(a.from, `${path}.from`);
}

function checkVariant(f: FieldChecker, v: unknown, path: string): void {
  const o = f.object(v, path);
  f.string(o.id, `${path}.id`);
  for (const k of ['biasParams', 'writableParams', 'writableBits', 'romBits', 'cycles', 'macs', 'taskImageBytes', 'tasksOnChip'] as const) {
    f.integer(o[k], `${path}.${k}`, 0);
  }
  for (const k of ['latencyUs', 'inferencesPerS', 'tasksPerMiB', 'perTaskAreaMm2'] as const) f.number(o[k], `${path}.${k}`);
  checkBreakdown(f, o.areaMm2, `${path}.areaMm2`);
  checkBreakdown(f, o.energyUJ, `${path}.energyUJ`);
  const counts = f.numberRecord(o.counts, `${path}.counts`);
  for (const k of COUNT_FIELDS) f.number(counts[k], `${path}.counts.${k}`);
  const ts = f.object(o.taskSwitch, `${path}.taskSwitch`);
  f.integer(ts.cycles, `${path}.taskSwitch.cycles`, 0);
  f.number(ts.energyUJ, `${path}.taskSwitch.energyUJ`);
  f.string(ts.source, `${path}.taskSwitch.source`);
  f.array(o.cyclesByLayer, `${path}.cyclesByLayer`, { nonEmpty: true }).forEach((l, i) => {
    const p = `${path}.cyclesByLayer[${i}]`;
    const r = f.object(l, p);
    f.string(r.layer, `${p}.layer`);
    f.integer(r.cycles, `${p}.cycles`, 0);
    f.integer(r.macs, `${p}.macs`, 0);
    f.number(r.utilization, `${p}.utilization`);
  });
  f.numberRecord(o.cyclesByOpKind, `${path}.cyclesByOpKind`);
  checkAccuracy(f, o.accuracy, `${path}.accuracy`);
}

function checkPair(f: FieldChecker, v: unknown, path: string): void {
  const a = f.array(v, path);
  if (a.length !== 2) f.fail(path, 'must be a pair [low, high]', { value: v });
  a.forEach((x, i) => f.number(x, `${path}[${i}]`));
}

function checkUncertainty(f: FieldChecker, v: unknown): void {
  const u = f.object(v, 'uncertainty');
  f.string(u.method, 'uncertainty.method');
  f.array(u.headline, 'uncertainty.headline').forEach((h, i) => {
    const p = `uncertainty.headline[${i}]`;
    const o = f.object(h, p);
    for (const k of ['id', 'metric', 'numerator', 'denominator'] as const) f.string(o[k], `${p}.${k}`);
    for (const k of ['base', 'low', 'high'] as const) f.number(o[k], `${p}.${k}`);
    f.boolean(o.survives, `${p}.survives`);
  });
  f.array(u.constants, 'uncertainty.constants').forEach((c, i) => {
    const p = `uncertainty.constants[${i}]`;
    const o = f.object(c, p);
    for (const k of ['name', 'unit', 'source'] as const) f.string(o[k], `${p}.${k}`);
    for (const k of ['value', 'low', 'high', 'influence'] as const) f.number(o[k], `${p}.${k}`);
    const rs = f.object(o.ratios, `${p}.ratios`);
    for (const [k, r] of Object.entries(rs)) checkPair(f, r, `${p}.ratios.${k}`);
  });
  const bands = f.object(u.bands, 'uncertainty.bands');
  for (const [k, b] of Object.entries(bands)) {
    const o = f.object(b, `uncertainty.bands.${k}`);
    checkPair(f, o.areaMm2, `uncertainty.bands.${k}.areaMm2`);
    checkPair(f, o.energyUJ, `uncertainty.bands.${k}.energyUJ`);
  }
}

function checkVerify(f: FieldChecker, v: unknown): void {
  if (v === null) return;
  const o = f.object(v, 'verify');
  f.boolean(o.bitExact, 'verify.bitExact');
  for (const k of ['backend', 'gemmEngine', 'variant'] as const) f.string(o[k], `verify.${k}`);
  f.array(o.backendFallbacks, 'verify.backendFallbacks').forEach((b, i) => {
    const r = f.object(b, `verify.backendFallbacks[${i}]`);
    f.string(r.name, `verify.backendFallbacks[${i}].name`);
    f.string(r.error, `verify.backendFallbacks[${i}].error`);
  });
  if (o.adapter !== undefined) {
    const a = f.object(o.adapter, 'verify.adapter');
    for (const k of ['vendor', 'architecture', 'device', 'description'] as const) f.string(a[k], `verify.adapter.${k}`);
    f.boolean(a.software, 'verify.adapter.software');
  }
  f.integer(o.inputSeed, 'verify.inputSeed');
  for (const k of ['tensorsCompared', 'elementsCompared', 'mismatches'] as const) f.integer(o[k], `verify.${k}`, 0);
  if (o.firstMismatch !== null) {
    const m = f.object(o.firstMismatch, 'verify.firstMismatch');
    f.string(m.tensor, 'verify.firstMismatch.tensor');
    f.integer(m.index, 'verify.firstMismatch.index', 0);
    f.number(m.datapath, 'verify.firstMismatch.datapath');
    f.number(m.reference, 'verify.firstMismatch.reference');
  }
}

/**
 * Check a parsed report against this declaration; `file` names it in errors. The schema is checked
 * first, so a report of another version is refused as that, not as a list of odd fields.
 */
export function checkReport(raw: unknown, file: string): ReportJson {
  const f = fieldChecker((field, problem, d) => new ReportError(file, field, problem, d));
  const r = f.object(raw, '(file)');
  if (r.schema !== REPORT_SCHEMA) {
    f.fail('schema', r.schema === undefined ? 'is missing' : 'is not the schema this tool reads', {
      ...(r.schema === undefined ? {} : { value: r.schema }),
      allowed: REPORT_SCHEMA,
      hint: 'rebuild the report with this version of sim/run.ts',
    });
  }
  const strings = (o: JsonObject, path: string, keys: readonly string[]): void => keys.forEach((k) => f.string(o[k], `${path}.${k}`));
  strings(f.object(r.config, 'config'), 'config', ['name', 'sha256', 'file']);
  const pv = f.object(r.provenance, 'provenance');
  strings(pv, 'provenance', ['tool', 'gitCommit', 'command', 'time', 'node']);
  f.integer(pv.specVersion, 'provenance.specVersion', 1);
  const m = f.object(r.model, 'model');
  for (const k of ['layers', 'hidden', 'heads', 'ffn', 'seqLen', 'vocab', 'params'] as const) f.integer(m[k], `model.${k}`, 1);
  const w = f.object(m.weights, 'model.weights');
  if (w.kind !== 'synthetic' && w.kind !== 'checkpoint')
    f.fail('model.weights.kind', 'is not a kind of weights', { value: w.kind, allowed: 'synthetic or checkpoint' });
  if (w.kind === 'synthetic') f.integer(w.seed, 'model.weights.seed');
  else strings(w, 'model.weights', ['path', 'sha256']);
  f.string(w.note, 'model.weights.note');
  const hw = f.object(r.hardware, 'hardware');
  f.string(hw.technology, 'hardware.technology');
  f.number(hw.clockMHz, 'hardware.clockMHz');
  const arr = f.object(hw.array, 'hardware.array');
  f.integer(arr.rows, 'hardware.array.rows', 1);
  f.integer(arr.cols, 'hardware.array.cols', 1);
  f.string(arr.dataflow, 'hardware.array.dataflow');
  f.integer(hw.romBitsPerCycle, 'hardware.romBitsPerCycle', 0);
  const t = f.object(r.technology, 'technology');
  strings(t, 'technology', ['node', 'file', 'description']);
  f.array(t.constants, 'technology.constants').forEach((c, i) => {
    const p = `technology.constants[${i}]`;
    const o = f.object(c, p);
    strings(o, p, ['name', 'unit', 'kind', 'source']);
    f.number(o.value, `${p}.value`);
    if (o.formula !== undefined) f.string(o.formula, `${p}.formula`);
  });
  const formulas = f.object(t.formulas, 'technology.formulas');
  strings(formulas, 'technology.formulas', Object.keys(formulas));
  strings(f.object(r.sources, 'sources'), 'sources', ['counts', 'costs', 'verify', 'accuracy']);
  checkVerify(f, r.verify);
  f.array(r.variants, 'variants', { nonEmpty: true }).forEach((v, i) => checkVariant(f, v, `variants[${i}]`));
  if (r.uncertainty !== undefined) checkUncertainty(f, r.uncertainty);
  return r as unknown as ReportJson;
}

/**
 * Read and check a report.json; `field` names who gave the path (a flag, by default `--in`). A
 * missing, unreadable or non-JSON file and any field off this declaration is a ReportError.
 */
export function readReport(file: string, field = '--in'): ReportJson {
  let raw: unknown;
  try {
    raw = readJsonFile(file, field);
  } catch (e) {
    if (e instanceof InputError) throw new ReportError(e.file, e.field, e.problem, { hint: e.hint });
    throw e;
  }
  return checkReport(raw, file);
}
