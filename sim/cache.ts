/**
 * The image cache (default out/.cache, `--cache-dir DIR`): exported ROM and SRAM images kept for
 * reuse, one directory per cache key (sim/pipeline.ts: a hash of the geometry, the seeds, the
 * variant and the exporter's sources), holding rom.bin, sram.bin and stats.json.
 *
 * - It heals: an entry that does not read back (a file missing, stats.json not JSON or not the
 *   exporter's statistics, an image truncated or failing its checksum or geometry) is removed with
 *   a one-line note and rebuilt by the caller.
 * - Temporary files a killed run left (formats/atomic-write.ts names them `.<name>.tmp-<pid>-<n>`)
 *   are removed when the cache is opened, for processes that are no longer alive.
 * - It stays bounded: after each store the least recently used entries are removed until the whole
 *   cache is within its cap (default 2 GiB, `--cache-max`). "Used" is the entry directory's
 *   modification time, which every read and store sets to now. An entry larger than the cap on
 *   its own is not stored.
 * - Every write goes through writeFilesAtomic: a reader sees a whole entry or none of its files.
 */
import { readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { removeStaleTemporaries, writeFilesAtomic } from '../formats/atomic-write.js';
import { decodeImage, type Geometry, type VariantId } from '../rtl-model/spec/index.js';
import type { ExportResult } from '../rtl-model/export.js';
import { formatBytes } from './sizes.js';

export const DEFAULT_CACHE_MAX_BYTES = 2 * 1024 ** 3;

/** Entry directories are named by their key: 24 hex digits (anything else in the cache directory is left alone). */
const ENTRY_RE = /^[0-9a-f]{24}$/;
const FILES = ['rom.bin', 'sram.bin', 'stats.json'] as const;
const STATS_FIELDS = ['biasSaturated', 'ratioClamped', 'weightSaturated', 'romBits', 'sramBits', 'calibrationMs'] as const;

export interface CacheEntryInfo {
  key: string;
  bytes: number;
  /** When it was last read or stored (ms since the epoch). */
  usedMs: number;
}

export interface ImageCacheOptions {
  /** Cap on the total size of the entries, in bytes (default 2 GiB). */
  maxBytes?: number;
  /** Where the one-line notes go (healed entries, evictions); default stderr. */
  onNote?: (text: string) => void;
}

/** The files of a cache entry the images were read from (their bytes are the images'). */
export interface CachedFiles {
  rom: string;
  sram: string;
}

export class ImageCache {
  readonly maxBytes: number;
  private readonly note: (text: string) => void;

  constructor(
    readonly dir: string,
    opts: ImageCacheOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_CACHE_MAX_BYTES;
    this.note = opts.onNote ?? ((t) => console.error(t));
  }

  /** Remove what killed runs left: temporaries of dead processes in the cache and in every entry. Returns their paths. */
  removeStale(): string[] {
    const removed = removeStaleTemporaries(this.dir).map((n) => join(this.dir, n));
    for (const key of this.keys()) removed.push(...removeStaleTemporaries(join(this.dir, key)).map((n) => join(this.dir, key, n)));
    if (removed.length) this.note(`note: cache ${this.dir}: removed ${removed.length} temporary file(s) a killed run left`);
    return removed;
  }

  /**
   * The entry's images and statistics, checked (decoded against the geometry, the SRAM image of
   * this variant), and marked used; null when there is none. A damaged entry is removed with a note.
   */
  read(
    key: string,
    g: Geometry,
    variant: VariantId,
  ): (Pick<ExportResult, 'rom' | 'sram' | 'romImage' | 'sramImage' | 'stats'> & { files: CachedFiles }) | null {
    const dir = join(this.dir, key);
    if (!this.exists(dir)) return null;
    try {
      for (const f of FILES) if (!this.exists(join(dir, f))) throw new Error(`${f} is missing (an interrupted store)`);
      const rom = readBytes(join(dir, 'rom.bin'));
      const sram = readBytes(join(dir, 'sram.bin'));
      // the images' tensors are views into these bytes (no second copy), which nothing changes
      const romImage = decodeImage(rom, join(dir, 'rom.bin'), { kind: 'rom', geometry: g, view: true });
      const sramImage = decodeImage(sram, join(dir, 'sram.bin'), { kind: 'sram', geometry: g, view: true });
      if (sramImage.header.variant !== variant) throw new Error(`sram.bin is of variant ${sramImage.header.variant}, the key's is ${variant}`);
      const stats = parseStats(readFileSync(join(dir, 'stats.json'), 'utf8'));
      this.markUsed(key);
      return { rom, sram, romImage, sramImage, stats, files: { rom: join(dir, 'rom.bin'), sram: join(dir, 'sram.bin') } };
    } catch (e) {
      const why = ((e as Error).message ?? String(e)).split('\n')[0];
      this.note(`note: cache entry ${dir} is damaged (${why}); rebuilding it`);
      rmSync(dir, { recursive: true, force: true });
      return null;
    }
  }

  /** Store an entry (atomically), mark it used, then evict the least recently used others beyond the cap. */
  write(key: string, ex: Pick<ExportResult, 'rom' | 'sram' | 'stats'>): boolean {
    const stats = JSON.stringify(ex.stats);
    const bytes = ex.rom.byteLength + ex.sram.byteLength + Buffer.byteLength(stats);
    if (bytes > this.maxBytes) {
      this.note(`note: images not cached: ${formatBytes(bytes)} is more than the cache's cap of ${formatBytes(this.maxBytes)} (--cache-max)`);
      return false;
    }
    const dir = join(this.dir, key);
    writeFilesAtomic(dir, { 'rom.bin': ex.rom, 'sram.bin': ex.sram, 'stats.json': stats }, { field: '--cache-dir' });
    this.markUsed(key);
    this.evict(key);
    return true;
  }

  /** Every entry with its size and last use, most recently used first. */
  entries(): CacheEntryInfo[] {
    const out: CacheEntryInfo[] = [];
    for (const key of this.keys()) {
      const dir = join(this.dir, key);
      try {
        let bytes = 0;
        for (const f of readdirSync(dir)) bytes += statSync(join(dir, f)).size;
        out.push({ key, bytes, usedMs: statSync(dir).mtimeMs });
      } catch {
        /* removed meanwhile (another run evicting) */
      }
    }
    return out.sort((a, b) => b.usedMs - a.usedMs);
  }

  /** Remove the least recently used entries (never `keep`) until the cache is within its cap; returns the keys removed. */
  evict(keep?: string): string[] {
    const all = this.entries();
    let total = all.reduce((s, e) => s + e.bytes, 0);
    const removed: string[] = [];
    let freed = 0;
    for (const e of [...all].reverse()) {
      if (total <= this.maxBytes) break;
      if (e.key === keep) continue;
      rmSync(join(this.dir, e.key), { recursive: true, force: true });
      total -= e.bytes;
      freed += e.bytes;
      removed.push(e.key);
    }
    if (removed.length) {
      this.note(
        `note: cache ${this.dir}: removed ${removed.length} least recently used entr${removed.length === 1 ? 'y' : 'ies'} (${formatBytes(freed)}) ` +
          `to stay within ${formatBytes(this.maxBytes)} (--cache-max)`,
      );
    }
    return removed;
  }

  private keys(): string[] {
    try {
      return readdirSync(this.dir).filter((n) => ENTRY_RE.test(n));
    } catch {
      return [];
    }
  }

  private exists(path: string): boolean {
    try {
      statSync(path);
      return true;
    } catch {
      return false;
    }
  }

  /** Mark an entry used now (its directory's times), for the least-recently-used order. */
  markUsed(key: string, when = new Date()): void {
    utimesSync(join(this.dir, key), when, when);
  }
}

/** A file's bytes as a plain Uint8Array over the buffer read (not a copy of it). */
function readBytes(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** The exporter's statistics as stored in stats.json: every field a finite number. */
function parseStats(text: string): ExportResult['stats'] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`stats.json is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('stats.json is not an object');
  const o = v as Record<string, unknown>;
  for (const k of STATS_FIELDS) if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) throw new Error(`stats.json: ${k} is not a number`);
  return Object.fromEntries(STATS_FIELDS.map((k) => [k, o[k] as number])) as ExportResult['stats'];
}
