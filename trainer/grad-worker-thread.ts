/**
 * A gradient worker thread (see grad-worker.ts): holds a replica of the model, and for each
 * request sets the trainable variables to the values sent (if any), computes the masked-LM loss
 * and gradients of its shard and posts them back (buffers transferred).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { selectTrainingBackend, type BackendRequest } from './backend.js';
import { BertModel } from './model.js';
import { mlmLoss, toTensors, disposeBatch } from './mlm.js';
import type { GradReply, GradRequest, GradWorkerInit } from './grad-worker.js';

const port = parentPort;
if (!port) throw new Error('grad-worker-thread.ts runs only as a worker thread');
const init = workerData as GradWorkerInit;
await selectTrainingBackend(init.backend as BackendRequest);
const model = new BertModel(init.g, new Map(init.params), init.options);
model.frozen = new Set([...model.vars.keys()].filter((n) => !init.names.includes(n)));
const vars = init.names.map((n) => {
  const v = model.vars.get(n);
  if (!v) throw new Error(`grad worker: no variable ${n}`);
  return v;
});

port.on('message', (req: GradRequest) => {
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
    const { value, grads } = tf.variableGrads(() => mlmLoss(model, b, true, req.weights), vars);
    disposeBatch(b);
    const out = vars.map((v) => (grads[v.name].dataSync() as Float32Array).slice());
    const loss = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads)]);
    reply = { type: 'grads', loss, grads: out };
    transfer = out.map((x) => x.buffer as ArrayBuffer);
  } catch (e) {
    reply = { type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) };
  }
  port.postMessage(reply, transfer);
});
port.postMessage({ type: 'ready' } satisfies GradReply);
