/**
 * The float BitFit model on webgpu (tfjs-backend-webgpu on Dawn; lavapipe on the CI machine): a few
 * fine-tuning steps give the losses and updates the wasm backend gives. Skips, saying why, where
 * Dawn finds no adapter (no Vulkan driver it accepts); with REQUIRE_WEBGPU=1 that fails instead.
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { glueMiniDir } from './glue-mini.js';
import { sharedData, SHARED_DATA_DIR } from './shared-data.js';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../trainer/backend.js';
import { requestWebGpuAdapter, SYNC_READ_PROBLEM } from '../../trainer/webgpu-adapter.js';
import { BertModel, initialParams } from '../../trainer/model.js';
import { AdamW, batchLoss, selectTrainable } from '../../trainer/finetune.js';
import type { Geometry } from '../../rtl-model/spec/index.js';

const REQUIRE_WEBGPU = process.env.REQUIRE_WEBGPU === '1';
const adapter = await requestWebGpuAdapter().catch(() => null);
const skipNote = adapter
  ? ''
  : REQUIRE_WEBGPU
    ? ' (Dawn found no WebGPU adapter, and REQUIRE_WEBGPU=1: failing)'
    : ' (skipped: Dawn found no WebGPU adapter, no Vulkan driver it accepts; REQUIRE_WEBGPU=1 fails instead)';
if (!adapter && !REQUIRE_WEBGPU) console.warn(`webgpu tests${skipNote}`);

const g: Geometry = { layers: 2, hidden: 32, heads: 2, ffn: 48, seqLen: 12, vocab: 40, maxPositions: 16, typeVocab: 2, numLabels: 2 };
const STEPS = 3;
const BATCH = 4;

/** Batch `step`: seeded token ids, label 1 where token 5 appears. */
function batch(step: number): { inp: Parameters<typeof batchLoss>[1]; labels: tf.Tensor1D } {
  let s = 1000 + step;
  const r = (k: number): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % k;
  const ids: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < BATCH; i++) {
    const row = Array.from({ length: g.seqLen }, () => 6 + r(g.vocab - 6));
    const y = i % 2;
    if (y) row[1 + r(g.seqLen - 1)] = 5;
    row[0] = 1;
    ids.push(...row);
    labels.push(y);
  }
  const shape: [number, number] = [BATCH, g.seqLen];
  return {
    inp: { inputIds: tf.tensor2d(ids, shape, 'int32'), tokenTypeIds: tf.zeros(shape, 'int32'), attentionMask: tf.ones(shape, 'int32') },
    labels: tf.tensor1d(labels, 'float32'),
  };
}

/**
 * STEPS BitFit steps (AdamW on the bias terms, head and pooler bias) on the current backend, every
 * tensor read asynchronously; the losses, and every variable's values before and after.
 */
async function fineTune(): Promise<{ losses: number[]; before: Map<string, Float32Array>; after: Map<string, Float32Array>; trainable: string[] }> {
  const model = new BertModel(g, initialParams(g, 7), { hiddenDropout: 0, attentionDropout: 0 });
  const tr = selectTrainable(model, 'bitfit', 1);
  const opt = new AdamW(model, tr, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0 });
  const read = async (): Promise<Map<string, Float32Array>> =>
    new Map(await Promise.all([...model.vars].map(async ([n, v]) => [n, (await v.data()) as Float32Array] as const)));
  const before = await read();
  const losses: number[] = [];
  const vars = tr.names.map((n) => model.vars.get(n)!);
  for (let step = 0; step < STEPS; step++) {
    const { inp, labels } = batch(step);
    const { value, grads } = tf.variableGrads(batchLoss(model, inp, labels), vars);
    losses.push((await value.data())[0]);
    opt.apply(new Map(tr.names.map((n, i) => [n, grads[vars[i].name]])));
    tf.dispose([value, ...Object.values(grads), inp.inputIds, inp.tokenTypeIds, inp.attentionMask, labels]);
  }
  const after = await read();
  opt.dispose();
  model.dispose();
  return { losses, before, after, trainable: tr.names };
}

describe.skipIf(!adapter && !REQUIRE_WEBGPU)(`the float BitFit model on webgpu${skipNote}`, () => {
  it('takes the same fine-tuning steps as on wasm: losses and updated biases agree, frozen weights stay bit-identical', async () => {
    await selectBackend('wasm');
    const ref = await fineTune();
    const c = await selectBackend('webgpu');
    expect(c.name).toBe('webgpu');
    const gpu = await fineTune();
    expect(ref.losses.every((l) => l > 0.5 && l < 1)).toBe(true); // a 2-way classifier near chance
    for (let i = 0; i < STEPS; i++) expect(Math.abs(gpu.losses[i] - ref.losses[i])).toBeLessThan(1e-5);
    expect(gpu.trainable).toEqual(ref.trainable);
    let moved = 0;
    for (const [name, v0] of gpu.before) {
      const v1 = gpu.after.get(name)!;
      const w1 = ref.after.get(name)!;
      expect(v0).toEqual(ref.before.get(name)); // the same starting point on both backends
      if (!gpu.trainable.includes(name)) {
        expect(v1, name).toEqual(v0);
        continue;
      }
      let err = 0;
      for (let i = 0; i < v1.length; i++) {
        err = Math.max(err, Math.abs(v1[i] - w1[i]));
        if (v1[i] !== v0[i]) moved++;
      }
      // AdamW moves each element by about lr = 1e-2 per step, and normalizes small gradients, so the two
      // backends' rounding shows at ~1e-5: within 1% of one step (a wrong kernel shows at ~1e-2)
      expect(err, name).toBeLessThan(1e-4);
    }
    expect(moved).toBeGreaterThan(100);
  });

  it('says why a tensor computed there cannot be read synchronously, and still reads one that never left the CPU', async () => {
    await selectBackend('webgpu');
    const x = tf.tensor1d([1, 2, 3]);
    expect(Array.from(x.dataSync())).toEqual([1, 2, 3]);
    const y = tf.square(x);
    expect(() => y.dataSync()).toThrow(SYNC_READ_PROBLEM);
    expect(Array.from(await y.data())).toEqual([1, 4, 9]);
    tf.dispose([x, y]);
  });
});

describe.skipIf(!adapter && !REQUIRE_WEBGPU)(`trainer/train.ts and trainer/pretrain.ts with --backend webgpu${skipNote}`, () => {
  it('train.ts fine-tunes on webgpu (a few steps on the mini GLUE set) and records the backend', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'wg-train-')), 'r.json');
    const r = spawnSync(
      'npx',
      [
        'tsx',
        'trainer/train.ts',
        ...['--task', 'mrpc', '--variant', 'bitfit-bq', '--random-init', '--vocab', 'fixtures/pretrained/bert-l4-h128-v8k/vocab.txt'],
        ...['--epochs', '1', '--batch', '4', '--seq', '24', '--train-limit', '8', '--glue-dir', glueMiniDir(), '--backend', 'webgpu', '--out', out],
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8')).provenance.hyper.backend).toBe('webgpu');
  });

  const CORPUS = sharedData(join(SHARED_DATA_DIR, 'corpus'), 'the pre-training corpus', 'put ../shared/data beside the project');
  it.skipIf(!CORPUS.have)(`pretrain.ts takes two steps on webgpu and records the backend${CORPUS.skipNote}`, () => {
    const out = join(mkdtempSync(join(tmpdir(), 'wg-pretrain-')), 'ckpt');
    const tiny = ['--layers', '1', '--hidden', '32', '--heads', '2', '--ffn', '64', '--seq', '32', '--batch', '4', '--threads', '1'];
    const r = spawnSync(
      'npx',
      ['tsx', 'trainer/pretrain.ts', '--out', out, '--max-steps', '2', '--every', '1000', '--warmup', '1', ...tiny, '--backend', 'webgpu'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const state = JSON.parse(readFileSync(join(out, 'state.json'), 'utf8'));
    expect(state.step).toBe(2);
    expect(state.provenance.backend).toBe('webgpu');
  });
});
