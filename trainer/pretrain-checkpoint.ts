/**
 * Checkpoints of pre-training (trainer/pretrain.ts): the vocabulary a run uses (and, resuming, the
 * one it started with), the run's start (a checkpoint to resume or a fresh initialisation), its
 * provenance, and writing a checkpoint: model.safetensors, config.json, state.json and, for a
 * vocabulary other than BERT's, vocab.txt, each written atomically (formats/atomic-write.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bertParamShapes, initialParams, type BertModel } from './model.js';
import { WordPieceTokenizer } from './tokenizer.js';
import { readSafetensors, writeSafetensors, writeBertConfig, type Tensor } from './checkpoint.js';
import { sha256File, type PretrainingText } from './corpus.js';
import { BERT_VOCAB, vocabFile } from './vocab-file.js';
import { codeVersion } from './provenance.js';
import type { PretrainOptions } from './pretrain-options.js';
import type { Geometry } from '../rtl-model/spec/index.js';
import { InputError, UsageError } from '../formats/errors.js';
import { writeFileAtomic } from '../formats/atomic-write.js';
import { readJsonFile } from '../formats/input-file.js';

export interface PretrainState {
  step: number;
  tokensSeen: number;
  losses: { step: number; loss: number; lr: number; timeS: number }[];
  evals: { step: number; mlmAccuracy: number; unigramAccuracy: number; loss: number; nspAccuracy?: number }[];
  provenance: Record<string, unknown>;
}

/** Does `out` hold a checkpoint to resume (model and state)? */
export function isResumable(out: string): boolean {
  return existsSync(join(out, 'model.safetensors')) && existsSync(join(out, 'state.json'));
}

export interface ChosenVocabulary {
  /** The vocabulary file. */
  file: string;
  tok: WordPieceTokenizer;
  sha256: string;
}

/**
 * The vocabulary of a run: --vocab, else the resumed run's own vocab.txt, else BERT uncased's. A
 * resumed run must continue with the vocabulary it started with (the same file, not only the same
 * size); otherwise an InputError naming state.json.
 */
export function chooseVocabulary(o: PretrainOptions, resuming: boolean): ChosenVocabulary {
  const chosen = vocabFile(resuming ? o.out : null, o.vocab);
  if (typeof chosen !== 'string') throw new UsageError('--vocab', chosen.error);
  if (!existsSync(chosen)) {
    throw new InputError(chosen, '(default vocabulary)', 'does not exist', {
      hint: "BERT uncased's vocabulary is in ../shared/data beside the project; or pass --vocab FILE (trainer/vocab.ts trains one)",
    });
  }
  let tok: WordPieceTokenizer;
  try {
    tok = WordPieceTokenizer.fromVocabFile(chosen);
  } catch (e) {
    throw new InputError(chosen, o.vocab !== undefined ? '--vocab' : '(vocabulary)', (e as Error).message);
  }
  const sha256 = sha256File(chosen);
  if (resuming) {
    const stateFile = join(o.out, 'state.json');
    const prov = (readJsonFile(stateFile, '--out') as { provenance?: { vocab?: { sha256?: string } } }).provenance;
    const want = prov?.vocab?.sha256 ?? sha256File(vocabFile(o.out, undefined) as string);
    if (want !== sha256) {
      throw new InputError(
        stateFile,
        'provenance.vocab.sha256',
        `${o.out} was pre-trained with a vocabulary of sha256 ${want.slice(0, 16)}…; ${chosen} is ${sha256.slice(0, 16)}…`,
        { hint: 'resume with the vocabulary the run started with' },
      );
    }
  }
  return { file: chosen, tok, sha256 };
}

/**
 * Where a run starts: the checkpoint in `o.out` when resuming (a missing next-sentence head is
 * initialised fresh; any other missing tensor is an InputError), else a seeded initialisation.
 */
export function startRun(
  o: PretrainOptions,
  g: Geometry,
  resuming: boolean,
  log: (s: string) => void,
): { params: Map<string, Float32Array>; state: PretrainState } {
  if (!resuming) return { params: initialParams(g, o.seed, true), state: { step: 0, tokensSeen: 0, losses: [], evals: [], provenance: {} } };
  const file = join(o.out, 'model.safetensors');
  const f = readSafetensors(file);
  const params = new Map([...f.tensors].map(([k, t]) => [k, t.data as Float32Array]));
  const state = readJsonFile(join(o.out, 'state.json'), '--out') as PretrainState;
  log(`resuming from ${o.out} at step ${state.step}`);
  // a checkpoint of masked-LM pre-training only has no next-sentence head: start it fresh
  const missing = [...bertParamShapes(g, true).keys()].filter((k) => !params.has(k));
  if (missing.some((k) => !k.startsWith('cls.seq_relationship.'))) {
    throw new InputError(file, '(tensors)', `lacks ${missing.join(', ')}`, { hint: 'resume with the geometry the run started with, or choose another --out' });
  }
  if (missing.length) {
    for (const [k, v] of initialParams(g, o.seed, true, undefined, (n) => missing.includes(n))) params.set(k, v);
    log(`initialised ${missing.join(', ')} (seed ${o.seed}): not in the checkpoint`);
  }
  return { params, state };
}

/** The provenance of the run, this session appended to the sessions of the run so far. */
export function recordSession(
  state: PretrainState,
  o: PretrainOptions,
  info: { backend: string; g: Geometry; vocab: ChosenVocabulary; text: PretrainingText; sequences: { train: number; heldOut: number } },
): void {
  const { text } = info;
  state.provenance = {
    command: ['npx tsx trainer/pretrain.ts', ...o.argv].join(' '),
    seed: o.seed,
    backend: info.backend,
    geometry: info.g,
    batch: o.batch,
    lr: o.lr,
    vocab: {
      file: info.vocab.file === BERT_VOCAB ? 'bert-base-uncased-vocab.txt' : 'vocab.txt',
      from: o.vocab ?? null,
      tokens: info.g.vocab,
      sha256: info.vocab.sha256,
    },
    corpus: Object.fromEntries(Object.entries(text.sha256).filter(([f]) => !f.startsWith('/'))),
    glueTrain: Object.fromEntries(
      Object.entries(text.sha256)
        .filter(([f]) => f.startsWith('/'))
        .map(([f, h]) => [f.split('/').slice(-2).join('/'), h]),
    ),
    sequences: info.sequences,
    masking: '15% of non-special tokens; 80% [MASK], 10% random, 10% unchanged',
    objective: o.nsp ? 'masked LM + next-sentence prediction (from the sessions marked mlm+nsp)' : 'masked LM',
    sessions: [
      ...((state.provenance.sessions as unknown[]) ?? []),
      { startedAt: new Date().toISOString(), fromStep: state.step, objective: o.objective, threads: o.threads, dropout: o.dropout, code: codeVersion() },
    ],
  };
}

/** Close this session's record: when it ended, at which step, after how long. */
export function endSession(state: PretrainState, wallS: number): void {
  Object.assign((state.provenance.sessions as object[]).at(-1)!, { endedAt: new Date().toISOString(), toStep: state.step, wallS });
}

/** Write the checkpoint; `vocab` (a vocabulary other than BERT's) is kept beside it as vocab.txt. */
export function saveCheckpoint(dir: string, model: BertModel, g: Geometry, state: PretrainState, vocab: string | null): void {
  if (vocab && resolve(vocab) !== join(dir, 'vocab.txt')) writeFileAtomic(join(dir, 'vocab.txt'), readFileSync(vocab), { field: '--out' });
  const tensors = new Map<string, Tensor>();
  const shapes = bertParamShapes(g, true);
  for (const [name, data] of model.exportParams()) tensors.set(name, { dtype: 'F32', shape: shapes.get(name)!, data });
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt', step: String(state.step) });
  writeBertConfig(join(dir, 'config.json'), {
    model_type: 'bert',
    architectures: ['BertForPreTraining'],
    vocab_size: g.vocab,
    hidden_size: g.hidden,
    num_hidden_layers: g.layers,
    num_attention_heads: g.heads,
    intermediate_size: g.ffn,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: g.maxPositions,
    type_vocab_size: g.typeVocab,
    initializer_range: 0.02,
    layer_norm_eps: 1e-12,
    num_labels: 2,
    id2label: { 0: 'LABEL_0', 1: 'LABEL_1' },
    label2id: { LABEL_0: 0, LABEL_1: 1 },
  });
  writeFileAtomic(join(dir, 'state.json'), JSON.stringify(state, null, 1) + '\n', { field: '--out' });
}
