/**
 * Which vocabulary a run tokenizes with, and whether it fits the checkpoint. One place for the
 * rule, used by trainer/train.ts (its --vocab flag), trainer/pretrain.ts (--vocab, or the resumed
 * run's own) and trainer/campaign.ts (a plan's "vocab" field and its stale-result check).
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DATA_DIR } from './corpus.js';
import { readBertConfig } from './checkpoint.js';
import { WordPieceTokenizer } from './tokenizer.js';
import { InputError } from '../formats/errors.js';

/** BERT uncased's vocabulary in the shared data: the default of a checkpoint without its own. */
export const BERT_VOCAB = join(DATA_DIR, 'bert-base-uncased-vocab.txt');

const isFile = (f: string): boolean => statSync(f, { throwIfNoEntry: false })?.isFile() ?? false;

/**
 * The vocabulary of a run: `given` when set (e.g. a random-init run compared with a checkpoint that
 * has its own vocabulary; relative to `base`), else the checkpoint's vocab.txt (trainer/vocab.ts,
 * or a real bert-base-uncased directory), else BERT uncased's. The error names the resolved path;
 * callers prefix the flag or field it came from.
 */
export function vocabFile(checkpoint: string | null, given: string | undefined, base = process.cwd()): string | { error: string } {
  if (given !== undefined) {
    const f = resolve(base, given);
    if (!isFile(f)) return { error: `${f} is not a file (a vocab.txt, one WordPiece token per line)` };
    return f;
  }
  if (checkpoint && isFile(join(checkpoint, 'vocab.txt'))) return join(checkpoint, 'vocab.txt');
  return BERT_VOCAB;
}

/** Why `vocab` cannot tokenize for `checkpoint` (its config.json's vocab_size differs), or null. */
export function vocabMismatch(checkpoint: string | null, vocab: string): string | null {
  if (!checkpoint) return null;
  const size = readBertConfig(join(checkpoint, 'config.json')).vocab_size;
  const tokens = WordPieceTokenizer.fromVocabFile(vocab).vocabSize;
  return size === tokens
    ? null
    : `${checkpoint}: config.json has vocab_size ${size}, but ${vocab} has ${tokens} tokens ` +
        '(a checkpoint with its own vocabulary keeps it as vocab.txt beside the model)';
}

/**
 * Load `vocab` (a malformed file is an InputError naming it and the line; `field` names who gave
 * it) and throw an InputError naming the checkpoint's config.json when it does not fit it (see
 * vocabMismatch).
 */
export function checkVocabFits(checkpoint: string | null, vocab: string, field = '(vocabulary)'): void {
  const tokens = WordPieceTokenizer.fromVocabFile(vocab, {}, field).vocabSize;
  if (!checkpoint) return;
  const file = join(checkpoint, 'config.json');
  const size = readBertConfig(file).vocab_size;
  if (size !== tokens) {
    throw new InputError(file, 'vocab_size', `${size}, but the vocabulary ${vocab} has ${tokens} tokens`, {
      hint: 'a checkpoint with its own vocabulary keeps it as vocab.txt beside the model; --vocab must be the one it was pre-trained with',
    });
  }
}
