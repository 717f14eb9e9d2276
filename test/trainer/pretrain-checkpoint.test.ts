import { describe, it, expect, beforeAll, vi } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../../trainer/backend.js';
import { BertModel, bertParamShapes, initialParams } from '../../trainer/model.js';
import { readBertConfig, readSafetensors, writeSafetensors, type Tensor } from '../../trainer/checkpoint.js';
import { saveCheckpoint, startRun, type PretrainState } from '../../trainer/pretrain-checkpoint.js';
import { parsePretrainOptions, type PretrainOptions } from '../../trainer/pretrain-options.js';
import { InputError } from '../../formats/errors.js';
import * as atomic from '../../formats/atomic-write.js';
import type { Geometry } from '../../rtl-model/spec/index.js';

// every call of the one atomic writer is recorded (and then made as usual)
vi.mock('../../formats/atomic-write.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../formats/atomic-write.js')>();
  return { ...actual, writeFilesAtomic: vi.fn(actual.writeFilesAtomic) };
});

const TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', '##a', 'b', '##b'];
const g: Geometry = { layers: 1, hidden: 8, heads: 2, ffn: 16, seqLen: 16, vocab: TOKENS.length, maxPositions: 512, typeVocab: 2, numLabels: 2 };

/** The options of `pretrain.ts --out dir` with this geometry (and `flags` on top). */
const options = (dir: string, ...flags: string[]): PretrainOptions => {
  const o = parsePretrainOptions(['--out', dir, '--layers', '1', '--hidden', '8', '--heads', '2', '--ffn', '16', '--seq', '16', '--threads', '1', ...flags]);
  if (o === 'help') throw new Error('unreachable');
  return o;
};

/** A saved checkpoint of the tiny geometry (with its own vocabulary) in a fresh directory. */
async function savedCheckpoint(step: number): Promise<{ dir: string; model: BertModel; state: PretrainState }> {
  const dir = mkdtempSync(join(tmpdir(), 'pt-ckpt-'));
  const vocab = join(mkdtempSync(join(tmpdir(), 'pt-vocab-')), 'vocab.txt');
  writeFileSync(vocab, TOKENS.join('\n') + '\n');
  const model = new BertModel(g, initialParams(g, 1, true));
  const state: PretrainState = { step, tokensSeen: step * 64, losses: [], evals: [], provenance: {} };
  await saveCheckpoint(dir, model, g, state, vocab);
  return { dir, model, state };
}

describe('a pre-training checkpoint', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('is written as one atomic set, fsynced: weights, config, state and vocabulary together', async () => {
    const write = vi.mocked(atomic.writeFilesAtomic);
    write.mockClear();
    const { dir, model } = await savedCheckpoint(7);
    expect(write).toHaveBeenCalledTimes(1);
    const [where, files, opts] = write.mock.calls[0];
    expect(where).toBe(dir);
    expect(Object.keys(files).sort()).toEqual(['config.json', 'model.safetensors', 'state.json', 'vocab.txt']);
    expect(opts).toEqual({ fsync: true, field: '--out' });
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors', 'state.json', 'vocab.txt']); // no temporaries left
    // what was written reads back: the weights, the step in the metadata, the geometry, the state
    const f = readSafetensors(join(dir, 'model.safetensors'));
    expect(f.metadata).toEqual({ format: 'pt', step: '7' });
    for (const [k, v] of await model.exportParams()) expect(f.tensors.get(k)!.data).toEqual(v);
    const cfg = readBertConfig(join(dir, 'config.json'));
    expect([cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size, cfg.vocab_size]).toEqual([1, 8, 2, 16, 9]);
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).step).toBe(7);
    expect(readFileSync(join(dir, 'vocab.txt'), 'utf8')).toBe(TOKENS.join('\n') + '\n');
    // saved again from its own directory: the vocabulary is not rewritten over itself
    write.mockClear();
    await saveCheckpoint(dir, model, g, { step: 8, tokensSeen: 0, losses: [], evals: [], provenance: {} }, join(dir, 'vocab.txt'));
    expect(Object.keys(write.mock.calls[0][1]).sort()).toEqual(['config.json', 'model.safetensors', 'state.json']);
    model.dispose();
  });

  it('resumes with the geometry it was saved with', async () => {
    const { dir, model } = await savedCheckpoint(3);
    const log: string[] = [];
    const { params, state } = startRun(options(dir), g, true, (s) => log.push(s));
    expect(state.step).toBe(3);
    for (const [k, v] of await model.exportParams()) expect(params.get(k)).toEqual(v);
    expect(log).toEqual([`resuming from ${dir} at step 3`]);
    model.dispose();
  });

  it('resumed with other geometry flags: an InputError naming config.json, the field and both values', async () => {
    const { dir, model } = await savedCheckpoint(3);
    model.dispose();
    const cases: [Partial<Geometry>, RegExp][] = [
      [
        { hidden: 16 },
        /pt-ckpt-.*config\.json: hidden_size: is 8, but --hidden is 16\n {2}hint: resume with the geometry the run started with \(--layers 1 --hidden 8 --heads 2 --ffn 16\)/,
      ],
      [{ layers: 2 }, /config\.json: num_hidden_layers: is 1, but --layers is 2/],
      [{ heads: 4 }, /config\.json: num_attention_heads: is 2, but --heads is 4/],
      [{ ffn: 32 }, /config\.json: intermediate_size: is 16, but --ffn is 32/],
      [{ vocab: 30522 }, /config\.json: vocab_size: is 9, but the vocabulary has 30522/],
    ];
    for (const [change, msg] of cases) {
      expect(() => startRun(options(dir), { ...g, ...change }, true, () => {}), JSON.stringify(change)).toThrow(InputError);
      expect(() => startRun(options(dir), { ...g, ...change }, true, () => {}), JSON.stringify(change)).toThrow(msg);
    }
  });

  it('weights that do not match its config.json: an InputError naming the tensor', async () => {
    const { dir, model } = await savedCheckpoint(3);
    model.dispose();
    const all = readSafetensors(join(dir, 'model.safetensors')).tensors;
    const edited = (name: string, t: Tensor | null): void => {
      const m = new Map<string, Tensor>(all);
      if (t) m.set(name, t);
      else m.delete(name);
      writeSafetensors(join(dir, 'model.safetensors'), m);
    };
    edited('bert.encoder.layer.0.output.dense.bias', { dtype: 'F32', shape: [4], data: new Float32Array(4) });
    expect(() => startRun(options(dir), g, true, () => {})).toThrow(InputError);
    expect(() => startRun(options(dir), g, true, () => {})).toThrow(
      /model\.safetensors: \(tensors\): does not match[\s\S]*bert\.encoder\.layer\.0\.output\.dense\.bias: shape \[4\], expected \[8\]/,
    );
    const decoder = 'cls.predictions.bias'; // one per token
    expect(bertParamShapes(g, true).get(decoder)).toEqual([9]);
    edited('bert.encoder.layer.0.output.dense.bias', all.get('bert.encoder.layer.0.output.dense.bias')!);
    edited(decoder, { dtype: 'F32', shape: [3], data: new Float32Array(3) });
    expect(() => startRun(options(dir), g, true, () => {})).toThrow(new RegExp(`${decoder.replace(/\./g, '\\.')}: F32 \\[3\\], expected F32 \\[9\\]`));
    edited(decoder, null);
    expect(() => startRun(options(dir), g, true, () => {})).toThrow(new RegExp(`${decoder.replace(/\./g, '\\.')} \\[9\\]: missing`));
  });

  it('of masked-LM pre-training only gets a fresh next-sentence head on resume', async () => {
    const { dir, model } = await savedCheckpoint(3);
    model.dispose();
    const all = readSafetensors(join(dir, 'model.safetensors')).tensors;
    writeSafetensors(join(dir, 'model.safetensors'), new Map([...all].filter(([k]) => !k.startsWith('cls.seq_relationship.'))));
    const log: string[] = [];
    const { params } = startRun(options(dir), g, true, (s) => log.push(s));
    expect([...params.keys()].sort()).toEqual([...bertParamShapes(g, true).keys()].sort());
    expect(log[1]).toMatch(/^initialised cls\.seq_relationship\..* \(seed 1\): not in the checkpoint$/);
  });
});
