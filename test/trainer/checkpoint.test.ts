import { describe, it, expect, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import * as checkpoint from '../../trainer/checkpoint.js';
import { CheckpointError, readBertConfig, toGeometry, type BertConfigInput } from '../../trainer/checkpoint.js';
import * as safetensors from '../../formats/safetensors.js';
import * as hfConfig from '../../formats/hf-config.js';
import * as hfCheckpoint from '../../formats/hf-checkpoint.js';
import { InputError } from '../../formats/errors.js';
import { TINY_BERT_CONFIG, expectCheckpointError, scratchDir } from '../formats/checkpoint-helpers.js';

// The file formats are tested in test/formats/ (safetensors, hf-config, hf-checkpoint); what the
// trainer's checkpoint module adds is the project's Geometry of a config.

const { fresh, remove } = scratchDir('checkpoint-test-');
afterAll(remove);

const TINY: BertConfigInput = TINY_BERT_CONFIG;

describe('trainer/checkpoint', () => {
  it("re-exports the formats layer's readers and writers for the trainer (the same functions, not copies)", () => {
    expect(checkpoint.readSafetensors).toBe(safetensors.readSafetensors);
    expect(checkpoint.writeSafetensors).toBe(safetensors.writeSafetensors);
    expect(checkpoint.CheckpointError).toBe(safetensors.CheckpointError);
    expect(checkpoint.readBertConfig).toBe(hfConfig.readBertConfig);
    expect(checkpoint.writeBertConfig).toBe(hfConfig.writeBertConfig);
    expect(checkpoint.validateAgainstShapes).toBe(hfCheckpoint.validateAgainstShapes);
  });

  it('CheckpointError is an InputError (exit 2 in every CLI) with its name, file and field', () => {
    const e = new CheckpointError('m/config.json', 'hidden_size', 'must be a positive integer');
    expect(e).toBeInstanceOf(InputError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('CheckpointError');
    expect([e.file, e.field, e.message]).toEqual(['m/config.json', 'hidden_size', 'm/config.json: hidden_size: must be a positive integer']);
  });

  it("toGeometry gives the project's Geometry of bert-base-uncased's config and of a written one", () => {
    const p = fresh('json');
    writeFileSync(
      p,
      JSON.stringify({
        architectures: ['BertForMaskedLM'],
        hidden_size: 768,
        intermediate_size: 3072,
        max_position_embeddings: 512,
        model_type: 'bert',
        num_attention_heads: 12,
        num_hidden_layers: 12,
        type_vocab_size: 2,
        vocab_size: 30522,
      }),
    );
    expect(toGeometry(readBertConfig(p), 128)).toEqual({
      layers: 12,
      hidden: 768,
      heads: 12,
      ffn: 3072,
      seqLen: 128,
      vocab: 30522,
      maxPositions: 512,
      typeVocab: 2,
      numLabels: 2,
    });
    expect(toGeometry(TINY, 4)).toEqual({ layers: 2, hidden: 4, heads: 2, ffn: 8, seqLen: 4, vocab: 10, maxPositions: 8, typeVocab: 2, numLabels: 3 });
  });

  it('toGeometry reports geometry problems (sequence longer than the position table)', () => {
    expectCheckpointError(() => toGeometry({ ...TINY }, 9, 'tiny/config.json'), 'tiny/config.json', 'geometry', /seqLen = 9 exceeds maxPositions = 8/);
    expectCheckpointError(() => toGeometry({ ...TINY }, 0), '(config)', 'geometry', /seqLen = 0 must be an integer/);
  });
});
