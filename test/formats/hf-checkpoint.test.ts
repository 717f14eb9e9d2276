import { describe, it, expect, afterAll } from 'vitest';
import { validateAgainstShapes } from '../../formats/hf-checkpoint.js';
import { CheckpointError, readSafetensors, writeSafetensors, type Tensor } from '../../formats/safetensors.js';
import { floatParamShapes } from '../../rtl-model/export.js';
import type { Geometry } from '../../rtl-model/spec/index.js';
import { expectCheckpointError, scratchDir } from './checkpoint-helpers.js';

const { fresh, remove } = scratchDir('hf-checkpoint-test-');
afterAll(remove);

// ------------------------------------------------------------------------------------------
describe('validateAgainstShapes', () => {
  const g: Geometry = { layers: 2, hidden: 4, heads: 2, ffn: 8, seqLen: 4, vocab: 10, maxPositions: 8, typeVocab: 2, numLabels: 3 };
  const shapes = floatParamShapes(g);
  /** Distinct data for every expected parameter, under the project's names. */
  const params = (): Map<string, Tensor> => {
    let k = 0;
    return new Map(
      [...shapes].map(([name, shape]) => {
        const n = shape.reduce((a, b) => a * b, 1);
        return [name, { dtype: 'F32', shape: [...shape], data: Float32Array.from({ length: n }, () => k++) }];
      }),
    );
  };
  /** A name as HF checkpoints spell it: no `bert.` prefix (BertModel), gamma/beta in LayerNorm. */
  const hfName = (name: string): string =>
    name
      .replace(/^bert\./, '')
      .replace(/LayerNorm\.weight$/, 'LayerNorm.gamma')
      .replace(/LayerNorm\.bias$/, 'LayerNorm.beta');

  it('accepts the project names and returns them in layout order with the same data', () => {
    const p = params();
    const out = validateAgainstShapes(new Map([...p].reverse()), shapes, 'x.safetensors');
    expect([...out.keys()]).toEqual([...shapes.keys()]);
    for (const [name, t] of out) {
      expect(t.shape).toEqual(shapes.get(name));
      expect(t.data).toBe(p.get(name)!.data);
    }
  });

  it('accepts HF variants (no bert. prefix, gamma/beta) and ignores position_ids and cls.* through a file', () => {
    const p = params();
    const hf = new Map<string, Tensor>([...p].map(([name, t]) => [hfName(name), t]));
    expect(hf.has('encoder.layer.1.output.LayerNorm.gamma')).toBe(true);
    expect(hf.has('classifier.weight')).toBe(true); // the head keeps its name
    hf.set('embeddings.position_ids', { dtype: 'I32', shape: [1, 8], data: Int32Array.from({ length: 8 }, (_, i) => i) });
    hf.set('bert.embeddings.position_ids', { dtype: 'I32', shape: [1, 8], data: new Int32Array(8) });
    hf.set('cls.predictions.bias', { dtype: 'F32', shape: [g.vocab], data: new Float32Array(g.vocab) });
    hf.set('cls.predictions.transform.LayerNorm.gamma', { dtype: 'F32', shape: [g.hidden], data: new Float32Array(g.hidden) });
    hf.set('cls.seq_relationship.weight', { dtype: 'F32', shape: [2, g.hidden], data: new Float32Array(2 * g.hidden) });
    const file = fresh();
    writeSafetensors(file, hf, { format: 'pt' });
    const out = validateAgainstShapes(readSafetensors(file).tensors, shapes, file);
    expect([...out.keys()]).toEqual([...shapes.keys()]);
    for (const [name, t] of out) expect(t.data).toEqual(p.get(name)!.data);
    // Mixed spellings in one file are fine too (with the prefix but gamma/beta, as bert-base-uncased).
    const mixed = new Map<string, Tensor>([...p].map(([name, t]) => [name.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma'), t]));
    expect(validateAgainstShapes(mixed, shapes, 'm').size).toBe(shapes.size);
  });

  it('a pretraining checkpoint without a classifier loads when the head is declared optional', () => {
    const p = params();
    p.delete('classifier.weight');
    p.delete('classifier.bias');
    expectCheckpointError(
      () => validateAgainstShapes(p, shapes, 'base.safetensors'),
      'base.safetensors',
      '(tensors)',
      /2 missing:\n {4}classifier\.weight \[3,4\]\n {4}classifier\.bias \[3\]/,
    );
    const out = validateAgainstShapes(p, shapes, 'base.safetensors', { optional: ['classifier.weight', 'classifier.bias'] });
    expect(out.size).toBe(shapes.size - 2);
    expect(out.has('classifier.weight')).toBe(false);
  });

  it('reports missing, unexpected, duplicated, wrong-shape and non-float tensors in one error', () => {
    const p = params();
    p.delete('bert.encoder.layer.1.attention.self.key.bias'); // missing
    p.set('bert.encoder.layer.2.attention.self.key.bias', { dtype: 'F32', shape: [4], data: new Float32Array(4) }); // unexpected: layer 2 of 2
    p.set('bert.pooler.dense.weight', { dtype: 'F32', shape: [4, 3], data: new Float32Array(12) }); // wrong shape
    p.set('classifier.bias', { dtype: 'I32', shape: [3], data: new Int32Array(3) }); // not float
    p.set('encoder.layer.0.output.LayerNorm.gamma', { dtype: 'F32', shape: [4], data: new Float32Array(4) }); // duplicate of ...LayerNorm.weight
    p.set('bert.embeddings.word_embeddings.weight', { dtype: 'F32', shape: [4, 10], data: new Float32Array(40) }); // transposed
    let msg = '';
    try {
      validateAgainstShapes(p, shapes, 'bad.safetensors');
    } catch (e) {
      expect(e).toBeInstanceOf(CheckpointError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^bad\.safetensors: \(tensors\): does not match the model layout/);
    expect(msg).toContain('1 missing:\n    bert.encoder.layer.1.attention.self.key.bias [4]');
    expect(msg).toContain('1 unexpected:\n    bert.encoder.layer.2.attention.self.key.bias');
    expect(msg).toMatch(
      /1 duplicated:\n {4}bert\.encoder\.layer\.0\.output\.LayerNorm\.weight and encoder\.layer\.0\.output\.LayerNorm\.gamma both give bert\.encoder\.layer\.0\.output\.LayerNorm\.weight/,
    );
    expect(msg).toContain('bert.pooler.dense.weight: shape [4,3], expected [4,4]');
    expect(msg).toContain('bert.embeddings.word_embeddings.weight: shape [4,10], expected [10,4]');
    expect(msg).toContain('classifier.bias: dtype I32, expected a float dtype');
    expect(msg).toContain('3 mismatched');
  });

  it('long lists are cut after 20 entries', () => {
    expectCheckpointError(
      () => validateAgainstShapes(new Map(), shapes, 'empty'),
      'empty',
      '(tensors)',
      new RegExp(`${shapes.size} missing:[^]*\\.\\.\\. and ${shapes.size - 20} more`),
    );
  });
});
