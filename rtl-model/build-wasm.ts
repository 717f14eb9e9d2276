/**
 * Compile the hand-written WebAssembly text modules of the datapath to binaries committed next to
 * them (so running the simulator needs no build step):
 *   rtl-model/gemm/gemm.wat     -> gemm.wasm      the int8 SIMD GEMM
 *   rtl-model/vector/vector.wat -> vector.wasm    requantization, joins, LayerNorm, softmax passes
 *   trainer/kernels/bmm.wat     -> bmm.wasm       the trainer's batched float32 product (attention)
 *
 *   npx tsx rtl-model/build-wasm.ts           write the .wasm files
 *   npx tsx rtl-model/build-wasm.ts --check   exit 1 if a committed .wasm differs from its source
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

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

async function main(): Promise<void> {
  let stale = 0;
  for (const rel of WASM_MODULES) {
    const fresh = await compileWat(rel);
    const path = fileURLToPath(new URL(`./${rel.replace(/\.wat$/, '.wasm')}`, import.meta.url));
    if (process.argv.includes('--check')) {
      const committed = fs.existsSync(path) ? fs.readFileSync(path) : undefined;
      if (!committed || !Buffer.from(fresh).equals(committed)) {
        console.error(`${path} is ${committed ? 'stale' : 'missing'}: run npx tsx rtl-model/build-wasm.ts`);
        stale++;
      } else console.log(`${path} is up to date (${fresh.length} bytes)`);
    } else {
      fs.writeFileSync(path, fresh);
      console.log(`wrote ${path} (${fresh.length} bytes)`);
    }
  }
  if (stale) process.exit(1);
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url))) {
  await main();
}
