// @ts-check
/**
 * Worker thread of the parallel GEMM engine (parallel-engine.ts). Plain JS so it starts without a
 * TypeScript loader.
 *
 * It owns one wasm instance (GemmCore) holding its slice of each cached weight, and serves
 * commands described in its control block (CTRL in gemm-core.mjs): it blocks in Atomics.wait on
 * CTRL.SEQ, runs the product of the activations in the shared input buffer by its slice of b,
 * writes its output columns into the shared output buffer and stores the command's SEQ in
 * CTRL.DONE. Buffers and weight frees arrive as messages on its port, read synchronously with
 * receiveMessageOnPort (the thread's event loop is blocked by design).
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { B_CACHED, B_ONCE, B_STORE, CTRL, GemmCore, OP_EXIT, OP_MATMUL } from './gemm-core.mjs';

/** @type {import('./gemm-core.d.mts').WorkerInit} */
const init = workerData;
const ctrl = new Int32Array(init.ctrl);
const port = init.port;
const core = new GemmCore(init.module);
core.warmUp();

/** Cached weight slices by weight id. @type {Map<number, import('./gemm-core.d.mts').PackedB>} */
const weights = new Map();
/** @type {Uint8Array} */
let input = new Uint8Array(0);
/** @type {Int32Array} */
let output = new Int32Array(0);
let received = 0;

/** Read the messages the main thread posted before this command (CTRL.MSGS of them). */
function drainMessages() {
  const expected = Atomics.load(ctrl, CTRL.MSGS);
  while (received < expected) {
    const r = receiveMessageOnPort(port);
    if (!r) continue; // posted but not yet visible: cannot happen in practice, spin if it does
    received++;
    /** @type {import('./gemm-core.d.mts').ToWorker} */
    const msg = r.message;
    if (msg.type === 'buffers') {
      input = new Uint8Array(msg.input);
      output = new Int32Array(msg.output);
    } else if (msg.type === 'free') {
      for (const id of msg.ids) {
        const p = weights.get(id);
        if (p) {
          core.releasePacked(p);
          weights.delete(id);
        }
      }
    }
  }
}

function matmul() {
  const m = ctrl[CTRL.M],
    k = ctrl[CTRL.K],
    n = ctrl[CTRL.N],
    id = ctrl[CTRL.WEIGHT_ID];
  const mode = ctrl[CTRL.B_MODE];
  /** @type {import('./gemm-core.d.mts').BOperand} */
  let b;
  if (mode === B_CACHED) {
    const p = weights.get(id);
    if (!p || p.n !== n || p.k !== k) throw new Error(`gemm worker: weight ${id} (${n}x${k}) is not cached`);
    b = p;
  } else {
    const raw = new Int8Array(input.buffer, ctrl[CTRL.B_OFF], n * k);
    if (mode === B_STORE) {
      const old = weights.get(id);
      if (old) core.releasePacked(old);
      b = core.packB(raw, n, k);
      weights.set(id, b);
    } else if (mode === B_ONCE) {
      b = { raw, n };
    } else {
      throw new Error(`gemm worker: bad b mode ${mode}`);
    }
  }
  core.matmul(input.subarray(0, m * k), ctrl[CTRL.UNSIGNED] === 1, m, k, b, output, ctrl[CTRL.LD_OUT], ctrl[CTRL.COL0]);
}

// Read SEQ before announcing readiness: the first command may follow immediately.
let seen = Atomics.load(ctrl, CTRL.SEQ);
parentPort?.postMessage('ready');
for (;;) {
  Atomics.wait(ctrl, CTRL.SEQ, seen);
  const seq = Atomics.load(ctrl, CTRL.SEQ);
  if (seq === seen) continue; // spurious wake-up
  seen = seq;
  let status = 0;
  try {
    drainMessages();
    const op = ctrl[CTRL.OP];
    if (op === OP_EXIT) break;
    if (op !== OP_MATMUL) throw new Error(`gemm worker: bad op ${op}`);
    matmul();
  } catch (e) {
    status = 1;
    /** @type {import('./gemm-core.d.mts').FromWorker} */
    const msg = { type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    port.postMessage(msg);
  }
  Atomics.store(ctrl, CTRL.STATUS, status);
  Atomics.store(ctrl, CTRL.DONE, seq);
  Atomics.notify(ctrl, CTRL.DONE);
}
port.close();
