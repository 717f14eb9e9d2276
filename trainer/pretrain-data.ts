/**
 * The data of pre-training (trainer/pretrain.ts): the pre-training text (trainer/corpus.ts)
 * tokenized and packed into sequences of a fixed length, split into training and held-out
 * sequences, and BERT's masking of a batch.
 */
import { readFileSync } from 'node:fs';
import { pretrainingText, type PretrainingText } from './corpus.js';
import type { WordPieceTokenizer } from './tokenizer.js';

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
export function maskBatch(
  seqs: Int32Array[],
  rand: () => number,
  vocab: number,
  maskId: number,
  special: Set<number>,
): { ids: Int32Array; positions: number[]; targets: number[] } {
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

export interface PretrainData {
  text: PretrainingText;
  /** Every 100th sequence is held out; of those, the first 200 are evaluated. */
  train: Int32Array[];
  held: Int32Array[];
  /** Ids of the special tokens, which are never masked, and of [MASK] and [SEP]. */
  special: Set<number>;
  maskId: number;
  sepId: number;
}

/** Read, tokenize and pack the pre-training text into sequences of `seqLen` tokens (a note on the time to `log`). */
export function loadPretrainData(tok: WordPieceTokenizer, seqLen: number, log: (s: string) => void): PretrainData {
  const text = pretrainingText();
  const t0 = performance.now();
  const all = buildSequences(tok, seqLen, text.files, text.glueTexts);
  const train = all.filter((_, i) => i % 100 !== 0);
  const held = all.filter((_, i) => i % 100 === 0).slice(0, 200);
  log(
    `data: ${all.length} sequences of ${seqLen} tokens (${train.length} train, ${held.length} held out) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return {
    text,
    train,
    held,
    special: new Set(tok.convertTokensToIds(['[CLS]', '[SEP]', '[PAD]', '[UNK]', '[MASK]'])),
    maskId: tok.convertTokensToIds(['[MASK]'])[0],
    sepId: tok.convertTokensToIds(['[SEP]'])[0],
  };
}
