/**
 * npm run gpu-check [-- --out DIR] [--config NAME] [--hardware]
 *
 * The GPU check a person runs on a machine with a GPU: the bit-exact verify of BERT-base with the
 * TensorFlow.js reference on webgpu (Dawn), `sim/run.ts --config rom-bert-base --verify --backend
 * webgpu`, then a summary of its verify.json: the adapter, the backend, the timings and bit-exact
 * or the first mismatch. Exit status: 0 bit-exact; 1 a mismatch, or the verify run failed (its
 * own exit status is printed); 2 bad input (a flag, no WebGPU adapter, a software adapter with
 * --hardware). Dawn's warnings on stderr ("... artificially reduced ...") are its own.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseFlags } from '../formats/flags.js';
import { UsageError } from '../formats/errors.js';
import { checkOutputDir } from '../formats/atomic-write.js';
import { isMain, runCli } from '../formats/cli.js';
import { describeAdapter, requestWebGpuAdapter, VULKAN_HINT, type AdapterInfo } from '../trainer/webgpu-adapter.js';
import type { VerifyReport } from './pipeline.js';

const FLAGS = {
  config: { type: 'string', default: 'rom-bert-base' },
  out: { type: 'string' },
  hardware: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const HELP = `Usage: npm run gpu-check [-- [--out DIR] [--config NAME] [--hardware]]
       npx tsx sim/gpu-check.ts [--out DIR] [--config NAME] [--hardware]

Runs the bit-exact check of the integer datapath against the TensorFlow.js reference on webgpu
(tfjs-backend-webgpu on Dawn, the npm package webgpu):
  npx tsx sim/run.ts --config NAME --verify --backend webgpu --out DIR
and prints its verify.json: the adapter (vendor, architecture, device, description; software or
a GPU), the backend, the timings, and bit-exact or the first mismatch.

  --config NAME   the design to verify (default ${FLAGS.config.default}; rom-bert-tiny is a quick one)
  --out DIR       where sim/run.ts writes verify.json and the images (default: a new temporary directory)
  --hardware      refuse (exit 2, before the run) when Dawn's adapter is a software one (lavapipe,
                  SwiftShader): on a GPU machine, proof that the GPU was the one tested
  -h, --help      this help

Needs a Vulkan driver Dawn accepts (Linux): the GPU vendor's, or Mesa 25's lavapipe
(Debian bookworm: apt-get install -y -t bookworm-backports mesa-vulkan-drivers).
Exit status: 0 bit-exact, 1 a mismatch or a failed verify run, 2 bad input or no usable adapter.
`;

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The fields of verify.json a person reads (perTensor and the images' hashes stay in the file). */
function summary(v: VerifyReport, wallMs: number): Record<string, unknown> {
  return {
    config: v.config.name,
    backend: v.backend,
    adapter: v.adapter ?? null,
    backendFallbacks: v.backendFallbacks,
    gemmEngine: v.gemmEngine,
    specVersion: v.specVersion,
    variant: v.variant,
    bitExact: v.bitExact,
    tensorsCompared: v.tensorsCompared,
    elementsCompared: v.elementsCompared,
    mismatches: v.mismatches,
    firstMismatch: v.firstMismatch,
    maxAbsDiff: v.maxAbsDiff,
    referenceThreads: v.reference.threads,
    timingsMs: { ...v.timingsMs, wall: Math.round(wallMs) },
  };
}

export async function main(argv: string[]): Promise<number> {
  const v = parseFlags(argv, FLAGS);
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const out = v.out !== undefined ? resolve(v.out) : join(mkdtempSync(join(tmpdir(), 'gpu-check-')), 'verify');
  checkOutputDir(out, '--out');
  // the adapter first: a machine without one, or only a software one under --hardware, is told so before the run
  const adapter: AdapterInfo | null = await requestWebGpuAdapter();
  if (!adapter)
    throw new UsageError('(webgpu)', 'Dawn (npm webgpu) found no WebGPU adapter: no Vulkan driver that it accepts is installed', { hint: VULKAN_HINT });
  console.log(`gpu-check: webgpu adapter ${describeAdapter(adapter)}${adapter.software ? ' — a software adapter, not a GPU' : ''}`);
  if (adapter.software && v.hardware) {
    throw new UsageError('--hardware', `the only WebGPU adapter Dawn finds is a software one (${describeAdapter(adapter)})`, {
      hint: "install the GPU vendor's Vulkan driver (ls /usr/share/vulkan/icd.d; vulkaninfo --summary lists what Vulkan sees)",
    });
  }
  const args = ['tsx', 'sim/run.ts', '--config', v.config, '--verify', '--backend', 'webgpu', '--out', out];
  console.log(`gpu-check: npx ${args.join(' ')}`);
  const t0 = performance.now();
  const r = spawnSync('npx', args, { cwd: ROOT, stdio: 'inherit' });
  const wallMs = performance.now() - t0;
  const file = join(out, 'verify.json');
  // sim/run.ts writes verify.json on a match and on a mismatch (exit 0 or 1); otherwise it failed before
  if ((r.status !== 0 && r.status !== 1) || !existsSync(file)) {
    const how = r.status !== null ? `exit status ${r.status}` : `signal ${r.signal}`;
    console.log(`gpu-check: FAILED — the verify run ended with ${how} and wrote no verify.json (its error is above)`);
    return r.status === 2 ? 2 : 1;
  }
  const report = JSON.parse(readFileSync(file, 'utf8')) as VerifyReport;
  console.log(`gpu-check: ${file}\n${JSON.stringify(summary(report, wallMs), null, 2)}`);
  if (report.bitExact) {
    console.log(`gpu-check: bit-exact on webgpu (${report.elementsCompared.toLocaleString('en-US')} elements compared)`);
    return 0;
  }
  const m = report.firstMismatch;
  console.log(
    `gpu-check: MISMATCH — ${report.mismatches.toLocaleString('en-US')} of ${report.elementsCompared.toLocaleString('en-US')} elements differ` +
      (m ? `; first ${m.tensor}[${m.index}]: datapath ${m.datapath}, reference ${m.reference}` : ''),
  );
  return 1;
}

if (isMain(import.meta.url)) runCli('sim/gpu-check.ts', main);
