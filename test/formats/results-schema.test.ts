/**
 * formats/results-schema.ts: one fine-tuning run's result file, checked field by field on reading;
 * every refusal is a ResultsError (an InputError) naming the file, the field path, the value and
 * what is allowed. The result files of the repository's campaigns all pass.
 */
import { describe, it, expect } from 'vitest';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../formats/errors.js';
import { checkResult, readResultFile, readResults, ResultsError, SUMMARY_FILE } from '../../formats/results-schema.js';
import { dirWith, run } from '../analysis/result-fixtures.js';

/** A parsed JSON document, to damage field by field on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const good = (): Json => JSON.parse(JSON.stringify(run('rte', 'bitfit', 1e-3, 1, 0.6, 0.55)));
const refusal = (edit: (r: Json) => void): string => {
  const r = good();
  edit(r);
  try {
    checkResult(r, 'x.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ResultsError);
    expect(e).toBeInstanceOf(InputError);
    expect((e as ResultsError).file).toBe('x.json');
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('results schema', () => {
  it('reads a result, with the file it came from, and a null metric (JSON for NaN) as NaN', () => {
    const r = good();
    r.best.value = null;
    r.epochs[0].dev.accuracy = null;
    const c = checkResult(r, 'x.json');
    expect(c.file).toBe('x.json');
    expect(c.best.value).toBeNaN();
    expect(c.epochs[0].dev.accuracy).toBeNaN();
    expect(c.integer!.dev.accuracy).toBe(0.55);
  });

  it('names the file, the field, the value and what is allowed', () => {
    expect(refusal((r) => delete r.variant)).toBe('x.json: variant: is missing (allowed: a string)\n  hint: not a trainer/train.ts result file');
    expect(refusal((r) => (r.lr = -1))).toMatch(/^x\.json: lr: is not positive \(got -1; allowed: a learning rate > 0\)/);
    expect(refusal((r) => (r.seed = 1.5))).toMatch(/^x\.json: seed: is a number \(got 1\.5; allowed: an integer\)/);
    expect(refusal((r) => (r.epochs = []))).toMatch(/^x\.json: epochs: is empty/);
    expect(refusal((r) => (r.epochs[0].dev.accuracy = 'high'))).toMatch(
      /^x\.json: epochs\[0\]\.dev\.accuracy: is a string \(got "high"; allowed: a finite number or null\)/,
    );
    expect(refusal((r) => (r.best = null))).toMatch(/^x\.json: best: is null \(got null; allowed: an object\)/);
    expect(refusal((r) => delete r.integer.images)).toMatch(/^x\.json: integer\.images: is missing/);
    expect(refusal((r) => (r.integer.images.exporterVersion = 0))).toMatch(/^x\.json: integer\.images\.exporterVersion: is below 1/);
    expect(refusal((r) => (r.biasChange.b_q = [1, 'x']))).toMatch(/^x\.json: biasChange\.b_q\[1\]: is a string/);
    expect(refusal((r) => (r.provenance.checkpoint = {}))).toMatch(/^x\.json: provenance\.checkpoint: names neither a sha256 nor a kind/);
    expect(refusal((r) => (r.provenance.hyper = { seqLen: '64' }))).toMatch(/^x\.json: provenance\.hyper\.seqLen: is a string/);
    expect(refusal((r) => (r.provenance.data = { train: { used: -3 } }))).toMatch(/^x\.json: provenance\.data\.train\.used: is below 0/);
    expect(() => checkResult([], 'x.json')).toThrow(/^x\.json: \(file\): is an array \(got \[\]; allowed: an object\)/);
  });

  it('reads a directory (summary.json left out) and refuses a missing one, a file, and a file that is not JSON', () => {
    const d = dirWith([run('rte', 'bitfit', 1e-3, 1, 0.6, 0.55), run('rte', 'bitfit', 1e-3, 2, 0.6, 0.55)]);
    writeFileSync(join(d, SUMMARY_FILE), '{}');
    writeFileSync(join(d, 'notes.txt'), 'not a result');
    expect(readResults(d).map((r) => r.seed)).toEqual([1, 2]);
    expect(() => readResults(join(d, 'none'), '--results')).toThrow(
      /none: --results: does not exist\n {2}hint: a directory of trainer\/train\.ts result files/,
    );
    expect(() => readResults(join(d, 'r0.json'), '--compare')).toThrow(/r0\.json: --compare: is a file, not a directory/);
    writeFileSync(join(d, 'broken.json'), '{"task": ');
    expect(() => readResults(d)).toThrow(ResultsError);
    expect(() => readResults(d)).toThrow(/broken\.json: \(file\): is not valid JSON/);
    mkdirSync(join(d, 'dir.json'));
    expect(() => readResultFile(join(d, 'dir.json'))).toThrow(/dir\.json: \(file\): is a directory, not a file/);
  });

  it("accepts every result file of the repository's campaigns", () => {
    const root = 'fixtures/results';
    if (!existsSync(root)) {
      console.warn('skipped: no fixtures/results');
      return;
    }
    let n = 0;
    for (const d of readdirSync(root).filter((x) => statSync(join(root, x)).isDirectory())) n += readResults(join(root, d)).length;
    expect(n).toBeGreaterThan(0);
  });
});
