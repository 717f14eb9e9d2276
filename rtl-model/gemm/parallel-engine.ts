/**
 * Multi-threaded GEMM engine: the wasm SIMD kernel on the calling thread plus (threads - 1) worker
 * threads (gemm-worker.mjs), splitting the N dimension (output columns = rows of the weight).
 *
 * Per call (c = a * b^T, a M x K, b N x K): the columns are cut into `threads` slices of a multiple
 * of 8 columns; slice 0 is computed on the calling thread, slice w by worker w. The activations go
 * to the workers through a SharedArrayBuffer, each worker writes its columns into a shared output
 * buffer. Synchronization goes through a small shared control block per worker: the worker sleeps
 * in Atomics.wait until notified, the calling thread computes its slice and then spins briefly,
 * blocks in Atomics.wait, and finally waits asynchronously (so a dead worker is noticed). A round
 * trip costs about 20-30 us on a 2-core Zen 3 VM.
 *
 * Every thread caches only its own slice of each weight: the main thread names each weight array
 * with an id (WeakMap by identity) and sends a worker its slice only when it must be (re)packed.
 * As in the single-threaded engine (WeightCache), an array is cached from its second use on, and
 * the cached slices are freed on every thread when the array is garbage collected.
 *
 * Small products (M*N*K < minParallelMacs, e.g. the 128x128x64 attention heads of BERT-base) run on
 * the calling thread alone, where splitting would cost more than it saves.
 */
import { once } from 'node:events';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { resultArray, type GemmEngine } from './oracle.js';
import {
  B_CACHED,
  B_ONCE,
  B_STORE,
  CTRL,
  OP_EXIT,
  OP_MATMUL,
  bytesOf,
  checkShape,
  compileGemmModule,
  type BOperand,
  type FromWorker,
  type GemmModule,
  type PackedB,
  type ToWorker,
  type WorkerInit,
} from './gemm-core.mjs';
import { wasmGemmFromModule } from './wasm-engine.js';

export interface ParallelGemmOptions {
  /** Products with fewer multiply-accumulates run on the calling thread only. Default 2^21. */
  minParallelMacs?: number;
  /** How long the calling thread busy-waits for a worker before blocking (ms). Default 0.05. */
  spinMs?: number;
  /** How long it then blocks in Atomics.wait before waiting asynchronously (ms). Default 50. */
  blockMs?: number;
}

const WORKER_URL = new URL('./gemm-worker.mjs', import.meta.url);
const ALIGN = 64;
const alignUp = (x: number): number => Math.ceil(x / ALIGN) * ALIGN;

// Atomics.waitAsync is in Node >= 16 but not in the ES2022 lib typings.
type WaitAsync = (
  ta: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

interface WorkerHandle {
  readonly worker: Worker;
  readonly ctrl: Int32Array;
  /** Main side of the worker's message channel. */
  readonly port: MessagePort;
  /** Messages posted on port so far (CTRL.MSGS). */
  sent: number;
  seq: number;
  /** Set when the worker exits or fails outside a command. */
  dead: Error | null;
}

/** Per weight array: its id and this thread's (slice 0) packed panels. */
interface WeightInfo {
  readonly id: number;
  readonly n: number;
  readonly k: number;
  /** Calls seen with this array and shape: 1 = pass slices once, 2 = cache them, 3+ = cached. */
  uses: number;
  mainPacked: PackedB | null;
}

async function startWorker(module: GemmModule): Promise<WorkerHandle> {
  const ctrl = new Int32Array(new SharedArrayBuffer(CTRL.LENGTH * 4));
  const { port1, port2 } = new MessageChannel();
  const init: WorkerInit = { module, ctrl: ctrl.buffer as SharedArrayBuffer, port: port2 };
  const worker = new Worker(WORKER_URL, { workerData: init, transferList: [port2] });
  const h: WorkerHandle = { worker, ctrl, port: port1, sent: 0, seq: 0, dead: null };
  const markDead = (err: Error): void => {
    h.dead ??= err;
    Atomics.notify(ctrl, CTRL.DONE); // wake a waitAsync in waitDone
  };
  worker.on('error', (e) => markDead(e instanceof Error ? e : new Error(String(e))));
  worker.on('exit', (code) => markDead(new Error(`gemm worker exited (code ${code})`)));
  // once() rejects on 'error'; an exit before 'ready' is a failure too
  const startup = new AbortController();
  const [msg] = await Promise.race([
    once(worker, 'message'),
    once(worker, 'exit', { signal: startup.signal }).then(([code]) => {
      throw new Error(`gemm worker exited during start-up (code ${code})`);
    }),
  ]).finally(() => startup.abort());
  if (msg !== 'ready') throw new Error(`gemm worker: unexpected first message ${String(msg)}`);
  // Neither the worker nor its port keeps the process alive: a forgotten close() does not hang a CLI.
  worker.unref();
  port1.unref();
  return h;
}

/** Wait for worker h to finish command seq: busy-wait spinMs, block blockMs, then wait asynchronously. */
async function waitDone(h: WorkerHandle, seq: number, spinMs: number, blockMs: number): Promise<void> {
  const ctrl = h.ctrl;
  if (Atomics.load(ctrl, CTRL.DONE) === seq) return;
  const deadline = performance.now() + spinMs;
  while (performance.now() < deadline) {
    for (let i = 0; i < 256; i++) if (Atomics.load(ctrl, CTRL.DONE) === seq) return;
  }
  // Then block this thread (it has nothing else to do, and spinning would take CPU time from the
  // workers on an oversubscribed machine), but only for a while: a blocked thread cannot notice
  // that a worker died.
  const done = Atomics.load(ctrl, CTRL.DONE);
  if (done === seq) return;
  Atomics.wait(ctrl, CTRL.DONE, done, blockMs);
  // A pending Atomics.waitAsync does not keep the event loop alive, the (unref'ed) worker does.
  h.worker.ref();
  try {
    for (;;) {
      const done = Atomics.load(ctrl, CTRL.DONE);
      if (done === seq) return;
      if (h.dead) throw h.dead;
      const r = waitAsync(ctrl, CTRL.DONE, done, 1000);
      if (r.async) await r.value;
    }
  } finally {
    h.worker.unref();
  }
}

/**
 * Create the parallel engine (`wasm-simd-x${threads}`): the calling thread plus threads - 1
 * workers. close() ends the workers (they never keep the process alive, close or not).
 */
export async function createParallelGemm(threads = 2, options: ParallelGemmOptions = {}): Promise<GemmEngine> {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`createParallelGemm: threads = ${threads}`);
  const minMacs = options.minParallelMacs ?? 2 ** 21;
  const spinMs = options.spinMs ?? 0.05;
  const blockMs = options.blockMs ?? 50;
  const module = compileGemmModule();
  const local = wasmGemmFromModule(module);
  const core = local.core;
  const started = await Promise.allSettled(Array.from({ length: threads - 1 }, () => startWorker(module)));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    for (const r of started) if (r.status === 'fulfilled') await r.value.worker.terminate();
    throw failed.reason;
  }
  const workers = started.map((r) => (r as PromiseFulfilledResult<WorkerHandle>).value);

  const weights = new WeakMap<Int8Array, WeightInfo>();
  let nextId = 1;
  let pendingFrees: number[] = [];
  let closed = false;
  const forget = (info: WeightInfo): void => {
    if (closed) return;
    if (info.mainPacked) core.releasePacked(info.mainPacked);
    info.mainPacked = null;
    if (info.uses >= 2) pendingFrees.push(info.id);
  };
  const registry = new FinalizationRegistry<WeightInfo>(forget);

  let input = new SharedArrayBuffer(0);
  let output = new SharedArrayBuffer(0);
  let inputU8 = new Uint8Array(input);
  let outputI32 = new Int32Array(output);

  const post = (h: WorkerHandle, msg: ToWorker): void => {
    h.port.postMessage(msg);
    h.sent++;
  };

  /** The shared buffers, grown (and re-sent to every worker) when too small. */
  const ensureBuffers = (inBytes: number, outBytes: number): void => {
    if (inBytes <= input.byteLength && outBytes <= output.byteLength) return;
    if (inBytes > input.byteLength) input = new SharedArrayBuffer(alignUp(Math.max(inBytes, input.byteLength * 1.5)));
    if (outBytes > output.byteLength) output = new SharedArrayBuffer(alignUp(Math.max(outBytes, output.byteLength * 1.5)));
    inputU8 = new Uint8Array(input);
    outputI32 = new Int32Array(output);
    for (const h of workers) post(h, { type: 'buffers', input, output });
  };

  const weightInfo = (b: Int8Array, n: number, k: number): WeightInfo => {
    let info = weights.get(b);
    if (!info || info.n !== n || info.k !== k) {
      if (info) {
        registry.unregister(info);
        forget(info);
      }
      info = { id: nextId++, n, k, uses: 0, mainPacked: null };
      weights.set(b, info);
      registry.register(b, info, info);
    }
    return info;
  };

  /** Start a command on worker h: set its control fields, then bump and notify SEQ. */
  const dispatch = (h: WorkerHandle, fields: Partial<Record<keyof typeof CTRL, number>>): void => {
    for (const [key, v] of Object.entries(fields)) h.ctrl[CTRL[key as keyof typeof CTRL]] = v;
    h.ctrl[CTRL.MSGS] = h.sent;
    Atomics.store(h.ctrl, CTRL.SEQ, ++h.seq);
    Atomics.notify(h.ctrl, CTRL.SEQ);
  };

  /** Wait for every worker's current command; returns the first failure. */
  const collect = async (hs: readonly WorkerHandle[]): Promise<Error | null> => {
    let failure: Error | null = null;
    for (const h of hs) {
      try {
        await waitDone(h, h.seq, spinMs, blockMs);
        if (Atomics.load(h.ctrl, CTRL.STATUS) !== 0) {
          const msg = receiveMessageOnPort(h.port)?.message as FromWorker | undefined;
          throw new Error(`gemm worker failed: ${msg?.message ?? 'unknown error'}`);
        }
      } catch (e) {
        failure ??= e instanceof Error ? e : new Error(String(e));
      }
    }
    return failure;
  };

  const parallelMatmul = async (a: Int8Array | Uint8Array, b: Int8Array, m: number, n: number, k: number, out?: Int32Array): Promise<Int32Array> => {
    const dead = workers.find((h) => h.dead);
    if (dead) throw dead.dead;
    const c = resultArray(m * n, out);
    const unsigned = a instanceof Uint8Array;
    // column slices of a multiple of 8 columns: slice j = [j*chunk, min(n, (j+1)*chunk)),
    // slice 0 on this thread, slice w on worker w (some may be empty for small n)
    const chunk = Math.ceil(n / threads / 8) * 8;
    const n0 = Math.min(n, chunk);
    const slices = workers.map((h, w) => ({ h, c0: Math.min(n, (w + 1) * chunk), c1: Math.min(n, (w + 2) * chunk) })).filter((s) => s.c1 > s.c0);
    const info = weightInfo(b, n, k);
    info.uses++;
    const mode = info.uses === 1 ? B_ONCE : info.uses === 2 ? B_STORE : B_CACHED;

    if (pendingFrees.length) {
      for (const h of workers) post(h, { type: 'free', ids: pendingFrees });
      pendingFrees = [];
    }
    // input buffer: [a (m x k bytes) | b slice of worker 1 | b slice of worker 2 | ...]
    // output buffer: m x n int32, each worker writes its columns
    const aBytes = alignUp(m * k);
    let inBytes = aBytes;
    if (mode !== B_CACHED) for (const s of slices) inBytes += alignUp((s.c1 - s.c0) * k);
    ensureBuffers(inBytes, m * n * 4);
    inputU8.set(bytesOf(a, m * k), 0);
    let bOff = aBytes;
    for (const { h, c0, c1 } of slices) {
      if (mode !== B_CACHED) inputU8.set(bytesOf(b.subarray(c0 * k, c1 * k), (c1 - c0) * k), bOff);
      dispatch(h, {
        OP: OP_MATMUL,
        M: m,
        K: k,
        N: c1 - c0,
        UNSIGNED: unsigned ? 1 : 0,
        WEIGHT_ID: info.id,
        B_MODE: mode,
        B_OFF: bOff,
        COL0: c0,
        LD_OUT: n,
      });
      if (mode !== B_CACHED) bOff += alignUp((c1 - c0) * k);
    }

    // slice 0 on this thread, straight into c, while the workers run
    let failure: Error | null = null;
    try {
      let b0: BOperand;
      if (mode === B_ONCE) b0 = { raw: b.subarray(0, n0 * k), n: n0 };
      else {
        if (mode === B_STORE) {
          if (info.mainPacked) core.releasePacked(info.mainPacked);
          info.mainPacked = null;
          info.mainPacked = core.packB(b.subarray(0, n0 * k), n0, k);
        }
        if (!info.mainPacked) throw new Error(`parallel GEMM: weight ${info.id} has no packed slice`);
        b0 = info.mainPacked;
      }
      core.matmul(a, unsigned, m, k, b0, c, n, 0);
    } catch (e) {
      failure = e instanceof Error ? e : new Error(String(e));
    }
    // whatever happened here, wait for the workers: they use the shared buffers
    const workerFailure = await collect(slices.map((s) => s.h));
    failure ??= workerFailure;
    if (failure) {
      info.uses = 1; // a slice may be missing on some thread: send and cache them all again next time
      throw failure;
    }
    // the workers' columns [n0, n)
    if (n > n0) for (let i = 0; i < m; i++) c.set(outputI32.subarray(i * n + n0, i * n + n), i * n + n0);
    return c;
  };

  // Calls run one at a time (they share the buffers and the workers).
  let queue: Promise<unknown> = Promise.resolve();
  return {
    name: `wasm-simd-x${threads}`,
    matmulNT(a, b, m, n, k, out) {
      const run = queue.then(async () => {
        if (closed) throw new Error(`wasm-simd-x${threads} engine is closed`);
        checkShape(a, b, m, n, k);
        // small products, and those with a single 8-column panel, stay on this thread
        if (workers.length === 0 || m * n * k < minMacs || n <= 8) return local.matmulNT(a, b, m, n, k, out);
        return parallelMatmul(a, b, m, n, k, out);
      });
      queue = run.catch(() => undefined);
      return run;
    },
    async close() {
      if (closed) return;
      await queue;
      closed = true;
      local.close?.();
      await Promise.all(
        workers.map(async (h) => {
          if (!h.dead) dispatch(h, { OP: OP_EXIT });
          h.port.close();
          await h.worker.terminate();
        }),
      );
    },
  };
}
