/**
 * A reference worker thread (see int-reference-pool.ts): selects the calling thread's backend,
 * loads its parts of the two images, waits for its part inputs (the datapath's results, sent when
 * they exist) and runs the parts layer by layer on them, posting a message after each part and
 * finally its records (buffers transferred).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeImage } from '../rtl-model/spec/index.js';
import { selectBackend, type BackendRequest } from './backend.js';
import { TfjsIntReference } from './int-reference.js';
import type { ReferenceWorkerInit, ReferenceWorkerReply, ReferenceWorkerRequest } from './int-reference-pool.js';

const port = parentPort;
if (!port) throw new Error('int-reference-thread.ts runs only as a worker thread');
const init = workerData as ReferenceWorkerInit;
const post = (m: ReferenceWorkerReply, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const given = new Promise<[string, Int32Array][]>((resolve) => {
  const on = (m: ReferenceWorkerRequest): void => {
    if (m.type !== 'given') return;
    port.off('message', on);
    resolve(m.given);
  };
  port.on('message', on);
});
try {
  const choice = await selectBackend(init.backend as BackendRequest);
  // the calling thread decoded (and checksummed) these very bytes; views, not copies
  const rom = decodeImage(init.rom, 'ROM image', { kind: 'rom', view: true, checksumVerified: true });
  const sram = decodeImage(init.sram, 'SRAM image', { kind: 'sram', view: true, checksumVerified: true });
  const ref = new TfjsIntReference(rom, sram, init.parts);
  ref.warmUp(); // while the datapath runs
  const records = await ref.forwardLayerwise(init.input, new Map(await given), (part) => post({ type: 'part', part }));
  ref.dispose();
  // each buffer once, and only a whole, unshared one (a backend may hand out views of its storage)
  const transfer = new Set(
    [...records.values()]
      .filter((v) => v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength)
      .map((v) => v.buffer as ArrayBuffer),
  );
  post({ type: 'done', backend: choice.name, records: [...records] }, [...transfer]);
} catch (e) {
  post({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}
