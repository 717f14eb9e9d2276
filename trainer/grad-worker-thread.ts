/**
 * A gradient worker thread (see grad-worker.ts): holds a replica of the model, and for each
 * request sets the trainable variables to the values sent (if any), computes its shard's weighted
 * pre-training loss (mlm.ts) and gradients, and posts them back (buffers transferred).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { selectTrainingBackend, type BackendRequest } from './backend.js';
import { BertModel } from './model.js';
import { gradientsOf } from './finetune.js';
import { mlmLoss, toTensors, disposeBatch } from './mlm.js';
import type { GradReply, GradRequest, GradWorkerInit } from './grad-worker.js';

const port = parentPort;
if (!port) throw new Error('grad-worker-thread.ts runs only as a worker thread');
const init = workerData as GradWorkerInit;
await selectTrainingBackend(init.backend as BackendRequest);
const model = new BertModel(init.g, new Map(init.params), init.options);
model.frozen = new Set([...model.vars.keys()].filter((n) => !init.names.includes(n)));

port.on('message', async (req: GradRequest) => {
  let reply: GradReply;
  let transfer: ArrayBuffer[] = [];
  try {
    if (req.values) model.setRawValues(init.names, req.values);
    if (req.positions.length === 0 && !req.nsp) {
      // nothing to learn from in this shard: it counts zero (the caller skips it)
      port.postMessage({ type: 'grads', loss: 0, grads: [] } satisfies GradReply);
      return;
    }
    const b = toTensors(req, req.batch, req.L);
    let r: Awaited<ReturnType<typeof gradientsOf>>;
    try {
      r = await gradientsOf(model, init.names, () => mlmLoss(model, b, true, req.weights));
    } finally {
      disposeBatch(b);
    }
    const out = await Promise.all(init.names.map(async (n) => ((await r.grads.get(n)!.data()) as Float32Array).slice()));
    const loss = r.loss;
    tf.dispose([...r.grads.values()]);
    reply = { type: 'grads', loss, grads: out };
    transfer = out.map((x) => x.buffer as ArrayBuffer);
  } catch (e) {
    reply = { type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  port.postMessage(reply, transfer);
});
port.postMessage({ type: 'ready' } satisfies GradReply);
