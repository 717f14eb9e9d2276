import { describe, it, expect, vi, afterEach } from 'vitest';
import { readFileSync } from 'node:fs';
import { main, compileWat, WASM_MODULES } from '../../rtl-model/build-wasm.js';
import { UsageError } from '../../formats/errors.js';

afterEach(() => vi.restoreAllMocks());

describe('rtl-model/build-wasm.ts', () => {
  it('--check exits 0: every committed .wasm is what its .wat compiles to', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(await main(['--check'])).toBe(0);
    expect(log.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('is up to date'))).toHaveLength(WASM_MODULES.length);
    for (const rel of WASM_MODULES) {
      const committed = readFileSync(new URL(`../../rtl-model/${rel.replace(/\.wat$/, '.wasm')}`, import.meta.url));
      expect(Buffer.from(await compileWat(rel)).equals(committed)).toBe(true);
    }
  });

  it('refuses a flag it does not know (exit 2), before compiling or writing anything', async () => {
    await expect(main(['--chek'])).rejects.toThrow(UsageError);
    await expect(main(['--chek'])).rejects.toThrow(/--chek: is not a flag of this command \(allowed: --check, --help\)/);
  });
});
