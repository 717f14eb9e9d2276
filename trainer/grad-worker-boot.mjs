// Entry point of a gradient worker thread (trainer/grad-worker.ts): worker threads do not inherit
// tsx's loader from the parent, so register it before loading the TypeScript module.
import { register } from 'tsx/esm/api';

register();
await import('./grad-worker-thread.ts');
