/**
 * formats/results-schema.ts: the result file of one fine-tuning run, declared once.
 * trainer/train.ts writes it (its RunResult is this type with the trainer's task, variant and
 * metric names); analysis/results.ts summarises what `readResults` reads, and the simulator's
 * report reads it through the same function. Every field declared here is checked on reading; a
 * file off the declaration is a ResultsError (an InputError: exit 2) naming the file, the field
 * path, the value and what is allowed.
 *
 * JSON has no NaN: a NaN metric (e.g. Matthews correlation of a constant prediction) is written as
 * null, and `readResults` reads it back as NaN, so in memory a metric is always a number.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, type InputErrorDetails } from './errors.js';
import { readJsonFile } from './input-file.js';
import { fieldChecker, type FieldChecker } from './json-fields.js';

/** Metrics by name (accuracy, f1, mcc, pearson, spearman, ...); a metric may be absent. */
export type ResultMetrics = Partial<Record<string, number>>;

/** Facts of the images a run's integer accuracy was measured on (sim/int-eval.ts). */
export interface ResultImages {
  /** formats/exporter-version.ts EXPORTER_VERSION of the export; absent: version 1. */
  exporterVersion?: number;
  layout?: string;
  romSha256?: string;
  sramSha256?: string;
  romBytes?: number;
  sramBytes?: number;
  biasSaturated?: number;
  ratioClamped?: number;
  weightSaturated?: number;
}

/** Where a run came from: the checkpoint, data, vocabulary, recipe and code. */
export interface ResultProvenance {
  /** A checkpoint (dir, sha256 of model.safetensors) or a random initialisation (kind, seed). */
  checkpoint: { dir?: string; sha256?: string; kind?: string; seed?: number };
  /** The model geometry trained (rtl-model/spec Geometry). */
  geometry?: { seqLen?: number };
  data?: { train?: { file?: string; sha256?: string; used?: number }; dev?: { file?: string; sha256?: string } };
  vocab?: { file?: string; sha256?: string };
  hyper?: { lr?: number; epochs?: number; batch?: number; seqLen?: number; optimizer?: string; backend?: string };
  /** The command line that ran it. */
  command?: string;
  commit?: string;
  /** Files changed against the commit (null when git could not say). */
  uncommitted?: string[] | null;
  wallS?: number;
}

/** One fine-tuning run's result (trainer/train.ts), typed by the writer's task, variant and metric names. */
export interface RunResult<Task extends string = string, Variant extends string = string, Metrics extends ResultMetrics = ResultMetrics> {
  task: Task;
  variant: Variant;
  lr: number;
  seed: number;
  trainable: { count: number; total: number; percent: number };
  epochs: { epoch: number; trainLoss: number; dev: Metrics; train: Metrics }[];
  best: { epoch: number; metric: string; value: number; dev: Metrics };
  /** Dev metrics of the best epoch's model through the integer datapath (null: skipped with --no-integer, or a variant without images). */
  integer: { dev: Metrics; images: ResultImages } | null;
  /** Mean |b_F - b_0| of each bias term, per layer, for the best epoch's model (the paper's Figure 1). */
  biasChange: Record<string, number[]>;
  provenance: ResultProvenance;
}

/** A result as read, with the file it was read from. */
export type RunResultFile = RunResult & { file: string };

/** The summary analysis/table.ts may write next to the runs; not a run. */
export const SUMMARY_FILE = 'summary.json';

/** A result file or directory that is not one this tool reads: `<file>: <field>: <problem>`. */
export class ResultsError extends InputError {
  constructor(file: string, field: string, problem: string, details: InputErrorDetails = {}) {
    super(file, field, problem, details);
    this.name = 'ResultsError';
  }
}

function checkMetrics(f: FieldChecker, v: unknown, path: string): ResultMetrics {
  return f.metricRecord(v, path);
}

/** Check a parsed result file against this declaration (metrics' null read as NaN); `file` names it in errors. */
export function checkResult(raw: unknown, file: string): RunResultFile {
  const f = fieldChecker((field, problem, d) => new ResultsError(file, field, problem, { hint: 'not a trainer/train.ts result file', ...d }));
  const r = f.object(raw, '(file)');
  f.string(r.task, 'task');
  f.string(r.variant, 'variant');
  const lr = f.number(r.lr, 'lr');
  if (lr <= 0) f.fail('lr', 'is not positive', { value: lr, allowed: 'a learning rate > 0' });
  f.integer(r.seed, 'seed');
  const tr = f.object(r.trainable, 'trainable');
  f.integer(tr.count, 'trainable.count', 0);
  f.integer(tr.total, 'trainable.total', 1);
  f.number(tr.percent, 'trainable.percent');
  const epochs = f.array(r.epochs, 'epochs', { nonEmpty: true }).map((e, i) => {
    const o = f.object(e, `epochs[${i}]`);
    f.integer(o.epoch, `epochs[${i}].epoch`, 1);
    return {
      ...o,
      trainLoss: f.numberOrNaN(o.trainLoss, `epochs[${i}].trainLoss`),
      dev: checkMetrics(f, o.dev, `epochs[${i}].dev`),
      train: checkMetrics(f, o.train, `epochs[${i}].train`),
    };
  });
  const b = f.object(r.best, 'best');
  f.integer(b.epoch, 'best.epoch', 1);
  f.string(b.metric, 'best.metric');
  const best = { ...b, value: f.numberOrNaN(b.value, 'best.value'), dev: checkMetrics(f, b.dev, 'best.dev') };
  let integer: RunResult['integer'] = null;
  if (r.integer !== null) {
    const o = f.object(r.integer, 'integer');
    const im = f.object(o.images, 'integer.images');
    if (im.exporterVersion !== undefined) f.integer(im.exporterVersion, 'integer.images.exporterVersion', 1);
    integer = { ...o, dev: checkMetrics(f, o.dev, 'integer.dev'), images: im };
  }
  const bc = f.object(r.biasChange, 'biasChange');
  for (const [term, xs] of Object.entries(bc)) f.array(xs, `biasChange.${term}`).forEach((x, l) => f.number(x, `biasChange.${term}[${l}]`));
  const pv = f.object(r.provenance, 'provenance');
  const ck = f.object(pv.checkpoint, 'provenance.checkpoint');
  for (const k of ['dir', 'sha256', 'kind'] as const) if (ck[k] !== undefined) f.string(ck[k], `provenance.checkpoint.${k}`);
  if (ck.sha256 === undefined && ck.kind === undefined) f.fail('provenance.checkpoint', 'names neither a sha256 nor a kind', { value: ck });
  const optionalInt = (o: Record<string, unknown>, k: string, path: string): void => void (o[k] === undefined || f.integer(o[k], `${path}.${k}`, 1));
  if (pv.geometry !== undefined) optionalInt(f.object(pv.geometry, 'provenance.geometry'), 'seqLen', 'provenance.geometry');
  if (pv.hyper !== undefined) {
    const h = f.object(pv.hyper, 'provenance.hyper');
    for (const k of ['seqLen', 'epochs', 'batch']) optionalInt(h, k, 'provenance.hyper');
  }
  if (pv.data !== undefined) {
    const d = f.object(pv.data, 'provenance.data');
    if (d.train !== undefined) {
      const t = f.object(d.train, 'provenance.data.train');
      if (t.used !== undefined) f.integer(t.used, 'provenance.data.train.used', 0);
    }
  }
  if (pv.command !== undefined) f.string(pv.command, 'provenance.command');
  if (pv.commit !== undefined) f.string(pv.commit, 'provenance.commit');
  if (pv.wallS !== undefined) f.number(pv.wallS, 'provenance.wallS');
  return { ...(r as unknown as RunResult), epochs, best, integer, file } as RunResultFile;
}

/** Read and check one result file; `field` names who gave the path. */
export function readResultFile(file: string, field = '(file)'): RunResultFile {
  let raw: unknown;
  try {
    raw = readJsonFile(file, field);
  } catch (e) {
    if (e instanceof InputError) throw new ResultsError(e.file, e.field, e.problem, { hint: e.hint });
    throw e;
  }
  return checkResult(raw, file);
}

/**
 * Every result file in a directory (sorted by name; summary.json excluded); `field` names who gave
 * the directory (a flag, a config field). A missing directory, a file, or a file in it that is not
 * a result is a ResultsError.
 */
export function readResults(dir: string, field = 'results directory'): RunResultFile[] {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ResultsError(dir, field, code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(e as Error).message}`, {
      hint: 'a directory of trainer/train.ts result files (*.json) is expected',
    });
  }
  if (!isDir) throw new ResultsError(dir, field, 'is a file, not a directory', { hint: 'a directory of trainer/train.ts result files (*.json) is expected' });
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json') && n !== SUMMARY_FILE)
    .sort()
    .map((n) => readResultFile(join(dir, n)));
}
