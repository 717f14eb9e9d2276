import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { decodeImage, encodeImage, ImageFormatError, IMAGE_FORMAT_VERSION, SPEC_VERSION, type Geometry, type ImageTensor } from '../../../rtl-model/spec/index.js';

const g: Geometry = { layers: 1, hidden: 4, heads: 2, ffn: 8, seqLen: 3, vocab: 10, maxPositions: 8, typeVocab: 2, numLabels: 2 };

function tensors(): ImageTensor[] {
  return [
    { name: 'w', dtype: 'i8', shape: [2, 3], data: Int8Array.from([-128, -1, 0, 1, 127, 5]) },
    { name: 'u', dtype: 'u8', shape: [3], data: Uint8Array.from([0, 128, 255]) },
    { name: 'm', dtype: 'i16', shape: [2], data: Int16Array.from([-32768, 32767]) },
    { name: 'l', dtype: 'i32', shape: [3], data: Int32Array.from([-(2 ** 31), 0, 2 ** 31 - 1]) },
    { name: 'b', dtype: 'b24', shape: [4], data: Int32Array.from([-(2 ** 23), -1, 0, 2 ** 23 - 1]) },
  ];
}

describe('ROM/SRAM image format', () => {
  let bytes: Uint8Array;
  beforeAll(() => {
    bytes = encodeImage('rom', g, 'bitfit', tensors(), { note: 'test' });
  });

  it('round-trips every dtype losslessly, including both ends of each range', () => {
    const img = decodeImage(bytes, 'test.bin', { kind: 'rom', geometry: g });
    for (const t of tensors()) {
      const got = img.tensors.get(t.name)!;
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect(Array.from(got.data)).toEqual(Array.from(t.data));
    }
    expect(img.header.meta).toEqual({ note: 'test' });
    expect(img.header.geometry).toEqual(g);
  });

  it('round-trips random tensors', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: -(2 ** 23), max: 2 ** 23 - 1 }), { minLength: 1, maxLength: 50 }), fc.array(fc.integer({ min: -128, max: 127 }), { minLength: 1, maxLength: 50 }), (b, w) => {
      const ts: ImageTensor[] = [
        { name: 'b', dtype: 'b24', shape: [b.length], data: Int32Array.from(b) },
        { name: 'w', dtype: 'i8', shape: [w.length], data: Int8Array.from(w) },
      ];
      const img = decodeImage(encodeImage('sram', g, 'frozen', ts, {}, 'ab'.repeat(32)), 'x');
      expect(Array.from(img.tensors.get('b')!.data)).toEqual(b);
      expect(Array.from(img.tensors.get('w')!.data)).toEqual(w);
      expect(img.header.romSha256).toBe('ab'.repeat(32));
    }));
  });

  it('detects a change to any single byte', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (pos, x) => {
      const bad = Uint8Array.from(bytes);
      bad[pos] ^= x;
      expect(() => decodeImage(bad, 'bad.bin')).toThrow(ImageFormatError);
    }), { numRuns: 300 });
  });

  it('names the field of each kind of bad file', () => {
    const bad = Uint8Array.from(bytes);
    bad[0] = 'X'.charCodeAt(0);
    expect(() => decodeImage(bad, 'f.bin')).toThrow(/f\.bin: magic: "XFITROM1" is not/);
    const ver = Uint8Array.from(bytes);
    new DataView(ver.buffer).setUint32(12, SPEC_VERSION + 1, true);
    expect(() => decodeImage(ver, 'f.bin')).toThrow(/spec version: 2, this tool implements integer spec version 1/);
    const fmt = Uint8Array.from(bytes);
    new DataView(fmt.buffer).setUint32(8, IMAGE_FORMAT_VERSION + 7, true);
    expect(() => decodeImage(fmt, 'f.bin')).toThrow(/format version/);
    expect(() => decodeImage(bytes.subarray(0, 10), 'f.bin')).toThrow(/size: 10 bytes is too short/);
    expect(() => decodeImage(bytes, 'f.bin', { kind: 'sram' })).toThrow(/this is a ROM image, expected a SRAM image/);
    expect(() => decodeImage(bytes, 'f.bin', { geometry: { ...g, hidden: 8 } })).toThrow(/geometry.hidden: image has 4, the config expects 8/);
  });

  it('refuses to encode a bias outside 24 bits or a shape that disagrees with the data', () => {
    expect(() => encodeImage('rom', g, 'bitfit', [{ name: 'b', dtype: 'b24', shape: [1], data: Int32Array.from([2 ** 23]) }], {})).toThrow(/24-bit/);
    expect(() => encodeImage('rom', g, 'bitfit', [{ name: 'w', dtype: 'i8', shape: [3], data: new Int8Array(2) }], {})).toThrow(/shape/);
  });
});
