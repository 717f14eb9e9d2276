import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError, UsageError, isInputError, showValue } from '../../formats/errors.js';
import { describeFailure, EXIT_BAD_INPUT, EXIT_BUG } from '../../formats/cli.js';

describe('InputError', () => {
  it('names the file, the field, the problem, the value and what is allowed, and carries them as fields', () => {
    const e = new InputError('fixtures/configs/x.json', 'hardware.array.rows', 'must be a positive integer', { value: -1, allowed: 'an integer in [1, 4096]' });
    expect(e.message).toBe('fixtures/configs/x.json: hardware.array.rows: must be a positive integer (got -1; allowed: an integer in [1, 4096])');
    expect([e.file, e.field, e.value, e.allowed]).toEqual(['fixtures/configs/x.json', 'hardware.array.rows', -1, 'an integer in [1, 4096]']);
    expect(isInputError(e)).toBe(true);
  });

  it('puts a hint on its own line and leaves out what it was not given', () => {
    const e = new InputError('rom.bin', 'magic', 'is not a ROM image', { hint: 're-export it' });
    expect(e.message).toBe('rom.bin: magic: is not a ROM image\n  hint: re-export it');
  });

  it('shows an undefined or null value and shortens a long one', () => {
    expect(new InputError('f', 'x', 'bad', { value: undefined }).message).toBe('f: x: bad (got undefined)');
    expect(new InputError('f', 'x', 'bad', { value: null }).message).toBe('f: x: bad (got null)');
    expect(showValue('a'.repeat(200))).toHaveLength(80);
  });

  it('a UsageError is an InputError of the command line', () => {
    const e = new UsageError('--backend', 'cannot load gpu');
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe('(command line): --backend: cannot load gpu');
  });
});

describe('describeFailure (how every CLI ends)', () => {
  it('bad input is exit 2 with one message and no stack', () => {
    const f = describeFailure('sim/run.ts', new InputError('a.json', 'b', 'c'));
    expect(f.code).toBe(EXIT_BAD_INPUT);
    expect(f.message).toBe('error: a.json: b: c');
  });

  it('a usage error adds where to find every flag', () => {
    expect(describeFailure('sim/run.ts', new UsageError('--x', 'unknown')).message).toBe(
      'error: (command line): --x: unknown\nrun npx tsx sim/run.ts --help for every flag',
    );
  });

  it('anything else is exit 3: a bug to report, with the stack', () => {
    const f = describeFailure('sim/run.ts', new TypeError('x is undefined'));
    expect(f.code).toBe(EXIT_BUG);
    expect(f.message).toMatch(/^sim\/run\.ts: internal error\. This is a bug, please report it/);
    expect(f.message).toContain('TypeError: x is undefined');
    expect(f.message).toContain('errors.test.ts');
    expect(describeFailure('c', 'thrown string').message).toContain('thrown string');
  });
});

describe('isMain', () => {
  it('is false for a module that is not the script node started', async () => {
    const { isMain } = await import('../../formats/cli.js');
    expect(isMain(import.meta.url)).toBe(false);
  });
});

describe('runCli', () => {
  const BYTES = 5 * 1024 * 1024;
  /** Run a command that writes BYTES to stdout through a pipe and then returns `end`; count what arrives. */
  function runBig(end: string): Promise<{ code: number | null; stdout: number; lastLine: string; stderr: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'run-cli-'));
    const script = join(dir, 'big.ts');
    const url = (f: string): string => pathToFileURL(resolve(f)).href;
    writeFileSync(
      script,
      `import { runCli } from ${JSON.stringify(url('formats/cli.ts'))};\n` +
        `import { InputError } from ${JSON.stringify(url('formats/errors.ts'))};\n` +
        `runCli('big.ts', () => {\n` +
        `  const line = 'x'.repeat(1023) + '\\n';\n` +
        `  for (let i = 0; i < ${BYTES / 1024 - 1}; i++) process.stdout.write(line);\n` +
        `  process.stdout.write('y'.repeat(1023) + '\\n');\n` +
        `  ${end}\n` +
        `});\n`,
    );
    return new Promise((done, fail) => {
      const child = spawn('npx', ['tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = 0;
      let tail = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.length;
        tail = (tail + d.toString('latin1')).slice(-2048);
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', fail);
      child.on('close', (code) => done({ code, stdout, lastLine: tail.trimEnd().split('\n').pop() ?? '', stderr }));
    });
  }

  it('exits only after a large stdout has gone through a pipe: all 5 MiB arrive, with the exit code', async () => {
    const ok = await runBig('return 0;');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(BYTES);
    expect(ok.lastLine).toBe('y'.repeat(1023));
    // and when main throws bad input after writing: all of stdout, then the message, exit 2
    const bad = await runBig("throw new InputError('a.json', 'b', 'c');");
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe(BYTES);
    expect(bad.stderr).toBe('error: a.json: b: c\n');
  }, 60_000);
});
