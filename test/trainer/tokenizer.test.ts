import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WordPieceTokenizer } from '../../trainer/tokenizer.js';
import { InputError } from '../../formats/errors.js';
import { SHARED_DATA_DIR, sharedData } from './shared-data.js';

// --- the real bert-base-uncased vocabulary: from $BERT_VOCAB or ../shared/data beside the project.
// When it is absent the tests that need it are skipped (reason printed); REQUIRE_SHARED_DATA=1 makes that a failure. ---
const VOCAB_PATH = process.env.BERT_VOCAB ?? join(SHARED_DATA_DIR, 'bert-base-uncased-vocab.txt');
const VOCAB = sharedData(VOCAB_PATH, 'the BERT uncased vocabulary', 'set BERT_VOCAB, or put ../shared/data beside the project');

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const ASCII_PUNCT = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];
const ALNUM = [...'abcdefghijklmnopqrstuvwxyz0123456789'];

/** Joins WordPiece pieces back into words ("##" pieces glue to the previous one). */
const joinPieces = (pieces: string[]): string => pieces.map((p) => (p.startsWith('##') ? p.slice(2) : p)).join('');

/** ASCII strings (control characters included), biased toward letters and spaces. */
const asciiText = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ') },
      { weight: 2, arbitrary: fc.constantFrom(' ', '\t', '\n') },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)) },
    ),
    maxLength,
  });

/** HF transformers' closed form of 'longest_first' for a pair (truncate_sequences, v4.3x). */
function hfLongestFirst(la: number, lb: number, maxLength: number): [number, number] {
  const remove = Math.max(0, la + lb + 3 - maxLength);
  const first = Math.min(Math.abs(la - lb), remove);
  const second = remove - first;
  if (la > lb) return [la - (first + Math.floor(second / 2)), lb - (second - Math.floor(second / 2))];
  return [la - Math.floor(second / 2), lb - (first + second - Math.floor(second / 2))];
}

function tempFile(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'wordpiece-')), name);
  writeFileSync(path, content);
  return path;
}

describe('WordPieceTokenizer on a synthetic vocabulary', () => {
  // HF's own test vocabulary (tests/models/bert/test_tokenization_bert.py).
  const hfVocab = [...SPECIALS, 'want', '##want', '##ed', 'wa', 'un', 'runn', '##ing', ','];

  it('splits greedily, longest match first, with ## continuations (HF test_wordpiece_tokenizer)', () => {
    const tok = WordPieceTokenizer.fromVocab(hfVocab);
    expect(tok.tokenize('')).toEqual([]);
    expect(tok.tokenize('unwanted running')).toEqual(['un', '##want', '##ed', 'runn', '##ing']);
    // One unmatched character makes the whole word [UNK], not just its tail.
    expect(tok.tokenize('unwantedX running')).toEqual(['[UNK]', 'runn', '##ing']);
    expect(tok.convertTokensToIds(tok.tokenize('unwanted running'))).toEqual([9, 6, 7, 10, 11]);
  });

  it('the HF docstring example: unaffable -> un ##aff ##able', () => {
    const tok = WordPieceTokenizer.fromVocab([...SPECIALS, 'un', 'una', '##aff', '##able', '##ffa']);
    // "una" is in this vocab too: greedy takes the longest prefix, so it wins over "un"...
    expect(tok.tokenize('unaffable')).toEqual(['[UNK]']); // ...and then "##ffable" has no full match.
    const tok2 = WordPieceTokenizer.fromVocab([...SPECIALS, 'un', '##aff', '##able']);
    expect(tok2.tokenize('unaffable')).toEqual(['un', '##aff', '##able']);
  });

  it('BasicTokenizer: lower-casing, accents, punctuation, whitespace, CJK (HF test_basic_tokenizer_*)', () => {
    const words = ['hello', '!', 'how', 'are', 'you', '?', 'hällo', 'HeLLo', 'Are', 'yoU', 'HaLLo', 'HäLLo', 'ah', 'zz', '\u535A', '\u63A8'];
    const vocab = [...SPECIALS, ...words];
    const text = ' \tHeLLo!how  \n Are yoU?  ';
    expect(WordPieceTokenizer.fromVocab(vocab).tokenize(text)).toEqual(['hello', '!', 'how', 'are', 'you', '?']);
    expect(WordPieceTokenizer.fromVocab(vocab).tokenize('H\u00E9llo')).toEqual(['hello']);
    expect(WordPieceTokenizer.fromVocab(vocab).tokenize('ah\u535A\u63A8zz')).toEqual(['ah', '\u535A', '\u63A8', 'zz']);
    const lowerKeepAccents = WordPieceTokenizer.fromVocab(vocab, { stripAccents: false });
    expect(lowerKeepAccents.tokenize(' \tHäLLo!how  \n Are yoU?  ')).toEqual(['hällo', '!', 'how', 'are', 'you', '?']);
    const cased = WordPieceTokenizer.fromVocab(vocab, { lowerCase: false });
    expect(cased.stripAccents).toBe(false); // defaults to lowerCase, as HF
    expect(cased.tokenize(text)).toEqual(['HeLLo', '!', 'how', 'Are', 'yoU', '?']);
    expect(cased.tokenize('HäLLo')).toEqual(['HäLLo']);
    expect(WordPieceTokenizer.fromVocab(vocab, { lowerCase: false, stripAccents: true }).tokenize('HäLLo')).toEqual(['HaLLo']);
    // Decomposed input (a + U+0308) is composed (NFC) before matching when accents are kept.
    expect(lowerKeepAccents.tokenize('ha\u0308llo')).toEqual(['hällo']);
  });

  it('every non-alphanumeric ASCII character is punctuation, including $ ^ ` (HF _is_punctuation)', () => {
    const tok = WordPieceTokenizer.fromVocab([...SPECIALS, 'a', ...ASCII_PUNCT]);
    for (const p of ASCII_PUNCT) expect(tok.tokenize(`a${p}a`)).toEqual(['a', p, 'a']);
    // Unicode P* too: an em dash and curly quotes split, a symbol such as '+'-like '±' (Sm) does not.
    const uni = WordPieceTokenizer.fromVocab([...SPECIALS, 'a', '\u2014', '\u201c', '\u201d', 'a±a']);
    expect(uni.tokenize('\u201ca\u2014a\u201d a±a')).toEqual(['\u201c', 'a', '\u2014', 'a', '\u201d', 'a±a']);
  });

  it('cleans text: drops control/format chars, U+0000 and U+FFFD; \\t \\n \\r and Unicode spaces separate words', () => {
    const tok = WordPieceTokenizer.fromVocab([...SPECIALS, 'ab', 'cd']);
    expect(tok.tokenize('a\u0000b\u0007 c\u200bd\ufffd')).toEqual(['ab', 'cd']);
    expect(tok.tokenize('a\u00adb\u200e\u0085')).toEqual(['ab']); // soft hyphen (Cf), LRM (Cf), NEL (Cc)
    expect(tok.tokenize('ab\tcd\nab\rcd\u3000ab\u00a0cd\u2028ab')).toEqual(['ab', 'cd', 'ab', 'cd', 'ab', 'cd', 'ab']);
    expect(tok.tokenize('a\ud800b')).toEqual(['ab']); // a lone surrogate is category Cs
    expect(tok.tokenize('\u0301 \u0300')).toEqual([]); // words made only of combining marks vanish
  });

  it('a word longer than maxInputCharsPerWord code points is [UNK]', () => {
    const tok = WordPieceTokenizer.fromVocab([...SPECIALS, 'a', '##a', '😀', '##😀'], { maxInputCharsPerWord: 5 });
    expect(tok.tokenize('aaaaa')).toEqual(['a', '##a', '##a', '##a', '##a']);
    expect(tok.tokenize('aaaaaa aa')).toEqual(['[UNK]', 'a', '##a']);
    // Counted in code points, not UTF-16 units (as Python's len).
    expect(tok.tokenize('😀😀😀😀😀')).toEqual(['😀', '##😀', '##😀', '##😀', '##😀']);
    expect(tok.tokenize('😀😀😀😀😀😀')).toEqual(['[UNK]']);
  });

  it('keeps special tokens written in the text whole (case-sensitive), as HF', () => {
    const tok = WordPieceTokenizer.fromVocab([...SPECIALS, 'a', 'cls', '[', ']']);
    expect(tok.tokenize('a[MASK]a [SEP] [cls]')).toEqual(['a', '[MASK]', 'a', '[SEP]', '[', 'cls', ']']);
    const plain = WordPieceTokenizer.fromVocab([...SPECIALS, 'a', 'cls', 'mask', '[', ']'], { keepSpecialTokens: false });
    expect(plain.tokenize('a[MASK]')).toEqual(['a', '[', 'mask', ']']);
  });

  it('converts between tokens and ids; unknown tokens and ids map to [UNK] as HF', () => {
    const tok = WordPieceTokenizer.fromVocab(hfVocab);
    expect(tok.vocabSize).toBe(hfVocab.length);
    expect([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId]).toEqual([0, 1, 2, 3, 4]);
    expect(tok.convertTokensToIds(['want', 'nope', '##ed'])).toEqual([5, 1, 7]);
    expect(tok.convertIdsToTokens(Int32Array.from([5, 6, 7]))).toEqual(['want', '##want', '##ed']);
    expect(tok.convertIdsToTokens([-1, 999])).toEqual(['[UNK]', '[UNK]']);
    expect(tok.convertTokensToString(['un', '##want', '##ed', 'runn', '##ing'])).toBe('unwanted running');
  });

  it('a custom unknown token', () => {
    const tok = WordPieceTokenizer.fromVocab(['[PAD]', '<unk>', '[CLS]', '[SEP]', '[MASK]', 'a'], { unkToken: '<unk>' });
    expect(tok.tokenize('a b <unk>')).toEqual(['a', '<unk>', '<unk>']);
    expect(tok.unkId).toBe(1);
    expect(() => WordPieceTokenizer.fromVocab([...SPECIALS, 'a'], { unkToken: '<unk>' })).toThrow(/lacks .*<unk>/);
  });

  describe('vocabulary errors are InputErrors naming the source and line', () => {
    it('missing file, or a directory', () => {
      const path = join(tmpdir(), 'no-such-dir-wordpiece', 'vocab.txt');
      expect(() => WordPieceTokenizer.fromVocabFile(path)).toThrow(InputError);
      expect(() => WordPieceTokenizer.fromVocabFile(path)).toThrow(`${path}: (vocabulary): does not exist`);
      expect(() => WordPieceTokenizer.fromVocabFile(tmpdir(), {}, '--vocab')).toThrow(`${tmpdir()}: --vocab: is a directory, not a file`);
    });
    it('duplicate token', () => {
      const path = tempFile('vocab.txt', [...SPECIALS, 'a', 'b', 'a'].join('\n') + '\n');
      expect(() => WordPieceTokenizer.fromVocabFile(path)).toThrow(InputError);
      expect(() => WordPieceTokenizer.fromVocabFile(path)).toThrow(
        `${path}: line 8: duplicate token (first at line 6) (got "a"; allowed: one token a line, each token once (BERT vocab.txt))`,
      );
      expect(() => WordPieceTokenizer.fromVocab([...SPECIALS, 'x', 'x'])).toThrow('<vocab>: line 7: duplicate token (first at line 6) (got "x"');
    });
    it('missing special tokens', () => {
      const path = tempFile('vocab.txt', '[PAD]\n[UNK]\nhello\n');
      expect(() => WordPieceTokenizer.fromVocabFile(path)).toThrow(InputError);
      expect(() => WordPieceTokenizer.fromVocabFile(path)).toThrow(
        `${path}: (special tokens): vocabulary lacks the special token(s) [CLS], [SEP], [MASK] (allowed: a vocabulary with every one of [UNK], [CLS]`,
      );
      for (const s of SPECIALS) expect(() => WordPieceTokenizer.fromVocab(SPECIALS.filter((t) => t !== s))).toThrow(`lacks the special token(s) ${s}`);
    });
    it('empty line', () => {
      const path = tempFile('vocab.txt', [...SPECIALS, '', 'a'].join('\n'));
      expect(() => WordPieceTokenizer.fromVocabFile(path)).toThrow(InputError);
      expect(() => WordPieceTokenizer.fromVocabFile(path)).toThrow(`${path}: line 6: is empty (allowed: one token a line`);
    });
  });

  it('reads vocab files with or without a final newline, with CRLF line ends or a BOM; id = line - 1', () => {
    const vocab = [...SPECIALS, 'a', '##b'];
    for (const content of [vocab.join('\n'), vocab.join('\n') + '\n', vocab.join('\r\n') + '\r\n', '\uFEFF' + vocab.join('\n')]) {
      const tok = WordPieceTokenizer.fromVocabFile(tempFile('vocab.txt', content));
      expect(tok.vocabSize).toBe(7);
      expect(tok.convertTokensToIds(tok.tokenize('ab [PAD]'))).toEqual([5, 6, 0]);
    }
  });

  describe('encode', () => {
    const tok = WordPieceTokenizer.fromVocab([...SPECIALS, ...ALNUM]); // ids 5.. for a..z, 0..9
    const id = (c: string): number => 5 + ALNUM.indexOf(c);

    it('single and pair layouts with token types and attention mask', () => {
      const single = tok.encode('a b');
      expect(Array.from(single.inputIds)).toEqual([2, id('a'), id('b'), 3]);
      expect(Array.from(single.tokenTypeIds)).toEqual([0, 0, 0, 0]);
      expect(Array.from(single.attentionMask)).toEqual([1, 1, 1, 1]);
      const pair = tok.encode('a b', 'c');
      expect(Array.from(pair.inputIds)).toEqual([2, id('a'), id('b'), 3, id('c'), 3]);
      expect(Array.from(pair.tokenTypeIds)).toEqual([0, 0, 0, 0, 1, 1]);
      expect(pair.inputIds).toBeInstanceOf(Int32Array);
      const empty = tok.encode('', '');
      expect(Array.from(empty.inputIds)).toEqual([2, 3, 3]);
      expect(Array.from(empty.tokenTypeIds)).toEqual([0, 0, 1]);
    });

    it('pads with [PAD], mask 0 and token type 0', () => {
      const e = tok.encode('a', 'b', { maxLength: 8, padToMaxLength: true });
      expect(Array.from(e.inputIds)).toEqual([2, id('a'), 3, id('b'), 3, 0, 0, 0]);
      expect(Array.from(e.tokenTypeIds)).toEqual([0, 0, 0, 1, 1, 0, 0, 0]);
      expect(Array.from(e.attentionMask)).toEqual([1, 1, 1, 1, 1, 0, 0, 0]);
      // maxLength alone truncates but does not pad.
      expect(tok.encode('a b', undefined, { maxLength: 8 }).inputIds.length).toBe(4);
    });

    it("truncates 'longest_first': one token at a time from the longer side, B on ties", () => {
      const a = 'a b c d e f';
      expect(Array.from(tok.encode(a, undefined, { maxLength: 5 }).inputIds)).toEqual([2, id('a'), id('b'), id('c'), 3]);
      // A has 6, B 2; budget 6: both removals come from A.
      expect(Array.from(tok.encode(a, 'x y', { maxLength: 9 }).inputIds)).toEqual([2, id('a'), id('b'), id('c'), id('d'), 3, id('x'), id('y'), 3]);
      // 3 and 3, budget 5: the tie removes from B.
      expect(Array.from(tok.encode('a b c', 'x y z', { maxLength: 8 }).inputIds)).toEqual([2, id('a'), id('b'), id('c'), 3, id('x'), id('y'), 3]);
      // budget 4: B, then A (now longer).
      expect(Array.from(tok.encode('a b c', 'x y z', { maxLength: 7 }).inputIds)).toEqual([2, id('a'), id('b'), 3, id('x'), id('y'), 3]);
      expect(Array.from(tok.encode('a b c', 'x', { maxLength: 3 }).inputIds)).toEqual([2, 3, 3]);
    });

    it('truncation matches HF transformers closed form for any lengths (property)', () => {
      fc.assert(
        fc.property(fc.nat(40), fc.nat(40), fc.integer({ min: 3, max: 90 }), fc.boolean(), (la, lb, maxLength, pad) => {
          const e = tok.encode(Array(la).fill('a').join(' '), Array(lb).fill('b').join(' '), { maxLength, padToMaxLength: pad });
          const [ea, eb] = hfLongestFirst(la, lb, maxLength);
          const ids = Array.from(e.inputIds);
          expect(ids.filter((x) => x === id('a')).length).toBe(ea);
          expect(ids.filter((x) => x === id('b')).length).toBe(eb);
          expect(ids.length).toBe(pad ? maxLength : ea + eb + 3);
          expect(e.attentionMask.reduce((s, x) => s + x, 0)).toBe(ea + eb + 3);
          expect(e.tokenTypeIds.reduce((s, x) => s + x, 0)).toBe(eb + 1);
        }),
      );
    });

    it('rejects a maxLength too small for the special tokens, and padding without maxLength', () => {
      expect(() => tok.encode('a', undefined, { maxLength: 1 })).toThrow(/maxLength must be an integer >= 2/);
      expect(() => tok.encode('a', 'b', { maxLength: 2 })).toThrow(/>= 3/);
      expect(() => tok.encode('a', undefined, { padToMaxLength: true })).toThrow(/padToMaxLength needs maxLength/);
    });
  });

  it('ASCII text: never throws, and the pieces spell the lower-cased text minus whitespace/control chars (property)', () => {
    // Every ASCII letter, digit and punctuation is a token and a continuation here, so only words
    // over 100 characters can be [UNK].
    const tok = WordPieceTokenizer.fromVocab([...SPECIALS, ...ALNUM, ...ALNUM.map((c) => `##${c}`), ...ASCII_PUNCT, 'the', '##the'], {
      keepSpecialTokens: false,
    });
    fc.assert(
      fc.property(fc.oneof(asciiText(40), asciiText(400)), (text) => {
        const tokens = tok.tokenize(text);
        for (const t of tokens) expect(tok.has(t)).toBe(true);
        const longWord = text.split(/[^a-zA-Z0-9]/).some((w) => w.length > 100);
        expect(tokens.includes('[UNK]')).toBe(longWord);
        // eslint-disable-next-line no-control-regex -- the control characters are what BERT's cleaning drops
        if (!longWord) expect(joinPieces(tokens)).toBe(text.toLowerCase().replace(/[\x00-\x20\x7f]/g, ''));
      }),
    );
  });
});

describe.skipIf(!VOCAB.have)(`WordPieceTokenizer on bert-base-uncased (${VOCAB_PATH})${VOCAB.skipNote}`, () => {
  let tok: WordPieceTokenizer;
  beforeAll(() => {
    tok = WordPieceTokenizer.fromVocabFile(VOCAB_PATH);
  });

  // Expected ids read from the vocab file: id = line number - 1 (grep -nxF TOKEN vocab.txt).
  it('loads the 30,522 tokens with the standard special ids', () => {
    expect(tok.vocabSize).toBe(30522);
    expect([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId]).toEqual([0, 100, 101, 102, 103]);
  });

  it("encode('hello world') is [CLS] hello world [SEP] = 101 7592 2088 102", () => {
    const e = tok.encode('hello world');
    expect(Array.from(e.inputIds)).toEqual([101, 7592, 2088, 102]);
    expect(Array.from(e.tokenTypeIds)).toEqual([0, 0, 0, 0]);
    expect(Array.from(e.attentionMask)).toEqual([1, 1, 1, 1]);
    expect(tok.convertIdsToTokens(e.inputIds)).toEqual(['[CLS]', 'hello', 'world', '[SEP]']);
  });

  it('lower-cases and strips accents', () => {
    expect(tok.tokenize('Héllo')).toEqual(['hello']);
    expect(tok.convertTokensToIds(tok.tokenize('HÉLLO Wörld Café naïve'))).toEqual([7592, 2088, 7668, 15743]);
    // Lower-cased one character at a time, as HF: a word-final capital sigma gives σ (1173), not ς (1172).
    expect(tok.tokenize('ΟΔΟΣ')).toEqual(['ο', '##δ', '##ο', '##σ']);
    expect(tok.convertTokensToIds(['ο', '##δ', '##ο', '##σ'])).toEqual([1169, 29722, 29730, 29733]);
  });

  it('splits punctuation', () => {
    expect(tok.tokenize('hello, world!')).toEqual(['hello', ',', 'world', '!']);
    expect(tok.convertTokensToIds(tok.tokenize('hello, world!'))).toEqual([7592, 1010, 2088, 999]);
    expect(tok.convertTokensToIds(tok.tokenize("How are you? don't"))).toEqual([2129, 2024, 2017, 1029, 2123, 1005, 1056]);
  });

  it('splits words into ## continuations: unaffable -> una ##ffa ##ble in this vocabulary', () => {
    // (HF's docstring says un ##aff ##able, which holds for a toy vocab; bert-base-uncased has
    // "una" but no "##aff", so greedy longest-match gives una ##ffa ##ble.)
    expect(tok.tokenize('unaffable')).toEqual(['una', '##ffa', '##ble']);
    expect(tok.convertTokensToIds(['una', '##ffa', '##ble'])).toEqual([14477, 20961, 3468]);
    expect(tok.convertTokensToIds(tok.tokenize('Tokenization'))).toEqual([19204, 3989]);
  });

  it('a word over 100 characters is [UNK] (100 is still split)', () => {
    expect(tok.convertTokensToIds(tok.tokenize(`hello ${'a'.repeat(101)} world`))).toEqual([7592, 100, 2088]);
    const hundred = tok.tokenize('a'.repeat(100));
    expect(hundred).not.toContain('[UNK]');
    expect(joinPieces(hundred)).toBe('a'.repeat(100));
  });

  it('splits Chinese characters one per token', () => {
    expect(tok.tokenize('我爱中国')).toEqual(['我', '[UNK]', '中', '国']); // 爱 is not in the vocab
    expect(tok.convertTokensToIds(tok.tokenize('hello中国world'))).toEqual([7592, 1746, 1799, 2088]);
    expect(tok.convertTokensToIds(tok.tokenize('我'))).toEqual([1855]);
  });

  it('removes control characters', () => {
    expect(tok.convertTokensToIds(tok.tokenize('hel\u0000lo\u200b\u0007 wor\u00adld\ufffd'))).toEqual([7592, 2088]);
    expect(tok.tokenize('hello\tworld\r\nhello\u00a0world')).toEqual(['hello', 'world', 'hello', 'world']);
  });

  it('encodes a pair with token types, truncation and padding', () => {
    const e = tok.encode('hello world', 'how are you');
    expect(Array.from(e.inputIds)).toEqual([101, 7592, 2088, 102, 2129, 2024, 2017, 102]);
    expect(Array.from(e.tokenTypeIds)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    // 'the cat sat on the mat' (7 with '.') vs 'hello world' (2): budget 9 - 3 = 6 leaves A 4 and B 2.
    const t = tok.encode('The cat sat on the mat.', 'hello world', { maxLength: 9, padToMaxLength: true });
    expect(Array.from(t.inputIds)).toEqual([101, 1996, 4937, 2938, 2006, 102, 7592, 2088, 102]);
    expect(Array.from(t.tokenTypeIds)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1]);
    const p = tok.encode('hello world', 'how are you', { maxLength: 12, padToMaxLength: true });
    expect(Array.from(p.inputIds)).toEqual([101, 7592, 2088, 102, 2129, 2024, 2017, 102, 0, 0, 0, 0]);
    expect(Array.from(p.tokenTypeIds)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(Array.from(p.attentionMask)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
    // 3 vs 3 tokens, budget 5: the tie removes from B.
    const tie = tok.encode('hello world !', 'how are you', { maxLength: 8 });
    expect(Array.from(tie.inputIds)).toEqual([101, 7592, 2088, 999, 102, 2129, 2024, 102]);
  });

  it('random ASCII: never throws, every token is in the vocab (property)', () => {
    fc.assert(
      fc.property(asciiText(60), (text) => {
        for (const t of tok.tokenize(text)) expect(tok.has(t)).toBe(true);
      }),
    );
  });

  it('any Unicode: never throws, every token is in the vocab (property)', () => {
    fc.assert(
      // Any code point, lone surrogates included (fast-check's 'binary' unit is much slower to generate).
      fc.property(
        fc.string({
          unit: fc.oneof(
            fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
            fc.constantFrom(' ', 'e\u0301', '中', 'Σ', '[SEP]'),
          ),
          maxLength: 40,
        }),
        (text) => {
          for (const t of tok.tokenize(text)) expect(tok.has(t)).toBe(true);
        },
      ),
    );
  });

  it('a single ASCII word: the pieces rebuild the lower-cased word unless it is [UNK] (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-zA-Z0-9]{1,30}$/), (word) => {
        const pieces = tok.tokenize(word);
        if (pieces.includes('[UNK]')) {
          expect(pieces).toEqual(['[UNK]']);
          return;
        }
        expect(pieces[0]!.startsWith('##')).toBe(false);
        for (const p of pieces.slice(1)) expect(p.startsWith('##')).toBe(true);
        expect(joinPieces(pieces)).toBe(word.toLowerCase());
        expect(tok.convertTokensToString(pieces)).toBe(word.toLowerCase());
      }),
    );
  });
});
