/**
 * Checkpoints of pre-training (trainer/pretrain.ts): the vocabulary a run uses (and, resuming, the
 * one it started with), the run's start (a checkpoint to resume or a fresh initialisation), its
 * provenance, and writing a checkpoint: model.safetensors, config.json, state.json and, for a
 * vocabulary other than BERT's, vocab.txt, written as one atomic set (formats/atomic-write.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bertParamShapes, initialParams, type BertModel } from './model.js';
import { WordPieceTokenizer } from './tokenizer.js';
import { CheckpointError, readBertConfig, readSafetensors, validateAgainstShapes, type BertConfig, type FloatTensor } from './checkpoint.js';
import { encodeSafetensors } from '../formats/safetensors.js';
import { encodeBertConfig } from '../formats/hf-config.js';
import { sha256File, type PretrainingText } from './corpus.js';
import { BERT_VOCAB, vocabFile } from './vocab-file.js';
import { codeVersion } from './provenance.js';
import type { PretrainOptions } from './pretrain-options.js';
import type { Geometry } from '../rtl-model/spec/index.js';
import { InputError, UsageError } from '../formats/errors.js';
import { writeFilesAtomic } from '../formats/atomic-write.js';
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
  // a malformed file is an InputError naming it and the line
  const tok = WordPieceTokenizer.fromVocabFile(chosen, {}, o.vocab !== undefined ? '--vocab' : '(vocabulary)');
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

/** The geometry fields of config.json, the flag (or the source) each comes from here, and its value. */
const GEOMETRY_SOURCES: [keyof BertConfig, string, (g: Geometry) => number][] = [
  ['num_hidden_layers', '--layers', (g) => g.layers],
  ['hidden_size', '--hidden', (g) => g.hidden],
  ['num_attention_heads', '--heads', (g) => g.heads],
  ['intermediate_size', '--ffn', (g) => g.ffn],
  ['vocab_size', 'the vocabulary', (g) => g.vocab],
  ['max_position_embeddings', 'pre-training', (g) => g.maxPositions],
  ['type_vocab_size', 'pre-training', (g) => g.typeVocab],
];

/**
 * The tensors of the checkpoint in `out`, checked against `g` (the flags' geometry) before anything
 * else is loaded: config.json's geometry must be the flags' (an InputError naming the field and
 * both values), and model.safetensors must hold every tensor of that geometry with its shape (a
 * CheckpointError naming the tensors); a missing next-sentence head is allowed (null values).
 */
function loadResumedTensors(out: string, g: Geometry): Map<string, Float32Array> {
  const cfgFile = join(out, 'config.json');
  const cfg = readBertConfig(cfgFile);
  for (const [field, source, value] of GEOMETRY_SOURCES) {
    if (cfg[field] === value(g)) continue;
    const isFlag = source.startsWith('--');
    throw new InputError(cfgFile, field, `is ${String(cfg[field])}, but ${isFlag ? `${source} is` : `${source} has`} ${value(g)}`, {
      hint:
        `resume with the geometry the run started with (--layers ${cfg.num_hidden_layers} --hidden ${cfg.hidden_size} ` +
        `--heads ${cfg.num_attention_heads} --ffn ${cfg.intermediate_size}${isFlag ? '' : ' and its vocabulary'}), or choose another --out`,
    });
  }
  const file = join(out, 'model.safetensors');
  const all = readSafetensors(file).tensors;
  const shapes = bertParamShapes(g, true);
  // the encoder, pooler and classifier: formats/hf-checkpoint.ts (which leaves the cls.* pre-training heads aside)
  const isHead = (k: string): boolean => k.startsWith('cls.');
  const body = validateAgainstShapes(new Map([...all].filter(([k]) => !isHead(k))), new Map([...shapes].filter(([k]) => !isHead(k))), file);
  const params = new Map([...body].map(([k, t]) => [k, t.data]));
  // the pre-training heads; a checkpoint of masked-LM pre-training only has no next-sentence head
  const problems: string[] = [];
  for (const [name, shape] of shapes) {
    if (!isHead(name)) continue;
    const t = all.get(name);
    if (t === undefined) {
      if (!name.startsWith('cls.seq_relationship.')) problems.push(`${name} ${JSON.stringify(shape)}: missing`);
    } else if (t.dtype !== 'F32' || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      problems.push(`${name}: ${t.dtype} ${JSON.stringify(t.shape)}, expected F32 ${JSON.stringify(shape)}`);
    } else {
      params.set(name, t.data as Float32Array);
    }
  }
  if (problems.length) {
    throw new CheckpointError(file, '(tensors)', `does not match the model layout of config.json:\n    ${problems.join('\n    ')}`, {
      hint: 'the checkpoint is damaged: choose another --out, or restore it',
    });
  }
  return params;
}

/**
 * Where a run starts: the checkpoint in `o.out` when resuming (checked against the flags' geometry
 * before any data is read, see loadResumedTensors; a missing next-sentence head is initialised
 * fresh), else a seeded initialisation.
 */
export function startRun(
  o: PretrainOptions,
  g: Geometry,
  resuming: boolean,
  log: (s: string) => void,
): { params: Map<string, Float32Array>; state: PretrainState } {
  if (!resuming) return { params: initialParams(g, o.seed, true), state: { step: 0, tokensSeen: 0, losses: [], evals: [], provenance: {} } };
  const params = loadResumedTensors(o.out, g);
  const state = readJsonFile(join(o.out, 'state.json'), '--out') as PretrainState;
  log(`resuming from ${o.out} at step ${state.step}`);
  const missing = [...bertParamShapes(g, true).keys()].filter((k) => !params.has(k));
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

/**
 * Write the checkpoint as one set (formats/atomic-write.ts writeFilesAtomic, fsynced): model.safetensors,
 * config.json, state.json and, for `vocab` (a vocabulary other than BERT's), vocab.txt are all
 * written to temporary names before any is renamed, so a run killed while saving leaves the
 * previous checkpoint or this one, never the weights of one step beside the state of another.
 */
export async function saveCheckpoint(dir: string, model: BertModel, g: Geometry, state: PretrainState, vocab: string | null): Promise<void> {
  const files: Record<string, string | Uint8Array> = {};
  if (vocab && resolve(vocab) !== join(dir, 'vocab.txt')) files['vocab.txt'] = readFileSync(vocab);
  const tensors = new Map<string, FloatTensor>();
  const shapes = bertParamShapes(g, true);
  for (const [name, data] of await model.exportParams()) tensors.set(name, { dtype: 'F32', shape: shapes.get(name)!, data });
  files['model.safetensors'] = encodeSafetensors(tensors, { format: 'pt', step: String(state.step) }, join(dir, 'model.safetensors'));
  files['config.json'] = encodeBertConfig(
    {
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
    },
    join(dir, 'config.json'),
  );
  files['state.json'] = JSON.stringify(state, null, 1) + '\n';
  writeFilesAtomic(dir, files, { fsync: true, field: '--out' });
}
