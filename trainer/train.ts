#!/usr/bin/env -S npx tsx
/**
 * One fine-tuning run of a BitFit variant on a GLUE task.
 *
 *   npx tsx trainer/train.ts --task rte --variant bitfit [--checkpoint DIR | --random-init]
 *       [--lr 1e-3] [--epochs 3] [--batch 16] [--seq 128] [--seed 1] [--train-limit N]
 *       [--glue-dir DIR] [--out FILE] [--backend wasm|cpu|auto] [--no-integer] [--vocab FILE]
 *   npx tsx trainer/train.ts --list-variants [--checkpoint DIR | --random-init]   (trainable count and % per variant)
 *
 * Trains only the variant's parameters (AdamW; classifier head and pooler bias always trainable),
 * evaluates the dev set after every epoch and keeps the best epoch by the task's headline metric;
 * then exports the best epoch's model to ROM/SRAM images and evaluates the dev set through the
 * integer datapath (the random subsets in the full-ft layout), so results carry float and integer
 * metrics side by side.
 * Vocabulary: --vocab FILE, else the checkpoint's vocab.txt, else BERT uncased's; a random-init run
 * compared with a checkpoint of its own vocabulary must be given that vocabulary.
 * Writes a result JSON with provenance (checkpoint hash, data sha256, command, seed, commit, wall time).
 * Exit status: 0 ok, 2 bad input.
 */
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectTrainingBackend, BACKENDS, type BackendRequest } from './backend.js';
import { codeVersion } from './provenance.js';
import { BertModel, bertParamShapes, initialParams, ownModelGeometry } from './model.js';
import { AdamW, selectTrainable, TRAIN_VARIANTS, type TrainVariant } from './finetune.js';
import { WordPieceTokenizer } from './tokenizer.js';
import { vocabFile, vocabMismatch } from './vocab-file.js';
import { readSafetensors, readBertConfig, toGeometry } from './checkpoint.js';
import { loadGlue, taskMetric, GLUE_TASKS, PROJECT_ROOT, type GlueTask, type GlueExample } from './glue.js';
import { evaluate, type Metrics } from './metrics.js';
import { rng } from '../rtl-model/spec/random.js';
import { LAYER_BIAS_TERMS, layerPrefix, type BiasTerm, type Geometry } from '../rtl-model/spec/index.js';
import type { ForwardInput } from '../rtl-model/datapath.js';
// Orchestration: the integer evaluation exports images and runs the datapath (sim/ owns that).
import { integerEval, integerLayout } from '../sim/int-eval.js';

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
  /** Evaluate the best epoch through the integer datapath (random subsets in the full-ft layout: sim/int-eval.ts). */
  integer: boolean;
}

export interface RunResult {
  /** Dev metrics of the best epoch's model through the integer datapath (null: skipped with --no-integer). */
  integer: { dev: Metrics; images: Record<string, unknown> } | null;
  task: GlueTask;
  variant: TrainVariant;
  lr: number;
  seed: number;
  trainable: { count: number; total: number; percent: number };
  epochs: { epoch: number; trainLoss: number; dev: Metrics; train: Metrics }[];
  best: { epoch: number; metric: string; value: number; dev: Metrics };
  /** Mean |b_F - b_0| of each bias term, per layer, for the best epoch's model (the paper's Figure 1). */
  biasChange: Record<BiasTerm, number[]>;
  provenance: Record<string, unknown>;
}

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
function predict(model: BertModel, d: Encoded, L: number, batch: number): Float32Array {
  const n = d.labels.length;
  const regression = model.opts.head === 'regression';
  const out = new Float32Array(n);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d.lengths[a] - d.lengths[b] || a - b);
  for (let i = 0; i < n; i += batch) {
    const idx = order.slice(i, i + batch);
    tf.tidy(() => {
      const logits = model.classify(batchInputs(d, idx, L), false);
      const p = (regression ? tf.squeeze(logits, [1]) : tf.argMax(logits, -1)).dataSync();
      idx.forEach((k, q) => (out[k] = p[q]));
    });
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

/**
 * The model a run starts from: a checkpoint's weights with a fresh (seeded) head, or a seeded random
 * initialisation of the project's L4/H128 geometry.
 */
export function startingPoint(checkpoint: string | null, seqLen: number, numLabels: number, seed: number, vocab: number): { g: Geometry; params: Map<string, Float32Array>; ckpt: Record<string, string> | null } {
  if (!checkpoint) {
    const g = ownModelGeometry(seqLen, numLabels, vocab);
    return { g, params: initialParams(g, seed), ckpt: null };
  }
  const cfg = readBertConfig(join(checkpoint, 'config.json'));
  const g = { ...toGeometry(cfg, seqLen), numLabels };
  const f = readSafetensors(join(checkpoint, 'model.safetensors'));
  const fromCheckpoint = (k: string): boolean => f.tensors.has(k) && !k.startsWith('classifier.');
  // a fresh head (and anything the checkpoint lacks); only those are drawn
  const params = initialParams(g, seed, false, undefined, (k) => !fromCheckpoint(k));
  for (const k of bertParamShapes(g).keys()) if (fromCheckpoint(k)) params.set(k, f.tensors.get(k)!.data as Float32Array);
  return { g, params, ckpt: { dir: checkpoint, sha256: sha256(join(checkpoint, 'model.safetensors')) } };
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

export async function runFinetune(o: RunOptions, log: (s: string) => void = () => {}): Promise<RunResult> {
  const t0 = performance.now();
  const train = loadGlue(o.task, 'train', o.glueDir);
  const dev = loadGlue(o.task, 'dev', o.glueDir);
  const tok = WordPieceTokenizer.fromVocabFile(o.vocab);
  const numLabels = o.task === 'stsb' ? 1 : train.numLabels;
  const { g, params, ckpt } = startingPoint(o.checkpoint, o.seqLen, numLabels, o.seed, tok.vocabSize);
  if (g.vocab !== tok.vocabSize) throw new Error(`${o.checkpoint}: config.json has vocab_size ${g.vocab}, but the vocabulary ${o.vocab} has ${tok.vocabSize} tokens (a checkpoint with its own vocabulary keeps it as vocab.txt beside the model)`);
  const model = new BertModel(g, params, { head: o.task === 'stsb' ? 'regression' : 'classification' });
  const trainable = selectTrainable(model, o.variant, o.seed);
  log(`${o.task} ${o.variant}: ${trainable.count.toLocaleString('en-US')} of ${trainable.total.toLocaleString('en-US')} parameters trainable (${((100 * trainable.count) / trainable.total).toFixed(3)}%)`);
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
    for (let s = 0; s < order.length; s += o.batch) {
      const idx = order.slice(s, s + o.batch);
      opt.opts.lr = o.lr * Math.max(0, 1 - step / totalSteps); // linear decay, as the paper's recipe
      const inp = batchInputs(trD, idx, L);
      const labels = tf.tensor1d(idx.map((k) => trD.labels[k]), 'float32');
      lossSum += opt.step(() => model.loss(model.classify(inp, true), labels));
      tf.dispose([inp.inputIds, inp.tokenTypeIds, inp.attentionMask, labels]);
      batches++;
      step++;
    }
    const tTrain = performance.now();
    const devM = evaluate(o.task, predict(model, devD, L, 64), devD.labels);
    // train metric on (up to) 256 training examples: the generalisation gap of the paper
    const sub = Math.min(trainEx.length, 256);
    const trSub = { ids: trD.ids.subarray(0, sub * L), types: trD.types.subarray(0, sub * L), mask: trD.mask.subarray(0, sub * L), labels: trD.labels.subarray(0, sub), lengths: trD.lengths.subarray(0, sub) };
    const trM = evaluate(o.task, predict(model, trSub, L, 64), trSub.labels);
    epochs.push({ epoch: ep, trainLoss: lossSum / batches, dev: devM, train: trM });
    log(`epoch ${ep}: train loss ${(lossSum / batches).toFixed(4)}, dev ${JSON.stringify(devM)}, train ${JSON.stringify(trM)} (${batches} steps ${((tTrain - tEp) / 1000).toFixed(1)} s, evaluation ${((performance.now() - tTrain) / 1000).toFixed(1)} s)`);
    if (!bestParams || orMinus(devM[metric]) > (bestDev ?? -Infinity)) {
      bestParams = model.exportParams();
      bestDev = orMinus(devM[metric]);
    }
  }
  const best = epochs.reduce((a, b) => (orMinus(b.dev[metric]) > orMinus(a.dev[metric]) ? b : a));
  let integer: RunResult['integer'] = null;
  if (o.integer && integerLayout(o.variant) && bestParams) {
    const toInput = (d: typeof devD, i: number): ForwardInput => ({ inputIds: d.ids.slice(i * L, (i + 1) * L), tokenTypeIds: d.types.slice(i * L, (i + 1) * L), attentionMask: d.mask.slice(i * L, (i + 1) * L) });
    const tInt = performance.now();
    const ie = await integerEval(g, params, bestParams, o.variant, toInput(trD, 0), dev.examples.map((_, i) => toInput(devD, i)), o.task === 'stsb');
    integer = { dev: evaluate(o.task, ie.predictions, devD.labels), images: ie.images };
    log(`integer datapath, best epoch: dev ${JSON.stringify(integer.dev)} (${((performance.now() - tInt) / 1000).toFixed(1)} s)`);
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
      data: { train: { file: train.file.split('/').slice(-2).join('/'), sha256: train.sha256, used: trainEx.length }, dev: { file: dev.file.split('/').slice(-2).join('/'), sha256: dev.sha256 } },
      vocab: { file: o.vocab.split('/').pop(), sha256: sha256(o.vocab) },
      hyper: { lr: o.lr, epochs: o.epochs, batch: o.batch, seqLen: o.seqLen, optimizer: 'AdamW(0.9, 0.999, 1e-6), linear decay', backend: tf.getBackend() },
      commit,
      uncommitted,
      wallS: (performance.now() - t0) / 1000,
    },
  };
}

async function main(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      options: {
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
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  if (v.help) {
    console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]);
    return 0;
  }
  const bad = (msg: string): number => {
    console.error(`error: ${msg}`);
    return 2;
  };
  // the model a run starts from and the vocabulary it tokenizes with (also sizes --list-variants)
  const checkpoint = v['random-init'] ? null : resolve(v.checkpoint ?? join(PROJECT_ROOT, 'fixtures/pretrained/bert-l4-h128'));
  if (checkpoint && !existsSync(join(checkpoint, 'model.safetensors'))) return bad(`--checkpoint ${checkpoint}: no model.safetensors there (or pass --random-init)`);
  const vocab = vocabFile(checkpoint, v.vocab);
  if (typeof vocab !== 'string') return bad(`--vocab ${v.vocab}: ${vocab.error}`);
  let mismatch: string | null;
  try {
    mismatch = vocabMismatch(checkpoint, vocab); // reads the checkpoint's config.json and the vocabulary: either may be malformed
  } catch (e) {
    return bad((e as Error).message);
  }
  if (mismatch) return bad(mismatch);
  if (v['list-variants']) {
    await selectTrainingBackend(v.backend as BackendRequest);
    const { g, params } = startingPoint(checkpoint, 128, 2, 1, WordPieceTokenizer.fromVocabFile(vocab).vocabSize);
    console.log(`trainable parameters per variant (${checkpoint ?? 'random init'}; classifier head and pooler bias always trainable):`);
    for (const c of variantCounts(g, params)) console.log(`  ${c.variant.padEnd(14)} ${c.count.toLocaleString('en-US').padStart(10)} of ${c.total.toLocaleString('en-US')}  ${c.percent.toFixed(3)}%`);
    return 0;
  }
  if (!v.task || !(GLUE_TASKS as readonly string[]).includes(v.task) || v.task === 'qnli') return bad(`--task ${v.task}: one of ${GLUE_TASKS.filter((t) => t !== 'qnli').join(', ')} (QNLI has no train split here)`);
  if (!(TRAIN_VARIANTS as readonly string[]).includes(v.variant!)) return bad(`--variant ${v.variant}: one of ${TRAIN_VARIANTS.join(', ')}`);
  if (!(BACKENDS as readonly string[]).includes(v.backend!)) return bad(`--backend ${v.backend}: one of ${BACKENDS.join(', ')}`);
  const num = (k: 'lr' | 'epochs' | 'batch' | 'seq' | 'seed' | 'train-limit', integer: boolean, min: number): number => {
    const x = Number(v[k]);
    if (!Number.isFinite(x) || x < min || (integer && !Number.isInteger(x))) throw new Error(`--${k} ${v[k]}: must be ${integer ? 'an integer' : 'a number'} >= ${min}`);
    return x;
  };
  let o: RunOptions;
  try {
    o = {
      task: v.task as GlueTask, variant: v.variant as TrainVariant, checkpoint, lr: num('lr', false, 1e-9), epochs: num('epochs', true, 1), batch: num('batch', true, 1),
      seqLen: num('seq', true, 8), seed: num('seed', true, 0), trainLimit: num('train-limit', true, 0), glueDir: v['glue-dir'],
      vocab,
      integer: !v['no-integer'],
    };
  } catch (e) {
    return bad((e as Error).message);
  }
  await selectTrainingBackend(v.backend as BackendRequest);
  const r = await runFinetune(o, (s) => console.error(s));
  r.provenance.command = ['npx tsx trainer/train.ts', ...argv].join(' ');
  const out = resolve(v.out ?? join(PROJECT_ROOT, 'out/results', `${o.task}-${o.variant}-lr${o.lr}-seed${o.seed}.json`));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, JSON.stringify(r, null, 1) + '\n');
  renameSync(`${out}.tmp`, out);
  console.log(`best epoch ${r.best.epoch}: dev ${r.best.metric} ${r.best.value.toFixed(4)} -> ${out}`);
  return 0;
}

if (process.argv[1]?.endsWith('train.ts')) main(process.argv.slice(2)).then((c) => process.exit(c), (e) => (console.error(e), process.exit(1)));
