/**
 * Binary ROM and SRAM images. Layout (all integers little-endian):
 *
 *   offset 0   magic, 8 ASCII bytes: "BFITROM1" (ROM image) or "BFITSRM1" (SRAM task image)
 *   offset 8   u32 image format version (IMAGE_FORMAT_VERSION)
 *   offset 12  u32 integer spec version (SPEC_VERSION)
 *   offset 16  u32 header length H
 *   offset 20  H bytes of UTF-8 JSON header: geometry, variant, table of contents, metadata
 *   ...        zero padding to a multiple of 8, then the tensor data, each tensor 8-byte aligned
 *   end - 32   SHA-256 of every byte before it
 *
 * The table of contents lists each tensor's name, dtype, shape, byte offset (from the start of the
 * data section) and byte length. b24 tensors are packed 3 bytes per element, two's complement.
 */
import { createHash } from 'node:crypto';
import { InputError, type InputErrorDetails } from '../../formats/errors.js';
import { SPEC_VERSION, BIAS_MIN, BIAS_MAX } from './arith.js';
import {
  DTYPE_BITS,
  VARIANTS,
  geometryProblems,
  modelTensors,
  tensorElements,
  writableTensors,
  type Geometry,
  type IntDType,
  type TensorSpec,
  type VariantId,
} from './model.js';

export const IMAGE_FORMAT_VERSION = 1;
export const ROM_MAGIC = 'BFITROM1';
export const SRAM_MAGIC = 'BFITSRM1';
const PREFIX_BYTES = 20;
const HASH_BYTES = 32;

export type ImageKind = 'rom' | 'sram';
export type TensorData = Int8Array | Uint8Array | Int16Array | Int32Array;

export interface ImageTensor {
  name: string;
  dtype: IntDType;
  shape: number[];
  data: TensorData;
}

export interface TocEntry {
  name: string;
  dtype: IntDType;
  shape: number[];
  offset: number;
  bytes: number;
}

export interface ImageHeader {
  kind: ImageKind;
  geometry: Geometry;
  variant: VariantId;
  /** For an SRAM image, the checksum (imageSha256) of the ROM image it was exported against. */
  romSha256?: string;
  /** Free-form metadata: real scales, provenance. Never read by the integer datapaths. */
  meta: Record<string, unknown>;
  toc: TocEntry[];
}

export interface Image {
  header: ImageHeader;
  tensors: Map<string, ImageTensor>;
  /** The stored checksum: SHA-256 of every byte before the trailer (see imageSha256). */
  sha256: string;
}

/**
 * A bad image file: names the file, the field (`magic`, `checksum`, `header.variant`, `toc[3].shape`),
 * the value found and what is allowed. An InputError, so every CLI exits 2 with its message.
 */
export class ImageFormatError extends InputError {
  constructor(file: string, field: string, problem: string, details: InputErrorDetails = {}) {
    super(file, field, problem, details);
    this.name = 'ImageFormatError';
  }
}

export function dtypeArray(dtype: IntDType, n: number): TensorData {
  switch (dtype) {
    case 'i8':
      return new Int8Array(n);
    case 'u8':
      return new Uint8Array(n);
    case 'i16':
      return new Int16Array(n);
    case 'i32':
    case 'b24':
      return new Int32Array(n);
  }
}

function storedBytes(dtype: IntDType, n: number): number {
  return (DTYPE_BITS[dtype] / 8) * n;
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

/** Serialize an image. Throws if a b24 value is outside the 24-bit range or a shape disagrees. */
export function encodeImage(
  kind: ImageKind,
  geometry: Geometry,
  variant: VariantId,
  tensors: ImageTensor[],
  meta: Record<string, unknown>,
  romSha256?: string,
): Uint8Array {
  return encode(kind, geometry, variant, tensors, meta, romSha256).bytes;
}

/**
 * encodeImage, and the image decodeImage would read back from its bytes, made without reading
 * them back (no second checksum pass, no copy): the header is the encoded JSON parsed again, the
 * tensors are the given ones in table-of-contents order, sharing their arrays, which the caller
 * must not change afterwards. For the exporter, which hands both on. With an arena (imageArena)
 * whose arrays the tensors are, the image is encoded in the arena's buffer around them.
 */
export function encodeImageDecoded(
  kind: ImageKind,
  geometry: Geometry,
  variant: VariantId,
  tensors: ImageTensor[],
  meta: Record<string, unknown>,
  romSha256?: string,
  arena?: ImageArena,
): { bytes: Uint8Array; image: Image } {
  const { bytes, headerJson, dataBytes } = encode(kind, geometry, variant, tensors, meta, romSha256, arena);
  // decodeImage's checks past the checksum, with the kind as the file's name (as exportImages has always decoded them)
  const header = checkHeader(JSON.parse(headerJson), kind, kind);
  checkToc(header, dataBytes, kind);
  const map = new Map<string, ImageTensor>();
  header.toc.forEach((e, i) => map.set(e.name, { name: e.name, dtype: e.dtype, shape: e.shape, data: tensors[i].data }));
  return { bytes, image: { header, tensors: map, sha256: imageSha256(bytes) } };
}

/**
 * Room for an image whose tensors are filled in before it is encoded: their arrays (all but b24
 * ones, which are packed at encoding) are views into the buffer the image will occupy, at the
 * offsets encodeImage lays the tensors out at, behind `headerRoom` bytes kept for the prefix and
 * the header. Encoding those tensors, in the same order, then copies nothing (encodeImageDecoded
 * with the arena); a header larger than the room, or tensors not the arena's, are copied as usual.
 */
export interface ImageArena {
  buffer: ArrayBuffer;
  headerRoom: number;
  /** The data section's size for the tensors in the order given. */
  dataBytes: number;
  /** Each non-b24 tensor's array, in place (zeros). */
  arrays: Map<string, TensorData>;
}

/** An arena for tensors of these specs, in this order (the order they will be encoded in). */
export function imageArena(specs: readonly Pick<TensorSpec, 'name' | 'dtype' | 'shape'>[], headerRoom = 65536 + 1024 * specs.length): ImageArena {
  const room = align8(headerRoom);
  const at: { spec: Pick<TensorSpec, 'name' | 'dtype' | 'shape'>; offset: number; n: number }[] = [];
  let off = 0;
  for (const spec of specs) {
    const n = tensorElements(spec.shape);
    at.push({ spec, offset: off, n });
    off = align8(off + storedBytes(spec.dtype, n));
  }
  const buffer = new ArrayBuffer(room + off + HASH_BYTES);
  const arrays = new Map<string, TensorData>();
  for (const { spec, offset, n } of at) if (spec.dtype !== 'b24') arrays.set(spec.name, viewArray(spec.dtype, buffer, room + offset, n));
  return { buffer, headerRoom: room, dataBytes: off, arrays };
}

function encode(
  kind: ImageKind,
  geometry: Geometry,
  variant: VariantId,
  tensors: ImageTensor[],
  meta: Record<string, unknown>,
  romSha256?: string,
  arena?: ImageArena,
): { bytes: Uint8Array; headerJson: string; dataBytes: number } {
  if ((kind === 'sram') !== (romSha256 !== undefined))
    throw new Error(`encodeImage: ${kind === 'sram' ? 'an SRAM image needs' : 'a ROM image takes no'} romSha256`);
  const toc: TocEntry[] = [];
  let off = 0;
  for (const t of tensors) {
    const n = tensorElements(t.shape);
    if (t.data.length !== n) throw new Error(`tensor ${t.name}: ${t.data.length} elements, shape ${JSON.stringify(t.shape)} needs ${n}`);
    const bytes = storedBytes(t.dtype, n);
    toc.push({ name: t.name, dtype: t.dtype, shape: t.shape, offset: off, bytes });
    off = align8(off + bytes);
  }
  const header: ImageHeader = { kind, geometry, variant, ...(romSha256 !== undefined ? { romSha256 } : {}), meta, toc };
  const headerJson = JSON.stringify(header);
  const headerBytes = Buffer.from(headerJson, 'utf8');
  const dataStart = align8(PREFIX_BYTES + headerBytes.length);
  const total = dataStart + off + HASH_BYTES;
  // In an arena that fits, the image starts where its data section lands on the arena's.
  const inArena = arena !== undefined && dataStart <= arena.headerRoom && off === arena.dataBytes;
  const buf = inArena ? Buffer.from(arena.buffer, arena.headerRoom - dataStart, total) : Buffer.alloc(total);
  if (inArena) buf.fill(0, 0, dataStart);
  buf.write(kind === 'rom' ? ROM_MAGIC : SRAM_MAGIC, 0, 'ascii');
  buf.writeUInt32LE(IMAGE_FORMAT_VERSION, 8);
  buf.writeUInt32LE(SPEC_VERSION, 12);
  buf.writeUInt32LE(headerBytes.length, 16);
  headerBytes.copy(buf, PREFIX_BYTES);
  tensors.forEach((t, i) => {
    const base = dataStart + toc[i].offset;
    if (inArena) buf.fill(0, base + toc[i].bytes, dataStart + align8(toc[i].offset + toc[i].bytes)); // alignment padding
    if (t.dtype === 'b24') {
      const d = t.data;
      for (let j = 0, o = base; j < d.length; j++, o += 3) {
        const v = d[j];
        if (!(v >= BIAS_MIN && v <= BIAS_MAX)) throw new Error(`tensor ${t.name}[${j}] = ${v} is outside the 24-bit bias range`);
        // 24-bit two's complement, little-endian (as writeIntLE(v, o, 3))
        buf[o] = v & 0xff;
        buf[o + 1] = (v >> 8) & 0xff;
        buf[o + 2] = (v >> 16) & 0xff;
      }
    } else if (!(t.data.buffer === buf.buffer && t.data.byteOffset === buf.byteOffset + base)) {
      // (in place already when it is the arena's array) Typed arrays are stored as the host lays
      // them out; every supported host is little-endian.
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(buf, base);
    }
  });
  const hash = createHash('sha256')
    .update(buf.subarray(0, total - HASH_BYTES))
    .digest();
  hash.copy(buf, total - HASH_BYTES);
  return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), headerJson, dataBytes: off };
}

const HEADER_FIELDS = ['kind', 'geometry', 'variant', 'romSha256', 'meta', 'toc'] as const;
const GEOMETRY_FIELDS = [
  'layers',
  'hidden',
  'heads',
  'ffn',
  'seqLen',
  'vocab',
  'maxPositions',
  'typeVocab',
  'numLabels',
] as const satisfies readonly (keyof Geometry)[];
const TOC_FIELDS = ['name', 'dtype', 'shape', 'offset', 'bytes'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function refuseUnknownFields(o: Record<string, unknown>, known: readonly string[], prefix: string, file: string): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new ImageFormatError(file, `${prefix}${k}`, 'is not a field of this format', { allowed: known.join(', ') });
  }
}

/**
 * Check the header's fields against their allowed values: its kind agrees with the magic, the
 * variant is one of the spec's, the geometry is complete and within the spec's limits, an SRAM
 * image names its ROM by a sha256 (a ROM image names none), meta is an object and toc an array.
 * Field paths are relative to the header (`variant`, `geometry.hidden`, `toc`).
 */
function checkHeader(raw: unknown, kind: ImageKind, file: string): ImageHeader {
  if (!isObject(raw)) throw new ImageFormatError(file, 'header', 'must be a JSON object', { value: raw });
  refuseUnknownFields(raw, HEADER_FIELDS, '', file);
  if (raw.kind !== kind)
    throw new ImageFormatError(file, 'kind', `disagrees with the magic, which says ${kind}`, { value: raw.kind, allowed: JSON.stringify(kind) });
  if (!(VARIANTS as readonly unknown[]).includes(raw.variant)) {
    throw new ImageFormatError(file, 'variant', 'is not a variant with an image layout', { value: raw.variant, allowed: VARIANTS.join(', ') });
  }
  const g = raw.geometry;
  if (!isObject(g)) throw new ImageFormatError(file, 'geometry', 'must be an object', { value: g });
  refuseUnknownFields(g, GEOMETRY_FIELDS, 'geometry.', file);
  for (const k of GEOMETRY_FIELDS) {
    if (!Number.isSafeInteger(g[k])) throw new ImageFormatError(file, `geometry.${k}`, 'must be an integer', { value: g[k] });
  }
  const problems = geometryProblems(g as unknown as Geometry);
  if (problems.length) {
    const field = /^(\w+) =/.exec(problems[0])?.[1];
    throw new ImageFormatError(file, field ? `geometry.${field}` : 'geometry', `is outside the spec: ${problems[0]}`);
  }
  if (kind === 'sram') {
    if (typeof raw.romSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(raw.romSha256)) {
      throw new ImageFormatError(file, 'romSha256', 'an SRAM image must name the ROM image it was exported against', {
        value: raw.romSha256,
        allowed: 'a sha256, 64 lowercase hex digits',
      });
    }
  } else if (raw.romSha256 !== undefined) {
    throw new ImageFormatError(file, 'romSha256', 'a ROM image names no other image', { value: raw.romSha256, allowed: 'absent' });
  }
  if (!isObject(raw.meta)) throw new ImageFormatError(file, 'meta', 'must be an object', { value: raw.meta });
  if (!Array.isArray(raw.toc)) throw new ImageFormatError(file, 'toc', 'must be an array of tensor entries', { value: raw.toc });
  return raw as unknown as ImageHeader;
}

/** The tensors an image of this kind holds for a variant, by name (model.ts modelTensors and writableTensors). */
export function imageLayout(g: Geometry, variant: VariantId, kind: ImageKind): Map<string, TensorSpec> {
  const writable = writableTensors(g, variant);
  return new Map(
    modelTensors(g)
      .filter((t) => writable.has(t.name) === (kind === 'sram'))
      .map((t) => [t.name, t]),
  );
}

/**
 * Check the table of contents against the spec's layout for the header's geometry, variant and
 * kind: every entry well formed (`toc[i].shape` names a bad field), every tensor of the layout
 * present exactly once with the spec's dtype and shape and nothing else, each tensor 8-byte
 * aligned inside the data section of `dataBytes` bytes, no two overlapping, and no bytes after the last.
 */
function checkToc(header: ImageHeader, dataBytes: number, file: string): void {
  const { geometry: g, variant, kind } = header;
  const layout = imageLayout(g, variant, kind);
  const other = imageLayout(g, variant, kind === 'rom' ? 'sram' : 'rom');
  const where = `a ${variant} ${kind.toUpperCase()} image`;
  const seen = new Map<string, number>();
  const entries = header.toc as unknown[];
  entries.forEach((raw, i) => {
    const f = `toc[${i}]`;
    if (!isObject(raw)) throw new ImageFormatError(file, f, 'must be an object with name, dtype, shape, offset and bytes', { value: raw });
    refuseUnknownFields(raw, TOC_FIELDS, `${f}.`, file);
    const { name, dtype, shape, offset, bytes } = raw;
    if (typeof name !== 'string') throw new ImageFormatError(file, `${f}.name`, 'must be a string', { value: name });
    const spec = layout.get(name);
    if (!spec) {
      const problem = other.has(name)
        ? `tensor "${name}" belongs in the other image of the variant, not in ${where}`
        : `tensor "${name}" is not a tensor of ${where}`;
      throw new ImageFormatError(file, `${f}.name`, problem, {
        hint: `the ${layout.size} tensors of ${where} are listed by rtl-model/spec/model.ts modelTensors and writableTensors`,
      });
    }
    const first = seen.get(name);
    if (first !== undefined) throw new ImageFormatError(file, `${f}.name`, `tensor "${name}" appears twice (also toc[${first}])`);
    seen.set(name, i);
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BITS, dtype))
      throw new ImageFormatError(file, `${f}.dtype`, 'is not a dtype', { value: dtype, allowed: Object.keys(DTYPE_BITS).join(', ') });
    if (dtype !== spec.dtype)
      throw new ImageFormatError(file, `${f}.dtype`, `tensor "${name}" is ${spec.dtype} in the spec`, { value: dtype, allowed: spec.dtype });
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new ImageFormatError(file, `${f}.shape`, 'must be an array of non-negative integers', { value: shape });
    }
    if (shape.length !== spec.shape.length || shape.some((d, k) => d !== spec.shape[k])) {
      throw new ImageFormatError(file, `${f}.shape`, `tensor "${name}" has shape ${JSON.stringify(spec.shape)} in the spec for this geometry`, {
        value: shape,
      });
    }
    if (!Number.isSafeInteger(offset) || (offset as number) < 0 || (offset as number) % 8 !== 0) {
      throw new ImageFormatError(file, `${f}.offset`, 'must be a non-negative multiple of 8 (bytes from the start of the data section)', { value: offset });
    }
    const want = storedBytes(spec.dtype, tensorElements(spec.shape));
    if (bytes !== want)
      throw new ImageFormatError(file, `${f}.bytes`, `tensor "${name}" stores ${want} bytes (${JSON.stringify(spec.shape)} of ${spec.dtype})`, {
        value: bytes,
      });
    if ((offset as number) + want > dataBytes) {
      throw new ImageFormatError(file, `${f}.offset`, `tensor "${name}" at ${offset} + ${want} bytes runs past the data section of ${dataBytes} bytes`, {
        value: offset,
      });
    }
  });
  const missing = [...layout.keys()].filter((n) => !seen.has(n));
  if (missing.length) {
    const more = missing.length > 1 ? ` (and ${missing.length - 1} more)` : '';
    throw new ImageFormatError(file, 'toc', `misses tensor "${missing[0]}"${more} of ${where}`, {
      hint: `the image lists ${seen.size} of the layout's ${layout.size} tensors: it is not ${where} (a damaged image, or a header edited to another variant)`,
    });
  }
  const toc = header.toc;
  const order = toc.map((_, i) => i).sort((a, b) => toc[a].offset - toc[b].offset);
  let end = 0;
  for (let k = 0; k < order.length; k++) {
    const e = toc[order[k]];
    if (k > 0 && e.offset < end) {
      const prev = toc[order[k - 1]];
      throw new ImageFormatError(
        file,
        `toc[${order[k]}].offset`,
        `tensor "${e.name}" at byte ${e.offset} overlaps "${prev.name}" (toc[${order[k - 1]}], bytes ${prev.offset} to ${end})`,
        { value: e.offset },
      );
    }
    end = e.offset + e.bytes;
  }
  if (align8(end) !== dataBytes) {
    throw new ImageFormatError(file, 'size', `the data section has ${dataBytes} bytes, the tensors of the table of contents end at ${end}`, {
      allowed: `${align8(end)} bytes of data`,
    });
  }
}

export interface DecodeExpect {
  kind?: ImageKind;
  geometry?: Geometry;
  /**
   * Tensors as views into `bytes` where their alignment allows (all but b24 ones, which are
   * unpacked), instead of copies: no second copy of a large image, for a caller that keeps the
   * bytes unchanged as long as it uses the image (and does not change the tensors either).
   */
  view?: boolean;
  /**
   * The SHA-256 trailer is not recomputed: only for bytes this process already decoded with the
   * check (a worker thread handed its parent's images). Every other check still runs.
   */
  checksumVerified?: boolean;
}

/**
 * Parse and check an image: magic, versions, checksum, then past the checksum the header's fields
 * (checkHeader) and the table of contents against the spec's layout for the header's geometry and
 * variant (checkToc), and the geometry the caller expects. Every problem is an ImageFormatError.
 */
export function decodeImage(bytes: Uint8Array, file: string, expect: DecodeExpect = {}): Image {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < PREFIX_BYTES + HASH_BYTES) throw new ImageFormatError(file, 'size', `${buf.length} bytes is too short for an image`);
  const magic = buf.toString('latin1', 0, 8);
  const kind: ImageKind | null = magic === ROM_MAGIC ? 'rom' : magic === SRAM_MAGIC ? 'sram' : null;
  if (!kind) throw new ImageFormatError(file, 'magic', `${JSON.stringify(magic)} is not ${ROM_MAGIC} or ${SRAM_MAGIC}; not a ROM/SRAM image`);
  if (expect.kind && kind !== expect.kind)
    throw new ImageFormatError(file, 'magic', `this is a ${kind.toUpperCase()} image, expected a ${expect.kind.toUpperCase()} image`);
  const fmt = buf.readUInt32LE(8);
  if (fmt !== IMAGE_FORMAT_VERSION) throw new ImageFormatError(file, 'format version', `${fmt}, this tool reads version ${IMAGE_FORMAT_VERSION}`);
  const spec = buf.readUInt32LE(12);
  if (spec !== SPEC_VERSION)
    throw new ImageFormatError(file, 'spec version', `${spec}, this tool implements integer spec version ${SPEC_VERSION}; re-export the image`);
  const got = buf.subarray(buf.length - HASH_BYTES).toString('hex');
  const want = expect.checksumVerified
    ? got
    : createHash('sha256')
        .update(buf.subarray(0, buf.length - HASH_BYTES))
        .digest('hex');
  if (want !== got)
    throw new ImageFormatError(
      file,
      'checksum',
      `stored sha256 ${got.slice(0, 16)}... does not match the contents (${want.slice(0, 16)}...): the file is corrupt`,
    );
  const hlen = buf.readUInt32LE(16);
  if (PREFIX_BYTES + hlen > buf.length - HASH_BYTES) throw new ImageFormatError(file, 'header length', `${hlen} runs past the end of the file`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + hlen));
  } catch (e) {
    throw new ImageFormatError(file, 'header', `not valid JSON (${(e as Error).message})`);
  }
  const header = checkHeader(parsed, kind, file);
  if (expect.geometry) {
    for (const k of Object.keys(expect.geometry) as (keyof Geometry)[]) {
      if (header.geometry[k] !== expect.geometry[k]) {
        throw new ImageFormatError(file, `geometry.${k}`, `image has ${header.geometry[k]}, the config expects ${expect.geometry[k]}`);
      }
    }
  }
  const dataStart = align8(PREFIX_BYTES + hlen);
  const dataEnd = buf.length - HASH_BYTES;
  checkToc(header, dataEnd - dataStart, file);
  const tensors = new Map<string, ImageTensor>();
  for (const e of header.toc) {
    const n = tensorElements(e.shape);
    const base = dataStart + e.offset;
    const at = bytes.byteOffset + base;
    if (expect.view && e.dtype !== 'b24' && at % (DTYPE_BITS[e.dtype] / 8) === 0) {
      const data = viewArray(e.dtype, bytes.buffer, at, n);
      tensors.set(e.name, { name: e.name, dtype: e.dtype, shape: e.shape, data });
      continue;
    }
    const data = dtypeArray(e.dtype, n);
    if (e.dtype === 'b24') {
      // 24-bit two's complement, little-endian (as readIntLE(o, 3)): the top byte's sign extended by << 24 >> 8
      for (let j = 0, o = base; j < n; j++, o += 3) data[j] = ((buf[o + 2] << 24) >> 8) | (buf[o + 1] << 8) | buf[o];
    } else {
      new Uint8Array(data.buffer).set(buf.subarray(base, base + e.bytes));
    }
    tensors.set(e.name, { name: e.name, dtype: e.dtype, shape: e.shape, data });
  }
  return { header, tensors, sha256: got };
}

/** A typed array of n elements of dtype (not b24) over buffer from byte offset `at`. */
function viewArray(dtype: Exclude<IntDType, 'b24'>, buffer: ArrayBufferLike, at: number, n: number): TensorData {
  switch (dtype) {
    case 'i8':
      return new Int8Array(buffer, at, n);
    case 'u8':
      return new Uint8Array(buffer, at, n);
    case 'i16':
      return new Int16Array(buffer, at, n);
    case 'i32':
      return new Int32Array(buffer, at, n);
  }
}

/**
 * An image's identity: its stored SHA-256 checksum (of every byte before it), as recorded in an
 * SRAM image's romSha256. Read from the trailer; decodeImage has verified it.
 */
export function imageSha256(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + bytes.byteLength - HASH_BYTES, HASH_BYTES).toString('hex');
}
