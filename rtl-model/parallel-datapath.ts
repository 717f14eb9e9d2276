/**
 * The datapath on several cores, split along the sequence: thread t runs the rows of block t
 * (Datapath.forwardRows) with its own copy of the memories, its own single-threaded GEMM engine
 * and vector unit. Everything a row needs is in its own block except attention's keys and values:
 * once per layer each block writes its rows of K and V into shared memory and waits at a barrier
 * until every block has (the KvExchange). Block 0 runs on the calling thread and holds row 0
 * ([CLS]), so it also runs the pooler and classifier.
 *
 * The result is the single-threaded forward pass's, tensor for tensor (the blocks' rows are
 * concatenated; the attention probabilities per head), and so are the counts: every block counts
 * its own rows' work, and whole-tensor memory reads (weights, biases, constants) are counted by
 * block 0 only (Datapath.countWholeReads), as the hardware reads them once per pass.
 *
 * Synchronization: a barrier counter per layer in a SharedArrayBuffer. Workers block in
 * Atomics.wait; the calling thread waits asynchronously (Atomics.waitAsync), looking every 200 ms
 * for a worker that failed or exited. A failed pass (on any thread) aborts the others' waits,
 * terminates the workers and leaves the instance unusable: every later call throws, so a pass never
 * mixes blocks of two passes.
 */
import { Worker } from 'node:worker_threads';
import { decodeImage, type Geometry } from './spec/index.js';
import { Datapath, type ForwardInput, type IntTensor, type OpCounts, type RowSlice } from './datapath.js';
import { MemorySystem, type AccessCounts } from './memory.js';
import { createWasmGemm } from './gemm/wasm-engine.js';
import type { GemmEngine } from './gemm/oracle.js';

export interface DatapathWorkerInit {
  rom: Uint8Array;
  sram: Uint8Array;
  g: Geometry;
  rows: RowSlice;
  threads: number;
  /** Int32 [layers + 1]: the per-layer barrier counters, then the abort flag. */
  ctr: SharedArrayBuffer;
  /** Int8 [layers, 2, seqLen, hidden]: every layer's keys and values. */
  kv: SharedArrayBuffer;
}

export interface MemoryCountsDelta {
  bitsRead: { rom: number; sram: number };
  perTensorBits: [string, number][];
}

export type DatapathWorkerRequest = { type: 'forward'; seq: number; input: ForwardInput };

export type DatapathWorkerReply =
  | { type: 'ready' }
  | { type: 'done'; seq: number; records: [string, IntTensor][]; counts: OpCounts; memory: MemoryCountsDelta }
  | { type: 'error'; message: string };

const BOOT_URL = new URL('./worker-boot.mjs', import.meta.url);

/** Blocks of rows as equal as possible, block 0 first (it holds [CLS]). At most one block per row. */
export function rowBlocks(seqLen: number, threads: number): RowSlice[] {
  if (!(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`datapath threads must be an integer >= 1 (got ${threads})`);
  const n = Math.min(threads, seqLen);
  return Array.from({ length: n }, (_, i) => ({ from: Math.round((i * seqLen) / n), to: Math.round(((i + 1) * seqLen) / n) }));
}

/** The exchange of one block: its rows of K and V into the shared arrays, then a barrier per layer. */
export function sharedExchange(
  g: Geometry,
  rows: RowSlice,
  threads: number,
  ctr: Int32Array,
  kv: Int8Array,
  wait: (ctr: Int32Array, layer: number) => void | Promise<void>,
) {
  const block = g.seqLen * g.hidden;
  return async (layer: number, k: Int8Array, v: Int8Array): Promise<{ k: Int8Array; v: Int8Array }> => {
    const kAll = kv.subarray(2 * layer * block, (2 * layer + 1) * block);
    const vAll = kv.subarray((2 * layer + 1) * block, (2 * layer + 2) * block);
    kAll.set(k, rows.from * g.hidden);
    vAll.set(v, rows.from * g.hidden);
    if (Atomics.add(ctr, layer, 1) + 1 === threads) Atomics.notify(ctr, layer);
    else await wait(ctr, layer);
    return { k: kAll, v: vAll };
  };
}

/** Block a worker until every block has arrived at layer's barrier; throws if the pass was aborted. */
export function blockingWait(ctr: Int32Array, layer: number, threads: number): void {
  const abort = ctr.length - 1;
  for (let c = Atomics.load(ctr, layer); c < threads; c = Atomics.load(ctr, layer)) {
    if (Atomics.load(ctr, abort)) throw new Error('the pass was aborted by another block');
    Atomics.wait(ctr, layer, c);
  }
}

// Atomics.waitAsync is in Node >= 16 but not in the ES2022 lib typings.
type WaitAsync = (
  ta: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

interface Handle {
  worker: Worker;
  /** Set when the worker failed or exited. */
  dead: Error | null;
  /** The reply the current forward pass waits for. */
  pending: { resolve: (r: DatapathWorkerReply) => void; reject: (e: Error) => void } | null;
}

export class ParallelDatapath {
  readonly name: string;
  /** Every block's counts, summed over every pass run so far (as Datapath.counts). */
  get counts(): OpCounts {
    return this.main.counts;
  }

  private busy = false;
  /** Set by a failed pass: the instance is unusable (its workers are terminated). */
  private broken: Error | null = null;
  private seq = 0;

  private constructor(
    readonly g: Geometry,
    /** Block 0's datapath; its memory counts also collect the other blocks'. */
    private readonly main: Datapath,
    private readonly engine: GemmEngine,
    private readonly handles: Handle[],
    private readonly blocks: RowSlice[],
    private readonly ctr: Int32Array,
    private readonly kv: Int8Array,
  ) {
    this.name = `row-parallel-x${blocks.length}`;
  }

  /** Memory reads of every block, summed (as MemorySystem.counts). The memories themselves are not exposed: a task-image load would reach block 0 only. */
  get memCounts(): AccessCounts {
    return this.main.mem.counts;
  }

  /** Start the workers; rom and sram are the images' bytes (each worker decodes and checks them). */
  static async create(rom: Uint8Array, sram: Uint8Array, threads: number): Promise<ParallelDatapath> {
    const romImage = decodeImage(rom, 'ROM image', { kind: 'rom' });
    const sramImage = decodeImage(sram, 'SRAM image', { kind: 'sram' });
    const g = romImage.header.geometry;
    const blocks = rowBlocks(g.seqLen, threads);
    const ctr = new Int32Array(new SharedArrayBuffer(4 * (g.layers + 1)));
    const kv = new Int8Array(new SharedArrayBuffer(2 * g.layers * g.seqLen * g.hidden));
    const handles: Handle[] = [];
    const engine = await createWasmGemm();
    try {
      // block 0's datapath first: its constructor checks the images' constants before any worker starts
      const main = new Datapath(new MemorySystem(romImage, sramImage), g, engine);
      for (let t = 1; t < blocks.length; t++) {
        const init: DatapathWorkerInit = {
          rom,
          sram,
          g,
          rows: blocks[t],
          threads: blocks.length,
          ctr: ctr.buffer as SharedArrayBuffer,
          kv: kv.buffer as SharedArrayBuffer,
        };
        handles.push(ParallelDatapath.start(new Worker(BOOT_URL, { workerData: init, argv: ['./datapath-worker.ts'] }), t));
      }
      for (const r of await Promise.all(handles.map((h) => ParallelDatapath.reply(h, 'start-up')))) {
        if (r.type !== 'ready') throw new Error(`datapath worker: unexpected reply ${r.type} at start-up`);
      }
      for (const h of handles) h.worker.unref();
      return new ParallelDatapath(g, main, engine, handles, blocks, ctr, kv);
    } catch (e) {
      await Promise.all(handles.map((h) => h.worker.terminate()));
      await engine.close?.();
      throw e;
    }
  }

  private static start(worker: Worker, index: number): Handle {
    const h: Handle = { worker, dead: null, pending: null };
    const fail = (e: Error): void => {
      h.dead ??= e;
      h.pending?.reject(e);
      h.pending = null;
    };
    worker.on('message', (m: DatapathWorkerReply) => {
      if (m.type === 'error') {
        fail(new Error(`datapath worker ${index}: ${m.message}`));
        return;
      }
      const p = h.pending;
      h.pending = null;
      p?.resolve(m);
    });
    worker.on('error', (e) => fail(new Error(`datapath worker ${index}: ${e instanceof Error ? e.message : String(e)}`)));
    worker.on('exit', (code) => fail(new Error(`datapath worker ${index} exited (code ${code})`)));
    return h;
  }

  /** The worker's next reply. */
  private static reply(h: Handle, what: string): Promise<DatapathWorkerReply> {
    if (h.dead) return Promise.reject(h.dead);
    return new Promise((resolve, reject) => {
      h.pending = { resolve, reject: (e) => reject(new Error(`${e.message} (during ${what})`)) };
    });
  }

  /** Run one sequence on every block; returns the same named tensors as Datapath.forward. */
  async forward(input: ForwardInput): Promise<Map<string, IntTensor>> {
    if (this.broken) throw new Error(`ParallelDatapath: unusable after a failed pass (${this.broken.message}); create a new one`);
    if (this.busy) throw new Error('ParallelDatapath.forward: a pass is already running');
    Datapath.checkInput(input, this.g); // here, before any block starts
    this.busy = true;
    for (const h of this.handles) h.worker.ref();
    try {
      this.ctr.fill(0);
      const seq = ++this.seq;
      const replies = this.handles.map((h) => {
        const r = ParallelDatapath.reply(h, 'a forward pass');
        h.worker.postMessage({ type: 'forward', seq, input } satisfies DatapathWorkerRequest);
        return r;
      });
      replies.forEach((r) => r.catch(() => undefined)); // handled below; never unhandled meanwhile
      const threads = this.blocks.length;
      const exchange = sharedExchange(this.g, this.blocks[0], threads, this.ctr, this.kv, async (ctr, layer) => {
        for (let c = Atomics.load(ctr, layer); c < threads; c = Atomics.load(ctr, layer)) {
          const dead = this.handles.find((h) => h.dead);
          if (dead) throw dead.dead!;
          const w = waitAsync(ctr, layer, c, 200);
          if (w.async) await w.value;
        }
      });
      const mine = await this.main.forwardRows(input, this.blocks[0], exchange);
      const theirs = await Promise.all(replies);
      const parts: Map<string, IntTensor>[] = [mine];
      for (const r of theirs) {
        if (r.type !== 'done' || r.seq !== seq)
          throw new Error(`datapath worker: unexpected reply ${r.type} (pass ${r.type === 'done' ? r.seq : '?'}, expected ${seq})`);
        parts.push(new Map(r.records));
        this.add(r.counts, r.memory);
      }
      return this.merge(parts);
    } catch (e) {
      // abort the other blocks' waits, stop the workers: no later pass may meet this one's blocks
      this.broken = e instanceof Error ? e : new Error(String(e));
      Atomics.store(this.ctr, this.ctr.length - 1, 1);
      for (let l = 0; l < this.ctr.length; l++) Atomics.notify(this.ctr, l);
      await Promise.all(this.handles.map((h) => h.worker.terminate()));
      throw e;
    } finally {
      for (const h of this.handles) h.worker.unref();
      this.busy = false;
    }
  }

  private add(c: OpCounts, m: MemoryCountsDelta): void {
    const s = this.main.counts;
    s.macs += c.macs;
    s.requants += c.requants;
    s.isqrts += c.isqrts;
    s.reciprocals += c.reciprocals;
    s.lutLookups.exp += c.lutLookups.exp;
    s.lutLookups.gelu += c.lutLookups.gelu;
    s.lutLookups.tanh += c.lutLookups.tanh;
    const mc = this.main.mem.counts;
    mc.bitsRead.rom += m.bitsRead.rom;
    mc.bitsRead.sram += m.bitsRead.sram;
    for (const [name, bits] of m.perTensorBits) mc.perTensorBits.set(name, (mc.perTensorBits.get(name) ?? 0) + bits);
    for (const v of [s.macs, s.requants, s.isqrts, s.reciprocals, s.lutLookups.exp, s.lutLookups.gelu, s.lutLookups.tanh, mc.bitsRead.rom, mc.bitsRead.sram]) {
      if (!Number.isSafeInteger(v)) throw new RangeError(`operation counter overflowed (${v})`);
    }
  }

  /** Concatenate the blocks' rows of every tensor (the probabilities head by head). */
  private merge(parts: Map<string, IntTensor>[]): Map<string, IntTensor> {
    const { seqLen: L, heads } = this.g;
    const out = new Map<string, IntTensor>();
    for (const [name, first] of parts[0]) {
      if (name === 'bert.pooler.output' || name === 'logits') {
        out.set(name, first);
        continue;
      }
      const Ctor = first.constructor as new (n: number) => IntTensor;
      const rows0 = this.blocks[0].to - this.blocks[0].from;
      const whole = new Ctor((first.length / rows0) * L);
      if (name.endsWith('probs')) {
        // [heads, rows, L] per block -> [heads, L, L]
        parts.forEach((p, t) => {
          const b = this.blocks[t];
          const x = p.get(name)!;
          const R = b.to - b.from;
          for (let h = 0; h < heads; h++) whole.set(x.subarray(h * R * L, (h + 1) * R * L), (h * L + b.from) * L);
        });
      } else {
        const width = first.length / rows0;
        parts.forEach((p, t) => {
          const x = p.get(name);
          if (!x) throw new Error(`datapath block ${t} produced no ${name}`);
          whole.set(x, this.blocks[t].from * width);
        });
      }
      out.set(name, whole);
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.worker.terminate()));
    await this.engine.close?.();
  }
}
