/**
 * The identity of a checkpoint: the sha256 of its model.safetensors, computed once per process. Its
 * own module so that the report (sim/report.ts) can name a checkpoint without loading the export
 * and verify pipeline (and TensorFlow.js with it).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointDir } from './config.js';

const shaCache = new Map<string, string>();
/** sha256 of a checkpoint's model.safetensors (the identity results and images refer to). */
export function checkpointSha256(checkpoint: string): string {
  let h = shaCache.get(checkpoint);
  if (!h) {
    h = createHash('sha256')
      .update(readFileSync(join(checkpointDir(checkpoint), 'model.safetensors')))
      .digest('hex');
    shaCache.set(checkpoint, h);
  }
  return h;
}
