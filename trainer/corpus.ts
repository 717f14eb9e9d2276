/**
 * The pre-training text (the data of ../shared/DESIGN.md): the corpora of ../shared/data/corpus, one document per
 * line, and the unlabelled sentences of the GLUE train sets (QNLI has none here: dev only, kept for
 * evaluation). Pre-training (pretrain.ts) and vocabulary training (vocab.ts) read the same text.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GLUE_TASKS, PROJECT_ROOT, loadGlue } from './glue.js';
import { InputError } from '../formats/errors.js';

export const DATA_DIR = resolve(PROJECT_ROOT, '../shared/data');
export const CORPUS_FILES = ['sotu.txt', 'moby-dick.txt', 'wordnet-glosses.txt'];

export interface PretrainingText {
  /** Absolute paths of the corpus files. */
  files: string[];
  /** Every sentence of the GLUE train sets (first and second sentence of each pair). */
  glueTexts: string[];
  /** sha256 of every file read: corpus files (relative to the data directory) and GLUE files (absolute). */
  sha256: Record<string, string>;
}

export const sha256File = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

/** The corpus and the GLUE train sets; a missing file is an InputError naming it (exit 2), before any is read. */
export function pretrainingText(): PretrainingText {
  const files = CORPUS_FILES.map((f) => join(DATA_DIR, 'corpus', f));
  for (const f of files) {
    if (!existsSync(f)) {
      throw new InputError(f, '(pre-training corpus)', 'does not exist', {
        hint: 'the corpus is in ../shared/data/corpus beside the project (see the README)',
      });
    }
  }
  const sha256: Record<string, string> = Object.fromEntries(files.map((f) => [f.split('/').slice(-2).join('/'), sha256File(f)]));
  const glueTexts: string[] = [];
  for (const t of GLUE_TASKS) {
    if (t === 'qnli') continue;
    const d = loadGlue(t, 'train');
    sha256[d.file] = d.sha256;
    for (const e of d.examples) {
      glueTexts.push(e.textA);
      if (e.textB) glueTexts.push(e.textB);
    }
  }
  return { files, glueTexts, sha256 };
}

/** Every document: the corpus files' non-empty lines, then the GLUE sentences. */
export function* documents(t: PretrainingText): Generator<string> {
  for (const f of t.files) {
    for (const line of readFileSync(f, 'utf8').split('\n')) if (line.trim() !== '') yield line;
  }
  yield* t.glueTexts;
}
