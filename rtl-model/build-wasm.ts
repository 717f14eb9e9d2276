/**
 * Compile the hand-written WebAssembly text modules of the datapath to binaries committed next to
 * them (so running the simulator needs no build step):
 *   rtl-model/gemm/gemm.wat     -> gemm.wasm      the int8 SIMD GEMM
 *   rtl-model/vector/vector.wat -> vector.wasm    requantization, joins, LayerNorm, softmax passes
 *   trainer/kernels/bmm.wat     -> bmm.wasm       the trainer's batched float32 product (attention)
 *
 *   npx tsx rtl-model/build-wasm.ts           write the .wasm files
 *   npx tsx rtl-model/build-wasm.ts --check   exit 1 if a committed .wasm differs from its source
 *
 * Each file is written with formats/atomic-write.ts (temporary name, then rename), so an interrupted
 * build leaves the committed binary or the new one, never half of one.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import { parseFlags } from '../formats/flags.js';
import { EXIT_MISMATCH, EXIT_OK, isMain, runCli } from '../formats/cli.js';
import { writeFileAtomic } from '../formats/atomic-write.js';

export const WASM_MODULES = ['gemm/gemm.wat', 'vector/vector.wat', '../trainer/kernels/bmm.wat'];

export async function compileWat(rel: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const url = new URL(`./${rel}`, import.meta.url);
  const mod = wabt.parseWat(rel, fs.readFileSync(url, 'utf8'), { simd: true });
  try {
    mod.resolveNames();
    mod.validate();
    return mod.toBinary({ log: false, write_debug_names: true }).buffer;
  } finally {
    mod.destroy();
  }
}

const HELP = `Usage: npx tsx rtl-model/build-wasm.ts [--check]

Compile ${WASM_MODULES.join(', ')} (relative to rtl-model/) to the .wasm files committed beside them.

  (no flag)  write the .wasm files (each atomically: a reader sees the old file or the new one)
  --check    write nothing; exit 1 if a committed .wasm is missing or differs from its source
  --help     this text`;

export async function main(argv: string[]): Promise<number> {
  const v = parseFlags(argv, { check: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } });
  if (v.help) {
    console.log(HELP);
    return EXIT_OK;
  }
  const check = v.check;
  let stale = 0;
  for (const rel of WASM_MODULES) {
    const fresh = await compileWat(rel);
    const path = fileURLToPath(new URL(`./${rel.replace(/\.wat$/, '.wasm')}`, import.meta.url));
    if (check) {
      const committed = fs.existsSync(path) ? fs.readFileSync(path) : undefined;
      if (!committed || !Buffer.from(fresh).equals(committed)) {
        console.error(`${path} is ${committed ? 'stale' : 'missing'}: run npx tsx rtl-model/build-wasm.ts`);
        stale++;
      } else console.log(`${path} is up to date (${fresh.length} bytes)`);
    } else {
      writeFileAtomic(path, fresh);
      console.log(`wrote ${path} (${fresh.length} bytes)`);
    }
  }
  return stale ? EXIT_MISMATCH : EXIT_OK;
}

if (isMain(import.meta.url)) runCli('rtl-model/build-wasm.ts', main);
