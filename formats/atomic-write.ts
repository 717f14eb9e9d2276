/**
 * formats/atomic-write.ts: the one way this project writes an output file.
 *
 * Every file goes to a temporary name beside its target (`.<name>.tmp-<pid>-<n>`), then is renamed
 * over it, so a reader sees the old file or the new one, never half of one. A set of files is
 * written wholly before any is renamed. The temporary files are removed when a write fails and when
 * the process exits. SIGINT and SIGTERM are caught (signal-exit): a set being written is finished,
 * renamed, and then the process ends as the signal asked, so a signal leaves whole files and no
 * temporary. Only SIGKILL can leave a temporary; `removeStaleTemporaries` clears those of dead
 * processes (the simulator's cache does so on every run). A write that the file
 * system refuses (a directory in the way, no permission, a read-only disk) is an InputError naming
 * the path, so the CLI exits 2.
 *
 * `checkOutputDir` and `checkOutputFile` check a destination before any work is done.
 */
import {
  accessSync,
  constants,
  copyFileSync,
  fsyncSync,
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { onExit } from 'signal-exit';
import { InputError } from './errors.js';

const pending = new Set<string>();
let counter = 0;
let hooked = false;

function removeQuietly(f: string): void {
  try {
    unlinkSync(f);
  } catch {
    /* already gone */
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  onExit(() => {
    for (const f of pending) removeQuietly(f);
    pending.clear();
  });
}

/** The temporary-file pattern of this module, for `removeStaleTemporaries`. */
const TMP_RE = /^\..+\.tmp-(\d+)-\d+$/;

export interface WriteOptions {
  /** fsync each file before the rename (checkpoints: survive a power cut). Default false. */
  fsync?: boolean;
  /** Who asked for this path, for the error message (e.g. "--out"). Default: the path itself. */
  field?: string;
}

function fsError(path: string, field: string, e: unknown): InputError {
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    EISDIR: 'a directory is in the way',
    ENOTDIR: 'a part of the path is a file, not a directory',
    EEXIST: 'a file is in the way',
  };
  return new InputError(path, field, `cannot write: ${why[err.code ?? ''] ?? err.message}`, { hint: 'choose another output path' });
}

/**
 * What a file gets: text, bytes, or bytes that another file holds (an image read from the cache):
 * then the kernel copies that file (sharing its blocks on file systems with reflinks: a 110 MB image
 * costs a fraction of writing it again), and writes the bytes instead if the copy fails or differs
 * in size from them.
 */
export type FileData = string | Uint8Array | { bytes: Uint8Array; copyOf: string };

function writeOne(tmp: string, data: FileData, fsync: boolean): void {
  if (typeof data === 'object' && 'copyOf' in data) {
    try {
      copyFileSync(data.copyOf, tmp, constants.COPYFILE_FICLONE);
      if (statSync(tmp).size === data.bytes.byteLength) {
        if (fsync) {
          const fd = openSync(tmp, 'r+');
          try {
            fsyncSync(fd);
          } finally {
            closeSync(fd);
          }
        }
        return;
      }
    } catch {
      /* the source went away: write the bytes */
    }
    data = data.bytes;
  }
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
    if (fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Write every file of `files` (names relative to `dir`, subfolders allowed) atomically: all are
 * written to temporary names, then all renamed. On failure nothing of this call is left behind but
 * the files already renamed before it (none, unless a rename itself fails).
 */
export function writeFilesAtomic(dir: string, files: Record<string, FileData>, opts: WriteOptions = {}): string[] {
  hookExit();
  const entries = Object.entries(files).map(([name, data]) => {
    const target = resolve(dir, name);
    return { target, tmp: join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${counter++}`), data };
  });
  const made: string[] = [];
  let current = dir;
  try {
    for (const e of entries) {
      current = e.target;
      mkdirSync(dirname(e.target), { recursive: true });
      pending.add(e.tmp);
      made.push(e.tmp);
      writeOne(e.tmp, e.data, opts.fsync ?? false);
    }
    for (const e of entries) {
      current = e.target;
      renameSync(e.tmp, e.target);
      pending.delete(e.tmp);
    }
  } catch (e) {
    for (const t of made) {
      removeQuietly(t);
      pending.delete(t);
    }
    if ((e as NodeJS.ErrnoException).code) throw fsError(current, opts.field ?? '(output)', e);
    throw e;
  }
  return entries.map((e) => e.target);
}

/** Write one file atomically (see writeFilesAtomic). */
export function writeFileAtomic(path: string, data: FileData, opts: WriteOptions = {}): void {
  writeFilesAtomic(dirname(path), { [basename(path)]: data }, opts);
}

/** Is a process with this pid alive? (signal 0 probes without sending) */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove the temporary files a killed process left in `dir` (those of processes no longer alive);
 * returns their names. Used on the cache before each run.
 */
export function removeStaleTemporaries(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = TMP_RE.exec(n);
    if (m && !alive(Number(m[1]))) {
      removeQuietly(join(dir, n));
      removed.push(n);
    }
  }
  return removed;
}

/** The nearest existing ancestor of a path (the path itself when it exists). */
function nearestExisting(path: string): string {
  let p = resolve(path);
  for (;;) {
    try {
      statSync(p);
      return p;
    } catch {
      const up = dirname(p);
      if (up === p) return p;
      p = up;
    }
  }
}

/** Can this process create files in an existing directory? Tried for real: root passes access(2) on read-only mounts. */
function probeWritable(dir: string): string | null {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    return 'permission denied';
  }
  const probe = join(dir, `.write-probe-${process.pid}-${counter++}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why: Record<string, string> = {
      EROFS: 'read-only file system',
      EACCES: 'permission denied',
      EPERM: 'permission denied',
      ENOENT: 'the file system refuses new files here',
      ENOSPC: 'no space left on the device',
    };
    return why[code ?? ''] ?? (e as Error).message;
  }
}

/**
 * Check, before any work, that `dir` is or can become a writable directory: an existing file in
 * its place, a file among its ancestors or an unwritable ancestor is an InputError for `field`.
 * Creates nothing. `hint` replaces the default advice (checkOutputFile gives its own).
 */
export function checkOutputDir(dir: string, field: string, hint?: string): void {
  const abs = resolve(dir);
  const base = nearestExisting(abs);
  if (!statSync(base).isDirectory()) {
    throw new InputError(base, field, base === abs ? 'is a file, not a directory' : `is a file, so ${abs} cannot be a directory`, {
      hint: hint ?? 'give a directory (it is created if missing)',
    });
  }
  const problem = probeWritable(base);
  if (problem) throw new InputError(base, field, `cannot create files here: ${problem}`, { hint: hint ?? 'choose another output directory' });
}

/** Check, before any work, that `file` can be written: not a directory, and its directory writable. */
export function checkOutputFile(file: string, field: string): void {
  const abs = resolve(file);
  try {
    if (statSync(abs).isDirectory()) throw new InputError(abs, field, 'is a directory, not a file', { hint: 'give a file name' });
  } catch (e) {
    if (e instanceof InputError) throw e;
  }
  checkOutputDir(dirname(abs), field, `give a file in a directory that exists or can be created (${abs} cannot be written)`);
}
