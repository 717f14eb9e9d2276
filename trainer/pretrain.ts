#!/usr/bin/env -S npx tsx
/**
 * Masked-language-model pre-training of the project's own small BERT.
 *
 *   npx tsx trainer/pretrain.ts [--out DIR] [--max-steps N] [--minutes M] [--batch B] [--lr X]
 *                               [--layers 4 --hidden 128 --heads 2 --ffn 512 --seq 128] [--seed S]
 *                               [--threads T] [--objective mlm+nsp|mlm] [--dropout P] [--vocab FILE]
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
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectTrainingBackend } from './backend.js';
import { codeVersion } from './provenance.js';
import { BertModel, initialParams, bertParamShapes } from './model.js';
import { AdamW, type Trainable } from './finetune.js';
import { GradWorker, shardedGradients } from './grad-worker.js';
import { disposeBatch, mlmLoss, nextSentencePairs, toTensors, type MaskedArrays } from './mlm.js';
import { WordPieceTokenizer } from './tokenizer.js';
import { writeSafetensors, readSafetensors, writeBertConfig, type Tensor } from './checkpoint.js';
import { pretrainingText, sha256File } from './corpus.js';
import { BERT_VOCAB, vocabFile } from './vocab-file.js';
import type { Geometry } from '../rtl-model/spec/index.js';
import { rng } from '../rtl-model/spec/random.js';


export interface PretrainState {
  step: number;
  tokensSeen: number;
  losses: { step: number; loss: number; lr: number; timeS: number }[];
  evals: { step: number; mlmAccuracy: number; unigramAccuracy: number; loss: number; nspAccuracy?: number }[];
  provenance: Record<string, unknown>;
}


/** Tokenize the corpora and GLUE train sentences into one id stream per document, then pack. */
export function buildSequences(tok: WordPieceTokenizer, seqLen: number, files: string[], extraTexts: string[]): Int32Array[] {
  const cls = tok.convertTokensToIds(['[CLS]'])[0];
  const sep = tok.convertTokensToIds(['[SEP]'])[0];
  const body = seqLen - 2;
  const seqs: Int32Array[] = [];
  let buf: number[] = [];
  const flush = (): void => {
    while (buf.length >= body) {
      const s = new Int32Array(seqLen);
      s[0] = cls;
      s.set(buf.slice(0, body), 1);
      s[seqLen - 1] = sep;
      seqs.push(s);
      buf = buf.slice(body);
    }
  };
  const add = (text: string): void => {
    const ids = tok.convertTokensToIds(tok.tokenize(text));
    for (const id of ids) buf.push(id);
    buf.push(sep); // document boundary inside a packed sequence
    flush();
  };
  for (const f of files) for (const line of readFileSync(f, 'utf8').split('\n')) if (line.trim()) add(line);
  for (const t of extraTexts) add(t);
  return seqs;
}


/** Apply BERT's 15% / 80-10-10 masking to a batch of sequences. */
export function maskBatch(seqs: Int32Array[], rand: () => number, vocab: number, maskId: number, special: Set<number>): { ids: Int32Array; positions: number[]; targets: number[] } {
  const L = seqs[0].length;
  const ids = new Int32Array(seqs.length * L);
  const positions: number[] = [];
  const targets: number[] = [];
  seqs.forEach((s, b) => {
    ids.set(s, b * L);
    for (let i = 0; i < L; i++) {
      if (special.has(s[i]) || rand() >= 0.15) continue;
      positions.push(b * L + i);
      targets.push(s[i]);
      const r = rand();
      if (r < 0.8) ids[b * L + i] = maskId;
      else if (r < 0.9) ids[b * L + i] = Math.floor(rand() * vocab);
    }
  });
  return { ids, positions, targets };
}

/** Write the checkpoint; `vocab` (a vocabulary other than BERT's) is kept beside it as vocab.txt. */
function saveCheckpoint(dir: string, model: BertModel, g: Geometry, state: PretrainState, vocab: string | null): void {
  mkdirSync(dir, { recursive: true });
  if (vocab && resolve(vocab) !== join(dir, 'vocab.txt')) {
    const tmpVocab = join(dir, `.vocab.txt.tmp-${process.pid}`);
    copyFileSync(vocab, tmpVocab);
    renameSync(tmpVocab, join(dir, 'vocab.txt'));
  }
  const tensors = new Map<string, Tensor>();
  const shapes = bertParamShapes(g, true);
  for (const [name, data] of model.exportParams()) tensors.set(name, { dtype: 'F32', shape: shapes.get(name)!, data });
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt', step: String(state.step) });
  writeBertConfig(join(dir, 'config.json'), {
    model_type: 'bert', architectures: ['BertForPreTraining'], vocab_size: g.vocab, hidden_size: g.hidden, num_hidden_layers: g.layers, num_attention_heads: g.heads,
    intermediate_size: g.ffn, hidden_act: 'gelu', hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, max_position_embeddings: g.maxPositions,
    type_vocab_size: g.typeVocab, initializer_range: 0.02, layer_norm_eps: 1e-12, num_labels: 2, id2label: { 0: 'LABEL_0', 1: 'LABEL_1' }, label2id: { LABEL_0: 0, LABEL_1: 1 },
  });
  const tmp = join(dir, `.state.json.tmp-${process.pid}`);
  writeFileSync(tmp, JSON.stringify(state, null, 1) + '\n');
  renameSync(tmp, join(dir, 'state.json'));
}


/** Masked-token accuracy on held-out sequences, and the unigram baseline (always the most frequent target). */
function evaluateMlm(model: BertModel, held: Int32Array[], seed: number, vocab: number, maskId: number, special: Set<number>, batch: number): { acc: number; unigram: number; loss: number } {
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
    tf.tidy(() => {
      const logits = model.mlmLogits(b.inputs, b.positions, false);
      const pred = tf.argMax(logits, -1).dataSync();
      lossSum += (tf.losses.softmaxCrossEntropy(tf.oneHot(b.targets, vocab), logits).dataSync()[0]) * m.targets.length;
      m.targets.forEach((t, k) => {
        if (pred[k] === t) correct++;
        freq.set(t, (freq.get(t) ?? 0) + 1);
      });
      total += m.targets.length;
    });
    disposeBatch(b);
  }
  const top = Math.max(...freq.values());
  return { acc: correct / total, unigram: top / total, loss: lossSum / total };
}

/** Next-sentence accuracy on pairs built from held-out sequences (unmasked; chance is 50%). */
function evaluateNsp(model: BertModel, held: Int32Array[], seed: number, sep: number, batch: number): number {
  const rand = rng(seed);
  let correct = 0;
  for (let i = 0; i < held.length; i += batch) {
    const seqs = held.slice(i, i + batch);
    const p = nextSentencePairs(seqs, held, rand, sep);
    const b = toTensors({ ids: Int32Array.from(p.seqs.flatMap((x) => [...x])), positions: [0], targets: [0], nsp: { tokenTypes: p.tokenTypes, labels: p.labels } }, seqs.length, seqs[0].length);
    const pred = tf.tidy(() => tf.argMax(model.pretrainLogits(b.inputs, b.positions, false).nsp, -1).dataSync());
    p.labels.forEach((y, k) => {
      if (pred[k] === y) correct++;
    });
    disposeBatch(b);
  }
  return correct / held.length;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        out: { type: 'string', default: 'fixtures/pretrained/bert-l4-h128' },
        'max-steps': { type: 'string', default: '40000' },
        minutes: { type: 'string', default: '60' },
        batch: { type: 'string', default: '32' },
        lr: { type: 'string', default: '1e-3' },
        warmup: { type: 'string', default: '1000' },
        every: { type: 'string', default: '500' },
        layers: { type: 'string', default: '4' },
        hidden: { type: 'string', default: '128' },
        heads: { type: 'string', default: '2' },
        ffn: { type: 'string', default: '512' },
        seq: { type: 'string', default: '128' },
        seed: { type: 'string', default: '1' },
        backend: { type: 'string', default: 'wasm' },
        threads: { type: 'string', default: String(cpus().length) },
        objective: { type: 'string', default: 'mlm+nsp' },
        dropout: { type: 'string', default: '0.1' },
        vocab: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (e) {
    console.error(`error: ${(e as Error).message} (see --help)`);
    process.exit(2);
  }
  const a = parsed.values;
  if (a.help) {
    console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]);
    return;
  }
  const num = (k: keyof typeof a): number => {
    const v = Number(a[k]);
    if (!Number.isFinite(v) || v <= 0) {
      console.error(`error: --${k} ${a[k]}: must be a positive number`);
      process.exit(2);
    }
    return v;
  };
  const objective = a.objective!;
  if (objective !== 'mlm' && objective !== 'mlm+nsp') {
    console.error(`error: --objective ${objective}: must be mlm+nsp or mlm`);
    process.exit(2);
  }
  const nsp = objective === 'mlm+nsp';
  const dropout = Number(a.dropout);
  if (!(dropout >= 0 && dropout < 1)) {
    console.error(`error: --dropout ${a.dropout}: must be a number in [0, 1)`);
    process.exit(2);
  }
  const drop = { hiddenDropout: dropout, attentionDropout: dropout };
  const threads = num('threads');
  if (!Number.isInteger(threads) || threads > num('batch')) {
    console.error(`error: --threads ${a.threads}: must be a whole number from 1 to --batch (${a.batch})`);
    process.exit(2);
  }
  const out = resolve(a.out!);
  const L = num('seq');
  const resuming = existsSync(join(out, 'model.safetensors')) && existsSync(join(out, 'state.json'));
  // --vocab, else the resumed run's own vocab.txt, else BERT uncased's
  const chosen = vocabFile(resuming ? out : null, a.vocab);
  if (typeof chosen !== 'string') {
    console.error(`error: --vocab ${a.vocab}: ${chosen.error}`);
    process.exit(2);
  }
  const vocab = chosen;
  let tok: WordPieceTokenizer;
  try {
    tok = WordPieceTokenizer.fromVocabFile(vocab);
  } catch (e) {
    console.error(`error: --vocab: ${(e as Error).message}`);
    process.exit(2);
  }
  const vocabSha = sha256File(vocab);
  if (resuming) {
    // the run continues with the vocabulary it started with: the same file, not only the same size
    const prov = (JSON.parse(readFileSync(join(out, 'state.json'), 'utf8')) as { provenance?: { vocab?: { sha256?: string } } }).provenance;
    const want = prov?.vocab?.sha256 ?? sha256File(vocabFile(out, undefined) as string);
    if (want !== vocabSha) {
      console.error(`error: ${out} was pre-trained with a vocabulary of sha256 ${want.slice(0, 16)}…; ${vocab} is ${vocabSha.slice(0, 16)}… (resume with the vocabulary the run started with)`);
      process.exit(2);
    }
  }
  const g: Geometry = { layers: num('layers'), hidden: num('hidden'), heads: num('heads'), ffn: num('ffn'), seqLen: L, vocab: tok.vocabSize, maxPositions: 512, typeVocab: 2, numLabels: 2 };
  const backend = await selectTrainingBackend(a.backend as 'wasm');
  const text = pretrainingText();
  const t0 = performance.now();
  const all = buildSequences(tok, L, text.files, text.glueTexts);
  const train = all.filter((_, i) => i % 100 !== 0);
  const held = all.filter((_, i) => i % 100 === 0).slice(0, 200);
  console.error(`data: ${all.length} sequences of ${L} tokens (${train.length} train, ${held.length} held out) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const special = new Set(tok.convertTokensToIds(['[CLS]', '[SEP]', '[PAD]', '[UNK]', '[MASK]']));
  const maskId = tok.convertTokensToIds(['[MASK]'])[0];
  const sepId = tok.convertTokensToIds(['[SEP]'])[0];
  let state: PretrainState;
  let params: Map<string, Float32Array>;
  if (resuming) {
    const f = readSafetensors(join(out, 'model.safetensors'));
    params = new Map([...f.tensors].map(([k, t]) => [k, t.data as Float32Array]));
    state = JSON.parse(readFileSync(join(out, 'state.json'), 'utf8'));
    console.error(`resuming from ${out} at step ${state.step}`);
    // a checkpoint of masked-LM pre-training only has no next-sentence head: start it fresh
    const missing = [...bertParamShapes(g, true).keys()].filter((k) => !params.has(k));
    if (missing.some((k) => !k.startsWith('cls.seq_relationship.'))) throw new Error(`${out}/model.safetensors lacks ${missing.join(', ')}`);
    if (missing.length) {
      for (const [k, v] of initialParams(g, num('seed'), true, undefined, (n) => missing.includes(n))) params.set(k, v);
      console.error(`initialised ${missing.join(', ')} (seed ${num('seed')}): not in the checkpoint`);
    }
  } else {
    params = initialParams(g, num('seed'), true);
    state = { step: 0, tokensSeen: 0, losses: [], evals: [], provenance: {} };
  }
  state.provenance = {
    command: ['npx tsx trainer/pretrain.ts', ...process.argv.slice(2)].join(' '),
    seed: num('seed'),
    backend: backend.name,
    geometry: g,
    batch: num('batch'),
    lr: num('lr'),
    vocab: { file: vocab === BERT_VOCAB ? 'bert-base-uncased-vocab.txt' : 'vocab.txt', from: a.vocab ?? null, tokens: g.vocab, sha256: vocabSha },
    corpus: Object.fromEntries(Object.entries(text.sha256).filter(([f]) => !f.startsWith('/'))),
    glueTrain: Object.fromEntries(Object.entries(text.sha256).filter(([f]) => f.startsWith('/')).map(([f, h]) => [f.split('/').slice(-2).join('/'), h])),
    sequences: { train: train.length, heldOut: held.length },
    masking: '15% of non-special tokens; 80% [MASK], 10% random, 10% unchanged',
    objective: nsp ? 'masked LM + next-sentence prediction (from the sessions marked mlm+nsp)' : 'masked LM',
    sessions: [...((state.provenance.sessions as unknown[]) ?? []), { startedAt: new Date().toISOString(), fromStep: state.step, objective, threads, dropout, code: codeVersion() }],
  };
  const model = new BertModel(g, params, drop);
  // the pooler is trained only by the next-sentence head; the classifier never
  const names = [...model.vars.keys()].filter((n) => !n.startsWith('classifier.') && (nsp || !n.startsWith('bert.pooler.')) && (nsp || !n.startsWith('cls.seq_relationship.')));
  const trainable: Trainable = { names, masks: new Map(), count: 0, total: 0 };
  const opt = new AdamW(model, trainable, { lr: num('lr'), beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01 });
  const maxSteps = num('max-steps');
  const warmup = num('warmup');
  const batch = num('batch');
  const params0 = threads > 1 ? [...model.exportParams()] : [];
  const workers = await Promise.all(Array.from({ length: threads - 1 }, () =>
    GradWorker.start({ g, params: params0, names, options: drop, backend: backend.name })));
  params0.length = 0;
  if (threads > 1) console.error(`data-parallel: ${threads} threads (${threads - 1} gradient worker${threads > 2 ? 's' : ''}), ${batch} sequences per step split into ${threads} shards`);
  /** Held-out evaluation, recorded in state.evals. */
  const evaluate = (): { acc: number; unigram: number; loss: number; nspAccuracy?: number } => {
    const ev = { ...evaluateMlm(model, held, 12345, g.vocab, maskId, special, batch), ...(nsp ? { nspAccuracy: evaluateNsp(model, held, 54321, sepId, batch) } : {}) };
    state.evals.push({ step: state.step, mlmAccuracy: ev.acc, unigramAccuracy: ev.unigram, loss: ev.loss, ...(nsp ? { nspAccuracy: ev.nspAccuracy } : {}) });
    return ev;
  };
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
      const loss = opt.step(() => mlmLoss(model, b, true));
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
    sync = model.rawValues(names);
    return loss;
  };
  const deadline = performance.now() + num('minutes') * 60e3;
  const rand = rng(num('seed') * 1000003 + state.step);
  const startStep = state.step;
  const tStart = performance.now();
  let stop = false;
  process.on('SIGINT', () => (stop = true));
  process.on('SIGTERM', () => (stop = true));
  while (state.step < maxSteps && performance.now() < deadline && !stop) {
    // linear warm-up (restarted on resume), then linear decay to 0 at maxSteps
    const sinceStart = state.step - startStep;
    const lr = num('lr') * Math.min(1, (sinceStart + 1) / (startStep === 0 ? warmup : Math.min(warmup, 200))) * Math.max(0, 1 - state.step / maxSteps);
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
      process.stderr.write(`\rstep ${state.step}/${maxSteps} loss ${loss.toFixed(3)} lr ${lr.toExponential(2)} ${rate.toFixed(2)} steps/s ${(el / 60).toFixed(1)} min   `);
    }
    if (state.step % num('every') === 0) {
      const ev = evaluate();
      process.stderr.write(`\nheld-out masked-token accuracy ${(100 * ev.acc).toFixed(2)}% (unigram baseline ${(100 * ev.unigram).toFixed(2)}%), loss ${ev.loss.toFixed(3)}${nsp ? `; next-sentence accuracy ${(100 * ev.nspAccuracy!).toFixed(1)}%` : ''}\n`);
      saveCheckpoint(out, model, g, state, vocab === BERT_VOCAB ? null : vocab);
    }
  }
  const ev = evaluate();
  (state.provenance.sessions as { endedAt?: string; toStep?: number; wallS?: number }[]).at(-1)!.endedAt = new Date().toISOString();
  Object.assign((state.provenance.sessions as object[]).at(-1)!, { toStep: state.step, wallS: (performance.now() - tStart) / 1000 });
  saveCheckpoint(out, model, g, state, vocab === BERT_VOCAB ? null : vocab);
  console.error(`\nstopped at step ${state.step}: held-out masked-token accuracy ${(100 * ev.acc).toFixed(2)}% (unigram ${(100 * ev.unigram).toFixed(2)}%)${nsp ? `, next-sentence ${(100 * ev.nspAccuracy!).toFixed(1)}%` : ''}; checkpoint in ${out}`);
  await Promise.all(workers.map((w) => w.close()));
  opt.dispose();
  model.dispose();
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('pretrain.ts')) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
