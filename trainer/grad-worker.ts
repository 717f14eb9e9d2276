/**
 * Data-parallel gradients for pre-training on several cores: each worker thread holds a replica of
 * the model and computes the loss and gradients of one shard of every batch, while the calling
 * thread computes its own shard, sums the shards' gradients (each shard's loss terms weighted by
 * its share of the batch, so the sum is the gradient of the whole batch's loss; see
 * shardedGradients) and applies the update. The new values of the trainable variables travel with
 * the next request, so every replica computes on the same parameters.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Geometry } from '../rtl-model/spec/index.js';
import * as tf from '@tensorflow/tfjs-core';
import type { BertModel, BertOptions } from './model.js';
import type { AdamW } from './finetune.js';
import { disposeBatch, mlmLoss, toTensors, type LossWeights, type MaskedArrays } from './mlm.js';

export interface GradWorkerInit {
  g: Geometry;
  /** Initial parameters in HF layout (as BertModel's constructor takes them). */
  params: [string, Float32Array][];
  /** The trainable variables, in the order of values and gradients. */
  names: string[];
  options: Partial<BertOptions>;
  backend: string;
}

export interface GradRequest extends MaskedArrays {
  /** New values of the trainable variables (internal layout), when they changed since the last request. */
  values?: Float32Array[];
  /** This shard's share of the batch, for each loss term. */
  weights: LossWeights;
  batch: number;
  L: number;
}

export type GradReply = { type: 'ready' } | { type: 'grads'; loss: number; grads: Float32Array[] } | { type: 'error'; message: string };

const BOOT_URL = new URL('../rtl-model/worker-boot.mjs', import.meta.url);

/** The worker's next message; rejects if it exits first (and leaves no listener behind). */
async function nextReply(worker: Worker, what: string): Promise<GradReply> {
  const ac = new AbortController();
  try {
    const [msg] = await Promise.race([
      once(worker, 'message', { signal: ac.signal }),
      once(worker, 'exit', { signal: ac.signal }).then(([code]) => {
        throw new Error(`gradient worker exited ${what} (code ${code})`);
      }),
    ]);
    return msg as GradReply;
  } finally {
    ac.abort();
  }
}

export class GradWorker {
  private busy = false;

  private constructor(private readonly worker: Worker) {}

  static async start(init: GradWorkerInit): Promise<GradWorker> {
    const worker = new Worker(BOOT_URL, { workerData: init, argv: ['../trainer/grad-worker-thread.ts'] });
    const msg = await nextReply(worker, 'during start-up');
    if (msg.type !== 'ready') {
      await worker.terminate();
      throw new Error(`gradient worker failed to start: ${msg.type === 'error' ? msg.message : msg.type}`);
    }
    worker.unref();
    return new GradWorker(worker);
  }

  /** Loss and gradients (internal layout, in the order of init.names) of one shard. */
  async grads(req: GradRequest): Promise<{ loss: number; grads: Float32Array[] }> {
    if (this.busy) throw new Error('GradWorker.grads: a request is already running');
    this.busy = true;
    this.worker.ref();
    try {
      this.worker.postMessage(req, req.values?.map((v) => v.buffer as ArrayBuffer) ?? []);
      const msg = await nextReply(this.worker, 'during a step');
      if (msg.type === 'error') throw new Error(`gradient worker: ${msg.message}`);
      if (msg.type !== 'grads') throw new Error(`gradient worker: unexpected reply ${msg.type}`);
      return msg;
    } finally {
      this.busy = false;
      this.worker.unref();
    }
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * Loss and gradients of a batch split into shards: shard 0 on this thread (opt's model), shard
 * i + 1 on workers[i]. values (the trainable variables' new values, internal layout) go to every
 * worker first. Each shard's loss terms are weighted by its share of the batch (masked tokens for
 * the masked-LM term, sequences for the next-sentence term), so the shards' losses and gradients
 * sum to the whole batch's. A shard with nothing to learn from (no masked token, no pairs) counts 0.
 * The caller disposes the returned tensors.
 */
export async function shardedGradients(
  model: BertModel,
  opt: AdamW,
  names: readonly string[],
  workers: readonly GradWorker[],
  masked: readonly MaskedArrays[],
  sizes: readonly number[],
  L: number,
  values?: Float32Array[],
): Promise<{ loss: number; grads: Map<string, tf.Tensor> }> {
  if (masked.length !== workers.length + 1 || sizes.length !== masked.length)
    throw new Error(`shardedGradients: ${masked.length} shards for ${workers.length} workers + this thread`);
  const totalMasked = masked.reduce((a, m) => a + m.positions.length, 0);
  const totalSeqs = sizes.reduce((a, b) => a + b, 0);
  const weights = masked.map((m, i): LossWeights => ({ mlm: totalMasked ? m.positions.length / totalMasked : 0, nsp: sizes[i] / totalSeqs }));
  const active = masked.map((m) => m.positions.length > 0 || m.nsp !== undefined);
  // the last worker may take the buffers (transferred); the others get copies
  const pending = workers.map((w, i) =>
    w.grads({ ...masked[i + 1], batch: sizes[i + 1], L, weights: weights[i + 1], values: values?.map((v) => (i === workers.length - 1 ? v : v.slice())) }),
  );
  let mine: { loss: number; grads: Map<string, tf.Tensor> } | null = null;
  try {
    if (active[0]) {
      const b = toTensors(masked[0], sizes[0], L);
      try {
        mine = await opt.gradients(() => mlmLoss(model, b, true, weights[0]));
      } finally {
        disposeBatch(b);
      }
    }
    const theirs = await Promise.all(pending);
    let loss = mine ? mine.loss : 0;
    theirs.forEach((r, i) => {
      if (active[i + 1]) loss += r.loss;
    });
    const grads = new Map(
      names.map(
        (n, j) =>
          [
            n,
            tf.tidy(() => {
              const shape = model.vars.get(n)!.shape;
              const parts: tf.Tensor[] = [];
              if (mine) parts.push(mine.grads.get(n)!);
              theirs.forEach((r, i) => {
                if (active[i + 1]) parts.push(tf.tensor(r.grads[j], shape));
              });
              return parts.length === 0 ? tf.zeros(shape) : parts.length === 1 ? tf.clone(parts[0]) : tf.addN(parts);
            }),
          ] as [string, tf.Tensor],
      ),
    );
    return { loss, grads };
  } finally {
    if (mine) for (const g of mine.grads.values()) g.dispose();
    await Promise.allSettled(pending);
  }
}
