import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKENDS, selectBackend } from '../../trainer/backend.js';
import { describeAdapter, isSoftwareAdapter, requestWebGpuAdapter } from '../../trainer/webgpu-adapter.js';
import { parsePretrainOptions } from '../../trainer/pretrain-options.js';
import { UsageError } from '../../formats/errors.js';

/** Where Dawn finds no adapter (no Vulkan driver it accepts), the webgpu tests skip unless REQUIRE_WEBGPU=1. */
const REQUIRE_WEBGPU = process.env.REQUIRE_WEBGPU === '1';
const adapter = await requestWebGpuAdapter().catch(() => null);
const noAdapter = REQUIRE_WEBGPU
  ? ' (Dawn found no WebGPU adapter, and REQUIRE_WEBGPU=1: failing)'
  : ' (skipped: Dawn found no WebGPU adapter, no Vulkan driver it accepts; REQUIRE_WEBGPU=1 fails instead)';
if (!adapter && !REQUIRE_WEBGPU) console.warn(`webgpu tests${noAdapter}`);

/** A command with no Vulkan driver to be found (the loader reads only this missing file): Dawn finds no adapter. */
const withoutVulkan = (cmd: string, args: string[]) =>
  spawnSync('npx', ['tsx', cmd, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' },
  });

describe('software adapters', () => {
  // adapter.info as Dawn reports it (the lavapipe one read on this project's CI machine, Mesa 25 from bookworm-backports)
  const lavapipe = {
    vendor: 'mesa',
    architecture: 'software',
    device: 'llvmpipe-llvm-15-0-6-256-bits-',
    description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
  };
  const nvidia = { vendor: 'nvidia', architecture: 'ampere', device: '', description: 'NVIDIA: 550.120 550.120.0.0' };

  it('are lavapipe/llvmpipe, SwiftShader or Dawn fallback adapters, whatever their architecture field says', () => {
    expect(isSoftwareAdapter(lavapipe)).toBe(true);
    expect(isSoftwareAdapter({ ...lavapipe, architecture: '' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'google', architecture: '', device: 'SwiftShader Device (Subzero)', description: '' })).toBe(true);
    expect(isSoftwareAdapter({ ...nvidia, isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter(nvidia)).toBe(false);
    expect(isSoftwareAdapter({ ...nvidia, isFallbackAdapter: false })).toBe(false);
  });

  it('are described by their name, vendor and architecture', () => {
    expect(describeAdapter({ ...lavapipe, software: true })).toBe('llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1; vendor mesa, architecture software');
    expect(describeAdapter({ vendor: '', architecture: '', device: 'dev', description: '', software: false })).toBe('dev');
  });
});

describe('backend selection', () => {
  it('lists webgpu beside gpu, wasm and cpu', () => {
    expect(BACKENDS).toEqual(['auto', 'gpu', 'webgpu', 'wasm', 'cpu']);
  });

  it('auto never picks a software adapter; it records why webgpu was passed over', async () => {
    const c = await selectBackend('auto');
    const webgpu = c.fallbacks.find((f) => f.name === 'webgpu');
    if (adapter?.software) {
      expect(c.name).not.toBe('webgpu');
      expect(c.adapter).toBeUndefined();
      expect(webgpu?.error).toBe(`only a software adapter (${describeAdapter(adapter)}), used only with --backend webgpu`);
    } else if (adapter) {
      // a hardware adapter: taken unless tfjs-node-gpu loaded first
      expect(c.name === 'gpu' || (c.name === 'webgpu' && c.adapter?.software === false)).toBe(true);
    } else {
      expect(webgpu?.error).toMatch(/Dawn \(npm webgpu\) found no WebGPU adapter/);
    }
    expect(c.fallbacks.map((f) => f.name)).toEqual(['gpu', 'webgpu', 'wasm', 'cpu'].slice(0, c.fallbacks.length));
  });

  it.skipIf(!adapter && !REQUIRE_WEBGPU)(`named webgpu runs on the adapter Dawn gives, and records it${adapter ? '' : noAdapter}`, async () => {
    const c = await selectBackend('webgpu');
    expect(c).toMatchObject({ name: 'webgpu', tfName: 'webgpu', fallbacks: [] });
    expect(c.adapter).toEqual(adapter);
    for (const k of ['vendor', 'architecture', 'device', 'description'] as const) expect(typeof c.adapter![k]).toBe('string');
    expect(c.adapter!.software).toBe(isSoftwareAdapter(c.adapter!));
    // the tfjs backend in use reports the same adapter
    const tf = await import('@tensorflow/tfjs-core');
    expect(tf.getBackend()).toBe('webgpu');
    const info = (tf.backend() as unknown as { adapterInfo: { vendor: string; architecture: string } }).adapterInfo;
    expect({ vendor: info.vendor, architecture: info.architecture }).toEqual({ vendor: c.adapter!.vendor, architecture: c.adapter!.architecture });
  });

  it('named webgpu without a Vulkan driver is exit 2 naming --backend, the missing driver and how to install one, before any work', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'backend-')), 'o');
    const r = withoutVulkan('sim/run.ts', ['--config', 'rom-bert-tiny', '--verify', '--backend', 'webgpu', '--out', out]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /\(command line\): --backend: the webgpu backend cannot be loaded: Dawn \(npm webgpu\) found no WebGPU adapter: no Vulkan driver that it accepts is installed/,
    );
    expect(r.stderr).toMatch(/hint: .*bookworm-backports.*apt-get install -y -t bookworm-backports mesa-vulkan-drivers/);
    // (Dawn's own warnings before it name a .cpp line; no JavaScript stack trace follows)
    expect(r.stderr).not.toMatch(/\n\s+at .*\.[jt]s:\d+/);
    expect(existsSync(out)).toBe(false);
  });

  it('bad backend names are exit 2 listing the backends, in every command that takes one', () => {
    const allowed = 'auto, gpu, webgpu, wasm, cpu';
    const sim = spawnSync('npx', ['tsx', 'sim/run.ts', '--config', 'rom-bert-tiny', '--backend', 'vulkan'], { encoding: 'utf8' });
    expect(sim.status).toBe(2);
    expect(sim.stderr).toContain(`--backend: is not a backend (got "vulkan"; allowed: ${allowed})`);
    const train = spawnSync('npx', ['tsx', 'trainer/train.ts', '--task', 'mrpc', '--backend', 'webgpu2'], { encoding: 'utf8' });
    expect(train.status).toBe(2);
    expect(train.stderr).toMatch(/--backend: .*"webgpu2".*auto, gpu, webgpu, wasm, cpu/);
    expect(() => parsePretrainOptions(['--out', join(tmpdir(), 'x'), '--backend', 'GPU'])).toThrow(UsageError);
    expect(() => parsePretrainOptions(['--out', join(tmpdir(), 'x'), '--backend', 'GPU'])).toThrow(/--backend: .*"GPU".*auto, gpu, webgpu, wasm, cpu/);
    expect(parsePretrainOptions(['--out', join(tmpdir(), 'x'), '--backend', 'webgpu'])).toMatchObject({ backend: 'webgpu' });
  });
});
