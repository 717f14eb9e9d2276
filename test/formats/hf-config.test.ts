import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { InputError } from '../../formats/errors.js';
import { join } from 'node:path';
import { readBertConfig, writeBertConfig, type BertConfigInput } from '../../formats/hf-config.js';
import { TINY_BERT_CONFIG, expectCheckpointError, scratchDir } from './checkpoint-helpers.js';

const { dir, fresh, remove } = scratchDir('hf-config-test-');
afterAll(remove);

// ------------------------------------------------------------------------------------------
describe('HuggingFace config.json', () => {
  // bert-base-uncased's config.json as published (a pretraining checkpoint: no labels).
  const BERT_BASE_UNCASED = {
    architectures: ['BertForMaskedLM'],
    attention_probs_dropout_prob: 0.1,
    gradient_checkpointing: false,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: 768,
    initializer_range: 0.02,
    intermediate_size: 3072,
    layer_norm_eps: 1e-12,
    max_position_embeddings: 512,
    model_type: 'bert',
    num_attention_heads: 12,
    num_hidden_layers: 12,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    transformers_version: '4.6.0.dev0',
    type_vocab_size: 2,
    use_cache: true,
    vocab_size: 30522,
  };
  const writeJson = (obj: unknown): string => {
    const p = fresh('json');
    writeFileSync(p, typeof obj === 'string' ? obj : JSON.stringify(obj, null, 2));
    return p;
  };
  const TINY: BertConfigInput = TINY_BERT_CONFIG;

  it("reads bert-base-uncased's config: defaults the labels, keeps other fields", () => {
    const cfg = readBertConfig(writeJson(BERT_BASE_UNCASED));
    expect(cfg).toMatchObject({ model_type: 'bert', architectures: ['BertForMaskedLM'], hidden_size: 768, num_labels: 2 });
    expect(cfg.id2label).toEqual({ 0: 'LABEL_0', 1: 'LABEL_1' });
    expect(cfg.label2id).toEqual({ LABEL_0: 0, LABEL_1: 1 });
    expect(cfg.extra).toEqual({
      gradient_checkpointing: false,
      pad_token_id: 0,
      position_embedding_type: 'absolute',
      transformers_version: '4.6.0.dev0',
      use_cache: true,
    });
  });

  it('round-trips: write -> read gives the config back, and writing that again gives identical bytes', () => {
    const p = fresh('json');
    writeBertConfig(p, { ...TINY, extra: { pad_token_id: 0, problem_type: 'single_label_classification' } });
    const text = readFileSync(p, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    const keys = Object.keys(JSON.parse(text));
    expect(keys).toEqual([...keys].sort()); // sort_keys=True, as HF writes
    expect(keys).not.toContain('num_labels'); // HF writes id2label/label2id instead
    const cfg = readBertConfig(p);
    expect(cfg).toEqual({
      ...TINY,
      id2label: { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' },
      label2id: { LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 },
      extra: { pad_token_id: 0, problem_type: 'single_label_classification' },
    });
    const q = fresh('json');
    writeBertConfig(q, cfg);
    expect(readFileSync(q, 'utf8')).toBe(text);
  });

  it('takes the label count from id2label, with named labels', () => {
    const { num_labels: _n, ...noCount } = TINY;
    void _n;
    const cfg = readBertConfig(writeJson({ ...noCount, id2label: { 0: 'negative', 1: 'neutral', 2: 'positive', 3: 'mixed' } }));
    expect(cfg.num_labels).toBe(4);
    expect(cfg.label2id).toEqual({ negative: 0, neutral: 1, positive: 2, mixed: 3 });
  });

  it('validation errors name the file and the field', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ hidden_act: 'relu' }, 'hidden_act', /"relu" is not supported: the datapath implements only "gelu"/],
      [{ hidden_act: 'gelu_new' }, 'hidden_act', /not supported/],
      [{ num_attention_heads: 3 }, 'num_attention_heads', /3 must divide hidden_size = 4/],
      [{ vocab_size: undefined }, 'vocab_size', /is missing/],
      [{ hidden_size: 4.5 }, 'hidden_size', /must be a positive integer/],
      [{ num_hidden_layers: 0 }, 'num_hidden_layers', /must be a positive integer/],
      [{ model_type: 'roberta' }, 'model_type', /"roberta" is not "bert"/],
      [{ hidden_dropout_prob: 1.5 }, 'hidden_dropout_prob', /probability/],
      [{ layer_norm_eps: 0 }, 'layer_norm_eps', /positive number/],
      [{ architectures: 'BertModel' }, 'architectures', /array of class names/],
      [{ position_embedding_type: 'relative_key' }, 'position_embedding_type', /only "absolute"/],
      [{ num_labels: 2, id2label: { 0: 'a', 1: 'b', 2: 'c' } }, 'num_labels', /2 disagrees with id2label, which has 3 labels/],
      [{ num_labels: undefined, id2label: { 0: 'a', 2: 'c' } }, 'id2label', /keys must be "0".."1"/],
      [{ num_labels: undefined, id2label: { 0: 'a', 1: 'b' }, label2id: { a: 1, b: 0 } }, 'label2id["a"]', /not the index of "a"/],
    ];
    for (const [patch, f, msg] of cases) {
      const p = writeJson({ ...TINY, ...patch });
      expectCheckpointError(() => readBertConfig(p), p, f, msg);
    }
    const notJson = writeJson('{ "vocab_size": 10, ');
    expectCheckpointError(() => readBertConfig(notJson), notJson, '(file)', /not valid JSON/);
    const arr = writeJson([1]);
    expectCheckpointError(() => readBertConfig(arr), arr, '(root)', /must be a JSON object/);
    const missing = join(dir, 'no-such-config.json');
    expectCheckpointError(() => readBertConfig(missing), missing, '(file)', /cannot be read/);
  });

  it('reading a directory, or writing where a directory is in the way, is an error naming the path', () => {
    const d = join(dir, 'config-dir.json');
    mkdirSync(d);
    expectCheckpointError(() => readBertConfig(d), d, '(file)', /cannot be read/);
    let err: unknown;
    try {
      writeBertConfig(d, TINY);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(/config-dir\.json: .*a directory is in the way/);
    expect(readdirSync(dir).filter((f) => f.includes('config-dir'))).toEqual(['config-dir.json']);
  });

  it('writeBertConfig refuses an invalid config and writes nothing', () => {
    const p = join(dir, 'invalid-config.json');
    expectCheckpointError(() => writeBertConfig(p, { ...TINY, hidden_act: 'relu' as 'gelu' }), p, 'hidden_act', /not supported/);
    expectCheckpointError(() => writeBertConfig(p, { ...TINY, extra: { vocab_size: 3 } }), p, 'extra.vocab_size', /known field/);
    expect(readdirSync(dir).some((f) => f.includes('invalid-config'))).toBe(false);
  });
});
