#!/usr/bin/env -S npx tsx
/**
 * A campaign of fine-tuning runs: tasks x variants x learning rates x seeds, run by `--jobs`
 * parallel processes (one per core), resumable: a run whose result file exists is skipped (one
 * that does not match the plan stops the campaign unless --rerun-stale).
 *
 *   npx tsx trainer/campaign.ts --plan fixtures/campaigns/NAME.json [--jobs 2] [--dry-run] [--rerun-stale] [--results-root DIR] [--queue URL] [--help]
 *
 * With --queue redis://HOST:PORT the runs are BullMQ jobs (sim/queue.ts) that workers on any machine
 * take (sim/worker.ts); this process writes each result, once, as its job finishes.
 *
 * Plan file (JSON): { "name", "checkpoint", "tasks": [...], "variants": [...], "seeds": [...],
 *   "lr": { "bias": [1e-4, 4e-4, 7e-4, 1e-3], "full": [1e-5, 2e-5, 3e-5, 5e-5] },
 *   "epochs", "batch", "seq", "trainLimit": { "sst2": 8000, "*": 1000 } }   ("*": every other task)
 *   optional "trainSizes": [100, 400, 1600]: one run per size (first N training examples; Figure 2)
 *   optional "vocab": "fixtures/pretrained/X/vocab.txt": the vocabulary (train.ts --vocab), for a
 *   random-init plan compared with a checkpoint of its own vocabulary
 * Results: fixtures/results/<plan name>/<task>-<variant>-lr<lr>-seed<seed>.json (each with provenance);
 * --results-root DIR puts them in DIR/<plan name>/ instead (the tests use a temporary directory).
 * Before any run starts, the vocabulary and the GLUE files of every task are checked (exit 2).
 * The learning-rate grids default to the paper's (bias-only and full fine-tuning).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { cpus } from 'node:os';
import { GLUE_DIR_ENV, GLUE_TASKS, PROJECT_ROOT, glueFile, resolveGlueDir, type GlueTask } from './glue.js';
import { TRAIN_VARIANTS } from './finetune.js';
import { checkVocabFits, vocabFile, vocabMismatch } from './vocab-file.js';
import { sha256File } from './corpus.js';
import { EXPORTER_VERSION, exporterVersionOf } from '../formats/exporter-version.js';
import { InputError, UsageError, type InputErrorDetails } from '../formats/errors.js';
import { checkOutputDir, writeFileAtomic } from '../formats/atomic-write.js';
import { checkRedisClient, jobId, redact, redisOptions, submitAndWait, type TrainJob } from '../sim/queue.js';
import { isMain, runCli } from '../formats/cli.js';
import { flagNumber, parseFlags } from '../formats/flags.js';

export interface Plan {
  name: string;
  checkpoint: string | null;
  tasks: string[];
  variants: string[];
  seeds: number[];
  lr: { bias: number[]; full: number[] };
  epochs: number;
  batch: number;
  seq: number;
  trainLimit: Record<string, number>;
  /** Training-set sizes to sweep (the paper's Figure 2); each run uses the first N examples. Overrides trainLimit. */
  trainSizes?: number[];
  /** Vocabulary file (relative to the project) passed as train.ts --vocab; default: the checkpoint's or BERT's. */
  vocab?: string;
}

export const PAPER_LR = { bias: [1e-4, 4e-4, 7e-4, 1e-3], full: [1e-5, 2e-5, 3e-5, 5e-5] };

export interface PlannedRun {
  task: string;
  variant: string;
  lr: number;
  seed: number;
  /** Training examples (0: the whole training set). */
  limit: number;
  out: string;
  args: string[];
}

/**
 * Why an existing result file does not belong to this plan (another checkpoint, sequence length,
 * epoch count, batch or training-set size), or null when it does and the run can be skipped.
 */
export function staleReason(file: string, r: PlannedRun, p: Plan, checkpointSha: string | null, vocabSha?: string): string | null {
  let res: {
    provenance?: {
      checkpoint?: { sha256?: string; kind?: string };
      vocab?: { sha256?: string };
      hyper?: { seqLen?: number; epochs?: number; batch?: number };
      data?: { train?: { used?: number } };
    };
    integer?: { images?: { exporterVersion?: number } } | null;
  };
  try {
    res = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return `unreadable (${(e as Error).message})`;
  }
  const pv = res.provenance ?? {};
  const ck = checkpointSha ?? 'random-init';
  const theirs = pv.checkpoint?.sha256 ?? pv.checkpoint?.kind ?? '?';
  if (theirs !== ck) return `checkpoint ${theirs.slice(0, 12)}, plan ${ck.slice(0, 12)}`;
  // (a result without a vocabulary record counts as the default's unless the plan names one)
  if (vocabSha !== undefined && (pv.vocab?.sha256 ?? (p.vocab ? '?' : vocabSha)) !== vocabSha)
    return `vocabulary ${(pv.vocab?.sha256 ?? '?').slice(0, 12)}, plan ${vocabSha.slice(0, 12)}`;
  // integer accuracy of an older exporter (e.g. version 1: the head saturated at its initial scales)
  const ev = exporterVersionOf(res);
  if (ev !== null && ev !== EXPORTER_VERSION) return `integer accuracy by exporter version ${ev}, now ${EXPORTER_VERSION}`;
  const h = pv.hyper ?? {};
  if (h.seqLen !== p.seq || h.epochs !== p.epochs || h.batch !== p.batch)
    return `seq/epochs/batch ${h.seqLen}/${h.epochs}/${h.batch}, plan ${p.seq}/${p.epochs}/${p.batch}`;
  if (r.limit > 0 && pv.data?.train?.used !== r.limit) return `${pv.data?.train?.used} training examples, plan ${r.limit}`;
  return null;
}

/** What one training run is, whoever runs it (this process or a queue worker, sim/worker.ts). */
export interface RunRecipe {
  task: string;
  variant: string;
  lr: number;
  seed: number;
  epochs: number;
  batch: number;
  seq: number;
  /** Training examples (0: the whole training set). */
  limit: number;
  /** Project-relative checkpoint directory; null: random initialisation. */
  checkpoint: string | null;
  /** Project-relative vocabulary file; null: the checkpoint's or BERT's. */
  vocab: string | null;
}

/** The `npx` arguments of one run (trainer/train.ts), its result written to `out`. */
export function trainArgs(r: RunRecipe, out: string): string[] {
  const args = ['tsx', 'trainer/train.ts', '--task', r.task, '--variant', r.variant, '--lr', String(r.lr), '--seed', String(r.seed)];
  args.push('--epochs', String(r.epochs), '--batch', String(r.batch), '--seq', String(r.seq), '--out', out);
  if (r.checkpoint) args.push('--checkpoint', r.checkpoint);
  else args.push('--random-init');
  if (r.vocab) args.push('--vocab', resolve(PROJECT_ROOT, r.vocab));
  if (r.limit) args.push('--train-limit', String(r.limit));
  return args;
}

export function expandPlan(p: Plan, resultsDir: string): PlannedRun[] {
  const runs: PlannedRun[] = [];
  // seeds outermost: a campaign cut short still has every task and variant at the first seeds
  for (const seed of p.seeds) {
    for (const task of p.tasks) {
      for (const variant of p.variants) {
        for (const lr of variant === 'full-ft' ? p.lr.full : p.lr.bias) {
          const sizes = p.trainSizes ?? [p.trainLimit[task] ?? p.trainLimit['*'] ?? 0];
          for (const size of sizes) {
            const tag = p.trainSizes ? `-n${size}` : '';
            const out = join(resultsDir, `${task}-${variant}-lr${lr}${tag}-seed${seed}.json`);
            const args = trainArgs(
              { task, variant, lr, seed, epochs: p.epochs, batch: p.batch, seq: p.seq, limit: size, checkpoint: p.checkpoint, vocab: p.vocab ?? null },
              out,
            );
            runs.push({ task, variant, lr, seed, limit: size, out, args });
          }
        }
      }
    }
  }
  return runs;
}

/** A plan file that cannot be run: an InputError naming the file, the field, the value and what is allowed (exit 2). */
export class PlanError extends InputError {
  constructor(file: string, field: string, problem: string, details: InputErrorDetails = {}) {
    super(file, field, problem, details);
    this.name = 'PlanError';
  }
}

const PLAN_FIELDS = ['name', 'checkpoint', 'tasks', 'variants', 'seeds', 'lr', 'epochs', 'batch', 'seq', 'trainLimit', 'trainSizes', 'vocab'];
const TRAIN_TASKS: readonly string[] = GLUE_TASKS.filter((t) => t !== 'qnli');

/** Read and check a plan file; defaults: the paper's learning rates, 3 epochs, batch 16, sequence 128. */
export function loadPlan(file: string): Plan {
  if (!existsSync(file)) throw new PlanError(file, '(file)', 'does not exist');
  if (!statSync(file).isFile()) throw new PlanError(file, '(file)', 'is not a file (a plan is a JSON file, e.g. fixtures/campaigns/bitfit-medium.json)');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PlanError(file, '(file)', `not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PlanError(file, '(file)', 'must hold a JSON object');
  for (const k of Object.keys(raw)) if (!PLAN_FIELDS.includes(k)) throw new PlanError(file, k, `unknown field; allowed: ${PLAN_FIELDS.join(', ')}`);
  const show = (x: unknown): string => JSON.stringify(x);
  const need = (k: string): unknown => {
    if (raw[k] === undefined) throw new PlanError(file, k, 'is missing');
    return raw[k];
  };
  const posInt = (k: string, x: unknown, dflt?: number): number => {
    if (x === undefined && dflt !== undefined) return dflt;
    if (!(typeof x === 'number' && Number.isInteger(x) && x >= 1)) throw new PlanError(file, k, `${show(x)} is not an integer >= 1`);
    return x;
  };
  const list = <T>(k: string, x: unknown, item: (v: unknown, i: number) => T): T[] => {
    if (!Array.isArray(x) || x.length === 0) throw new PlanError(file, k, `${show(x)} is not a non-empty list`);
    const seen = new Set<string>();
    x.forEach((v, i) => {
      if (seen.has(show(v))) throw new PlanError(file, `${k}[${i}]`, `${show(v)} appears twice (two runs would write one result file)`);
      seen.add(show(v));
    });
    return x.map(item);
  };
  const oneOf =
    (k: string, allowed: readonly string[]) =>
    (v: unknown, i: number): string => {
      if (typeof v !== 'string' || !allowed.includes(v)) throw new PlanError(file, `${k}[${i}]`, `${show(v)} is not one of ${allowed.join(', ')}`);
      return v;
    };
  const name = need('name');
  if (typeof name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(name))
    throw new PlanError(file, 'name', `${show(name)} must be a directory name (letters, digits, . _ -)`);
  const checkpoint = raw.checkpoint ?? null;
  if (checkpoint !== null && typeof checkpoint !== 'string')
    throw new PlanError(file, 'checkpoint', `${show(checkpoint)} must be a checkpoint directory or null (random initialisation)`);
  if (typeof checkpoint === 'string' && !existsSync(join(resolve(PROJECT_ROOT, checkpoint), 'model.safetensors'))) {
    throw new PlanError(file, 'checkpoint', `${show(checkpoint)} has no model.safetensors (paths are relative to the project)`);
  }
  const vocab = raw.vocab;
  if (vocab !== undefined) {
    if (typeof vocab !== 'string') throw new PlanError(file, 'vocab', `${show(vocab)} must be the path of a vocab.txt file (relative to the project)`);
    const f = vocabFile(null, vocab, PROJECT_ROOT);
    if (typeof f !== 'string') throw new PlanError(file, 'vocab', `${show(vocab)}: ${f.error}`);
    const mismatch = typeof checkpoint === 'string' ? vocabMismatch(resolve(PROJECT_ROOT, checkpoint), f) : null;
    if (mismatch) throw new PlanError(file, 'vocab', `${show(vocab)} does not fit the checkpoint: ${mismatch}`);
  }
  const rates = (k: string, x: unknown): number[] =>
    list(k, x, (v, i) => {
      if (!(typeof v === 'number' && v > 0 && v < 1)) throw new PlanError(file, `${k}[${i}]`, `${show(v)} is not a learning rate in (0, 1)`);
      return v;
    });
  let lr = PAPER_LR;
  if (raw.lr !== undefined) {
    const l = raw.lr as Record<string, unknown>;
    if (typeof l !== 'object' || l === null || Array.isArray(l) || Object.keys(l).some((k) => k !== 'bias' && k !== 'full'))
      throw new PlanError(file, 'lr', `${show(l)} must be { "bias": [...], "full": [...] }`);
    lr = { bias: l.bias === undefined ? PAPER_LR.bias : rates('lr.bias', l.bias), full: l.full === undefined ? PAPER_LR.full : rates('lr.full', l.full) };
  }
  const trainLimit: Record<string, number> = {};
  if (raw.trainLimit !== undefined) {
    const t = raw.trainLimit as Record<string, unknown>;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) throw new PlanError(file, 'trainLimit', `${show(t)} must be an object of task: examples`);
    for (const [k, v] of Object.entries(t)) {
      if (k !== '*' && !TRAIN_TASKS.includes(k)) throw new PlanError(file, `trainLimit.${k}`, `not one of ${TRAIN_TASKS.join(', ')}, *`);
      trainLimit[k] = posInt(`trainLimit.${k}`, v);
    }
  }
  return {
    name,
    checkpoint,
    tasks: list('tasks', need('tasks'), oneOf('tasks', TRAIN_TASKS)),
    variants: list('variants', need('variants'), oneOf('variants', TRAIN_VARIANTS)),
    seeds: list('seeds', need('seeds'), (v, i) => {
      if (!(typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 2 ** 32 - 1))
        throw new PlanError(file, `seeds[${i}]`, `${show(v)} is not an integer in [0, 4294967295]`);
      return v;
    }),
    lr,
    epochs: posInt('epochs', raw.epochs, 3),
    batch: posInt('batch', raw.batch, 16),
    seq: posInt('seq', raw.seq, 128),
    trainLimit,
    trainSizes: raw.trainSizes === undefined ? undefined : list('trainSizes', raw.trainSizes, (v, i) => posInt(`trainSizes[${i}]`, v)),
    ...(vocab === undefined ? {} : { vocab: vocab as string }),
  };
}

/** The results directory of a plan when --results-root is not given: fixtures/results. */
export const DEFAULT_RESULTS_ROOT = join(PROJECT_ROOT, 'fixtures/results');

/**
 * The inputs every run of the plan reads, checked before any run starts (an InputError, exit 2,
 * rather than every run failing alike): the vocabulary (the plan's, else the checkpoint's
 * vocab.txt, else BERT uncased's in ../shared/data; it must load and fit the checkpoint) and the
 * train and dev files of every task in the GLUE directory ($GLUE_DIR, else ../shared/data/glue).
 * Returns the vocabulary file and the GLUE directory (absolute, for the runs' environment).
 */
export function checkRunInputs(plan: Plan, planFile: string): { vocab: string; glueDir: string } {
  const checkpoint = plan.checkpoint ? resolve(PROJECT_ROOT, plan.checkpoint) : null;
  const vf = vocabFile(checkpoint, plan.vocab, PROJECT_ROOT);
  if (typeof vf !== 'string') throw new PlanError(planFile, 'vocab', vf.error); // loadPlan has checked it: not reached
  const field = plan.vocab !== undefined ? `${planFile}: vocab` : '(default vocabulary)';
  if (!existsSync(vf)) {
    throw new InputError(vf, field, 'does not exist', {
      hint:
        "BERT uncased's vocabulary is in ../shared/data beside the project; or give the plan a checkpoint with its own vocab.txt, " +
        'or a "vocab" field (e.g. fixtures/pretrained/bert-l4-h128-v8k/vocab.txt)',
    });
  }
  checkVocabFits(checkpoint, vf, field);
  const { dir, source } = resolveGlueDir();
  const from = source === 'env' ? `from ${GLUE_DIR_ENV}` : 'the default, ../shared/data/glue';
  for (const task of plan.tasks as GlueTask[]) {
    for (const split of ['train', 'dev'] as const) {
      const f = glueFile(task, split, dir);
      if (!existsSync(f) || !statSync(f).isFile()) {
        throw new InputError(f, `${planFile}: tasks (${task} ${split})`, 'does not exist', {
          hint: `the GLUE directory is ${dir} (${from}); set ${GLUE_DIR_ENV} to another`,
        });
      }
    }
  }
  return { vocab: vf, glueDir: dir };
}

const HELP = `Usage: npx tsx trainer/campaign.ts --plan <plan.json> [--jobs N] [--dry-run] [--rerun-stale] [--results-root DIR]

Run every fine-tuning run of a plan (tasks x variants x learning rates x seeds [x training-set
sizes]), N at a time (default: one per core). Resumable: a run whose result file exists and matches
the plan (checkpoint, recipe, training-set size) is skipped. A result that does not match (e.g.
of an earlier checkpoint) is the record of that experiment: the campaign stops and lists them,
and overwrites them only with --rerun-stale.

  --plan <file>   the plan (fixtures/campaigns/*.json; its fields below)
  --jobs <n>      parallel training processes (default ${cpus().length})
  --dry-run       print the commands of the runs still to do, run nothing
  --rerun-stale   re-run (overwrite) results that do not match the plan
  --results-root DIR   where the plan's results directory is (default fixtures/results)
  --queue URL     run the runs as BullMQ jobs on this Redis (redis://[:password@]host:port, rediss:// for TLS)
                  for workers on any machine (npx tsx sim/worker.ts --queue URL); this process writes each
                  result as its job finishes (--jobs does not apply: each worker has its --concurrency)
  -h, --help      this help

Plan fields (JSON; paths relative to the project):
  name          the results directory's name (letters, digits, . _ -)
  checkpoint    the checkpoint directory, or null for a random initialisation
  tasks         e.g. ["rte", "mrpc"] (${TRAIN_TASKS.join(', ')})
  variants      e.g. ["bitfit", "full-ft"] (${TRAIN_VARIANTS.join(', ')})
  seeds         e.g. [1, 2, 3]
  lr            optional { "bias": [...], "full": [...] } (default the paper's: ${PAPER_LR.bias.join(', ')} and ${PAPER_LR.full.join(', ')})
  epochs, batch, seq   optional (default 3, 16, 128)
  trainLimit    optional { "sst2": 8000, "*": 1000 }: the first N training examples ("*": every other task)
  trainSizes    optional [100, 400, 1600]: one run per size (overrides trainLimit; the paper's Figure 2)
  vocab         optional vocabulary file (train.ts --vocab)

Results: fixtures/results/<plan name>/ (or DIR/<plan name>/ with --results-root DIR).
Before any run starts, the vocabulary and the GLUE train and dev files of every task are checked
(GLUE: $${GLUE_DIR_ENV}, else ../shared/data/glue).
Exit status: 0 every run finished, 1 a run failed, 2 bad input (a flag, the plan, the vocabulary, the GLUE data, stale results), 3 a bug.
`;

export async function main(argv: string[]): Promise<number> {
  const v = parseFlags(argv, {
    plan: { type: 'string' },
    jobs: { type: 'string', default: String(cpus().length) },
    'dry-run': { type: 'boolean', default: false },
    'rerun-stale': { type: 'boolean', default: false },
    'results-root': { type: 'string' },
    queue: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!v.plan) throw new UsageError('--plan', 'is required', { hint: 'e.g. --plan fixtures/campaigns/bitfit-medium.json' });
  const jobs = flagNumber('--jobs', v.jobs, { integer: true, min: 1 });
  if (v.queue) {
    redisOptions(v.queue);
    checkRedisClient();
  }
  const plan = loadPlan(resolve(v.plan));
  const dir = resolve(v['results-root'] ?? DEFAULT_RESULTS_ROOT, plan.name);
  checkOutputDir(dir, v['results-root'] !== undefined ? '--results-root' : `${v.plan}: name`);
  // the vocabulary every run tokenizes with (the plan's, else the checkpoint's vocab.txt, else BERT's) and the GLUE data
  const inputs = checkRunInputs(plan, v.plan);
  const vocabSha = sha256File(inputs.vocab);
  const runs = expandPlan(plan, dir);
  const ckSha = plan.checkpoint ? sha256File(join(resolve(PROJECT_ROOT, plan.checkpoint), 'model.safetensors')) : null;
  const stale: string[] = [];
  const todo = runs.filter((r) => {
    if (!existsSync(r.out)) return true;
    const why = staleReason(r.out, r, plan, ckSha, vocabSha);
    if (why) stale.push(`${r.out}: ${why}`);
    return why !== null;
  });
  if (stale.length) {
    const list = `${stale.slice(0, 10).join('\n  ')}${stale.length > 10 ? '\n  ...' : ''}`;
    if (!v['rerun-stale']) {
      throw new InputError(dir, '(results)', `${stale.length} existing results do not match the plan:\n  ${list}`, {
        hint: 'they are the record of another experiment: move them, or pass --rerun-stale to overwrite them',
      });
    }
    console.error(`${stale.length} existing results do not match the plan and will be re-run (--rerun-stale):\n  ${list}`);
  }
  const how = v.queue ? `as jobs on ${redact(v.queue)}` : `${jobs} at a time`;
  console.error(`${plan.name}: ${runs.length} runs, ${runs.length - todo.length} done, ${todo.length} to do, ${how}`);
  if (v['dry-run']) {
    for (const r of todo) console.log(['npx', ...r.args].join(' '));
    return 0;
  }
  mkdirSync(dir, { recursive: true });
  if (v.queue) return runOnQueue(v.queue, plan, todo, dir);
  let next = 0;
  let done = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const r = todo[next++];
      const code = await new Promise<number>((ok) => {
        // the GLUE directory checked above, absolute: the runs work in the project root
        const env = { ...process.env, [GLUE_DIR_ENV]: inputs.glueDir };
        const p = spawn('npx', r.args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
        p.on('close', (c) => {
          if (c !== 0) console.error(`\nFAILED ${r.task} ${r.variant} lr ${r.lr} seed ${r.seed}:\n${err}`);
          ok(c ?? 1);
        });
      });
      done++;
      if (code !== 0) failed++;
      process.stderr.write(`\r[${done}/${todo.length}] ${r.task} ${r.variant} lr ${r.lr} seed ${r.seed} ${code === 0 ? 'ok' : 'FAILED'}        `);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  console.error(`\n${done - failed} runs finished, ${failed} failed; results in ${dir}`);
  return failed ? 1 : 0;
}

/** A project-relative path for a queue job (workers refuse any other), or null. */
function projectRelative(p: string | null | undefined): string | null {
  if (!p) return null;
  const rel = relative(PROJECT_ROOT, resolve(PROJECT_ROOT, p));
  return rel.split(sep).join('/');
}

/** The runs of a plan as queue jobs (data only: sim/queue.ts validates them on the worker). */
export function trainJobs(plan: Plan, todo: PlannedRun[]): TrainJob[] {
  return todo.map((r) => ({
    kind: 'train-run',
    plan: plan.name,
    task: r.task,
    variant: r.variant,
    lr: r.lr,
    seed: r.seed,
    epochs: plan.epochs,
    batch: plan.batch,
    seq: plan.seq,
    limit: r.limit,
    checkpoint: projectRelative(plan.checkpoint),
    vocab: projectRelative(plan.vocab),
    out: basename(r.out),
  }));
}

/** What a worker returns for a training run: the result file's name and its text. */
export interface TrainJobResult {
  file: string;
  json: string;
}

/**
 * Queue mode: every run to do as a BullMQ job; workers (sim/worker.ts) train, and this process
 * writes each result file once (atomically) from the job's return value, in the same place as a local run.
 */
async function runOnQueue(url: string, plan: Plan, todo: PlannedRun[], dir: string): Promise<number> {
  const jobs = trainJobs(plan, todo);
  const outOf = new Map(jobs.map((j) => [jobId(j), j.out]));
  let written = 0;
  // on a terminal one progress line redrawn in place (a result line goes above it); elsewhere a line when it changes
  const tty = Boolean(process.stderr.isTTY);
  let progress = '';
  const sub = await submitAndWait<TrainJobResult>(url, jobs, {
    onDone: (id, r) => {
      const name = outOf.get(id)!;
      if (!r || r.file !== name || typeof r.json !== 'string') throw new Error(`job ${id}: its return value is not the result ${name}`);
      JSON.parse(r.json); // a worker's answer is checked, not trusted
      writeFileAtomic(join(dir, name), r.json);
      written++;
      process.stderr.write(`${tty ? '\r\x1b[K' : ''}wrote ${join(dir, name)}\n${tty ? progress : ''}`);
    },
    onProgress: (finished, total, workers) => {
      const line = `[${finished}/${total}] runs finished, ${workers} workers connected`;
      if (line !== progress) process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
      progress = line;
    },
  });
  if (tty && progress) process.stderr.write('\n');
  for (const f of sub.failed) console.error(`FAILED job ${f.id} (${outOf.get(f.id)}): ${f.reason}`);
  console.error(`${written} runs finished, ${sub.failed.length} failed; results in ${dir}`);
  return sub.failed.length ? 1 : 0;
}

if (isMain(import.meta.url)) runCli('trainer/campaign.ts', main);
