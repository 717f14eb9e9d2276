// Entry point of the TypeScript worker threads (rtl-model/parallel-datapath.ts, trainer/grad-worker.ts,
// trainer/int-reference-pool.ts): worker threads do not inherit tsx's loader from the parent, so
// register it, then load the TypeScript module named by the worker's first argument (a path
// relative to this file).
import { register } from 'tsx/esm/api';

register();
const module = process.argv[2];
if (!module) throw new Error('worker-boot.mjs: no module given (new Worker(url, { argv: [module] }))');
await import(new URL(module, import.meta.url).href);
