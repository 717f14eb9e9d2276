/**
 * The mini GLUE fixtures (invented rows in the real layouts) are stored as `*.fixture` so no tracked
 * path looks like a copy of the real data; this lays them out once per process in a temporary
 * directory under the real file names, which the loaders expect.
 */
import { cpSync, mkdtempSync, readdirSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../fixtures/glue-mini', import.meta.url));
let dir: string | null = null;

export function glueMiniDir(): string {
  if (dir) return dir;
  const d = mkdtempSync(join(tmpdir(), 'glue-mini-'));
  cpSync(SRC, d, { recursive: true });
  const strip = (p: string): void => {
    for (const name of readdirSync(p)) {
      const f = join(p, name);
      if (statSync(f).isDirectory()) strip(f);
      else if (name.endsWith('.fixture')) renameSync(f, f.slice(0, -'.fixture'.length));
    }
  };
  strip(d);
  dir = d;
  return d;
}
