// Module hooks of the sweep threads (sim/explore-pool.ts): the project's TypeScript compiled by
// esbuild file by file, as tsx does, with the same compiler options (tsconfig.json), but without
// esbuild's keepNames. tsx keeps function names by passing every closure through
// Object.defineProperty(fn, 'name') as it is created; the cost model creates small closures in its
// innermost functions (sim/cycles.ts, sim/scratchpad.ts), and that made a sweep about 4x slower
// (rom-bert-base, 20,736 points on one thread: 4,200 points/s under tsx, 17,900 without keepNames).
// Each module keeps its own file URL, so import.meta.url-relative paths resolve as under tsx.
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const { compilerOptions } = JSON.parse(readFileSync(new URL('../tsconfig.json', import.meta.url), 'utf8'));
const TARGET = `node${process.versions.node}`;

/** `./x.js` in a TypeScript import names `./x.ts` when no `x.js` exists (NodeNext resolution). */
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !/^\.\.?\//.test(specifier) || !specifier.endsWith('.js')) throw e;
    return next(`${specifier.slice(0, -3)}.ts`, context);
  }
}

/** A .ts file of the project: compiled to an ES module, with an inline source map for stack traces. */
export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  const { code } = await transform(await readFile(file, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: TARGET,
    sourcemap: 'inline',
    sourcefile: file,
    tsconfigRaw: { compilerOptions },
  });
  return { format: 'module', source: code, shortCircuit: true };
}
