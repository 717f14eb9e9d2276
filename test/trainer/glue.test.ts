import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { glueMiniDir } from './glue-mini.js';
import { sharedData } from './shared-data.js';
import { InputError } from '../../formats/errors.js';
import {
  DEFAULT_GLUE_DIR,
  GLUE_TASKS,
  GlueDataError,
  PROJECT_ROOT,
  loadGlue,
  resolveGlueDir,
  taskMetric,
  taskNumLabels,
  type GlueExample,
  type GlueSplit,
  type GlueTask,
} from '../../trainer/glue.js';

const MINI = glueMiniDir();
const sha256Of = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The error thrown by fn (fails the test if none is). */
function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, none was thrown');
}

/** Every fixture split, with its expected examples (written by hand from the fixture files). */
const MINI_EXPECTED: { task: GlueTask; split: GlueSplit; file: string; numLabels: number; examples: GlueExample[] }[] = [
  {
    task: 'sst2',
    split: 'train',
    file: 'SST-2/train.tsv',
    numLabels: 2,
    examples: [
      { textA: 'a warm , funny little film ', label: 1 },
      { textA: 'the plot goes nowhere and takes its time getting there ', label: 0 },
      { textA: 'he calls it " brilliant " , but means the opposite ', label: 0 },
      { textA: 'an instant " classic , with a wink ', label: 1 },
    ],
  },
  {
    task: 'sst2',
    split: 'dev',
    file: 'SST-2/dev.tsv',
    numLabels: 2,
    examples: [
      { textA: 'quietly moving ', label: 1 },
      { textA: 'a chore to sit through ', label: 0 },
    ],
  },
  {
    task: 'cola',
    split: 'train',
    file: 'CoLA/train.tsv',
    numLabels: 2,
    examples: [
      { textA: 'The cat sat on the mat.', label: 1 },
      { textA: 'The cat the mat sat on on.', label: 0 },
      { textA: 'Who did you say "left"?', label: 0 },
      { textA: 'She said "hello" to them.', label: 1 },
    ],
  },
  {
    task: 'cola',
    split: 'dev',
    file: 'CoLA/dev.tsv',
    numLabels: 2,
    examples: [
      { textA: 'The dog barked.', label: 1 },
      { textA: 'Barked the dog the.', label: 0 },
      { textA: 'Who always eats soup?', label: 1 },
    ],
  },
  {
    task: 'rte',
    split: 'train',
    file: 'RTE/train.tsv',
    numLabels: 2,
    examples: [
      { textA: 'A blue kite rose over the "old" pier.', textB: 'A kite flew.', label: 0 },
      { textA: 'The mayor opened the bridge on Monday.', textB: 'The bridge was closed on Monday.', label: 1 },
      { textA: 'She wrote "I agree" in the margin.', textB: 'She disagreed.', label: 1 },
    ],
  },
  {
    task: 'rte',
    split: 'dev',
    file: 'RTE/dev.tsv',
    numLabels: 2,
    examples: [
      { textA: 'Two trains left the station at noon.', textB: 'Trains left the station.', label: 0 },
      { textA: 'The shop sells bread.', textB: 'The shop sells only fish.', label: 1 },
    ],
  },
  {
    task: 'mrpc',
    split: 'train',
    file: 'MRPC/train.tsv',
    numLabels: 2,
    examples: [
      { textA: 'The firm said profits rose "sharply" last year.', textB: 'Profits rose sharply last year, the firm said.', label: 1 },
      { textA: 'The council met on Tuesday.', textB: '"The council will meet next week, a spokesman said.', label: 0 },
      { textA: 'Rain is expected tomorrow.', textB: 'Tomorrow, rain is expected.', label: 1 },
    ],
  },
  {
    task: 'mrpc',
    split: 'dev',
    file: 'MRPC/dev.tsv',
    numLabels: 2,
    examples: [
      { textA: 'A red car parked outside.', textB: 'The bus was late again.', label: 0 },
      { textA: 'He won the race.', textB: 'He came first in the race.', label: 1 },
    ],
  },
  {
    task: 'stsb',
    split: 'train',
    file: 'STS-B/sts-train.csv',
    numLabels: 1,
    examples: [
      { textA: 'A dog is running.', textB: 'A dog runs.', label: 5 },
      { textA: 'I like "tea".', textB: 'The train is late.', label: 0.25 },
      { textA: 'Markets fall on rate fears', textB: 'Stocks drop as rates worry traders', label: 3 },
    ],
  },
  {
    task: 'stsb',
    split: 'dev',
    file: 'STS-B/sts-dev.csv',
    numLabels: 1,
    examples: [
      { textA: 'A man is cooking.', textB: 'A man cooks food.', label: 4.75 },
      { textA: 'Rain floods the valley', textB: 'Valley wins the cup', label: 1.4 },
    ],
  },
  {
    task: 'qnli',
    split: 'dev',
    file: 'QNLI/dev.tsv',
    numLabels: 2,
    examples: [
      { textA: 'What colour is the "blue" door?', textB: 'The door is painted blue.', label: 0 },
      { textA: 'When did the ship sail?', textB: 'The ship was built of oak.', label: 1 },
    ],
  },
];

describe('GLUE loaders on the mini fixtures', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  for (const c of MINI_EXPECTED) {
    it(`${c.task} ${c.split}: every example, numLabels, file and sha256`, () => {
      const data = loadGlue(c.task, c.split, MINI);
      const file = path.join(MINI, c.file);
      expect(data.task).toBe(c.task);
      expect(data.split).toBe(c.split);
      expect(data.file).toBe(file);
      expect(data.sha256).toBe(sha256Of(file));
      expect(data.numLabels).toBe(c.numLabels);
      expect(data.numLabels).toBe(taskNumLabels(c.task));
      expect(data.rows).toBe(c.examples.length);
      expect(data.examples).toEqual(c.examples);
      // single-sentence tasks have no textB property at all
      if (c.task === 'sst2' || c.task === 'cola') for (const ex of data.examples) expect('textB' in ex).toBe(false);
    });
  }

  it('covers every task and both splits where they exist', () => {
    const covered = new Set(MINI_EXPECTED.map((c) => `${c.task}/${c.split}`));
    for (const task of GLUE_TASKS) {
      expect(covered.has(`${task}/dev`)).toBe(true);
      expect(covered.has(`${task}/train`)).toBe(task !== 'qnli');
    }
  });

  it('drops the UTF-8 BOM of the MRPC header (and loads the same without one)', () => {
    const raw = readFileSync(path.join(MINI, 'MRPC/train.tsv'));
    expect([...raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const withBom = loadGlue('mrpc', 'train', MINI);
    const dir = tmpGlue({ 'MRPC/train.tsv': raw.subarray(3) });
    const without = loadGlue('mrpc', 'train', dir);
    expect(without.examples).toEqual(withBom.examples);
    expect(without.sha256).not.toBe(withBom.sha256); // provenance is of the bytes read
    for (const ex of withBom.examples) expect(ex.textA + (ex.textB ?? '')).not.toContain('\uFEFF');
  });

  it('STS-B: rows with extra trailing fields use the first 7 and ignore the rest', () => {
    const lines = readFileSync(path.join(MINI, 'STS-B/sts-train.csv'), 'utf8').trimEnd().split('\n');
    expect(lines[2].split('\t')).toHaveLength(9); // the fixture really has the extra fields
    const ex = loadGlue('stsb', 'train', MINI).examples[2];
    expect(ex).toEqual({ textA: 'Markets fall on rate fears', textB: 'Stocks drop as rates worry traders', label: 3 });
  });

  it('keeps quote characters verbatim, balanced or not', () => {
    const mrpc = loadGlue('mrpc', 'train', MINI).examples;
    expect(mrpc[1].textB).toBe('"The council will meet next week, a spokesman said.');
    expect(mrpc[0].textA).toBe('The firm said profits rose "sharply" last year.');
    // an unbalanced quote does not swallow the following rows
    expect(mrpc).toHaveLength(3);
    expect(loadGlue('sst2', 'train', MINI).examples[3].textA).toBe('an instant " classic , with a wink ');
  });

  it('CoLA dev without a final newline loads its last row', () => {
    expect(readFileSync(path.join(MINI, 'CoLA/dev.tsv'), 'utf8').endsWith('\n')).toBe(false);
    expect(loadGlue('cola', 'dev', MINI).examples[2]).toEqual({ textA: 'Who always eats soup?', label: 1 });
  });

  it('CRLF line ends load the same examples', () => {
    const text = readFileSync(path.join(MINI, 'RTE/train.tsv'), 'utf8').replace(/\n/g, '\r\n');
    const dir = tmpGlue({ 'RTE/train.tsv': text });
    expect(loadGlue('rte', 'train', dir).examples).toEqual(loadGlue('rte', 'train', MINI).examples);
  });

  it('the GLUE directory comes from the argument, then GLUE_DIR, then ../shared/data/glue', () => {
    const empty = tmpGlue({});
    vi.stubEnv('GLUE_DIR', MINI);
    expect(resolveGlueDir(empty)).toEqual({ dir: empty, source: 'argument' });
    expect(resolveGlueDir()).toEqual({ dir: MINI, source: 'env' });
    expect(loadGlue('rte', 'dev').file).toBe(path.join(MINI, 'RTE/dev.tsv'));
    vi.stubEnv('GLUE_DIR', '');
    expect(resolveGlueDir()).toEqual({ dir: DEFAULT_GLUE_DIR, source: 'default' });
    expect(DEFAULT_GLUE_DIR).toBe(path.resolve(PROJECT_ROOT, '..', 'shared', 'data', 'glue'));
    expect(existsSync(path.join(PROJECT_ROOT, 'package.json'))).toBe(true);
  });

  it('taskMetric: the BitFit metrics, headline first', () => {
    const table = Object.fromEntries(GLUE_TASKS.map((t) => [t, taskMetric(t).metrics]));
    expect(table).toEqual({
      sst2: ['accuracy'],
      cola: ['mcc'],
      rte: ['accuracy'],
      mrpc: ['f1', 'accuracy'],
      stsb: ['spearman', 'pearson'],
      qnli: ['accuracy'],
    });
    for (const t of GLUE_TASKS) {
      expect(taskMetric(t).headline).toBe(taskMetric(t).metrics[0]);
      expect(taskMetric(t).kind).toBe(t === 'stsb' ? 'regression' : 'classification');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed inputs, written into temporary GLUE directories

const tmpRoots: string[] = [];
afterAll(() => {
  for (const d of tmpRoots) rmSync(d, { recursive: true, force: true });
});

/** A temporary GLUE directory holding the given files (relative path -> content). */
function tmpGlue(files: Record<string, string | Uint8Array>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'glue-test-'));
  tmpRoots.push(root);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), content);
  }
  return root;
}

describe('GLUE loaders reject malformed files with the file, line and field', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  /** Loads `content` as the task's train (dev for QNLI) file and returns the error. */
  function loadError(task: GlueTask, rel: string, content: string | Uint8Array): GlueDataError {
    const dir = tmpGlue({ [rel]: content });
    const e = errorOf(() => loadGlue(task, task === 'qnli' ? 'dev' : 'train', dir));
    expect(e).toBeInstanceOf(GlueDataError);
    expect(e).toBeInstanceOf(InputError); // bad input: exit 2 in every command
    expect((e as GlueDataError).file).toBe(path.join(dir, rel));
    expect(e.message.startsWith(path.join(dir, rel))).toBe(true);
    return e as GlueDataError;
  }

  it('SST-2: a row with 3 fields', () => {
    const e = loadError('sst2', 'SST-2/train.tsv', 'sentence\tlabel\nfine \t1\na tab\tinside \t0\n');
    expect(e.line).toBe(3);
    expect(e.message).toContain(':3: expected 2 tab-separated fields (sentence, label), found 3');
  });

  it('CoLA: a row with 3 fields (the empty orig column missing)', () => {
    const e = loadError('cola', 'CoLA/train.tsv', 'ab12\t1\t\tFine.\nab12\t1\tMissing orig.\n');
    expect(e.line).toBe(2);
    expect(e.message).toContain(':2: expected 4 tab-separated fields (source, label, orig, sentence), found 3');
  });

  it('an empty line inside the file', () => {
    const e = loadError('sst2', 'SST-2/train.tsv', 'sentence\tlabel\nfine \t1\n\nalso fine \t0\n');
    expect(e.line).toBe(3);
    expect(e.message).toContain(':3: expected 2 tab-separated fields (sentence, label), found 1 (empty line)');
  });

  it('SST-2 and CoLA: an unknown label', () => {
    const e = loadError('sst2', 'SST-2/train.tsv', 'sentence\tlabel\nfine \t2\n');
    expect(e.line).toBe(2);
    expect(e.field).toBe('label');
    expect(e.message).toContain(':2: field 2 "label": unknown label "2" (expected "0" or "1")');
    const c = loadError('cola', 'CoLA/train.tsv', 'ab12\t1\t\tFine.\nab12\t1\t\tFine.\nab12\t*\t\tSwapped columns.\n');
    expect(c.line).toBe(3);
    expect(c.message).toContain(':3: field 2 "label": unknown label "*"');
  });

  it('RTE and QNLI: a label other than entailment / not_entailment', () => {
    const e = loadError('rte', 'RTE/train.tsv', 'index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tneutral\n');
    expect(e.line).toBe(2);
    expect(e.field).toBe('label');
    expect(e.message).toContain(':2: field 4 "label": unknown label "neutral" (expected "entailment" or "not_entailment")');
    const q = loadError('qnli', 'QNLI/dev.tsv', 'index\tquestion\tsentence\tlabel\n0\tQ?\tS.\tentailment\n1\tQ?\tS.\t1\n');
    expect(q.line).toBe(3);
    expect(q.message).toContain(':3: field 4 "label": unknown label "1"');
  });

  it('MRPC: an unknown Quality', () => {
    const header = '\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n';
    const e = loadError('mrpc', 'MRPC/train.tsv', `${header}1\t1\t2\tA.\tB.\nyes\t3\t4\tC.\tD.\n`);
    expect(e.line).toBe(3);
    expect(e.field).toBe('Quality');
    expect(e.message).toContain(':3: field 1 "Quality": unknown label "yes"');
  });

  it('STS-B: a non-numeric or out-of-range score, too few fields', () => {
    const row = (score: string): string => `main-news\theadlines\t2016\t0001\t${score}\tA.\tB.\n`;
    const e = loadError('stsb', 'STS-B/sts-train.csv', row('1.0') + row('abc'));
    expect(e.line).toBe(2);
    expect(e.field).toBe('score');
    expect(e.message).toContain(':2: field 5 "score": not a number: "abc"');
    expect(loadError('stsb', 'STS-B/sts-train.csv', row('')).message).toContain(':1: field 5 "score": not a number: ""');
    expect(loadError('stsb', 'STS-B/sts-train.csv', row('-1')).message).toContain('not a number: "-1"');
    expect(loadError('stsb', 'STS-B/sts-train.csv', row('5.5')).message).toContain(':1: field 5 "score": score 5.5 outside [0, 5]');
    const short = loadError('stsb', 'STS-B/sts-train.csv', row('2') + 'main-news\theadlines\t2016\t0002\t2\tOnly one sentence.\n');
    expect(short.message).toContain(':2: expected at least 7 tab-separated fields (genre, file, year, id, score, sentence1, sentence2), found 6');
  });

  it('a wrong or missing header', () => {
    const e = loadError('rte', 'RTE/train.tsv', '0\tA.\tB.\tentailment\n');
    expect(e.line).toBe(1);
    expect(e.message).toContain(':1: unexpected header "0\\tA.\\tB.\\tentailment" (expected "index\\tsentence1\\tsentence2\\tlabel")');
    expect(loadError('sst2', 'SST-2/train.tsv', '').message).toContain(':1: empty file, expected the header');
  });

  it('a header without data rows, invalid UTF-8', () => {
    expect(loadError('sst2', 'SST-2/train.tsv', 'sentence\tlabel\n').message).toContain(': no data rows');
    const bad = Buffer.concat([Buffer.from('sentence\tlabel\nna'), Buffer.from([0xff, 0xfe]), Buffer.from('ve \t1\n')]);
    expect(loadError('sst2', 'SST-2/train.tsv', bad).message).toContain(': not valid UTF-8');
  });

  it('a missing file names the file and how to set the directory', () => {
    const empty = tmpGlue({});
    const e = errorOf(() => loadGlue('cola', 'dev', empty));
    expect(e).toBeInstanceOf(GlueDataError);
    expect(e.message).toContain(`GLUE file not found: ${path.join(empty, 'CoLA', 'dev.tsv')}`);
    expect(e.message).toContain('given as an argument');
    expect(e.message).toContain('GLUE_DIR');
    expect(e.message).toContain('--glue-dir');
    vi.stubEnv('GLUE_DIR', empty);
    expect(errorOf(() => loadGlue('stsb', 'train')).message).toContain(
      `${path.join(empty, 'STS-B', 'sts-train.csv')} (GLUE directory ${empty}, from the GLUE_DIR environment variable`,
    );
  });

  it('QNLI train is not available', () => {
    const e = errorOf(() => loadGlue('qnli', 'train', MINI));
    expect(e.message).toMatch(/QNLI train split is not available/);
  });
});

// ---------------------------------------------------------------------------------------------
// The real data, when present

/** Row counts from ../shared/data/README.md; label counts (class 0, class 1) computed once with awk. */
const REAL: { task: GlueTask; split: GlueSplit; rows: number; labelCounts?: [number, number] }[] = [
  { task: 'sst2', split: 'train', rows: 67_349, labelCounts: [29_780, 37_569] },
  { task: 'sst2', split: 'dev', rows: 872, labelCounts: [428, 444] },
  { task: 'cola', split: 'train', rows: 8_551, labelCounts: [2_528, 6_023] },
  { task: 'cola', split: 'dev', rows: 1_043, labelCounts: [322, 721] },
  { task: 'rte', split: 'train', rows: 2_490, labelCounts: [1_249, 1_241] },
  { task: 'rte', split: 'dev', rows: 277, labelCounts: [146, 131] },
  { task: 'mrpc', split: 'train', rows: 3_668, labelCounts: [1_194, 2_474] },
  { task: 'mrpc', split: 'dev', rows: 408, labelCounts: [129, 279] },
  { task: 'stsb', split: 'train', rows: 5_749 },
  { task: 'stsb', split: 'dev', rows: 1_500 },
  { task: 'qnli', split: 'dev', rows: 5_463, labelCounts: [2_702, 2_761] },
];

const real = resolveGlueDir();
const REAL_GLUE = sharedData(
  real.dir,
  'the GLUE data',
  real.source === 'env' ? 'from GLUE_DIR' : 'the default, ../shared/data/glue from the project root: put ../shared/data beside the project or set GLUE_DIR',
);

describe.skipIf(!REAL_GLUE.have)(`GLUE loaders on the real data (${real.dir})${REAL_GLUE.skipNote}`, () => {
  /** sha256 sums from ../SHA256SUMS next to the glue directory, if that file exists. */
  const sums = new Map<string, string>();
  const sumsFile = path.join(real.dir, '..', 'SHA256SUMS');
  if (existsSync(sumsFile)) {
    for (const line of readFileSync(sumsFile, 'utf8').split('\n')) {
      const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line);
      if (m) sums.set(path.resolve(path.dirname(sumsFile), m[2]), m[1]);
    }
  }

  for (const r of REAL) {
    it(`${r.task} ${r.split}: ${r.rows} rows`, () => {
      const data = loadGlue(r.task, r.split, real.dir);
      expect(data.rows).toBe(r.rows);
      expect(data.examples).toHaveLength(r.rows);
      if (sums.size > 0) expect(data.sha256).toBe(sums.get(data.file));
      if (r.labelCounts) {
        const counts = [0, 0];
        for (const ex of data.examples) counts[ex.label]++;
        expect(counts).toEqual(r.labelCounts);
      } else {
        expect(data.examples.filter((ex) => !(ex.label >= 0 && ex.label <= 5))).toEqual([]);
      }
      // plain loop, one assertion: per-example expect() calls are slow over 67k rows
      const pair = !(r.task === 'sst2' || r.task === 'cola');
      const badShape = data.examples.filter((ex) => typeof ex.textA !== 'string' || (typeof ex.textB === 'string') !== pair);
      expect(badShape).toEqual([]);
    });
  }

  it('MRPC keeps the quotes of its strings (769 train and 85 dev pairs contain one)', () => {
    const withQuote = (split: GlueSplit): number => loadGlue('mrpc', split, real.dir).examples.filter((ex) => `${ex.textA}\t${ex.textB}`.includes('"')).length;
    expect(withQuote('train')).toBe(769);
    expect(withQuote('dev')).toBe(85);
  });
});
