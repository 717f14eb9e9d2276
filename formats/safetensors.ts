/**
 * formats/safetensors.ts: safetensors tensor files, read and written byte-exactly, shared by the
 * trainer (checkpoints it writes and loads) and the simulator (checkpoints it exports images from).
 *
 * safetensors layout (https://github.com/huggingface/safetensors):
 *
 *   [8 bytes]  N, the header length, unsigned 64-bit little-endian
 *   [N bytes]  UTF-8 JSON object: tensor name -> { dtype, shape, data_offsets: [begin, end] },
 *              plus an optional "__metadata__": { string: string }; it starts with '{' and may be
 *              padded with trailing spaces (writers pad so that the data starts 8-byte aligned)
 *   [rest]     the tensor bytes, little-endian, row-major; offsets are relative to the start of
 *              this section and the tensors must cover it exactly (contiguous, no overlap, no gap,
 *              nothing left over)
 *
 * Every problem throws a CheckpointError (an InputError) naming the file, the field and what was expected.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic-write.js';
import { InputError, type InputErrorDetails } from './errors.js';

/** A checkpoint problem: `<file>: <field>: <message>`, the InputError of checkpoint files (exit 2 in every CLI). */
export class CheckpointError extends InputError {
  constructor(file: string, field: string, message: string, details: InputErrorDetails = {}) {
    super(file, field, message, details);
    this.name = 'CheckpointError';
  }
}

// ---------------------------------------------------------------------------------------------
// Tensors and dtypes
// ---------------------------------------------------------------------------------------------

/** The dtypes this module writes; each has a matching in-memory typed array. */
export type WritableDType = 'F32' | 'I32' | 'I8' | 'U8';
/** The dtypes this module reads. F16/BF16/F64 become F32 and I64 becomes I32 in memory. */
export type ReadableDType = WritableDType | 'F16' | 'BF16' | 'F64' | 'I64';

/** A tensor in memory: row-major data whose typed array matches the dtype. */
export type Tensor =
  | { dtype: 'F32'; shape: number[]; data: Float32Array }
  | { dtype: 'I32'; shape: number[]; data: Int32Array }
  | { dtype: 'I8'; shape: number[]; data: Int8Array }
  | { dtype: 'U8'; shape: number[]; data: Uint8Array };

export type FloatTensor = Extract<Tensor, { dtype: 'F32' }>;

/** A tensor read from a file: its in-memory form plus the dtype it had in the file. */
export type LoadedTensor = Tensor & { fileDtype: ReadableDType };

export interface SafetensorsFile {
  /** In data order (ascending data_offsets; for files this module writes, also the header order). */
  tensors: Map<string, LoadedTensor>;
  /** The `__metadata__` entry; `{}` when the file has none. */
  metadata: Record<string, string>;
}

/** Bytes per element in the file. */
const ITEM_SIZE: Record<ReadableDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I8: 1, U8: 1, I64: 8 };
const READABLE = Object.keys(ITEM_SIZE) as ReadableDType[];

/** The typed array each writable dtype is held in. */
const ARRAY_OF: Record<WritableDType, { name: string; is: (d: unknown) => boolean }> = {
  F32: { name: 'Float32Array', is: (d) => d instanceof Float32Array },
  I32: { name: 'Int32Array', is: (d) => d instanceof Int32Array },
  I8: { name: 'Int8Array', is: (d) => d instanceof Int8Array },
  U8: { name: 'Uint8Array', is: (d) => d instanceof Uint8Array },
};

/**
 * Header order of the reference writer (safetensors' Rust `serialize`): dtype descending in its
 * enum order (largest items first, so every tensor stays aligned), then name. Files of one dtype,
 * such as an F32 BERT, are simply sorted by name.
 */
const WRITE_RANK: Record<WritableDType, number> = { F32: 0, I32: 1, I8: 2, U8: 3 };

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverse the bytes of each `size`-byte item in place (only needed on a big-endian host). */
function swapBytes(b: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < b.length; i += size) b.subarray(i, i + size).reverse();
}

/** Product of a shape's extents (1 for a scalar); `shape` must already be validated. */
export function shapeElements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Why `shape` is not a valid shape, or null: an array of non-negative safe integers with a safe product. */
function shapeProblem(shape: unknown): string | null {
  if (!Array.isArray(shape)) return `${JSON.stringify(shape)} must be an array of non-negative integers`;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return `${JSON.stringify(shape)} must be an array of non-negative integers`;
  }
  if (!Number.isSafeInteger(shapeElements(shape as number[]))) return `${JSON.stringify(shape)} has too many elements`;
  return null;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const field = (name: string): string => `tensors[${JSON.stringify(name)}]`;

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/**
 * Write `tensors` (and optional string metadata) as a safetensors file.
 *
 * The output is deterministic and byte-identical to the reference writer's (safetensors 0.8,
 * checked against its Python binding): header entries in the reference order (see WRITE_RANK:
 * for a single dtype, by name), compact JSON, the header padded with spaces to a multiple of 8
 * bytes. Metadata keys are sorted (the reference writes them in hash-map order, so files with
 * two or more metadata keys match it only up to that order). `__metadata__` is written only
 * when `metadata` has entries.
 * The file is written with writeFileAtomic (formats/atomic-write.ts: a temporary sibling, fsynced,
 * then renamed over `path`), so readers never see a partial file; a path the file system refuses
 * is an InputError naming it.
 */
export function writeSafetensors(path: string, tensors: ReadonlyMap<string, Tensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata, path), { fsync: true });
}

/**
 * The bytes writeSafetensors writes (the same checks, the same layout), for a caller that writes
 * them itself, e.g. as part of a set (trainer/pretrain-checkpoint.ts). `path` names the file in errors.
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata?: Record<string, string>, path = '(safetensors)'): Buffer {
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new CheckpointError(path, field(name), 'is reserved for the metadata entry');
    const spec = ARRAY_OF[t.dtype];
    if (spec === undefined)
      throw new CheckpointError(path, `${field(name)}.dtype`, `${JSON.stringify(t.dtype)} is not writable (writable: ${Object.keys(ARRAY_OF).join(', ')})`);
    if (!spec.is(t.data))
      throw new CheckpointError(
        path,
        `${field(name)}.data`,
        `dtype ${t.dtype} needs a ${spec.name}, got ${(t.data as object)?.constructor?.name ?? typeof t.data}`,
      );
    const p = shapeProblem(t.shape);
    if (p) throw new CheckpointError(path, `${field(name)}.shape`, p);
    if (shapeElements(t.shape) !== t.data.length) {
      throw new CheckpointError(
        path,
        `${field(name)}.shape`,
        `${JSON.stringify(t.shape)} has ${shapeElements(t.shape)} elements but the data has ${t.data.length}`,
      );
    }
  }
  const meta = metadata ?? {};
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== 'string') throw new CheckpointError(path, `__metadata__[${JSON.stringify(k)}]`, `${JSON.stringify(v)} must be a string`);
  }

  // Header: names compared as UTF-8 bytes, like Rust's String ordering.
  const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
  const order = [...tensors.entries()].sort(([an, a], [bn, b]) => WRITE_RANK[a.dtype] - WRITE_RANK[b.dtype] || Buffer.compare(utf8(an), utf8(bn)));
  // The JSON is assembled entry by entry: a JS object would move integer-like keys ("0") to the
  // front and treat "__proto__" specially.
  const entries: string[] = [];
  const metaKeys = Object.keys(meta).sort((a, b) => Buffer.compare(utf8(a), utf8(b)));
  if (metaKeys.length > 0) entries.push(`"__metadata__":{${metaKeys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(meta[k])}`).join(',')}}`);
  let offset = 0;
  for (const [name, t] of order) {
    const end = offset + t.data.byteLength;
    entries.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":${JSON.stringify(t.shape)},"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  let json = utf8(`{${entries.join(',')}}`);
  const pad = (8 - (json.length % 8)) % 8;
  if (pad > 0) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));

  // One buffer: writeSafetensors hands it to the project's one atomic writer (fsynced: a
  // checkpoint must survive a power cut).
  const out = Buffer.allocUnsafe(8 + json.length + offset);
  out.set(prefix, 0);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, t] of order) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, at);
    if (!LITTLE_ENDIAN_HOST) swapBytes(out.subarray(at, at + bytes.length), t.data.BYTES_PER_ELEMENT);
    at += bytes.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/**
 * Read a safetensors file, validating the whole layout first.
 *
 * In-memory forms: F32, I32, I8, U8 as-is; F16 and BF16 widened to Float32Array (exact, NaN
 * payloads kept); F64 rounded to Float32Array (nearest-even; a finite value beyond the float32
 * range is an error rather than a silent infinity); I64 narrowed to Int32Array when every value
 * fits, else an error naming the first value that does not. `fileDtype` keeps the file's dtype.
 * The tensor data is copied out of the file buffer (each tensor owns its memory). The whole file
 * is read into memory, so files over 2 GiB (Node's readFileSync limit) are refused; BERT-base in
 * F32 is 440 MB, BERT-large 1.3 GB.
 */
export function readSafetensors(path: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path); // whole file: Node's readFileSync stops at 2 GiB (ERR_FS_FILE_TOO_LARGE)
  } catch (e) {
    throw new CheckpointError(path, '(file)', `cannot be read: ${(e as Error).message}`);
  }
  if (buf.length < 8) throw new CheckpointError(path, '(file)', `is ${buf.length} bytes; a safetensors file starts with an 8-byte header length`);
  const n = buf.readBigUInt64LE(0);
  if (n > BigInt(buf.length - 8)) {
    throw new CheckpointError(
      path,
      'header length',
      `is ${n} bytes but only ${buf.length - 8} bytes follow the 8-byte length prefix (not a safetensors file, or truncated)`,
    );
  }
  const headerEnd = 8 + Number(n);
  const header = parseHeader(path, buf.subarray(8, headerEnd));
  const dataLen = buf.length - headerEnd;

  // Metadata (null, as some writers emit for "none", reads as none).
  let metadata: Record<string, string> = {};
  const rawMeta = header.__metadata__;
  if (rawMeta !== undefined && rawMeta !== null) {
    if (!isObj(rawMeta)) throw new CheckpointError(path, '__metadata__', `${JSON.stringify(rawMeta)} must be an object of strings`);
    for (const [k, v] of Object.entries(rawMeta)) {
      if (typeof v !== 'string') throw new CheckpointError(path, `__metadata__[${JSON.stringify(k)}]`, `${JSON.stringify(v)} must be a string`);
    }
    metadata = Object.fromEntries(Object.entries(rawMeta)) as Record<string, string>;
  }

  // Per-tensor entries.
  interface Entry {
    name: string;
    dtype: ReadableDType;
    shape: number[];
    begin: number;
    end: number;
  }
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const f = field(name);
    if (!isObj(info)) throw new CheckpointError(path, f, `${JSON.stringify(info)} must be an object { dtype, shape, data_offsets }`);
    const dtype = info.dtype;
    if (typeof dtype !== 'string' || !(READABLE as string[]).includes(dtype)) {
      throw new CheckpointError(path, `${f}.dtype`, `${JSON.stringify(dtype)} is not a supported dtype (supported: ${READABLE.join(', ')})`);
    }
    const sp = shapeProblem(info.shape);
    if (sp) throw new CheckpointError(path, `${f}.shape`, sp);
    const shape = info.shape as number[];
    const off = info.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
      throw new CheckpointError(path, `${f}.data_offsets`, `${JSON.stringify(off)} must be [begin, end], two non-negative integers`);
    }
    const [begin, end] = off as [number, number];
    if (end < begin) throw new CheckpointError(path, `${f}.data_offsets`, `[${begin}, ${end}] ends before it begins`);
    if (end > dataLen) throw new CheckpointError(path, `${f}.data_offsets`, `[${begin}, ${end}] ends beyond the ${dataLen}-byte data section`);
    const want = shapeElements(shape) * ITEM_SIZE[dtype as ReadableDType];
    if (end - begin !== want) {
      throw new CheckpointError(
        path,
        `${f}.data_offsets`,
        `[${begin}, ${end}] spans ${end - begin} bytes but shape ${JSON.stringify(shape)} of ${dtype} needs ` +
          `${shapeElements(shape)} x ${ITEM_SIZE[dtype as ReadableDType]} = ${want}`,
      );
    }
    entries.push({ name, dtype: dtype as ReadableDType, shape: [...shape], begin, end });
  }

  // Layout: sorted by offset, the tensors must tile [0, dataLen) exactly.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let prev: Entry | null = null;
  for (const e of byOffset) {
    if (e.begin < covered) {
      throw new CheckpointError(
        path,
        `${field(e.name)}.data_offsets`,
        `[${e.begin}, ${e.end}] overlaps ${field(prev!.name)} at [${prev!.begin}, ${prev!.end}]`,
      );
    }
    if (e.begin > covered) {
      const after = prev ? `between ${field(prev.name)} and ${field(e.name)}` : `before ${field(e.name)}`;
      throw new CheckpointError(
        path,
        `${field(e.name)}.data_offsets`,
        `[${e.begin}, ${e.end}] leaves bytes ${covered}..${e.begin} uncovered (${after}); tensors must be contiguous`,
      );
    }
    covered = e.end;
    prev = e;
  }
  if (covered !== dataLen) {
    throw new CheckpointError(path, '(data)', `${dataLen - covered} trailing bytes (${covered}..${dataLen} of the data section) are not covered by any tensor`);
  }

  const tensors = new Map<string, LoadedTensor>();
  for (const e of byOffset) {
    const bytes = new Uint8Array(buf.subarray(headerEnd + e.begin, headerEnd + e.end)); // own, aligned copy
    if (!LITTLE_ENDIAN_HOST) swapBytes(bytes, ITEM_SIZE[e.dtype]);
    tensors.set(e.name, { ...decode(path, e.name, e.dtype, e.shape, bytes), fileDtype: e.dtype });
  }
  return { tensors, metadata };
}

/** Validate and parse the JSON header (bytes after the length prefix). */
function parseHeader(path: string, bytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CheckpointError(path, 'header', 'is not valid UTF-8');
  }
  if (!text.startsWith('{'))
    throw new CheckpointError(path, 'header', `must be a JSON object starting with '{', starts with ${JSON.stringify(text.slice(0, 16))}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(path, 'header', `is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObj(parsed)) throw new CheckpointError(path, 'header', 'must be a JSON object');
  return parsed;
}

/** Decode one tensor's little-endian bytes (a fresh, aligned, host-endian copy) to its in-memory form. */
function decode(path: string, name: string, dtype: ReadableDType, shape: number[], b: Uint8Array): Tensor {
  const ab = b.buffer as ArrayBuffer;
  switch (dtype) {
    case 'F32':
      return { dtype: 'F32', shape, data: new Float32Array(ab) };
    case 'I32':
      return { dtype: 'I32', shape, data: new Int32Array(ab) };
    case 'I8':
      return { dtype: 'I8', shape, data: new Int8Array(ab) };
    case 'U8':
      return { dtype: 'U8', shape, data: b };
    case 'F16': {
      const h = new Uint16Array(ab);
      const table = f16Table();
      const out = new Uint32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = table[h[i]];
      return { dtype: 'F32', shape, data: new Float32Array(out.buffer) };
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: shift the bits up, exactly.
      const h = new Uint16Array(ab);
      const out = new Uint32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = h[i] << 16;
      return { dtype: 'F32', shape, data: new Float32Array(out.buffer) };
    }
    case 'F64': {
      const d = new Float64Array(ab);
      const out = new Float32Array(d.length);
      for (let i = 0; i < d.length; i++) {
        out[i] = d[i];
        if (!Number.isFinite(out[i]) && Number.isFinite(d[i])) {
          throw new CheckpointError(path, field(name), `F64 element ${i} = ${d[i]} is beyond the float32 range (F64 tensors are read as Float32Array)`);
        }
      }
      return { dtype: 'F32', shape, data: out };
    }
    case 'I64': {
      // Each int64 as two host-endian int32 words; it fits in int32 iff the high word is the
      // sign extension of the low one.
      const w = new Int32Array(ab);
      const [loAt, hiAt] = LITTLE_ENDIAN_HOST ? [0, 1] : [1, 0];
      const out = new Int32Array(w.length / 2);
      for (let i = 0; i < out.length; i++) {
        const lo = w[2 * i + loAt];
        const hi = w[2 * i + hiAt];
        if (hi !== lo >> 31) {
          const v = new DataView(ab).getBigInt64(8 * i, LITTLE_ENDIAN_HOST);
          throw new CheckpointError(path, field(name), `I64 element ${i} = ${v} does not fit in int32 (I64 tensors are read as Int32Array)`);
        }
        out[i] = lo;
      }
      return { dtype: 'I32', shape, data: out };
    }
  }
}

let F16_TABLE: Uint32Array | null = null;
/** float32 bit patterns of all 65,536 float16 values (every one is exactly representable). */
function f16Table(): Uint32Array {
  if (F16_TABLE) return F16_TABLE;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let man = h & 0x3ff;
    let bits: number;
    if (exp === 0x1f)
      bits = sign | 0x7f800000 | (man << 13); // Inf, NaN (payload kept)
    else if (exp !== 0)
      bits = sign | ((exp - 15 + 127) << 23) | (man << 13); // normal
    else if (man === 0)
      bits = sign; // +-0
    else {
      // Subnormal man * 2^-24: normalize (float32 has the range to make it a normal number).
      let e = -14;
      while ((man & 0x400) === 0) {
        man <<= 1;
        e--;
      }
      bits = sign | ((e + 127) << 23) | ((man & 0x3ff) << 13);
    }
    t[h] = bits >>> 0;
  }
  F16_TABLE = t;
  return t;
}
