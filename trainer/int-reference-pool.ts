/**
 * The TensorFlow.js reference on several threads: the forward pass is cut into contiguous parts
 * (ReferenceParts: the embeddings and the first layers on the calling thread, the other layers and
 * finally the pooler and classifier on worker threads), and every part is run layer by layer on the
 * given outputs of the part before it (TfjsIntReference.forwardLayerwise, where the argument why
 * this proves the same as a chained forward pass is written down). Each worker loads only its
 * parts' tensors from the two images, on the backend the calling thread uses.
 *
 * This is what makes the bit-exact check of BERT-base fit in well under a minute on the `cpu`
 * backend, whose matMul kernel (a scalar JavaScript loop) runs at about 0.2 GMAC/s per core.
 */
import { Worker } from 'node:worker_threads';
import { decodeImage, type Geometry, type Image } from '../rtl-model/spec/index.js';
import { TfjsIntReference, layerwiseInputName, type ReferenceInput, type ReferenceParts } from './int-reference.js';

export interface ReferenceWorkerInit {
  rom: Uint8Array;
  sram: Uint8Array;
  /** The backend the calling thread runs on: every worker must get the same one. */
  backend: string;
  parts: ReferenceParts;
  input: ReferenceInput;
}

/**
 * The calling thread's messages to a worker: once, the part inputs it needs (layerwiseInputName), as
 * the datapath computed them. A worker starts (loads its backend and its parts of the images) before
 * they exist, while the datapath runs.
 */
export type ReferenceWorkerRequest = { type: 'given'; given: [string, Int32Array][] };

export type ReferenceWorkerReply =
  { type: 'part'; part: string } | { type: 'done'; backend: string; records: [string, Int32Array][] } | { type: 'error'; message: string };

const BOOT_URL = new URL('../rtl-model/worker-boot.mjs', import.meta.url);

/**
 * Split the forward pass into `threads` contiguous parts of as equal a number of encoder layers as
 * possible (part 0 also has the embeddings, the last the head). At most one part per layer.
 */
export function splitParts(g: Geometry, threads: number): ReferenceParts[] {
  if (!(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`reference threads must be an integer >= 1 (got ${threads})`);
  const n = Math.max(1, Math.min(threads, g.layers));
  const parts: ReferenceParts[] = [];
  for (let i = 0; i < n; i++) {
    const from = Math.round((i * g.layers) / n);
    const to = Math.round(((i + 1) * g.layers) / n);
    parts.push({ embeddings: i === 0, layers: { from, to }, head: i === n - 1 });
  }
  return parts;
}

/** The names a part reads from the datapath's results when run layer by layer. */
function inputsOf(p: ReferenceParts, g: Geometry): string[] {
  const names: string[] = [];
  for (let l = p.layers.from; l < p.layers.to; l++) names.push(layerwiseInputName(l, g));
  if (p.head) names.push(layerwiseInputName('head', g));
  return names;
}

const partCount = (p: ReferenceParts): number => (p.embeddings ? 1 : 0) + (p.layers.to - p.layers.from) + (p.head ? 1 : 0);

export interface PoolOptions {
  /** The images' bytes (each worker decodes and checks them again) and, if decoded already, the images. */
  rom: Uint8Array;
  sram: Uint8Array;
  romImage?: Image;
  sramImage?: Image;
  /** The backend this thread runs on (BackendChoice.name): workers select the same. */
  backend: string;
  threads: number;
  /** Called after each part (on any thread) with the number of parts done and in all. */
  onProgress?: (done: number, total: number) => void;
}

export interface PoolResult {
  records: Map<string, Int32Array>;
  /** The parts as they were run, in thread order (the first on the calling thread). */
  parts: ReferenceParts[];
}

/**
 * Run the reference's parts layer by layer on this thread and threads - 1 workers; `given` holds the
 * datapath's results (only the part inputs are read), or a promise of them: the workers start (load
 * their backend and their parts of the images) while it is pending, and get their inputs when it
 * resolves. Returns every part's records, merged.
 */
export async function runReferenceLayerwise(
  opts: PoolOptions,
  input: ReferenceInput,
  givenOrPromise: ReadonlyMap<string, ArrayLike<number>> | Promise<ReadonlyMap<string, ArrayLike<number>>>,
): Promise<PoolResult> {
  const rom = opts.romImage ?? decodeImage(opts.rom, 'ROM image', { kind: 'rom' });
  const sram = opts.sramImage ?? decodeImage(opts.sram, 'SRAM image', { kind: 'sram' });
  const g = rom.header.geometry;
  const parts = splitParts(g, opts.threads);
  const total = parts.reduce((a, p) => a + partCount(p), 0);
  let done = 0;
  const tick = (): void => {
    done++;
    opts.onProgress?.(done, total);
  };
  const inits: ReferenceWorkerInit[] = parts.slice(1).map((p) => ({ rom: opts.rom, sram: opts.sram, backend: opts.backend, parts: p, input }));
  const workers: Worker[] = [];
  try {
    for (const init of inits) workers.push(new Worker(BOOT_URL, { workerData: init, argv: ['../trainer/int-reference-thread.ts'] }));
    const results = workers.map((w, i) => collect(w, i + 1, tick, opts.backend));
    // a failing worker must not leave the others running, nor an unhandled rejection behind
    results.forEach((r) => r.catch(() => undefined));
    const given = await givenOrPromise;
    const pick = (p: ReferenceParts): [string, Int32Array][] =>
      inputsOf(p, g).map((name) => {
        const v = given.get(name);
        if (!v) throw new Error(`reference: the datapath's results have no ${name}, which a part of the layer-by-layer run reads`);
        return [name, Int32Array.from(v)];
      });
    workers.forEach((w, i) => w.postMessage({ type: 'given', given: pick(parts[i + 1]) } satisfies ReferenceWorkerRequest));
    const ref = new TfjsIntReference(rom, sram, parts[0]);
    let mine: Map<string, Int32Array>;
    try {
      mine = await ref.forwardLayerwise(input, given, tick);
    } finally {
      ref.dispose();
    }
    const records = new Map(mine);
    for (const r of await Promise.all(results)) for (const [k, v] of r) records.set(k, v);
    return { records, parts };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** A worker's records; rejects on its error message, an exit before it answered, or another backend. */
function collect(w: Worker, index: number, tick: () => void, backend: string): Promise<Map<string, Int32Array>> {
  return new Promise((resolve, reject) => {
    const finish = (err: Error | null, records?: Map<string, Int32Array>): void => {
      w.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (err) reject(err);
      else resolve(records!);
    };
    const onMessage = (msg: ReferenceWorkerReply): void => {
      if (msg.type === 'part') tick();
      else if (msg.type === 'error') finish(new Error(`reference worker ${index}: ${msg.message}`));
      else if (msg.backend !== backend) finish(new Error(`reference worker ${index} runs on ${msg.backend}, the calling thread on ${backend}`));
      else finish(null, new Map(msg.records));
    };
    const onError = (e: unknown): void => finish(new Error(`reference worker ${index}: ${e instanceof Error ? e.message : String(e)}`));
    const onExit = (code: number): void => finish(new Error(`reference worker ${index} exited (code ${code}) before it answered`));
    w.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}
