/**
 * Sweep chunks on worker threads: `threads` threads (default every core), each evaluating one chunk
 * at a time (sim/sweep.ts evaluateChunk), so a sweep uses every core of the machine and the caller's
 * event loop stays free (a queue worker keeps renewing its job locks while chunks run). One thread
 * means no thread at all (unless `inline: false`): the chunk runs on the caller's.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { evaluateChunk, type ChunkResult, type ChunkSpec } from './sweep.js';
import { InputError } from '../formats/errors.js';
import type { ThreadReply } from './explore-thread.js';

/**
 * A thread's entry: the project's TypeScript through sim/explore-thread-loader.mjs (tsx's compilation
 * without keepNames, about 4x faster for the cost model; see there), then the thread module.
 */
const BOOT_URL = new URL(
  `data:text/javascript,${encodeURIComponent(
    [
      "import { register } from 'node:module';",
      'process.setSourceMapsEnabled(true);',
      `register(${JSON.stringify(new URL('./explore-thread-loader.mjs', import.meta.url).href)});`,
      `await import(${JSON.stringify(new URL('./explore-thread.ts', import.meta.url).href)});`,
    ].join('\n'),
  )}`,
);

export class ChunkPool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly waiting: (() => void)[] = [];
  private readonly pending = new Map<number, { ok: (r: ChunkResult) => void; fail: (e: Error) => void; worker: Worker }>();
  private next = 0;

  private readonly inline: boolean;

  /** `inline: false` uses a thread even for one (a queue worker's event loop must stay free). */
  constructor(
    readonly threads = availableParallelism(),
    opts: { inline?: boolean } = {},
  ) {
    this.inline = threads <= 1 && opts.inline !== false;
    if (!this.inline) {
      for (let i = 0; i < threads; i++) {
        const w = new Worker(BOOT_URL);
        w.on('message', (m: ThreadReply) => this.answer(w, m));
        w.on('error', (e) => this.failAll(w, e));
        w.on('exit', (code) => this.failAll(w, new Error(`sweep thread exited with code ${code}`)));
        this.all.push(w);
        this.idle.push(w);
      }
    }
  }

  /** Evaluate one chunk on a free thread (or here, with one thread). */
  async run(spec: ChunkSpec): Promise<ChunkResult> {
    if (this.inline) return evaluateChunk(spec);
    while (this.idle.length === 0) await new Promise<void>((ok) => this.waiting.push(ok));
    const worker = this.idle.pop()!;
    const id = this.next++;
    return new Promise<ChunkResult>((ok, fail) => {
      this.pending.set(id, { ok, fail, worker });
      worker.postMessage({ id, spec });
    });
  }

  private release(w: Worker): void {
    this.idle.push(w);
    this.waiting.shift()?.();
  }

  private answer(w: Worker, m: ThreadReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    this.release(w);
    if (m.ok) p.ok(m.result);
    else p.fail(m.input ? new InputError(m.input.file, m.input.field, m.input.problem) : new Error(`sweep thread: ${m.message}`));
  }

  private failAll(w: Worker, e: Error): void {
    for (const [id, p] of this.pending) {
      if (p.worker !== w) continue;
      this.pending.delete(id);
      p.fail(e);
    }
  }

  async close(): Promise<void> {
    for (const w of this.all) w.removeAllListeners('exit');
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
