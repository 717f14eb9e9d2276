import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestWebGpuAdapter } from '../../trainer/webgpu-adapter.js';

// The check itself (BERT-base on webgpu) is minutes on a software adapter: these are its refusals, which come first.
const adapter = await requestWebGpuAdapter().catch(() => null);
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync('npx', ['tsx', 'sim/gpu-check.ts', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true', ...env } });

describe('npm run gpu-check', () => {
  it('--help says what it runs and its exit codes; a bad flag or --out is exit 2', () => {
    const h = run(['--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('sim/run.ts --config NAME --verify --backend webgpu --out DIR');
    expect(h.stdout).toMatch(/Exit status: 0 bit-exact, 1 a mismatch or a failed verify run, 2 bad input/);
    const bad = run(['--backend', 'cpu']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--backend: is not a flag of this command \(allowed: --config, --out, --hardware, --help\)/);
    const f = join(mkdtempSync(join(tmpdir(), 'gpu-check-')), 'file');
    writeFileSync(f, '');
    const out = run(['--out', f]);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/--out: is a file, not a directory/);
  });

  it('without a Vulkan driver is exit 2 naming the missing driver and the apt line, before the run', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'gpu-check-')), 'o');
    const r = run(['--out', out], { VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Dawn \(npm webgpu\) found no WebGPU adapter: no Vulkan driver that it accepts is installed\n {2}hint: .*mesa-vulkan-drivers/);
    expect(r.stdout).not.toMatch(/sim\/run\.ts/);
    expect(existsSync(out)).toBe(false);
  });

  it.skipIf(!adapter?.software)(
    `--hardware on a software adapter is exit 2 naming it, before the run${adapter?.software ? '' : ' (skipped: Dawn finds no software adapter here)'}`,
    () => {
      const out = join(mkdtempSync(join(tmpdir(), 'gpu-check-')), 'o');
      const r = run(['--hardware', '--out', out]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--hardware: the only WebGPU adapter Dawn finds is a software one (${adapter!.description}`);
      expect(r.stdout).not.toMatch(/sim\/run\.ts/);
      expect(existsSync(out)).toBe(false);
    },
  );
});
