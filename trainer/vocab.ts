#!/usr/bin/env -S npx tsx
/**
 * WordPiece vocabulary training, for a model pre-trained on this project's small corpus.
 *
 *   npx tsx trainer/vocab.ts --size 8192 --out DIR/vocab.txt [--min-pair 2]
 *
 * Why: BERT uncased's 30,522 pieces are made for a far larger corpus. The pre-training text here
 * (trainer/corpus.ts, about 4.6 M BERT tokens without GLUE) uses 24,421 of them, only 4,921 at
 * least 100 times, and 95% of its tokens fall in 8,885 pieces; the rest have embeddings that
 * hardly train, and the output softmax over all 30,522 is about half of a pre-training step.
 *
 * The algorithm is that of Hugging Face tokenizers' WordPieceTrainer (which BERT-style vocabularies
 * are trained with today), with two differences: every character gets both forms (some "##" forms,
 * e.g. of punctuation, can never be used), and ties go to the lexically smaller piece: words from BERT's basic tokenizer (lower-cased, accents stripped,
 * punctuation split off), each cut into its characters, the first as is and the others with the
 * `##` continuation prefix (every character of the text gets both forms, so no word of it becomes
 * [UNK]); then, until the vocabulary has --size pieces, the most frequent adjacent pair (a, b)
 * over the words (weighted by their counts) is merged into one piece, which is added; ties go to
 * the lexically smaller piece, so the result is deterministic. (The likelihood score of the
 * original WordPiece, count(ab) / (count(a) count(b)), was tried first: on this text it merges
 * rare pairs first, builds chains such as "unpalatabil", and tokenizes the corpus into 19.3 M
 * pieces against BERT's 5.9 M.) Output: vocab.txt in BERT's format ([PAD], [UNK], [CLS],
 * [SEP], [MASK], then the pieces), and vocab.json beside it with the sources' sha256 and the command.
 */
import { basename, dirname, resolve } from 'node:path';
import { basicTokenize } from './tokenizer.js';
import { documents, pretrainingText } from './corpus.js';
import { codeVersion } from './provenance.js';
import { flagNumber, parseFlags } from '../formats/flags.js';
import { UsageError } from '../formats/errors.js';
import { checkOutputFile, writeFilesAtomic } from '../formats/atomic-write.js';
import { isMain, runCli } from '../formats/cli.js';

export const SPECIAL_PIECES = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const CONT = '##';

/** Word counts of texts after BERT's basic tokenizer (uncased). */
export function countWords(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of basicTokenize(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

export interface VocabOptions {
  /** Pieces in the vocabulary, special tokens included. */
  size: number;
  /** Pairs seen fewer times than this are never merged (default 2). */
  minPair?: number;
  /** Called every 500 pieces with the vocabulary size so far. */
  onProgress?: (pieces: number) => void;
}

/** The smallest vocabulary trainWordPiece can make of these words: the special tokens and both forms of every character. */
export function minimumVocabSize(words: ReadonlyMap<string, number>): number {
  const chars = new Set<string>();
  for (const [w, c] of words) if (c > 0) for (const ch of w) chars.add(ch);
  return SPECIAL_PIECES.length + 2 * chars.size;
}

/**
 * Train a WordPiece vocabulary on word counts; returns the pieces in id order. A size below
 * minimumVocabSize(words) is a RangeError (callers taking the size from a user check it first).
 */
export function trainWordPiece(words: ReadonlyMap<string, number>, opts: VocabOptions): string[] {
  const minPair = opts.minPair ?? 2;
  const pieces: string[] = [];
  const idOf = new Map<string, number>();
  const intern = (p: string): number => {
    let id = idOf.get(p);
    if (id === undefined) {
      id = pieces.length;
      pieces.push(p);
      idOf.set(p, id);
    }
    return id;
  };
  const vocab: string[] = [...SPECIAL_PIECES];
  const inVocab = new Set(vocab);
  const add = (p: string): void => {
    if (!inVocab.has(p)) {
      inVocab.add(p);
      vocab.push(p);
    }
  };
  const entries = [...words].filter(([w, c]) => w.length > 0 && c > 0).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const chars = new Set<string>();
  for (const [w] of entries) for (const ch of w) chars.add(ch);
  for (const ch of [...chars].sort()) {
    add(ch);
    add(CONT + ch);
  }
  if (vocab.length > opts.size)
    throw new RangeError(`vocabulary size ${opts.size} is smaller than the ${vocab.length} special tokens and characters of the text`);
  // every word as piece ids; counts of pieces and adjacent pairs, weighted by word count
  const splits = entries.map(([w]) => [...w].map((ch, i) => intern(i === 0 ? ch : CONT + ch)));
  const counts = entries.map(([, c]) => c);
  const SHIFT = 2 ** 22; // piece ids stay below: at most size + 2 * characters pieces
  const key = (a: number, b: number): number => a * SHIFT + b;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const account = (w: number, sign: 1 | -1): void => {
    const s = splits[w];
    const c = sign * counts[w];
    for (let i = 0; i < s.length; i++) {
      if (i + 1 < s.length) {
        const k = key(s[i], s[i + 1]);
        const n = (pairCount.get(k) ?? 0) + c;
        if (n === 0) pairCount.delete(k);
        else pairCount.set(k, n);
        let ws = pairWords.get(k);
        if (sign > 0) {
          if (!ws) pairWords.set(k, (ws = new Set()));
          ws.add(w);
        } else if (ws) {
          ws.delete(w);
          if (ws.size === 0) pairWords.delete(k);
        }
      }
    }
  };
  for (let w = 0; w < splits.length; w++) account(w, 1);
  const joined = (a: number, b: number): string => pieces[a] + (pieces[b].startsWith(CONT) ? pieces[b].slice(CONT.length) : pieces[b]);
  while (vocab.length < opts.size) {
    let best = -1;
    let bestCount = 0;
    for (const [k, n] of pairCount) {
      if (n < minPair || n < bestCount) continue;
      if (n > bestCount || joined(Math.floor(k / SHIFT), k % SHIFT) < joined(Math.floor(best / SHIFT), best % SHIFT)) {
        best = k;
        bestCount = n;
      }
    }
    if (best < 0) break; // nothing left to merge: the vocabulary is smaller than asked
    const a = Math.floor(best / SHIFT);
    const b = best - a * SHIFT;
    const m = intern(joined(a, b));
    add(pieces[m]);
    for (const w of [...pairWords.get(best)!]) {
      account(w, -1);
      const s = splits[w];
      const merged: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          merged.push(m);
          i++;
        } else merged.push(s[i]);
      }
      splits[w] = merged;
      account(w, 1);
    }
    if (vocab.length % 500 === 0) opts.onProgress?.(vocab.length);
  }
  return vocab;
}

const HELP = `Usage: npx tsx trainer/vocab.ts --size N --out FILE [--min-pair K]

Train a WordPiece vocabulary on the pre-training text (../shared/data/corpus and the GLUE train
sentences, as trainer/pretrain.ts reads them) and write it as FILE in BERT's vocab.txt format
([PAD], [UNK], [CLS], [SEP], [MASK], then the pieces), with its provenance (the sources' sha256,
the command, the commit) beside it as FILE without .txt plus .json.

  --size N       pieces in the vocabulary, special tokens included (${SPECIAL_PIECES.length + 1} to 1000000; required)
  --out FILE     the vocabulary file to write (required; checked before the text is read)
  --min-pair K   pairs seen fewer than K times are never merged (default 2)
  -h, --help     this help

Use it with: npx tsx trainer/pretrain.ts --vocab FILE ...
Exit status: 0 written, 2 bad input (a flag, --out, the text missing), 3 a bug.
`;

export function main(argv: string[]): number {
  const v = parseFlags(argv, {
    size: { type: 'string' },
    out: { type: 'string' },
    'min-pair': { type: 'string', default: '2' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const size = flagNumber('--size', v.size, { integer: true, min: SPECIAL_PIECES.length + 1, max: 1_000_000 });
  const minPair = flagNumber('--min-pair', v['min-pair'], { integer: true, min: 1 });
  if (!v.out) throw new UsageError('--out', 'is required (the vocabulary file to write, e.g. fixtures/pretrained/NAME/vocab.txt)');
  const out = resolve(v.out);
  const json = out.replace(/\.txt$/, '') + '.json';
  checkOutputFile(out, '--out');
  checkOutputFile(json, '--out (its .json)');
  const t0 = performance.now();
  const text = pretrainingText();
  const words = countWords(documents(text));
  // too small a size for the text's alphabet is bad input; any other error of the training is a bug
  const needed = minimumVocabSize(words);
  if (size < needed) {
    throw new UsageError('--size', `vocabulary size ${size} is smaller than the ${needed} special tokens and characters of the text`, {
      value: v.size,
      allowed: `an integer in [${needed}, 1000000] for this text`,
    });
  }
  console.error(`${words.size.toLocaleString('en-US')} distinct words in ${((performance.now() - t0) / 1000).toFixed(1)} s; training ${size} pieces`);
  const vocab = trainWordPiece(words, { size, minPair, onProgress: (n) => process.stderr.write(`\r${n} / ${size} pieces`) });
  process.stderr.write('\n');
  const prov = {
    command: ['npx tsx trainer/vocab.ts', ...argv].join(' '),
    pieces: vocab.length,
    requested: size,
    minPair,
    distinctWords: words.size,
    sources: Object.fromEntries(Object.entries(text.sha256).map(([f, h]) => [f.startsWith('/') ? f.split('/').slice(-2).join('/') : f, h])),
    code: codeVersion(),
    wallS: (performance.now() - t0) / 1000,
  };
  writeFilesAtomic(dirname(out), { [basename(out)]: vocab.join('\n') + '\n', [basename(json)]: JSON.stringify(prov, null, 2) + '\n' }, { field: '--out' });
  console.error(`wrote ${out} (${vocab.length} pieces) and ${json} in ${prov.wallS.toFixed(1)} s`);
  return 0;
}

if (isMain(import.meta.url)) runCli('trainer/vocab.ts', main);
