/**
 * Loaders for the GLUE tasks the BitFit trainer uses, read from the original TSV files.
 *
 * The GLUE directory comes from, in order: the `dir` argument (a command's `--glue-dir` flag should
 * pass it here), the `GLUE_DIR` environment variable, or `../shared/data/glue` relative to the
 * project root. Relative paths from the argument or the variable are resolved against the current
 * working directory.
 *
 * Parsing rules, shared by every task:
 *  - the file must be valid UTF-8; a leading byte-order mark is dropped (MRPC's header has one);
 *  - lines end with `\n`; a `\r` before it is dropped too, so CRLF copies load the same; the file
 *    may or may not end with a newline (CoLA dev does not), but no other line may be empty;
 *  - fields are split on every tab and kept verbatim: quote characters have no special meaning
 *    (HF reads these files with quoting disabled; MRPC and RTE have unbalanced quotes) and no
 *    whitespace is trimmed (SST-2 sentences end with a space before the tab);
 *  - a header, where the format has one, must be exactly the expected column names;
 *  - every data row must have exactly the format's field count, except STS-B: its original files
 *    have 7 fields, and a few rows carry extra trailing tab fields (the source of a news pair) after
 *    sentence2; the first 7 fields are used and the extra ones ignored;
 *  - labels map as in HF `datasets` GLUE: SST-2, CoLA and MRPC `0`/`1` as they are, RTE and QNLI
 *    `entailment` = 0 and `not_entailment` = 1; the STS-B score is a decimal number in [0, 5].
 * Any violation throws a GlueDataError naming the file, the 1-based line and the field.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../formats/errors.js';

export const GLUE_TASKS = ['sst2', 'cola', 'rte', 'mrpc', 'stsb', 'qnli'] as const;
export type GlueTask = (typeof GLUE_TASKS)[number];
export type GlueSplit = 'train' | 'dev';

/** One example: a sentence (pair) and its label (class index, or the STS-B score in [0, 5]). */
export interface GlueExample {
  textA: string;
  textB?: string;
  label: number;
}

export interface GlueData {
  task: GlueTask;
  split: GlueSplit;
  examples: GlueExample[];
  /** number of classes; 1 for the STS-B regression */
  numLabels: number;
  /** absolute path of the file read */
  file: string;
  /** sha256 (hex) of the file's bytes, for provenance */
  sha256: string;
  /** number of examples (data rows, header excluded) */
  rows: number;
}

/** Environment variable naming the GLUE directory. */
export const GLUE_DIR_ENV = 'GLUE_DIR';
/** The project root (this file lives in `<root>/trainer/`). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The GLUE directory used when neither an argument nor GLUE_DIR gives one. */
export const DEFAULT_GLUE_DIR = path.resolve(PROJECT_ROOT, '../shared/data/glue');

/**
 * A malformed or missing GLUE file: an InputError (exit 2 in every command). `line` (1-based) is set
 * for row-level errors; `field` is the column's name when one is at fault, else `line N` or `(file)`.
 * The message keeps the `<file>:<line>: <problem>` form of compilers and grep.
 */
export class GlueDataError extends InputError {
  constructor(
    message: string,
    file: string,
    readonly line?: number,
    field?: string,
  ) {
    super(file, field ?? (line !== undefined ? `line ${line}` : '(file)'), message);
    this.message = message;
    this.name = 'GlueDataError';
  }
}

export type GlueDirSource = 'argument' | 'env' | 'default';

/** The GLUE directory to use and where that choice came from (see the module comment). */
export function resolveGlueDir(dir?: string): { dir: string; source: GlueDirSource } {
  if (dir !== undefined && dir !== '') return { dir: path.resolve(dir), source: 'argument' };
  const env = process.env[GLUE_DIR_ENV];
  if (env !== undefined && env !== '') return { dir: path.resolve(env), source: 'env' };
  return { dir: DEFAULT_GLUE_DIR, source: 'default' };
}

// ---------------------------------------------------------------------------------------------
// Metrics per task

export type MetricName = 'accuracy' | 'f1' | 'mcc' | 'pearson' | 'spearman';

export interface TaskMetric {
  task: GlueTask;
  kind: 'classification' | 'regression';
  /** every metric reported for the task; the first is the headline number of BitFit's tables */
  metrics: readonly MetricName[];
  headline: MetricName;
}

/**
 * The metrics of the BitFit paper's GLUE evaluation (its authors' code, TASK_TO_METRICS): accuracy
 * for SST-2, RTE and QNLI, Matthews correlation for CoLA, F1 and accuracy for MRPC, Spearman and
 * Pearson for STS-B. The headline is the first: F1 for MRPC, Spearman for STS-B.
 */
const TASK_METRICS: Record<GlueTask, readonly MetricName[]> = {
  sst2: ['accuracy'],
  cola: ['mcc'],
  rte: ['accuracy'],
  mrpc: ['f1', 'accuracy'],
  stsb: ['spearman', 'pearson'],
  qnli: ['accuracy'],
};

export function taskMetric(task: GlueTask): TaskMetric {
  const metrics = TASK_METRICS[task];
  if (!metrics) throw new Error(`unknown GLUE task "${String(task)}" (expected one of ${GLUE_TASKS.join(', ')})`);
  return { task, kind: task === 'stsb' ? 'regression' : 'classification', metrics, headline: metrics[0] };
}

// ---------------------------------------------------------------------------------------------
// File formats

/** Where a row came from, for error messages. */
interface RowContext {
  file: string;
  line: number;
}

interface TaskFormat {
  /** folder under the GLUE directory */
  folder: string;
  /** file name per split; a missing split is not available */
  files: Partial<Record<GlueSplit, string>>;
  /** column names, used for the header check and in error messages */
  columns: readonly string[];
  /** whether line 1 is a header of exactly `columns` */
  hasHeader: boolean;
  /** whether rows may carry extra trailing fields beyond `columns` (ignored) */
  extraFieldsIgnored: boolean;
  numLabels: number;
  /** builds an example from a row's fields (already checked for count) */
  parse(fields: readonly string[], ctx: RowContext): GlueExample;
}

const BINARY_LABELS: ReadonlyMap<string, number> = new Map([
  ['0', 0],
  ['1', 1],
]);
const NLI_LABELS: ReadonlyMap<string, number> = new Map([
  ['entailment', 0],
  ['not_entailment', 1],
]);

function fail(ctx: RowContext, message: string, field?: string): never {
  throw new GlueDataError(`${ctx.file}:${ctx.line}: ${message}`, ctx.file, ctx.line, field);
}

/** Field `index` (0-based) of a row, described by number and name in errors. */
function fieldLabel(columns: readonly string[], index: number): string {
  return `field ${index + 1} "${columns[index]}"`;
}

function parseLabel(fields: readonly string[], index: number, columns: readonly string[], labels: ReadonlyMap<string, number>, ctx: RowContext): number {
  const value = fields[index];
  const label = labels.get(value);
  if (label === undefined) {
    const allowed = [...labels.keys()].map((k) => JSON.stringify(k)).join(' or ');
    fail(ctx, `${fieldLabel(columns, index)}: unknown label ${JSON.stringify(value)} (expected ${allowed})`, columns[index]);
  }
  return label;
}

/** A plain decimal number: digits with an optional fraction (no sign, exponent or spaces). */
const DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/;

function parseScore(fields: readonly string[], index: number, columns: readonly string[], ctx: RowContext): number {
  const value = fields[index];
  const where = fieldLabel(columns, index);
  if (!DECIMAL.test(value)) fail(ctx, `${where}: not a number: ${JSON.stringify(value)}`, columns[index]);
  const score = Number(value);
  if (!(score >= 0 && score <= 5)) fail(ctx, `${where}: score ${value} outside [0, 5]`, columns[index]);
  return score;
}

const SST2_COLUMNS = ['sentence', 'label'] as const;
const COLA_COLUMNS = ['source', 'label', 'orig', 'sentence'] as const;
const RTE_COLUMNS = ['index', 'sentence1', 'sentence2', 'label'] as const;
const MRPC_COLUMNS = ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'] as const;
const STSB_COLUMNS = ['genre', 'file', 'year', 'id', 'score', 'sentence1', 'sentence2'] as const;
const QNLI_COLUMNS = ['index', 'question', 'sentence', 'label'] as const;

const FORMATS: Record<GlueTask, TaskFormat> = {
  sst2: {
    folder: 'SST-2',
    files: { train: 'train.tsv', dev: 'dev.tsv' },
    columns: SST2_COLUMNS,
    hasHeader: true,
    extraFieldsIgnored: false,
    numLabels: 2,
    parse: (f, ctx) => ({ textA: f[0], label: parseLabel(f, 1, SST2_COLUMNS, BINARY_LABELS, ctx) }),
  },
  cola: {
    folder: 'CoLA',
    files: { train: 'train.tsv', dev: 'dev.tsv' },
    columns: COLA_COLUMNS,
    hasHeader: false,
    extraFieldsIgnored: false,
    numLabels: 2,
    // `orig` is the original author's acceptability mark (`*`, `?*`, ... or empty); the label is column 2.
    parse: (f, ctx) => ({ textA: f[3], label: parseLabel(f, 1, COLA_COLUMNS, BINARY_LABELS, ctx) }),
  },
  rte: {
    folder: 'RTE',
    files: { train: 'train.tsv', dev: 'dev.tsv' },
    columns: RTE_COLUMNS,
    hasHeader: true,
    extraFieldsIgnored: false,
    numLabels: 2,
    parse: (f, ctx) => ({ textA: f[1], textB: f[2], label: parseLabel(f, 3, RTE_COLUMNS, NLI_LABELS, ctx) }),
  },
  mrpc: {
    folder: 'MRPC',
    files: { train: 'train.tsv', dev: 'dev.tsv' },
    columns: MRPC_COLUMNS,
    hasHeader: true,
    extraFieldsIgnored: false,
    numLabels: 2,
    // Quality 1 = paraphrase ("equivalent"), the HF label 1.
    parse: (f, ctx) => ({ textA: f[3], textB: f[4], label: parseLabel(f, 0, MRPC_COLUMNS, BINARY_LABELS, ctx) }),
  },
  stsb: {
    folder: 'STS-B',
    files: { train: 'sts-train.csv', dev: 'sts-dev.csv' },
    columns: STSB_COLUMNS,
    hasHeader: false,
    extraFieldsIgnored: true,
    numLabels: 1,
    parse: (f, ctx) => ({ textA: f[5], textB: f[6], label: parseScore(f, 4, STSB_COLUMNS, ctx) }),
  },
  qnli: {
    folder: 'QNLI',
    files: { dev: 'dev.tsv' },
    columns: QNLI_COLUMNS,
    hasHeader: true,
    extraFieldsIgnored: false,
    numLabels: 2,
    parse: (f, ctx) => ({ textA: f[1], textB: f[2], label: parseLabel(f, 3, QNLI_COLUMNS, NLI_LABELS, ctx) }),
  },
};

function formatOf(task: GlueTask): TaskFormat {
  const format = FORMATS[task];
  if (!format) throw new Error(`unknown GLUE task "${String(task)}" (expected one of ${GLUE_TASKS.join(', ')})`);
  return format;
}

/** The file a task's split is read from, under `dir` (resolved as in resolveGlueDir). */
export function glueFile(task: GlueTask, split: GlueSplit, dir?: string): string {
  const format = formatOf(task);
  const name = format.files[split];
  if (name === undefined) {
    const have = Object.keys(format.files).join(', ');
    throw new Error(`GLUE ${format.folder} ${split} split is not available (only ${have}: ${task} is evaluation-only here)`);
  }
  return path.join(resolveGlueDir(dir).dir, format.folder, name);
}

/** Number of classes of a task (1 for the STS-B regression). */
export function taskNumLabels(task: GlueTask): number {
  const format = formatOf(task);
  return format.numLabels;
}

/** Splits a file's text into lines: `\n` separated, an optional `\r` before it dropped. */
function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop(); // the final newline
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/**
 * Loads one split of a GLUE task. `dir` is the GLUE directory (see the module comment for the
 * fallbacks). Throws a GlueDataError for a missing or malformed file, and an Error for a split
 * that does not exist (QNLI train).
 */
export function loadGlue(task: GlueTask, split: GlueSplit, dir?: string): GlueData {
  if (split !== 'train' && split !== 'dev') throw new Error(`unknown GLUE split "${String(split)}" (expected train or dev)`);
  const file = glueFile(task, split, dir);
  const format = formatOf(task);

  if (!existsSync(file) || !statSync(file).isFile()) {
    const { dir: glueDir, source } = resolveGlueDir(dir);
    const from =
      source === 'argument'
        ? 'given as an argument'
        : source === 'env'
          ? `from the ${GLUE_DIR_ENV} environment variable`
          : `the default, ../shared/data/glue from the project root`;
    throw new GlueDataError(
      `GLUE file not found: ${file} (GLUE directory ${glueDir}, ${from}; ` +
        `pass the directory as the dir argument (a command's --glue-dir flag) or set ${GLUE_DIR_ENV})`,
      file,
    );
  }

  const bytes = readFileSync(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let text: string;
  try {
    // ignoreBOM keeps a BOM in the text so that dropping it below is explicit.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new GlueDataError(`${file}: not valid UTF-8`, file);
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);

  const lines = splitLines(text);
  const { columns } = format;
  let first = 0;
  if (format.hasHeader) {
    const expected = columns.join('\t');
    if (lines.length === 0) throw new GlueDataError(`${file}:1: empty file, expected the header ${JSON.stringify(expected)}`, file, 1);
    if (lines[0] !== expected) {
      throw new GlueDataError(`${file}:1: unexpected header ${JSON.stringify(lines[0])} (expected ${JSON.stringify(expected)})`, file, 1);
    }
    first = 1;
  }

  const examples: GlueExample[] = [];
  for (let i = first; i < lines.length; i++) {
    const ctx: RowContext = { file, line: i + 1 };
    const fields = lines[i].split('\t');
    const n = columns.length;
    if (fields.length < n || (fields.length > n && !format.extraFieldsIgnored)) {
      const need = format.extraFieldsIgnored ? `at least ${n}` : `${n}`;
      const empty = lines[i] === '' ? ' (empty line)' : '';
      fail(ctx, `expected ${need} tab-separated fields (${columns.join(', ')}), found ${fields.length}${empty}`);
    }
    examples.push(format.parse(fields, ctx));
  }
  if (examples.length === 0) throw new GlueDataError(`${file}: no data rows`, file);

  return { task, split, examples, numLabels: format.numLabels, file, sha256, rows: examples.length };
}
