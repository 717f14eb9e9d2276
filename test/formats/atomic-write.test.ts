import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOutputDir, checkOutputFile, removeStaleTemporaries, writeFileAtomic, writeFilesAtomic } from '../../formats/atomic-write.js';
import { InputError } from '../../formats/errors.js';

const scratch = () => mkdtempSync(join(tmpdir(), 'atomic-'));

describe('writeFilesAtomic', () => {
  it('writes every file of a set, subfolders included, and leaves no temporary', () => {
    const d = scratch();
    writeFilesAtomic(d, { 'a.json': '{}\n', 'sub/b.bin': new Uint8Array([1, 2, 3]) });
    expect(readFileSync(join(d, 'a.json'), 'utf8')).toBe('{}\n');
    expect([...readFileSync(join(d, 'sub/b.bin'))]).toEqual([1, 2, 3]);
    expect(readdirSync(d).sort()).toEqual(['a.json', 'sub']);
  });

  it('copies a file that holds the bytes (an image from the cache), and writes the bytes when the copy is gone or differs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aw-copy-'));
    const bytes = Uint8Array.from({ length: 5000 }, (_, i) => i % 251);
    const src = join(dir, 'src.bin');
    writeFileSync(src, bytes);
    writeFilesAtomic(join(dir, 'out'), { 'a.bin': { bytes, copyOf: src }, 'b.bin': { bytes, copyOf: join(dir, 'missing.bin') } });
    expect(new Uint8Array(readFileSync(join(dir, 'out', 'a.bin')))).toEqual(bytes);
    expect(new Uint8Array(readFileSync(join(dir, 'out', 'b.bin')))).toEqual(bytes);
    writeFileSync(src, bytes.subarray(0, 10)); // the source changed under us: its size no longer matches
    writeFileAtomic(join(dir, 'out', 'c.bin'), { bytes, copyOf: src });
    expect(new Uint8Array(readFileSync(join(dir, 'out', 'c.bin')))).toEqual(bytes);
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['a.bin', 'b.bin', 'c.bin']);
  });

  it('replaces an existing file whole', () => {
    const d = scratch();
    writeFileAtomic(join(d, 'x.txt'), 'old');
    writeFileAtomic(join(d, 'x.txt'), 'new', { fsync: true });
    expect(readFileSync(join(d, 'x.txt'), 'utf8')).toBe('new');
  });

  it('a failed write renames nothing, removes its temporaries and names the path (exit-2 error)', () => {
    const d = scratch();
    mkdirSync(join(d, 'c.txt')); // a directory where a file should go: the rename fails
    let err: unknown;
    try {
      writeFilesAtomic(d, { 'a.txt': 'a', 'c.txt': 'c' }, { field: '--out' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(/c\.txt: --out: cannot write/);
    // a.txt was renamed before c.txt failed; no temporary is left
    expect(readdirSync(d).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('a file in the way of a folder is an InputError, and nothing is left behind', () => {
    const d = scratch();
    writeFileSync(join(d, 'f'), 'x');
    expect(() => writeFilesAtomic(join(d, 'f'), { 'a.txt': 'a' }, { field: '--out' })).toThrow(InputError);
    expect(readdirSync(d)).toEqual(['f']);
  });

  it('SIGTERM in the middle of a set waits for it: whole files or none, and no temporary left', async () => {
    const d = scratch();
    // A child writes 4 x 128 MiB; the test sends SIGTERM as soon as a temporary appears. Without the
    // exit hook the default SIGTERM kills the child mid-write and leaves the temporary behind.
    const child = `
      import { writeFilesAtomic } from ${JSON.stringify(join(process.cwd(), 'formats/atomic-write.ts'))};
      const big = new Uint8Array(128 << 20).fill(7);
      writeFilesAtomic(${JSON.stringify(d)}, { 'a.bin': big, 'b.bin': big, 'c.bin': big, 'd.bin': big });
      setTimeout(() => {}, 5000);
    `;
    const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], { stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => p.on('exit', (code, sig) => res(sig ? -1 : code)));
    for (let i = 0; i < 20_000 && !readdirSync(d).some((n) => n.includes('.tmp-')); i++) await new Promise((r) => setTimeout(r, 1));
    expect(readdirSync(d).some((n) => n.includes('.tmp-'))).toBe(true);
    p.kill('SIGTERM');
    await exited;
    const left = readdirSync(d);
    expect(left.filter((n) => n.includes('.tmp-'))).toEqual([]);
    for (const n of left) expect(statSync(join(d, n)).size).toBe(128 << 20);
  });
});

describe('removeStaleTemporaries', () => {
  it('removes temporaries of dead processes and keeps live ones and other files', () => {
    const d = scratch();
    const deadPid = 2 ** 22 + 12345; // above the default pid_max: no such process
    writeFileSync(join(d, `.rom.bin.tmp-${deadPid}-0`), 'x');
    writeFileSync(join(d, `.rom.bin.tmp-${process.pid}-7`), 'x');
    writeFileSync(join(d, 'rom.bin'), 'x');
    expect(removeStaleTemporaries(d)).toEqual([`.rom.bin.tmp-${deadPid}-0`]);
    expect(readdirSync(d).sort()).toEqual([`.rom.bin.tmp-${process.pid}-7`, 'rom.bin']);
    expect(removeStaleTemporaries(join(d, 'missing'))).toEqual([]);
  });
});

describe('checkOutputDir / checkOutputFile', () => {
  it('accept an existing or a creatable directory and create nothing', () => {
    const d = scratch();
    checkOutputDir(d, '--out');
    checkOutputDir(join(d, 'new/deeper'), '--out');
    expect(existsSync(join(d, 'new'))).toBe(false);
    expect(readdirSync(d)).toEqual([]);
  });

  it('refuse a file, a path under a file, and a directory given as a file', () => {
    const d = scratch();
    writeFileSync(join(d, 'f'), 'x');
    expect(() => checkOutputDir(join(d, 'f'), '--out')).toThrow(/f: --out: is a file, not a directory/);
    expect(() => checkOutputDir(join(d, 'f', 'sub'), '--out')).toThrow(/f: --out: is a file, so .*sub cannot be a directory/);
    expect(() => checkOutputFile(d, '--json')).toThrow(/--json: is a directory, not a file/);
    checkOutputFile(join(d, 'new.json'), '--json');
  });

  it('refuse a directory this process cannot write to', () => {
    if (!existsSync('/proc/self')) return; // /proc refuses new files even for root
    expect(() => checkOutputDir('/proc/self/nope', '--out')).toThrow(/--out: cannot create files here/);
    const d = scratch();
    chmodSync(d, 0o500);
    if (process.getuid?.() !== 0) expect(() => checkOutputDir(d, '--out')).toThrow(/cannot create files here: permission denied/);
    chmodSync(d, 0o700);
  });
});
