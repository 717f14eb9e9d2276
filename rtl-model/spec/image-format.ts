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
import { SPEC_VERSION, BIAS_MIN, BIAS_MAX } from './arith.js';
import { DTYPE_BITS, type Geometry, type IntDType, type VariantId, tensorElements } from './model.js';

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

export class ImageFormatError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    message: string,
  ) {
    super(`${file}: ${field}: ${message}`);
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
  const toc: TocEntry[] = [];
  let off = 0;
  for (const t of tensors) {
    const n = tensorElements(t.shape);
    if (t.data.length !== n) throw new Error(`tensor ${t.name}: ${t.data.length} elements, shape ${JSON.stringify(t.shape)} needs ${n}`);
    const bytes = storedBytes(t.dtype, n);
    toc.push({ name: t.name, dtype: t.dtype, shape: t.shape, offset: off, bytes });
    off = align8(off + bytes);
  }
  const header: ImageHeader = { kind, geometry, variant, ...(romSha256 ? { romSha256 } : {}), meta, toc };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const dataStart = align8(PREFIX_BYTES + headerBytes.length);
  const total = dataStart + off + HASH_BYTES;
  const buf = Buffer.alloc(total);
  buf.write(kind === 'rom' ? ROM_MAGIC : SRAM_MAGIC, 0, 'ascii');
  buf.writeUInt32LE(IMAGE_FORMAT_VERSION, 8);
  buf.writeUInt32LE(SPEC_VERSION, 12);
  buf.writeUInt32LE(headerBytes.length, 16);
  headerBytes.copy(buf, PREFIX_BYTES);
  tensors.forEach((t, i) => {
    const base = dataStart + toc[i].offset;
    if (t.dtype === 'b24') {
      for (let j = 0; j < t.data.length; j++) {
        const v = t.data[j];
        if (v < BIAS_MIN || v > BIAS_MAX) throw new Error(`tensor ${t.name}[${j}] = ${v} is outside the 24-bit bias range`);
        buf.writeIntLE(v, base + 3 * j, 3);
      }
    } else {
      // Typed arrays are stored as the host lays them out; every supported host is little-endian.
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(buf, base);
    }
  });
  const hash = createHash('sha256').update(buf.subarray(0, total - HASH_BYTES)).digest();
  hash.copy(buf, total - HASH_BYTES);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export interface DecodeExpect {
  kind?: ImageKind;
  geometry?: Geometry;
}

/** Parse and check an image: magic, versions, checksum, table of contents, and optional geometry. */
export function decodeImage(bytes: Uint8Array, file: string, expect: DecodeExpect = {}): Image {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < PREFIX_BYTES + HASH_BYTES) throw new ImageFormatError(file, 'size', `${buf.length} bytes is too short for an image`);
  const magic = buf.toString('latin1', 0, 8);
  const kind: ImageKind | null = magic === ROM_MAGIC ? 'rom' : magic === SRAM_MAGIC ? 'sram' : null;
  if (!kind) throw new ImageFormatError(file, 'magic', `${JSON.stringify(magic)} is not ${ROM_MAGIC} or ${SRAM_MAGIC}; not a ROM/SRAM image`);
  if (expect.kind && kind !== expect.kind) throw new ImageFormatError(file, 'magic', `this is a ${kind.toUpperCase()} image, expected a ${expect.kind.toUpperCase()} image`);
  const fmt = buf.readUInt32LE(8);
  if (fmt !== IMAGE_FORMAT_VERSION) throw new ImageFormatError(file, 'format version', `${fmt}, this tool reads version ${IMAGE_FORMAT_VERSION}`);
  const spec = buf.readUInt32LE(12);
  if (spec !== SPEC_VERSION) throw new ImageFormatError(file, 'spec version', `${spec}, this tool implements integer spec version ${SPEC_VERSION}; re-export the image`);
  const want = createHash('sha256').update(buf.subarray(0, buf.length - HASH_BYTES)).digest('hex');
  const got = buf.subarray(buf.length - HASH_BYTES).toString('hex');
  if (want !== got) throw new ImageFormatError(file, 'checksum', `stored sha256 ${got.slice(0, 16)}... does not match the contents (${want.slice(0, 16)}...): the file is corrupt`);
  const hlen = buf.readUInt32LE(16);
  if (PREFIX_BYTES + hlen > buf.length - HASH_BYTES) throw new ImageFormatError(file, 'header length', `${hlen} runs past the end of the file`);
  let header: ImageHeader;
  try {
    header = JSON.parse(buf.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + hlen)) as ImageHeader;
  } catch (e) {
    throw new ImageFormatError(file, 'header', `not valid JSON (${(e as Error).message})`);
  }
  if (header.kind !== kind) throw new ImageFormatError(file, 'header.kind', `${header.kind} disagrees with the magic (${kind})`);
  if (expect.geometry) {
    for (const k of Object.keys(expect.geometry) as (keyof Geometry)[]) {
      if (header.geometry?.[k] !== expect.geometry[k]) {
        throw new ImageFormatError(file, `geometry.${k}`, `image has ${header.geometry?.[k]}, the config expects ${expect.geometry[k]}`);
      }
    }
  }
  const dataStart = align8(PREFIX_BYTES + hlen);
  const dataEnd = buf.length - HASH_BYTES;
  const tensors = new Map<string, ImageTensor>();
  for (const e of header.toc ?? []) {
    const n = tensorElements(e.shape);
    if (!(e.dtype in DTYPE_BITS)) throw new ImageFormatError(file, `toc.${e.name}.dtype`, `${e.dtype} is not one of ${Object.keys(DTYPE_BITS).join(', ')}`);
    if (e.bytes !== storedBytes(e.dtype, n)) throw new ImageFormatError(file, `toc.${e.name}.bytes`, `${e.bytes} does not match shape ${JSON.stringify(e.shape)} of ${e.dtype}`);
    const base = dataStart + e.offset;
    if (e.offset < 0 || base + e.bytes > dataEnd) throw new ImageFormatError(file, `toc.${e.name}.offset`, `${e.offset} + ${e.bytes} bytes runs past the data section`);
    const data = dtypeArray(e.dtype, n);
    if (e.dtype === 'b24') {
      for (let j = 0; j < n; j++) data[j] = buf.readIntLE(base + 3 * j, 3);
    } else {
      new Uint8Array(data.buffer).set(buf.subarray(base, base + e.bytes));
    }
    if (tensors.has(e.name)) throw new ImageFormatError(file, `toc.${e.name}`, 'appears twice');
    tensors.set(e.name, { name: e.name, dtype: e.dtype, shape: e.shape, data });
  }
  return { header, tensors, sha256: got };
}

/**
 * An image's identity: its stored SHA-256 checksum (of every byte before it), as recorded in an
 * SRAM image's romSha256. Read from the trailer; decodeImage has verified it.
 */
export function imageSha256(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + bytes.byteLength - HASH_BYTES, HASH_BYTES).toString('hex');
}
