import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED_DATA_DIR, sharedData } from './shared-data.js';
import fc from 'fast-check';
import { countWords, minimumVocabSize, SPECIAL_PIECES, trainWordPiece } from '../../trainer/vocab.js';
import { WordPieceTokenizer } from '../../trainer/tokenizer.js';

const CORPUS = sharedData(join(SHARED_DATA_DIR, 'corpus'), 'the pre-training corpus', 'put ../shared/data beside the project');
const run = (...a: string[]) => spawnSync('npx', ['tsx', 'trainer/vocab.ts', ...a], { encoding: 'utf8' });

// the Hugging Face course's WordPiece example
const COURSE = new Map([
  ['hug', 10],
  ['pug', 5],
  ['pun', 12],
  ['bun', 4],
  ['hugs', 5],
]);

describe('WordPiece vocabulary training', () => {
  it('starts with the special tokens and both forms of every character, then merges the most frequent pair', () => {
    const v = trainWordPiece(COURSE, { size: 5 + 14 + 2 });
    expect(v.slice(0, 5)).toEqual(SPECIAL_PIECES);
    expect(v.slice(5, 19)).toEqual(['b', '##b', 'g', '##g', 'h', '##h', 'n', '##n', 'p', '##p', 's', '##s', 'u', '##u']);
    // ##u ##g: 10 + 5 + 5 = 20 (hug, pug, hugs); then ##u ##n: 12 + 4 = 16 (pun, bun)
    expect(v.slice(-2)).toEqual(['##ug', '##un']);
  });

  it('cuts every training word into pieces of the vocabulary (no [UNK]), the same way whatever the order of the counts', () => {
    const word = fc.stringMatching(/^[a-e]{1,7}$/);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(word, fc.integer({ min: 1, max: 50 })), { minLength: 1, maxLength: 30, selector: (t) => t[0] }),
        fc.integer({ min: 0, max: 40 }),
        (pairs, extra) => {
          const size = SPECIAL_PIECES.length + 2 * new Set(pairs.flatMap(([w]) => [...w])).size + extra;
          const v = trainWordPiece(new Map(pairs), { size });
          expect(v.length).toBeLessThanOrEqual(size);
          expect(new Set(v).size).toBe(v.length);
          expect(trainWordPiece(new Map([...pairs].reverse()), { size })).toEqual(v);
          const tok = WordPieceTokenizer.fromVocab(v);
          for (const [w] of pairs) expect(tok.tokenize(w)).not.toContain('[UNK]');
        },
      ),
      { numRuns: 60 },
    );
  });

  it('equals a naive trainer that recounts every pair after each merge (overlapping runs, existing pieces)', () => {
    const naive = (words: Map<string, number>, size: number, minPair: number): string[] => {
      const vocab = [...SPECIAL_PIECES];
      const chars = [...new Set([...words.keys()].flatMap((w) => [...w]))].sort();
      for (const c of chars) vocab.push(c, '##' + c);
      const entries = [...words].sort((a, b) => (a[0] < b[0] ? -1 : 1));
      let splits = entries.map(([w]) => [...w].map((c, i) => (i ? '##' + c : c)));
      const join2 = (a: string, b: string): string => a + (b.startsWith('##') ? b.slice(2) : b);
      while (vocab.length < size) {
        const pairs = new Map<string, { a: string; b: string; n: number }>();
        splits.forEach((s, w) => {
          for (let i = 0; i + 1 < s.length; i++) {
            const k = JSON.stringify([s[i], s[i + 1]]);
            const e = pairs.get(k) ?? { a: s[i], b: s[i + 1], n: 0 };
            e.n += entries[w][1];
            pairs.set(k, e);
          }
        });
        let best: { a: string; b: string; n: number } | null = null;
        for (const e of pairs.values()) {
          if (e.n < minPair) continue;
          if (!best || e.n > best.n || (e.n === best.n && join2(e.a, e.b) < join2(best.a, best.b))) best = e;
        }
        if (!best) break;
        const m = join2(best.a, best.b);
        if (!vocab.includes(m)) vocab.push(m);
        splits = splits.map((s) => {
          const out: string[] = [];
          for (let i = 0; i < s.length; i++) {
            if (i + 1 < s.length && s[i] === best!.a && s[i + 1] === best!.b) {
              out.push(m);
              i++;
            } else out.push(s[i]);
          }
          return out;
        });
      }
      return vocab;
    };
    const word = fc.stringMatching(/^[ab]{1,6}$/);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(word, fc.integer({ min: 1, max: 9 })), { minLength: 1, maxLength: 12, selector: (t) => t[0] }),
        fc.integer({ min: 9, max: 30 }),
        fc.integer({ min: 1, max: 3 }),
        (pairs, size, minPair) => {
          expect(trainWordPiece(new Map(pairs), { size, minPair })).toEqual(naive(new Map(pairs), size, minPair));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stops early when no pair is seen often enough, and refuses a size below the alphabet', () => {
    const v = trainWordPiece(new Map([['ab', 1]]), { size: 100 });
    expect(v).toEqual([...SPECIAL_PIECES, 'a', '##a', 'b', '##b']);
    expect(trainWordPiece(new Map([['ab', 1]]), { size: 100, minPair: 1 })).toEqual([...SPECIAL_PIECES, 'a', '##a', 'b', '##b', 'ab']);
    expect(() => trainWordPiece(new Map([['abc', 3]]), { size: 8 })).toThrow(/vocabulary size 8 is smaller than the 11 special tokens and characters/);
    // the command checks the size against this before training (a RangeError from the training itself would be a bug)
    expect(minimumVocabSize(new Map([['abc', 3]]))).toBe(11);
    const words = new Map(Object.entries({ abc: 3, cd: 1, xyz: 0 })); // a word never seen adds no characters
    expect(minimumVocabSize(words)).toBe(SPECIAL_PIECES.length + 2 * 4);
    expect(trainWordPiece(words, { size: 13 }).length).toBe(13);
  });

  it('counts words as BERT uncased splits them', () => {
    expect([...countWords(['Hello, World!', 'hello café'])]).toEqual([
      ['hello', 2],
      [',', 1],
      ['world', 1],
      ['!', 1],
      ['cafe', 1],
    ]);
  });

  it('the command rejects bad flags with exit 2', () => {
    const r = run('--size', '3', '--out', '/tmp/x.txt');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\(command line\): --size: must be an integer in \[6, 1000000\] \(got "3"\)/);
    expect(run('--size', '100').status).toBe(2);
    expect(run('--help').status).toBe(0);
    expect(run('--help').stdout).toMatch(/^Usage: npx tsx trainer\/vocab\.ts --size N --out FILE/);
    const bogus = run('--bogus');
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toMatch(/^error: \(command line\): --bogus: is not a flag of this command \(allowed: [^\n]*\)\nrun npx tsx trainer\/vocab\.ts --help/);
  });

  it('the command checks --out before reading the text: a directory is exit 2 naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vocab-out-'));
    const r = run('--size', '100', '--out', dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/vocab-out-.*: --out: is a directory, not a file/);
    expect(r.stderr).not.toMatch(/distinct words|corpus/);
  });

  it.skipIf(!CORPUS.have)(`the command refuses a size below the text's alphabet with exit 2${CORPUS.skipNote}`, () => {
    // the text's alphabet needs more than 50 pieces
    const small = run('--size', '50', '--out', join(mkdtempSync(join(tmpdir(), 'vocab-')), 'small.txt'));
    expect(small.status).toBe(2);
    expect(small.stderr).toMatch(/--size: vocabulary size 50 is smaller than the \d+ special tokens and characters/);
  });
});
