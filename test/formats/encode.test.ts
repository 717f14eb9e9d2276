import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { encodeSafetensors, readSafetensors } from '../../formats/safetensors.js';
import { encodeBertConfig, readBertConfig } from '../../formats/hf-config.js';

const CKPT = 'fixtures/pretrained/bert-l4-h128-v8k';

describe('encoding in memory (a checkpoint written as one atomic set)', () => {
  it('encodeSafetensors reproduces the committed checkpoint byte for byte from what readSafetensors reads', () => {
    const file = readSafetensors(`${CKPT}/model.safetensors`);
    expect(encodeSafetensors(file.tensors, file.metadata).equals(readFileSync(`${CKPT}/model.safetensors`))).toBe(true);
  });

  it('encodeBertConfig reproduces the committed config.json from what readBertConfig reads', () => {
    const cfg = readBertConfig(`${CKPT}/config.json`);
    expect(encodeBertConfig(cfg)).toBe(readFileSync(`${CKPT}/config.json`, 'utf8'));
  });

  it('refuses what the writer refuses, naming the file it was given', () => {
    expect(() => encodeSafetensors(new Map([['a', { dtype: 'F32', shape: [3], data: new Float32Array(2) }]]), undefined, 'x.safetensors')).toThrow(
      /x\.safetensors: .*a.*shape: \[3\] has 3 elements but the data has 2/,
    );
  });
});
