/**
 * A datapath worker thread (see parallel-datapath.ts): holds its own copy of the memories, a
 * single-threaded GEMM engine and a vector unit, and for each request runs its block of rows,
 * exchanging keys and values through shared memory, then posts its tensors (buffers transferred)
 * and the counts of this pass.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeImage } from './spec/index.js';
import { Datapath } from './datapath.js';
import { MemorySystem } from './memory.js';
import { createWasmGemm } from './gemm/wasm-engine.js';
import { blockingWait, sharedExchange, type DatapathWorkerInit, type DatapathWorkerReply, type DatapathWorkerRequest } from './parallel-datapath.js';

const port = parentPort;
if (!port) throw new Error('datapath-worker.ts runs only as a worker thread');
const init = workerData as DatapathWorkerInit;
const post = (m: DatapathWorkerReply, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

/** The buffers that can move instead of being copied: each once, whole, and not shared. */
function transferable(xs: ArrayBufferView[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const x of xs) {
    if (x.buffer instanceof ArrayBuffer && x.byteOffset === 0 && x.byteLength === x.buffer.byteLength) out.add(x.buffer);
  }
  return [...out];
}
try {
  const mem = new MemorySystem(decodeImage(init.rom, 'ROM image', { kind: 'rom' }), decodeImage(init.sram, 'SRAM image', { kind: 'sram' }));
  const dp = new Datapath(mem, init.g, await createWasmGemm());
  dp.countWholeReads = false; // block 0 counts the reads of whole tensors
  const exchange = sharedExchange(init.g, init.rows, init.threads, new Int32Array(init.ctr), new Int8Array(init.kv), (ctr, layer) =>
    blockingWait(ctr, layer, init.threads),
  );
  port.on('message', (req: DatapathWorkerRequest) => {
    void (async () => {
      try {
        const c = dp.counts;
        c.macs = c.requants = c.isqrts = c.reciprocals = 0;
        c.lutLookups = { exp: 0, gelu: 0, tanh: 0 };
        mem.resetCounts();
        const rec = await dp.forwardRows(req.input, init.rows, exchange);
        const records = [...rec];
        post(
          {
            type: 'done',
            seq: req.seq,
            records,
            counts: dp.counts,
            memory: { bitsRead: { ...mem.counts.bitsRead }, perTensorBits: [...mem.counts.perTensorBits] },
          },
          transferable(records.map(([, v]) => v)),
        );
      } catch (e) {
        post({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      }
    })();
  });
  post({ type: 'ready' });
} catch (e) {
  post({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}
