#!/usr/bin/env -S npx tsx
/**
 * Masked-language-model pre-training of the project's own small BERT.
 *
 *   npx tsx trainer/pretrain.ts [--out DIR] [--minutes M] ...   (every flag: --help, trainer/pretrain-options.ts)
 *
 * The parts: options (trainer/pretrain-options.ts), data (trainer/pretrain-data.ts), checkpoints
 * and provenance (trainer/pretrain-checkpoint.ts); this file evaluates and runs the training loop.
 *
 * Data: the corpora of ../shared/data/corpus (one document per line) and the unlabelled sentences
 * of the GLUE train sets (trainer/corpus.ts), tokenized with WordPiece and packed into sequences of
 * --seq tokens ([CLS] ... [SEP]). Every 100th sequence is held out. The vocabulary: --vocab FILE
 * (e.g. one trained on this text by trainer/vocab.ts), else DIR/vocab.txt when resuming a run that
 * has one, else BERT uncased's; a vocabulary other than BERT's is copied to DIR/vocab.txt, where
 * fine-tuning (trainer/train.ts) finds it.
 * Masking: 15% of the non-special tokens; of those 80% [MASK], 10% a random token, 10% unchanged.
 * --objective mlm+nsp (the default, BERT's recipe) adds next-sentence prediction: each sequence is
 * cut into [CLS] A [SEP] B [SEP] where B follows A or (half the time) comes from a random other
 * sequence, and the pooled [CLS] classifies which; this trains the pooler and [CLS], which the
 * fine-tuning head reads. Its held-out accuracy is recorded with the masked-token accuracy.
 * --dropout P (hidden and attention dropout, BERT's 0.1 by default): pre-training that sees less
 * than one epoch cannot over-fit, and switching dropout off speeds learning on a small budget
 * (Geiping & Goldstein 2022, "Cramming", section 4); each session records the value it used.
 * Checkpoints (safetensors + config.json + state.json with step, loss curve and provenance) are
 * written every --every steps and when the time budget ends; a run resumes from DIR when DIR holds
 * one (AdamW moments restart with a short warm-up, as only weights are checkpointed).
 * --threads T (default: the number of cores) splits every batch into T shards: T - 1 worker threads
 * (trainer/grad-worker.ts) each compute the gradients of one shard on a replica of the model while
 * this thread computes its own; the gradients are averaged by masked-token count, so a step is the
 * same update as on one thread, only faster.
 */
import * as tf from '@tensorflow/tfjs-core';
import { selectTrainingBackend } from './backend.js';
import { BertModel } from './model.js';
import { AdamW, type Trainable } from './finetune.js';
import { GradWorker, shardedGradients } from './grad-worker.js';
import { disposeBatch, mlmLoss, nextSentencePairs, toTensors, type MaskedArrays } from './mlm.js';
import { loadPretrainData, maskBatch, type PretrainData } from './pretrain-data.js';
import { parsePretrainOptions, PRETRAIN_HELP, type PretrainOptions } from './pretrain-options.js';
import { chooseVocabulary, endSession, isResumable, recordSession, saveCheckpoint, startRun, type PretrainState } from './pretrain-checkpoint.js';
import { BERT_VOCAB } from './vocab-file.js';
import type { Geometry } from '../rtl-model/spec/index.js';
import { rng } from '../rtl-model/spec/random.js';
import { isMain, runCli } from '../formats/cli.js';

export { buildSequences, maskBatch } from './pretrain-data.js';
export type { PretrainState } from './pretrain-checkpoint.js';

/** Masked-token accuracy on held-out sequences, and the unigram baseline (always the most frequent target). */
async function evaluateMlm(
  model: BertModel,
  held: Int32Array[],
  seed: number,
  vocab: number,
  maskId: number,
  special: Set<number>,
  batch: number,
): Promise<{ acc: number; unigram: number; loss: number }> {
  const rand = rng(seed);
  let correct = 0;
  let total = 0;
  let lossSum = 0;
  const freq = new Map<number, number>();
  for (let i = 0; i < held.length; i += batch) {
    const seqs = held.slice(i, i + batch);
    const m = maskBatch(seqs, rand, vocab, maskId, special);
    if (m.positions.length === 0) continue;
    const b = toTensors(m, seqs.length, seqs[0].length);
    const [predT, lossT] = tf.tidy(() => {
      const logits = model.mlmLogits(b.inputs, b.positions, false);
      return [tf.argMax(logits, -1), tf.losses.softmaxCrossEntropy(tf.oneHot(b.targets, vocab), logits)];
    });
    disposeBatch(b);
    const [pred, lossV] = await Promise.all([predT.data(), lossT.data()]);
    tf.dispose([predT, lossT]);
    lossSum += lossV[0] * m.targets.length;
    m.targets.forEach((t, k) => {
      if (pred[k] === t) correct++;
      freq.set(t, (freq.get(t) ?? 0) + 1);
    });
    total += m.targets.length;
  }
  const top = Math.max(...freq.values());
  return { acc: correct / total, unigram: top / total, loss: lossSum / total };
}

/** Next-sentence accuracy on pairs built from held-out sequences (unmasked; chance is 50%). */
async function evaluateNsp(model: BertModel, held: Int32Array[], seed: number, sep: number, batch: number): Promise<number> {
  const rand = rng(seed);
  let correct = 0;
  for (let i = 0; i < held.length; i += batch) {
    const seqs = held.slice(i, i + batch);
    const p = nextSentencePairs(seqs, held, rand, sep);
    const b = toTensors(
      { ids: Int32Array.from(p.seqs.flatMap((x) => [...x])), positions: [0], targets: [0], nsp: { tokenTypes: p.tokenTypes, labels: p.labels } },
      seqs.length,
      seqs[0].length,
    );
    const predT = tf.tidy(() => tf.argMax(model.pretrainLogits(b.inputs, b.positions, false).nsp, -1));
    const pred = await predT.data();
    predT.dispose();
    p.labels.forEach((y, k) => {
      if (pred[k] === y) correct++;
    });
    disposeBatch(b);
  }
  return correct / held.length;
}

/** A training session: the model, the optimiser, the gradient workers and the held-out evaluation. */
interface Session {
  o: PretrainOptions;
  g: Geometry;
  data: PretrainData;
  state: PretrainState;
  model: BertModel;
  /** The vocabulary to keep beside the checkpoint (null: BERT's). */
  keepVocab: string | null;
  /** When training started (performance.now()), for the rate and the session's wall time. */
  tStart: number;
}

/** Held-out evaluation, recorded in state.evals. */
async function evaluateSession(s: Session): Promise<{ acc: number; unigram: number; loss: number; nspAccuracy?: number }> {
  const { o, g, data, state, model } = s;
  const ev = {
    ...(await evaluateMlm(model, data.held, 12345, g.vocab, data.maskId, data.special, o.batch)),
    ...(o.nsp ? { nspAccuracy: await evaluateNsp(model, data.held, 54321, data.sepId, o.batch) } : {}),
  };
  state.evals.push({ step: state.step, mlmAccuracy: ev.acc, unigramAccuracy: ev.unigram, loss: ev.loss, ...(o.nsp ? { nspAccuracy: ev.nspAccuracy } : {}) });
  return ev;
}

/**
 * Train until --max-steps, the time budget or SIGINT/SIGTERM, evaluating and checkpointing every
 * --every steps; `names` are the trained variables, `workers` the gradient workers (threads - 1).
 */
async function trainLoop(s: Session, opt: AdamW, names: string[], workers: GradWorker[]): Promise<void> {
  const { o, g, data, state, model } = s;
  const { train, special, maskId, sepId } = data;
  const { threads, batch, maxSteps, warmup, nsp } = o;
  const L = o.seqLen;
  const rand = rng(o.seed * 1000003 + state.step);
  /** New values of the trainable variables for the workers (after each update). */
  let sync: Float32Array[] | undefined;
  /** One step on the whole batch: every shard's gradients, each weighted by its share of the batch (shardedGradients). */
  const step = async (packed: Int32Array[]): Promise<number> => {
    // with next-sentence prediction, every sequence becomes a pair first (then masked as before)
    const pairs = nsp ? nextSentencePairs(packed, train, rand, sepId) : null;
    const seqs = pairs ? pairs.seqs : packed;
    const shardOf = (lo: number, hi: number): MaskedArrays => ({
      ...maskBatch(seqs.slice(lo, hi), rand, g.vocab, maskId, special),
      ...(pairs ? { nsp: { tokenTypes: pairs.tokenTypes.slice(lo * L, hi * L), labels: pairs.labels.slice(lo, hi) } } : {}),
    });
    if (threads === 1) {
      const b = toTensors(shardOf(0, seqs.length), seqs.length, L);
      const loss = await opt.step(() => mlmLoss(model, b, true));
      disposeBatch(b);
      return loss;
    }
    const bounds = Array.from({ length: threads + 1 }, (_, t) => Math.floor((t * seqs.length) / threads));
    const sizes = Array.from({ length: threads }, (_, t) => bounds[t + 1] - bounds[t]);
    const masked: MaskedArrays[] = sizes.map((_, t) => shardOf(bounds[t], bounds[t + 1]));
    const values = sync;
    sync = undefined;
    const { loss, grads: combined } = await shardedGradients(model, opt, names, workers, masked, sizes, L, values);
    try {
      opt.apply(combined);
    } finally {
      for (const gr of combined.values()) gr.dispose();
    }
    sync = await model.rawValues(names);
    return loss;
  };
  const deadline = performance.now() + o.minutes * 60e3;
  const startStep = state.step;
  const tStart = s.tStart;
  let stop = false;
  process.on('SIGINT', () => (stop = true));
  process.on('SIGTERM', () => (stop = true));
  while (state.step < maxSteps && performance.now() < deadline && !stop) {
    // linear warm-up (restarted on resume), then linear decay to 0 at maxSteps
    const sinceStart = state.step - startStep;
    const lr = o.lr * Math.min(1, (sinceStart + 1) / (startStep === 0 ? warmup : Math.min(warmup, 200))) * Math.max(0, 1 - state.step / maxSteps);
    opt.opts.lr = lr;
    const seqs = Array.from({ length: batch }, () => train[Math.floor(rand() * train.length)]);
    const loss = await step(seqs);
    // let SIGINT/SIGTERM handlers run between steps (a synchronous loop would never see them)
    await new Promise((r) => setImmediate(r));
    state.step++;
    state.tokensSeen += batch * L;
    if (state.step % 20 === 0) {
      const el = (performance.now() - tStart) / 1000;
      state.losses.push({ step: state.step, loss, lr, timeS: el });
      const rate = (state.step - startStep) / el;
      process.stderr.write(
        `\rstep ${state.step}/${maxSteps} loss ${loss.toFixed(3)} lr ${lr.toExponential(2)} ${rate.toFixed(2)} steps/s ${(el / 60).toFixed(1)} min   `,
      );
    }
    if (state.step % o.every === 0) {
      const ev = await evaluateSession(s);
      process.stderr.write(
        `\nheld-out masked-token accuracy ${(100 * ev.acc).toFixed(2)}% (unigram baseline ${(100 * ev.unigram).toFixed(2)}%), loss ${ev.loss.toFixed(3)}` +
          `${nsp ? `; next-sentence accuracy ${(100 * ev.nspAccuracy!).toFixed(1)}%` : ''}\n`,
      );
      await saveCheckpoint(o.out, model, g, state, s.keepVocab);
    }
  }
}

export async function main(argv: string[]): Promise<number> {
  const o = parsePretrainOptions(argv);
  if (o === 'help') {
    process.stdout.write(PRETRAIN_HELP);
    return 0;
  }
  const log = (line: string): void => console.error(line);
  const resuming = isResumable(o.out);
  // the vocabulary checks come before any data is read
  const vocab = chooseVocabulary(o, resuming);
  const g: Geometry = {
    layers: o.layers,
    hidden: o.hidden,
    heads: o.heads,
    ffn: o.ffn,
    seqLen: o.seqLen,
    vocab: vocab.tok.vocabSize,
    maxPositions: 512,
    typeVocab: 2,
    numLabels: 2,
  };
  const backend = await selectTrainingBackend(o.backend);
  // the checkpoint to resume is checked against the flags before the text is read and tokenized
  const { params, state } = startRun(o, g, resuming, log);
  const data = loadPretrainData(vocab.tok, o.seqLen, log);
  recordSession(state, o, { backend: backend.name, g, vocab, text: data.text, sequences: { train: data.train.length, heldOut: data.held.length } });
  const drop = { hiddenDropout: o.dropout, attentionDropout: o.dropout };
  const model = new BertModel(g, params, drop);
  const s: Session = { o, g, data, state, model, keepVocab: vocab.file === BERT_VOCAB ? null : vocab.file, tStart: 0 };
  // the pooler is trained only by the next-sentence head; the classifier never
  const names = [...model.vars.keys()].filter(
    (n) => !n.startsWith('classifier.') && (o.nsp || !n.startsWith('bert.pooler.')) && (o.nsp || !n.startsWith('cls.seq_relationship.')),
  );
  const trainable: Trainable = { names, masks: new Map(), count: 0, total: 0 };
  const opt = new AdamW(model, trainable, { lr: o.lr, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01 });
  const params0 = o.threads > 1 ? [...(await model.exportParams())] : [];
  const workers = await Promise.all(
    Array.from({ length: o.threads - 1 }, () => GradWorker.start({ g, params: params0, names, options: drop, backend: backend.name })),
  );
  params0.length = 0;
  if (o.threads > 1)
    log(
      `data-parallel: ${o.threads} threads (${o.threads - 1} gradient worker${o.threads > 2 ? 's' : ''}), ` +
        `${o.batch} sequences per step split into ${o.threads} shards`,
    );
  s.tStart = performance.now();
  await trainLoop(s, opt, names, workers);
  const ev = await evaluateSession(s);
  endSession(state, (performance.now() - s.tStart) / 1000);
  await saveCheckpoint(o.out, model, g, state, s.keepVocab);
  log(
    `\nstopped at step ${state.step}: held-out masked-token accuracy ${(100 * ev.acc).toFixed(2)}% (unigram ${(100 * ev.unigram).toFixed(2)}%)` +
      `${o.nsp ? `, next-sentence ${(100 * ev.nspAccuracy!).toFixed(1)}%` : ''}; checkpoint in ${o.out}`,
  );
  await Promise.all(workers.map((w) => w.close()));
  opt.dispose();
  model.dispose();
  return 0;
}

if (isMain(import.meta.url)) runCli('trainer/pretrain.ts', main);
