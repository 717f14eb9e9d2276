/**
 * A worker thread of sim/explore-pool.ts: evaluates the sweep chunks it is sent (sim/sweep.ts
 * evaluateChunk) and answers each with its rows or its error.
 */
import { parentPort } from 'node:worker_threads';
import { evaluateChunk, type ChunkSpec } from './sweep.js';
import { InputError } from '../formats/errors.js';

export type ThreadRequest = { id: number; spec: ChunkSpec };
export type ThreadReply =
  | { id: number; ok: true; result: ReturnType<typeof evaluateChunk> }
  | { id: number; ok: false; message: string; input: { file: string; field: string; problem: string } | null };

parentPort!.on('message', (m: ThreadRequest) => {
  let reply: ThreadReply;
  try {
    reply = { id: m.id, ok: true, result: evaluateChunk(m.spec) };
  } catch (e) {
    const err = e as Error;
    reply = {
      id: m.id,
      ok: false,
      message: err.stack ?? err.message,
      input: e instanceof InputError ? { file: e.file, field: e.field, problem: e.problem } : null,
    };
  }
  parentPort!.postMessage(reply);
});
