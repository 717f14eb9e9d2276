/**
 * Test helpers: make ROM/SRAM images of the spec's layout without the exporter, and edit an
 * image's header JSON (its table of contents included) the way a hand-edited or forged file would,
 * re-computing the checksum so that the edit gets past it and the checks behind it are what is tested.
 */
import { createHash } from 'node:crypto';
import {
  dtypeArray,
  encodeImage,
  imageLayout,
  tensorElements,
  type Geometry,
  type ImageHeader,
  type ImageKind,
  type ImageTensor,
  type IntDType,
  type VariantId,
} from '../../rtl-model/spec/index.js';

const PREFIX_BYTES = 20;
const HASH_BYTES = 32;
const align8 = (n: number): number => Math.ceil(n / 8) * 8;

/** The range of values each dtype holds (b24: 24-bit two's complement). */
export const DTYPE_RANGE: Record<IntDType, [number, number]> = {
  i8: [-128, 127],
  u8: [0, 255],
  i16: [-32768, 32767],
  i32: [-(2 ** 31), 2 ** 31 - 1],
  b24: [-(2 ** 23), 2 ** 23 - 1],
};

/** Every tensor of an image of the layout, element j of each set to value(dtype, j). */
export function layoutTensors(g: Geometry, variant: VariantId, kind: ImageKind, value: (dtype: IntDType, j: number) => number): ImageTensor[] {
  return [...imageLayout(g, variant, kind).values()].map((t) => {
    const data = dtypeArray(t.dtype, tensorElements(t.shape));
    for (let j = 0; j < data.length; j++) data[j] = value(t.dtype, j);
    return { name: t.name, dtype: t.dtype, shape: t.shape, data };
  });
}

/** A valid image of the layout: both ends of each dtype's range, then a ramp. */
export function layoutImage(g: Geometry, variant: VariantId, kind: ImageKind, romSha256 = kind === 'sram' ? 'ab'.repeat(32) : undefined): Uint8Array {
  const value = (dtype: IntDType, j: number): number => {
    const [lo, hi] = DTYPE_RANGE[dtype];
    return j === 0 ? lo : j === 1 ? hi : lo + (j % (hi - lo + 1));
  };
  return encodeImage(kind, g, variant, layoutTensors(g, variant, kind, value), { note: 'test' }, romSha256);
}

/** The header JSON of an image, parsed (no checks). */
export function readHeader(bytes: Uint8Array): ImageHeader {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return JSON.parse(buf.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + buf.readUInt32LE(16))) as ImageHeader;
}

/**
 * The image with its header JSON replaced by `edit(header)`'s result (or the header `edit` changed
 * in place), the data section kept byte for byte, and a fresh checksum.
 */
export function editImageHeader(bytes: Uint8Array, edit: (h: ImageHeader & Record<string, unknown>) => unknown): Uint8Array {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = buf.readUInt32LE(16);
  const header = readHeader(bytes) as ImageHeader & Record<string, unknown>;
  const edited = edit(header);
  const json = Buffer.from(JSON.stringify(edited === undefined ? header : edited), 'utf8');
  const data = buf.subarray(align8(PREFIX_BYTES + hlen), buf.length - HASH_BYTES);
  const dataStart = align8(PREFIX_BYTES + json.length);
  const out = Buffer.alloc(dataStart + data.length + HASH_BYTES);
  buf.copy(out, 0, 0, 16);
  out.writeUInt32LE(json.length, 16);
  json.copy(out, PREFIX_BYTES);
  data.copy(out, dataStart);
  createHash('sha256')
    .update(out.subarray(0, out.length - HASH_BYTES))
    .digest()
    .copy(out, out.length - HASH_BYTES);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** The image with `extra` zero bytes appended to its data section, and a fresh checksum. */
export function padImageData(bytes: Uint8Array, extra: number): Uint8Array {
  const out = Buffer.alloc(bytes.length + extra);
  out.set(bytes.subarray(0, bytes.length - HASH_BYTES));
  createHash('sha256')
    .update(out.subarray(0, out.length - HASH_BYTES))
    .digest()
    .copy(out, out.length - HASH_BYTES);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
