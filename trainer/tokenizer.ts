/**
 * WordPiece tokenizer compatible with HuggingFace's (slow, Python) `BertTokenizer`, in particular
 * `bert-base-uncased` (do_lower_case=True). It loads any BERT `vocab.txt` (one token per line, the
 * id is the 0-based line number).
 *
 * Pipeline, as in HF `BertTokenizer.tokenize`:
 *  0. special tokens written verbatim in the text ("[SEP]", "[MASK]", ...; case-sensitive) are
 *     kept whole, the text around them is tokenized separately (HF's added-token split);
 *  1. BasicTokenizer: clean text (drop NUL, U+FFFD and every Unicode "C*" character except
 *     \t\n\r; map \t\n\r and "Zs" spaces to ' '), put spaces around CJK ideographs, NFC, split
 *     on whitespace, lower-case and strip accents (NFD, drop "Mn" marks) per word, split every
 *     punctuation character into its own token;
 *  2. WordPiece: greedy longest-match-first over code points, continuation pieces prefixed "##";
 *     a word longer than maxInputCharsPerWord code points, or one with no full match, is [UNK].
 *
 * Unicode properties come from the JS engine's tables (regex \p{...}, String#normalize and
 * toLowerCase), HF's from Python's `unicodedata`; the two can differ only for characters added
 * in between their Unicode versions.
 */
import { InputError } from '../formats/errors.js';
import { readInputFile } from '../formats/input-file.js';

export interface WordPieceOptions {
  /** Lower-case the text (BERT uncased). Default true. */
  lowerCase?: boolean;
  /** Strip accents (NFD, drop combining marks). Default: the value of lowerCase, as in HF. */
  stripAccents?: boolean;
  /** Words longer than this (in code points) become the unknown token. Default 100. */
  maxInputCharsPerWord?: number;
  /** Default '[UNK]'. */
  unkToken?: string;
  /** Keep special tokens written in the input text whole, as HF does. Default true. */
  keepSpecialTokens?: boolean;
}

export interface EncodeOptions {
  /**
   * Total length including [CLS]/[SEP]. When set, the input is truncated 'longest_first' to fit;
   * when absent, nothing is truncated or padded.
   */
  maxLength?: number;
  /** Pad with [PAD] (attention mask 0, token type 0) up to maxLength. Needs maxLength. */
  padToMaxLength?: boolean;
}

export interface Encoding {
  inputIds: Int32Array;
  /** 0 for [CLS], A and the first [SEP]; 1 for B and its [SEP]; 0 for padding. */
  tokenTypeIds: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  attentionMask: Int32Array;
}

/** The special tokens every BERT vocabulary must have (the unknown token may be renamed). */
const SPECIAL_TOKENS = ['[CLS]', '[SEP]', '[PAD]', '[MASK]'] as const;

const CONTINUATION = '##';

/** What a line of a vocabulary file holds, for the errors. */
const ONE_TOKEN_A_LINE = 'one token a line, each token once (BERT vocab.txt)';

// --- character classes (HF tokenization_bert.py: _is_control, _is_whitespace, _is_punctuation,
// _is_chinese_char), written as regexes so that whole strings are processed in one pass ---

/** Removed by _clean_text: NUL, U+FFFD and every "C*" category char (Cc Cf Cs Co Cn) but \t\n\r. */
const CONTROL_RE = /(?![\t\n\r])[\p{C}\uFFFD]/gu;
/** Mapped to ' ' by _clean_text. */
const WHITESPACE_RE = /[\t\n\r\p{Zs}]/gu;
/** The CJK Unified Ideographs blocks of _is_chinese_char (not kana or hangul). */
const CJK_RE =
  /[\u{4E00}-\u{9FFF}\u{3400}-\u{4DBF}\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B820}-\u{2CEAF}\u{F900}-\u{FAFF}\u{2F800}-\u{2FA1F}]/gu;
/**
 * Python's str.split() separators among what survives _clean_text: ' ', U+2028, U+2029 (the
 * others are control characters, already removed). JS \s is a superset of those that is
 * otherwise already gone, so it splits identically.
 */
const SPLIT_RE = /\s+/u;
/** ASCII 33-47, 58-64, 91-96, 123-126 (all non-alphanumeric ASCII, e.g. '$' '^' '`') and Unicode P*. */
const PUNCT_RE = /[!-/:-@[-`{-~\p{P}]/gu;
/** Any character outside ' '..'~'. */
const NON_PRINTABLE_ASCII_RE = /[^ -~]/;
const MARK_RE = /\p{Mn}/gu;

/**
 * Lower-cases one code point at a time, as HF does (the slow tokenizer lower-cases the text
 * character by character before BasicTokenizer, the fast one maps each char). The difference with
 * String#toLowerCase is its one context rule, Final_Sigma: a word-final 'Σ' stays 'σ' here, not 'ς'.
 */
function lowerCase(text: string): string {
  if (!text.includes('\u03A3')) return text.toLowerCase();
  let out = '';
  for (const ch of text) out += ch.toLowerCase();
  return out;
}

function codePointCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * HF's BasicTokenizer on text without special tokens: clean, split CJK characters, lower-case and
 * strip accents (as asked), split off punctuation, split on whitespace. The words WordPiece then
 * cuts into pieces (and the words a vocabulary is trained on, trainer/vocab.ts).
 */
export function basicTokenize(text: string, lower = true, stripAccents = lower): string[] {
  // HF lower-cases, strips accents and splits punctuation word by word; each of these maps
  // characters independently of their word (NFD's reordering of marks never crosses a space)
  // and none creates whitespace, so running them over the whole segment gives the same words.
  const ascii = !NON_PRINTABLE_ASCII_RE.test(text); // then cleaning, CJK, NFC and NFD do nothing
  let s = ascii ? text : text.replace(CONTROL_RE, '').replace(WHITESPACE_RE, ' ').replace(CJK_RE, ' $& ').normalize('NFC');
  if (lower) s = lowerCase(s);
  if (stripAccents && !ascii) s = s.normalize('NFD').replace(MARK_RE, '');
  s = s.replace(PUNCT_RE, ' $& ');
  // Words made only of marks are now empty strings, dropped here as HF's final re-split does.
  return s.split(SPLIT_RE).filter((w) => w !== '');
}

interface TrieNode {
  children: Map<number, TrieNode> | undefined;
  /** The vocab entry ending here, if any. */
  token: string | undefined;
}
const newNode = (): TrieNode => ({ children: undefined, token: undefined });
const HASH = '#'.charCodeAt(0);

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class WordPieceTokenizer {
  readonly lowerCase: boolean;
  readonly stripAccents: boolean;
  readonly maxInputCharsPerWord: number;
  readonly unkToken: string;

  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly maskId: number;

  private readonly vocab: Map<string, number>;
  private readonly idToToken: readonly string[];
  /** The vocab as a trie over UTF-16 code units, for the WordPiece longest-match search. */
  private readonly trie: TrieNode;
  /** The trie node reached by "##": continuation pieces are matched from here. */
  private readonly continuationTrie: TrieNode | undefined;
  /** Matches the special tokens in raw text, or null when they are not kept. */
  private readonly specialRe: RegExp | null;

  /** `source` names the vocabulary in errors (InputError, field `line N`); token i is on its line i + 1. */
  private constructor(tokens: readonly string[], source: string, opts: WordPieceOptions) {
    this.lowerCase = opts.lowerCase ?? true;
    this.stripAccents = opts.stripAccents ?? this.lowerCase;
    this.maxInputCharsPerWord = opts.maxInputCharsPerWord ?? 100;
    this.unkToken = opts.unkToken ?? '[UNK]';
    if (!Number.isInteger(this.maxInputCharsPerWord) || this.maxInputCharsPerWord < 1)
      throw new Error(`maxInputCharsPerWord must be a positive integer, got ${opts.maxInputCharsPerWord}`);

    const vocab = new Map<string, number>();
    const trie = newNode();
    tokens.forEach((tok, i) => {
      if (tok === '') throw new InputError(source, `line ${i + 1}`, 'is empty', { allowed: ONE_TOKEN_A_LINE });
      const prev = vocab.get(tok);
      if (prev !== undefined)
        throw new InputError(source, `line ${i + 1}`, `duplicate token (first at line ${prev + 1})`, { value: tok, allowed: ONE_TOKEN_A_LINE });
      vocab.set(tok, i);
      let node = trie;
      for (let k = 0; k < tok.length; k++) {
        const c = tok.charCodeAt(k);
        node.children ??= new Map();
        let next = node.children.get(c);
        if (next === undefined) node.children.set(c, (next = newNode()));
        node = next;
      }
      node.token = tok;
    });
    const required = [this.unkToken, ...SPECIAL_TOKENS];
    const missing = required.filter((t) => !vocab.has(t));
    if (missing.length > 0) {
      throw new InputError(source, '(special tokens)', `vocabulary lacks the special token(s) ${missing.join(', ')}`, {
        allowed: `a vocabulary with every one of ${[...new Set(required)].join(', ')}, each on a line of its own`,
      });
    }

    this.vocab = vocab;
    this.idToToken = tokens.slice();
    this.trie = trie;
    this.continuationTrie = trie.children?.get(HASH)?.children?.get(HASH);
    const id = (t: string): number => vocab.get(t)!;
    this.unkId = id(this.unkToken);
    this.clsId = id('[CLS]');
    this.sepId = id('[SEP]');
    this.padId = id('[PAD]');
    this.maskId = id('[MASK]');

    // Longest first, so a special token that is a prefix of another cannot shadow it.
    const alternatives = [...new Set(required)].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.specialRe = (opts.keepSpecialTokens ?? true) ? new RegExp(`(${alternatives.join('|')})`) : null;
  }

  /**
   * Loads a `vocab.txt`: one token per line, id = line number - 1. A missing or unreadable file, an
   * empty line, a duplicate token or a missing special token is an InputError naming the file (and
   * the line): bad input, exit 2 in every command. `field` names who gave the file (e.g. "--vocab").
   */
  static fromVocabFile(path: string, opts: WordPieceOptions = {}, field = '(vocabulary)'): WordPieceTokenizer {
    let text = readInputFile(path, field).toString('utf8');
    if (text.startsWith('\uFEFF')) text = text.slice(1);
    // HF keeps every line (readlines + rstrip('\n')); a final newline ends the last line rather
    // than starting an empty one. A '\r' before it is dropped too, so CRLF files also load.
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const tokens = lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    return new WordPieceTokenizer(tokens, path, opts);
  }

  /** Builds a tokenizer from tokens in id order. Errors name the 1-based line (index + 1). */
  static fromVocab(tokens: readonly string[], opts: WordPieceOptions = {}): WordPieceTokenizer {
    return new WordPieceTokenizer(tokens, '<vocab>', opts);
  }

  get vocabSize(): number {
    return this.idToToken.length;
  }

  /** Whether `token` is in the vocabulary. */
  has(token: string): boolean {
    return this.vocab.has(token);
  }

  /** Text to WordPiece tokens (strings), without [CLS]/[SEP]. */
  tokenize(text: string): string[] {
    const out: string[] = [];
    if (this.specialRe === null) {
      this.tokenizeSegment(text, out);
      return out;
    }
    // split() with a capturing group alternates: text, special, text, special, ..., text.
    const parts = text.split(this.specialRe);
    for (let i = 0; i < parts.length; i++) {
      if (i % 2 === 1) out.push(parts[i]!);
      else if (parts[i] !== '') this.tokenizeSegment(parts[i]!, out);
    }
    return out;
  }

  /** Unknown tokens map to the unknown token's id (as HF). */
  convertTokensToIds(tokens: readonly string[]): number[] {
    return tokens.map((t) => this.vocab.get(t) ?? this.unkId);
  }

  /** Ids outside the vocabulary map to the unknown token (as HF). */
  convertIdsToTokens(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (id) => this.idToToken[id] ?? this.unkToken);
  }

  /** HF `convert_tokens_to_string`: join with spaces, glue "##" pieces to the previous token. */
  convertTokensToString(tokens: readonly string[]): string {
    return tokens.join(' ').replaceAll(` ${CONTINUATION}`, '').trim();
  }

  /**
   * `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`, truncated 'longest_first' when maxLength is
   * given (one token at a time from the end of the longer part, from B on a tie, as HF) and
   * optionally padded to maxLength.
   */
  encode(textA: string, textB?: string, opts: EncodeOptions = {}): Encoding {
    let a = this.convertTokensToIds(this.tokenize(textA));
    let b = textB === undefined ? null : this.convertTokensToIds(this.tokenize(textB));
    const specials = b === null ? 2 : 3;
    const { maxLength, padToMaxLength = false } = opts;
    if (maxLength !== undefined) {
      if (!Number.isInteger(maxLength) || maxLength < specials)
        throw new Error(`maxLength must be an integer >= ${specials} (the special tokens), got ${maxLength}`);
      const budget = maxLength - specials;
      if (b === null) {
        if (a.length > budget) a = a.slice(0, budget);
      } else {
        let la = a.length;
        let lb = b.length;
        while (la + lb > budget) {
          if (la > lb) la--;
          else lb--;
        }
        a = a.slice(0, la);
        b = b.slice(0, lb);
      }
    } else if (padToMaxLength) {
      throw new Error('padToMaxLength needs maxLength');
    }

    const used = specials + a.length + (b?.length ?? 0);
    const total = padToMaxLength ? maxLength! : used;
    const inputIds = new Int32Array(total).fill(this.padId);
    const tokenTypeIds = new Int32Array(total);
    const attentionMask = new Int32Array(total);
    attentionMask.fill(1, 0, used);
    let k = 0;
    inputIds[k++] = this.clsId;
    inputIds.set(a, k);
    k += a.length;
    inputIds[k++] = this.sepId;
    if (b !== null) {
      inputIds.set(b, k);
      tokenTypeIds.fill(1, k, k + b.length + 1);
      k += b.length;
      inputIds[k] = this.sepId;
    }
    return { inputIds, tokenTypeIds, attentionMask };
  }

  /** BasicTokenizer then WordPiece on text without special tokens; appends to `out`. */
  private tokenizeSegment(text: string, out: string[]): void {
    for (const word of basicTokenize(text, this.lowerCase, this.stripAccents)) this.wordPiece(word, out);
  }

  /** Greedy longest-match-first WordPiece of one word (no whitespace, no punctuation). */
  private wordPiece(word: string, out: string[]): void {
    // Fast path: the whole word is a vocab entry (UTF-16 length >= code point count).
    if (word.length <= this.maxInputCharsPerWord && this.vocab.has(word)) {
      out.push(word);
      return;
    }
    // The limit counts code points, as Python's len(); the UTF-16 length is an upper bound.
    if (word.length > this.maxInputCharsPerWord && codePointCount(word) > this.maxInputCharsPerWord) {
      out.push(this.unkToken);
      return;
    }
    const pieces: string[] = [];
    let start = 0;
    while (start < word.length) {
      // The longest vocab entry that is a prefix of the rest (with "##" after the first piece).
      // HF tries ends from the longest down; walking the trie up finds the same entry but gives
      // up on a hopeless tail at once. Entries are whole strings, so a match never ends inside a
      // surrogate pair.
      let node = start > 0 ? this.continuationTrie : this.trie;
      let match: string | undefined;
      let matchEnd = start;
      for (let i = start; node !== undefined && i < word.length; i++) {
        node = node.children?.get(word.charCodeAt(i));
        if (node?.token !== undefined) {
          match = node.token;
          matchEnd = i + 1;
        }
      }
      if (match === undefined) {
        out.push(this.unkToken);
        return;
      }
      pieces.push(match);
      start = matchEnd;
    }
    for (const p of pieces) out.push(p);
  }
}
