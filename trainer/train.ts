#!/usr/bin/env -S npx tsx
/**
 * One fine-tuning run of a BitFit variant on a GLUE task (the command's flags: HELP below, or --help).
 *
 * Trains only the variant's parameters (AdamW; classifier head and pooler bias always trainable),
 * evaluates the dev set after every epoch and keeps the best epoch by the task's headline metric;
 * then exports the best epoch's model to ROM/SRAM images and evaluates the dev set through the
 * integer datapath (the random subsets in the full-ft layout), so results carry float and integer
 * metrics side by side.
 * Vocabulary: --vocab FILE, else the checkpoint's vocab.txt, else BERT uncased's; a random-init run
 * compared with a checkpoint of its own vocabulary must be given that vocabulary.
 * Writes a result JSON with provenance (checkpoint hash, data sha256, command, seed, commit, wall time).
 * Every flag and the --out path are checked before any data is read (exit 2 through formats/cli.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectTrainingBackend, BACKENDS, type BackendRequest } from './backend.js';
import { codeVersion } from './provenance.js';
import { BertModel, bertParamShapes, initialParams, ownModelGeometry } from './model.js';
import { AdamW, selectTrainable, TRAIN_VARIANTS, type TrainVariant } from './finetune.js';
import { WordPieceTokenizer } from './tokenizer.js';
import { checkVocabFits, vocabFile } from './vocab-file.js';
import { readSafetensors, readBertConfig, toGeometry, validateAgainstShapes } from './checkpoint.js';
import { loadGlue, taskMetric, GLUE_TASKS, PROJECT_ROOT, type GlueTask, type GlueExample } from './glue.js';
import { evaluate, formatMetric, formatMetrics, type Metrics } from './metrics.js';
import { ProgressBar } from './progress-bar.js';
import { flagChoice, flagNumber, parseFlags } from '../formats/flags.js';
import { InputError, UsageError } from '../formats/errors.js';
import { checkOutputFile, writeFileAtomic } from '../formats/atomic-write.js';
import { isMain, runCli } from '../formats/cli.js';
import { rng } from '../rtl-model/spec/random.js';
import { LAYER_BIAS_TERMS, layerPrefix, type BiasTerm, type Geometry } from '../rtl-model/spec/index.js';
import type { ForwardInput } from '../rtl-model/datapath.js';
import type { RunResult as ResultFile } from '../formats/results-schema.js';
// The integer evaluation exports images and runs them through the integer datapath (rtl-model/).
import { integerEval, integerLayout } from './int-eval.js';

export interface RunOptions {
  task: GlueTask;
  variant: TrainVariant;
  checkpoint: string | null;
  lr: number;
  epochs: number;
  batch: number;
  seqLen: number;
  seed: number;
  trainLimit: number;
  glueDir?: string;
  vocab: string;
  /** Evaluate the best epoch through the integer datapath (random subsets in the full-ft layout: trainer/int-eval.ts). */
  integer: boolean;
}

/** The result file of a run, as formats/results-schema.ts declares it for every reader, with the trainer's names. */
export type RunResult = ResultFile<GlueTask, TrainVariant, Metrics>;

type Encoded = { ids: Int32Array; types: Int32Array; mask: Int32Array; labels: Float32Array; lengths: Int32Array };

function encodeAll(tok: WordPieceTokenizer, ex: GlueExample[], L: number): Encoded {
  const ids = new Int32Array(ex.length * L);
  const types = new Int32Array(ex.length * L);
  const mask = new Int32Array(ex.length * L);
  const labels = new Float32Array(ex.length);
  const lengths = new Int32Array(ex.length);
  ex.forEach((e, i) => {
    const enc = tok.encode(e.textA, e.textB, { maxLength: L, padToMaxLength: true });
    ids.set(enc.inputIds, i * L);
    types.set(enc.tokenTypeIds, i * L);
    mask.set(enc.attentionMask, i * L);
    labels[i] = e.label;
    lengths[i] = enc.attentionMask.reduce((a, m) => a + m, 0);
  });
  return { ids, types, mask, labels, lengths };
}

/**
 * The examples `idx` as a batch trimmed to its longest sequence (rounded up to a multiple of 8, at most L).
 * The same model: padded keys get an additive mask of -10000, whose softmax weight is exactly 0 in
 * float32, and nothing else reads the padded positions, so [CLS] changes only by the summation order
 * of products over a different length (float rounding), not in what is computed.
 */
function batchInputs(d: Encoded, idx: ArrayLike<number>, L: number): { inputIds: tf.Tensor2D; tokenTypeIds: tf.Tensor2D; attentionMask: tf.Tensor2D } {
  let longest = 1;
  for (let q = 0; q < idx.length; q++) longest = Math.max(longest, d.lengths[idx[q]]);
  const Lb = Math.min(L, Math.ceil(longest / 8) * 8);
  const b = idx.length;
  const pick = (a: Int32Array): tf.Tensor2D => {
    const r = new Int32Array(b * Lb);
    for (let q = 0; q < b; q++) r.set(a.subarray(idx[q] * L, idx[q] * L + Lb), q * Lb);
    return tf.tensor2d(r, [b, Lb], 'int32');
  };
  return { inputIds: pick(d.ids), tokenTypeIds: pick(d.types), attentionMask: pick(d.mask) };
}

/** Predictions for every example; batches are formed in order of length so little padding is computed. */
async function predict(model: BertModel, d: Encoded, L: number, batch: number): Promise<Float32Array> {
  const n = d.labels.length;
  const regression = model.opts.head === 'regression';
  const out = new Float32Array(n);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d.lengths[a] - d.lengths[b] || a - b);
  for (let i = 0; i < n; i += batch) {
    const idx = order.slice(i, i + batch);
    const t = tf.tidy(() => {
      const logits = model.classify(batchInputs(d, idx, L), false);
      return regression ? tf.squeeze(logits, [1]) : tf.argMax(logits, -1);
    });
    const p = await t.data();
    t.dispose();
    idx.forEach((k, q) => (out[k] = p[q]));
  }
  return out;
}

/** Mean absolute change of every encoder bias term, per layer, between two parameter sets. */
export function biasChange(g: Geometry, before: Map<string, Float32Array>, after: Map<string, Float32Array>): Record<BiasTerm, number[]> {
  const out = {} as Record<BiasTerm, number[]>;
  for (const [term, suffix] of Object.entries(LAYER_BIAS_TERMS) as [BiasTerm, string][]) {
    out[term] = Array.from({ length: g.layers }, (_, l) => {
      const name = layerPrefix(l) + suffix;
      const a = before.get(name);
      const b = after.get(name);
      if (!a || !b) throw new Error(`biasChange: ${name} is missing`);
      let sum = 0;
      for (let i = 0; i < a.length; i++) sum += Math.abs(b[i] - a[i]);
      return sum / a.length;
    });
  }
  return out;
}

/** A dev metric for choosing the best epoch: undefined or NaN (e.g. Spearman of constant predictions) ranks last. */
const orMinus = (x: number | undefined): number => (x === undefined || Number.isNaN(x) ? -Infinity : x);

const sha256 = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

/** Tensors a checkpoint may lack, drawn fresh (seeded): the task head, and the pooler of a masked-LM-only checkpoint. */
const FRESH_IF_MISSING = ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias'];

/**
 * The model a run starts from: a checkpoint's weights with a fresh (seeded) head, or a seeded random
 * initialisation of the project's L4/H128 geometry. The checkpoint's tensors are checked against
 * the geometry of its config.json first (formats/hf-checkpoint.ts: every tensor present, of its
 * shape; HF's name variants accepted): a mismatch is a CheckpointError naming the tensors (exit 2).
 */
export function startingPoint(
  checkpoint: string | null,
  seqLen: number,
  numLabels: number,
  seed: number,
  vocab: number,
): { g: Geometry; params: Map<string, Float32Array>; ckpt: Record<string, string> | null } {
  if (!checkpoint) {
    const g = ownModelGeometry(seqLen, numLabels, vocab);
    return { g, params: initialParams(g, seed), ckpt: null };
  }
  const cfgFile = join(checkpoint, 'config.json');
  const g = { ...toGeometry(readBertConfig(cfgFile), seqLen, cfgFile), numLabels };
  const file = join(checkpoint, 'model.safetensors');
  // the checkpoint's own head (another task's) is never used
  const tensors = new Map([...readSafetensors(file).tensors].filter(([k]) => !k.startsWith('classifier.')));
  const fromCheckpoint = validateAgainstShapes(tensors, bertParamShapes(g), file, { optional: FRESH_IF_MISSING });
  // a fresh head (and the pooler when the checkpoint lacks one); only those are drawn
  const params = initialParams(g, seed, false, undefined, (k) => !fromCheckpoint.has(k));
  for (const [k, t] of fromCheckpoint) params.set(k, t.data);
  return { g, params, ckpt: { dir: checkpoint, sha256: sha256(file) } };
}

/** Trainable parameter count and percentage of every variant for a starting point. */
export function variantCounts(g: Geometry, params: Map<string, Float32Array>): { variant: TrainVariant; count: number; total: number; percent: number }[] {
  const model = new BertModel(g, params, { head: 'classification' });
  try {
    return TRAIN_VARIANTS.map((variant) => {
      const t = selectTrainable(model, variant, 1);
      return { variant, count: t.count, total: t.total, percent: (100 * t.count) / t.total };
    });
  } finally {
    model.dispose();
  }
}

/** A progress display for the steps of one epoch (ProgressBar in the command; none in tests). */
export type EpochProgress = (epoch: number, steps: number) => { tick(steps: number, examples: number): void; done(): void };

export async function runFinetune(o: RunOptions, log: (s: string) => void = () => {}, progress?: EpochProgress): Promise<RunResult> {
  const t0 = performance.now();
  const train = loadGlue(o.task, 'train', o.glueDir);
  const dev = loadGlue(o.task, 'dev', o.glueDir);
  const tok = WordPieceTokenizer.fromVocabFile(o.vocab);
  const numLabels = o.task === 'stsb' ? 1 : train.numLabels;
  const { g, params, ckpt } = startingPoint(o.checkpoint, o.seqLen, numLabels, o.seed, tok.vocabSize);
  if (g.vocab !== tok.vocabSize) {
    throw new InputError(
      join(o.checkpoint ?? '(random init)', 'config.json'),
      'vocab_size',
      `${g.vocab}, but the vocabulary ${o.vocab} has ${tok.vocabSize} tokens`,
      {
        hint: 'a checkpoint with its own vocabulary keeps it as vocab.txt beside the model',
      },
    );
  }
  const model = new BertModel(g, params, { head: o.task === 'stsb' ? 'regression' : 'classification' });
  const trainable = selectTrainable(model, o.variant, o.seed);
  log(
    `${o.task} ${o.variant}: ${trainable.count.toLocaleString('en-US')} of ${trainable.total.toLocaleString('en-US')} parameters trainable ` +
      `(${((100 * trainable.count) / trainable.total).toFixed(3)}%)`,
  );
  const opt = new AdamW(model, trainable, { lr: o.lr, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: o.variant === 'full-ft' ? 0.01 : 0 });
  const trainEx = train.examples.slice(0, o.trainLimit > 0 ? o.trainLimit : undefined);
  const trD = encodeAll(tok, trainEx, o.seqLen);
  const devD = encodeAll(tok, dev.examples, o.seqLen);
  const rand = rng(o.seed * 7919 + 17);
  const L = o.seqLen;
  const metric = taskMetric(o.task).headline;
  const epochs: RunResult['epochs'] = [];
  const totalSteps = Math.ceil(trainEx.length / o.batch) * o.epochs;
  let step = 0;
  let bestParams: Map<string, Float32Array> | null = null;
  let bestDev: number | null = null;
  for (let ep = 1; ep <= o.epochs; ep++) {
    const order = Array.from({ length: trainEx.length }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0;
    let batches = 0;
    const tEp = performance.now();
    const bar = progress?.(ep, Math.ceil(order.length / o.batch));
    for (let s = 0; s < order.length; s += o.batch) {
      const idx = order.slice(s, s + o.batch);
      opt.opts.lr = o.lr * Math.max(0, 1 - step / totalSteps); // linear decay, as the paper's recipe
      const inp = batchInputs(trD, idx, L);
      const labels = tf.tensor1d(
        idx.map((k) => trD.labels[k]),
        'float32',
      );
      lossSum += await opt.step(() => model.loss(model.classify(inp, true), labels));
      tf.dispose([inp.inputIds, inp.tokenTypeIds, inp.attentionMask, labels]);
      batches++;
      step++;
      bar?.tick(1, idx.length);
    }
    bar?.done();
    const tTrain = performance.now();
    const devM = evaluate(o.task, await predict(model, devD, L, 64), devD.labels);
    // train metric on (up to) 256 training examples: the generalisation gap of the paper
    const sub = Math.min(trainEx.length, 256);
    const trSub = {
      ids: trD.ids.subarray(0, sub * L),
      types: trD.types.subarray(0, sub * L),
      mask: trD.mask.subarray(0, sub * L),
      labels: trD.labels.subarray(0, sub),
      lengths: trD.lengths.subarray(0, sub),
    };
    const trM = evaluate(o.task, await predict(model, trSub, L, 64), trSub.labels);
    epochs.push({ epoch: ep, trainLoss: lossSum / batches, dev: devM, train: trM });
    log(
      `epoch ${ep}: train loss ${(lossSum / batches).toPrecision(4)}, dev ${formatMetrics(devM)}; train ${formatMetrics(trM)} ` +
        `(${batches} steps ${((tTrain - tEp) / 1000).toFixed(1)} s, evaluation ${((performance.now() - tTrain) / 1000).toFixed(1)} s)`,
    );
    if (!bestParams || orMinus(devM[metric]) > (bestDev ?? -Infinity)) {
      bestParams = await model.exportParams();
      bestDev = orMinus(devM[metric]);
    }
  }
  const best = epochs.reduce((a, b) => (orMinus(b.dev[metric]) > orMinus(a.dev[metric]) ? b : a));
  let integer: RunResult['integer'] = null;
  if (o.integer && integerLayout(o.variant) && bestParams) {
    const toInput = (d: typeof devD, i: number): ForwardInput => ({
      inputIds: d.ids.slice(i * L, (i + 1) * L),
      tokenTypeIds: d.types.slice(i * L, (i + 1) * L),
      attentionMask: d.mask.slice(i * L, (i + 1) * L),
    });
    const tInt = performance.now();
    const ie = await integerEval(
      g,
      params,
      bestParams,
      o.variant,
      toInput(trD, 0),
      dev.examples.map((_, i) => toInput(devD, i)),
      o.task === 'stsb',
    );
    integer = { dev: evaluate(o.task, ie.predictions, devD.labels), images: ie.images };
    log(`integer datapath, best epoch: dev ${formatMetrics(integer.dev)} (${((performance.now() - tInt) / 1000).toFixed(1)} s)`);
  }
  const { commit, uncommitted } = codeVersion();
  opt.dispose();
  model.dispose();
  return {
    task: o.task,
    variant: o.variant,
    lr: o.lr,
    seed: o.seed,
    trainable: { count: trainable.count, total: trainable.total, percent: (100 * trainable.count) / trainable.total },
    epochs,
    best: { epoch: best.epoch, metric, value: best.dev[metric] ?? NaN, dev: best.dev },
    biasChange: biasChange(g, params, bestParams!),
    integer,
    provenance: {
      checkpoint: ckpt ?? { kind: 'random-init', seed: o.seed },
      geometry: g,
      data: {
        train: { file: train.file.split('/').slice(-2).join('/'), sha256: train.sha256, used: trainEx.length },
        dev: { file: dev.file.split('/').slice(-2).join('/'), sha256: dev.sha256 },
      },
      vocab: { file: o.vocab.split('/').pop(), sha256: sha256(o.vocab) },
      hyper: { lr: o.lr, epochs: o.epochs, batch: o.batch, seqLen: o.seqLen, optimizer: 'AdamW(0.9, 0.999, 1e-6), linear decay', backend: tf.getBackend() },
      commit,
      uncommitted,
      wallS: (performance.now() - t0) / 1000,
    },
  };
}

/** The flags of the command, with their defaults (HELP shows the same values). */
const FLAGS = {
  task: { type: 'string' },
  variant: { type: 'string', default: 'bitfit' },
  checkpoint: { type: 'string' },
  'random-init': { type: 'boolean', default: false },
  vocab: { type: 'string' },
  lr: { type: 'string', default: '1e-3' },
  epochs: { type: 'string', default: '3' },
  batch: { type: 'string', default: '16' },
  seq: { type: 'string', default: '128' },
  seed: { type: 'string', default: '1' },
  'train-limit': { type: 'string', default: '0' },
  'no-integer': { type: 'boolean', default: false },
  'glue-dir': { type: 'string' },
  out: { type: 'string' },
  backend: { type: 'string', default: 'wasm' },
  'list-variants': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The tasks that can be fine-tuned here (QNLI has no train split in the data). */
const TRAIN_TASKS = GLUE_TASKS.filter((t) => t !== 'qnli');
const DEFAULT_CHECKPOINT = 'fixtures/pretrained/bert-l4-h128';

export const HELP = `Usage: npx tsx trainer/train.ts --task TASK [--variant V] [--checkpoint DIR | --random-init] [options]
       npx tsx trainer/train.ts --list-variants [--checkpoint DIR | --random-init] [--vocab FILE]

Fine-tune the project's BERT on one GLUE task, training only the variant's parameters (AdamW with
linear decay; the classifier head and the pooler bias always train). The dev set is evaluated after
every epoch and the best epoch (by the task's headline metric) is kept; its model is exported to
ROM/SRAM images and evaluated again through the integer datapath. The result JSON holds every
epoch's metrics, the float and integer dev metrics of the best epoch, and provenance (checkpoint
and data sha256, vocabulary, command, seed, commit, wall time).

  --task T           ${TRAIN_TASKS.join(', ')} (required; QNLI has no train split here)
  --variant V        ${TRAIN_VARIANTS.join(', ')} (default ${FLAGS.variant.default})
  --checkpoint DIR   the pre-trained model to start from (default ${DEFAULT_CHECKPOINT})
  --random-init      start from a seeded random initialisation of the L4/H128 geometry instead
  --vocab FILE       the vocabulary (default: the checkpoint's vocab.txt, else BERT uncased's in ../shared/data)
  --lr X             peak learning rate, linearly decayed to 0 (default ${FLAGS.lr.default})
  --epochs N         passes over the training set (default ${FLAGS.epochs.default})
  --batch N          examples per step (default ${FLAGS.batch.default})
  --seq N            maximum sequence length in tokens, at least 8 (default ${FLAGS.seq.default})
  --seed N           seed of the head, the shuffling and the random subsets (default ${FLAGS.seed.default})
  --train-limit N    train on the first N examples only (default ${FLAGS['train-limit'].default}: all)
  --glue-dir DIR     the GLUE directory (default: $GLUE_DIR, else ../shared/data/glue)
  --no-integer       skip the evaluation through the integer datapath
  --out FILE         the result JSON (default out/results/<task>-<variant>-lr<lr>-seed<seed>.json)
  --backend B        ${BACKENDS.join(', ')} (default ${FLAGS.backend.default})
  --list-variants    print every variant's trainable parameter count and share, then exit
  -h, --help         this help

Progress goes to stderr: a bar per epoch (steps, examples/s, ETA) on a terminal, a line per tenth
of an epoch otherwise; then each epoch's loss and metrics (accuracy and F1 in percent).
Exit status: 0 done, 2 bad input (a flag, a file, the data; checked before training), 3 a bug.
`;

/** The checkpoint and vocabulary a run uses, checked against each other (InputError when they do not fit). */
function resolveModelInputs(v: { checkpoint?: string; 'random-init': boolean; vocab?: string }): { checkpoint: string | null; vocab: string } {
  if (v['random-init'] && v.checkpoint !== undefined)
    throw new UsageError('--random-init', 'cannot be combined with --checkpoint (start from one or the other)');
  const checkpoint = v['random-init'] ? null : resolve(v.checkpoint ?? join(PROJECT_ROOT, DEFAULT_CHECKPOINT));
  if (checkpoint && !existsSync(join(checkpoint, 'model.safetensors'))) {
    throw new InputError(checkpoint, '--checkpoint', 'has no model.safetensors', {
      hint: 'give a checkpoint directory (trainer/pretrain.ts --out), or pass --random-init',
    });
  }
  const vocab = vocabFile(checkpoint, v.vocab);
  if (typeof vocab !== 'string') throw new UsageError('--vocab', vocab.error);
  if (!existsSync(vocab)) {
    throw new InputError(vocab, v.vocab !== undefined ? '--vocab' : '(default vocabulary)', 'does not exist', {
      hint:
        "BERT uncased's vocabulary is in ../shared/data beside the project; " +
        'or start from a checkpoint with its own vocab.txt (--checkpoint fixtures/pretrained/bert-l4-h128-v8k)',
    });
  }
  // reads the vocabulary (also of a random-init run) and the checkpoint's config.json: either may be malformed
  checkVocabFits(checkpoint, vocab, v.vocab !== undefined ? '--vocab' : '(default vocabulary)');
  return { checkpoint, vocab };
}

export async function main(argv: string[]): Promise<number> {
  const v = parseFlags(argv, FLAGS);
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  // every flag is checked before anything is read or loaded
  const backend = flagChoice('--backend', v.backend, BACKENDS);
  if (v['list-variants']) {
    const { checkpoint, vocab } = resolveModelInputs(v);
    await selectTrainingBackend(backend as BackendRequest);
    const { g, params } = startingPoint(checkpoint, 128, 2, 1, WordPieceTokenizer.fromVocabFile(vocab).vocabSize);
    console.log(`trainable parameters per variant (${checkpoint ?? 'random init'}; classifier head and pooler bias always trainable):`);
    for (const c of variantCounts(g, params))
      console.log(`  ${c.variant.padEnd(14)} ${c.count.toLocaleString('en-US').padStart(10)} of ${c.total.toLocaleString('en-US')}  ${c.percent.toFixed(3)}%`);
    return 0;
  }
  if (v.task === 'qnli')
    throw new UsageError('--task', 'QNLI has no train split here (its dev set is for evaluation only)', { value: v.task, allowed: TRAIN_TASKS.join(', ') });
  const task = flagChoice('--task', v.task, TRAIN_TASKS);
  const variant = flagChoice('--variant', v.variant, TRAIN_VARIANTS);
  const o: RunOptions = {
    task,
    variant,
    checkpoint: null,
    lr: flagNumber('--lr', v.lr, { above: 0, below: 1 }),
    epochs: flagNumber('--epochs', v.epochs, { integer: true, min: 1 }),
    batch: flagNumber('--batch', v.batch, { integer: true, min: 1 }),
    seqLen: flagNumber('--seq', v.seq, { integer: true, min: 8, max: 512 }),
    seed: flagNumber('--seed', v.seed, { integer: true, min: 0, max: 2 ** 32 - 1 }),
    trainLimit: flagNumber('--train-limit', v['train-limit'], { integer: true, min: 0 }),
    glueDir: v['glue-dir'],
    vocab: '',
    integer: !v['no-integer'],
  };
  const out = resolve(v.out ?? join(PROJECT_ROOT, 'out/results', `${o.task}-${o.variant}-lr${o.lr}-seed${o.seed}.json`));
  checkOutputFile(out, '--out');
  Object.assign(o, resolveModelInputs(v));
  await selectTrainingBackend(backend as BackendRequest);
  const r = await runFinetune(
    o,
    (s) => console.error(s),
    (ep, steps) => new ProgressBar(`epoch ${ep}/${o.epochs}`, steps),
  );
  r.provenance.command = ['npx tsx trainer/train.ts', ...argv].join(' ');
  writeFileAtomic(out, JSON.stringify(r, null, 1) + '\n', { field: '--out' });
  console.log(`best epoch ${r.best.epoch}: dev ${formatMetric(r.best.metric, r.best.value)} -> ${out}`);
  return 0;
}

if (isMain(import.meta.url)) runCli('trainer/train.ts', main);
