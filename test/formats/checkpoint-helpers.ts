/** Helpers shared by the tests of formats/safetensors.ts, hf-config.ts, hf-checkpoint.ts and trainer/checkpoint.ts. */
import { expect } from 'vitest';
import type { BertConfigInput } from '../../formats/hf-config.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../formats/errors.js';
import { CheckpointError } from '../../formats/safetensors.js';

/** A temporary directory for one test file; `fresh(ext)` gives a new path in it; call `remove()` in afterAll. */
export function scratchDir(prefix: string): { dir: string; fresh: (ext?: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let counter = 0;
  return { dir, fresh: (ext = 'safetensors') => join(dir, `f${counter++}.${ext}`), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
export const sameBytes = (a: ArrayBufferView, b: ArrayBufferView): boolean => Buffer.compare(bytesOf(a), bytesOf(b)) === 0;
export const f32FromBits = (bits: number[]): Float32Array => new Float32Array(new Uint32Array(bits).buffer);

/**
 * A hand-built safetensors file at `path`: `header` (object or raw JSON text) padded with spaces to
 * 8 bytes unless `pad` is false, then `data`; `length` overrides the length prefix.
 */
export function buildSafetensors(
  path: string,
  header: object | string,
  data: Uint8Array | number[] = [],
  opts: { pad?: boolean; length?: bigint } = {},
): string {
  let h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  if (opts.pad !== false) h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(opts.length ?? BigInt(h.length));
  writeFileSync(path, Buffer.concat([prefix, h, Buffer.from(data)]));
  return path;
}

/**
 * Expect `fn` to throw a CheckpointError (an InputError, so every CLI exits 2 on it) naming `file`
 * and `field`, with a message matching `msg`.
 */
export function expectCheckpointError(fn: () => unknown, file: string, field: string, msg: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a CheckpointError').toBeInstanceOf(CheckpointError);
  expect(err).toBeInstanceOf(InputError);
  const e = err as CheckpointError;
  expect(e.name).toBe('CheckpointError');
  expect(e.file).toBe(file);
  expect(e.field).toBe(field);
  expect(e.message.startsWith(`${file}: ${field}: `)).toBe(true);
  expect(e.message).toMatch(msg);
}

/** A tiny, valid HF BERT config (2 layers, hidden 4): the tests' starting point for config.json cases. */
export const TINY_BERT_CONFIG: BertConfigInput = {
  model_type: 'bert',
  architectures: ['BertForSequenceClassification'],
  vocab_size: 10,
  hidden_size: 4,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 8,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 8,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  num_labels: 3,
};
