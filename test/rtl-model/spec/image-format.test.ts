import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import {
  decodeImage,
  encodeImage,
  imageLayout,
  ImageFormatError,
  IMAGE_FORMAT_VERSION,
  SPEC_VERSION,
  VARIANTS,
  type Geometry,
  type ImageHeader,
  type ImageKind,
  type VariantId,
} from '../../../rtl-model/spec/index.js';
import { InputError } from '../../../formats/errors.js';
import { describeFailure } from '../../../formats/cli.js';
import { DTYPE_RANGE, editImageHeader, layoutImage, layoutTensors, padImageData, readHeader } from '../image-edit.js';

const g: Geometry = { layers: 1, hidden: 4, heads: 2, ffn: 8, seqLen: 3, vocab: 10, maxPositions: 8, typeVocab: 2, numLabels: 2 };

/** Index of a tensor in an image's table of contents. */
const tocIndex = (bytes: Uint8Array, name: string): number => readHeader(bytes).toc.findIndex((e) => e.name === name);

describe('ROM/SRAM image format', () => {
  let bytes: Uint8Array;
  beforeAll(() => {
    bytes = layoutImage(g, 'bitfit', 'rom');
  });

  it('round-trips every dtype losslessly, including both ends of each range', () => {
    const img = decodeImage(bytes, 'test.bin', { kind: 'rom', geometry: g });
    const want = layoutTensors(g, 'bitfit', 'rom', (dtype, j) =>
      j === 0 ? DTYPE_RANGE[dtype][0] : j === 1 ? DTYPE_RANGE[dtype][1] : DTYPE_RANGE[dtype][0] + (j % (DTYPE_RANGE[dtype][1] - DTYPE_RANGE[dtype][0] + 1)),
    );
    expect(new Set(want.map((t) => t.dtype))).toEqual(new Set(['i8', 'u8', 'i16', 'i32', 'b24']));
    expect(img.tensors.size).toBe(want.length);
    for (const t of want) {
      const got = img.tensors.get(t.name)!;
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect(Array.from(got.data)).toEqual(Array.from(t.data));
    }
    expect(img.header.meta).toEqual({ note: 'test' });
    expect(img.header.geometry).toEqual(g);
  });

  it('decodes a valid ROM and SRAM image of every variant', () => {
    for (const variant of VARIANTS) {
      for (const kind of ['rom', 'sram'] as const) {
        const img = decodeImage(layoutImage(g, variant, kind), `${variant}.${kind}`, { kind, geometry: g });
        expect([...img.tensors.keys()].sort()).toEqual([...imageLayout(g, variant, kind).keys()].sort());
        expect(img.header.variant).toBe(variant);
      }
    }
  });

  it('round-trips random tensors', () => {
    const b24 = [...imageLayout(g, 'frozen', 'sram').values()].filter((t) => t.dtype === 'b24').reduce((n, t) => n + t.shape[0], 0);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -(2 ** 23), max: 2 ** 23 - 1 }), { minLength: b24, maxLength: b24 }), fc.integer(), (b, salt) => {
        let k = 0;
        const ts = layoutTensors(g, 'frozen', 'sram', (dtype, j) => (dtype === 'b24' ? b[k++] : ((j + salt) & 0x7f) - 64));
        const img = decodeImage(encodeImage('sram', g, 'frozen', ts, {}, 'ab'.repeat(32)), 'x');
        for (const t of ts) expect(Array.from(img.tensors.get(t.name)!.data)).toEqual(Array.from(t.data));
        expect(img.header.romSha256).toBe('ab'.repeat(32));
      }),
    );
  });

  it('detects a change to any single byte', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (pos, x) => {
        const bad = Uint8Array.from(bytes);
        bad[pos] ^= x;
        expect(() => decodeImage(bad, 'bad.bin')).toThrow(ImageFormatError);
      }),
      { numRuns: 300 },
    );
  });

  it('skips only the checksum for bytes already checked (checksumVerified), and still checks the rest', () => {
    const bad = Uint8Array.from(bytes);
    bad[bad.length - 1] ^= 1; // the trailer no longer matches
    expect(() => decodeImage(bad, 'bad.bin')).toThrow(/checksum: stored sha256/);
    expect(decodeImage(bad, 'bad.bin', { checksumVerified: true }).header.kind).toBe(decodeImage(bytes, 'ok.bin').header.kind);
    const badMagic = Uint8Array.from(bytes);
    badMagic[0] = 'X'.charCodeAt(0);
    expect(() => decodeImage(badMagic, 'bad.bin', { checksumVerified: true })).toThrow(/magic/);
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

  it('is an InputError, so a CLI exits 2 with its message and no stack', () => {
    const e = (() => {
      try {
        decodeImage(bytes.subarray(0, 10), 'f.bin');
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(ImageFormatError);
    expect(e).toBeInstanceOf(InputError);
    expect(e).toMatchObject({ name: 'ImageFormatError', file: 'f.bin', field: 'size' });
    const f = describeFailure('sim/run.ts', e);
    expect(f.code).toBe(2);
    expect(f.message).toMatch(/^error: f\.bin: size: /);
  });

  it('refuses to encode a bias outside 24 bits, a shape that disagrees with the data, or a ROM binding on the wrong kind', () => {
    expect(() => encodeImage('rom', g, 'bitfit', [{ name: 'b', dtype: 'b24', shape: [1], data: Int32Array.from([2 ** 23]) }], {})).toThrow(/24-bit/);
    expect(() => encodeImage('rom', g, 'bitfit', [{ name: 'w', dtype: 'i8', shape: [3], data: new Int8Array(2) }], {})).toThrow(/shape/);
    expect(() => encodeImage('sram', g, 'bitfit', [], {})).toThrow(/SRAM image needs romSha256/);
    expect(() => encodeImage('rom', g, 'bitfit', [], {}, 'ab'.repeat(32))).toThrow(/ROM image takes no romSha256/);
  });
});

describe('an image edited and re-checksummed is refused past its checksum', () => {
  const rom = layoutImage(g, 'bitfit', 'rom');
  const sram = layoutImage(g, 'bitfit', 'sram');
  const bias = 'bert.encoder.layer.0.attention.self.query.bias';
  const weight = 'bert.encoder.layer.0.attention.self.query.weight';

  /** decodeImage's error for an edited image: an ImageFormatError whose message starts with `file: field:`. */
  function refusal(image: Uint8Array, file: string): ImageFormatError {
    try {
      decodeImage(image, file);
    } catch (e) {
      expect(e).toBeInstanceOf(ImageFormatError);
      const err = e as ImageFormatError;
      expect(err.message.startsWith(`${err.file}: ${err.field}: `)).toBe(true);
      return err;
    }
    throw new Error(`${file} was accepted`);
  }

  /** The edited image is refused with this field, and its message matches `problem`. */
  function expectRefused(kind: ImageKind, edit: (h: ImageHeader & Record<string, unknown>) => unknown, field: string, problem: RegExp): ImageFormatError {
    const err = refusal(editImageHeader(kind === 'rom' ? rom : sram, edit), `edited.${kind}`);
    expect(err.file).toBe(`edited.${kind}`);
    expect(err.field).toBe(field);
    expect(err.message).toMatch(problem);
    return err;
  }

  it('accepts the unedited images, and an edit that changes nothing', () => {
    expect(
      decodeImage(
        editImageHeader(rom, () => undefined),
        'same.rom',
      ).tensors.size,
    ).toBe(imageLayout(g, 'bitfit', 'rom').size);
    expect(decodeImage(sram, 'sram').tensors.size).toBe(imageLayout(g, 'bitfit', 'sram').size);
  });

  it('a dropped tensor', () => {
    const i = tocIndex(rom, weight);
    expectRefused('rom', (h) => void h.toc.splice(i, 1), 'toc', new RegExp(`misses tensor "${weight}" of a bitfit ROM image`));
  });

  it('shape: null, a shape that is not an array, a shape with a fraction, and a shape of the wrong size', () => {
    expectRefused(
      'rom',
      (h) => void ((h.toc[3] as unknown as Record<string, unknown>).shape = null),
      'toc[3].shape',
      /must be an array of non-negative integers \(got null\)/,
    );
    expectRefused('rom', (h) => void ((h.toc[3] as unknown as Record<string, unknown>).shape = '4,4'), 'toc[3].shape', /must be an array/);
    expectRefused('rom', (h) => void (h.toc[3].shape = [1.5]), 'toc[3].shape', /must be an array of non-negative integers/);
    const i = tocIndex(rom, weight);
    expectRefused('rom', (h) => void (h.toc[i].shape = [2, 8]), `toc[${i}].shape`, /has shape \[4,4\] in the spec for this geometry \(got \[2,8\]\)/);
  });

  it('a renamed tensor, and a tensor moved to the image it does not belong in', () => {
    const i = tocIndex(rom, weight);
    expectRefused('rom', (h) => void (h.toc[i].name = `${weight}.x`), `toc[${i}].name`, /is not a tensor of a bitfit ROM image/);
    const j = tocIndex(rom, 'bert.encoder.layer.0.attention.self.query.rq.mult');
    expectRefused('rom', (h) => void (h.toc[j].name = bias), `toc[${j}].name`, /belongs in the other image of the variant, not in a bitfit ROM image/);
  });

  it('a duplicate tensor', () => {
    expectRefused('rom', (h) => void h.toc.push({ ...h.toc[3] }), `toc[${readHeader(rom).toc.length}].name`, /appears twice \(also toc\[3\]\)/);
  });

  it('overlapping offsets', () => {
    expectRefused('rom', (h) => void (h.toc[4].offset = h.toc[3].offset), 'toc[4].offset', /overlaps .* \(toc\[3\], bytes/);
  });

  it('an offset out of bounds, negative, unaligned or not an integer', () => {
    expectRefused('rom', (h) => void (h.toc[3].offset = 1 << 30), 'toc[3].offset', /runs past the data section/);
    expectRefused('rom', (h) => void (h.toc[3].offset = -8), 'toc[3].offset', /non-negative multiple of 8/);
    expectRefused('rom', (h) => void (h.toc[3].offset += 1), 'toc[3].offset', /multiple of 8/);
    expectRefused('rom', (h) => void ((h.toc[3] as unknown as Record<string, unknown>).offset = '0'), 'toc[3].offset', /got "0"/);
    expectRefused('rom', (h) => void (h.toc[3].offset = 8.5), 'toc[3].offset', /got 8\.5/);
  });

  it('a byte length that disagrees with the spec, and bytes after the last tensor', () => {
    expectRefused('rom', (h) => void (h.toc[3].bytes += 1), 'toc[3].bytes', /stores \d+ bytes/);
    const err = refusal(padImageData(rom, 8), 'padded.rom');
    expect(err.field).toBe('size');
    expect(err.message).toMatch(/the data section has \d+ bytes, the tensors of the table of contents end at \d+/);
  });

  it('a wrong dtype, and a dtype that does not exist', () => {
    const i = tocIndex(rom, weight);
    expectRefused('rom', (h) => void (h.toc[i].dtype = 'i32'), `toc[${i}].dtype`, /is i8 in the spec \(got "i32"; allowed: i8\)/);
    expectRefused(
      'rom',
      (h) => void ((h.toc[i] as unknown as Record<string, unknown>).dtype = 'f32'),
      `toc[${i}].dtype`,
      /is not a dtype \(got "f32"; allowed: i8, u8, i16, i32, b24\)/,
    );
  });

  it('a TOC entry that is not an object, a TOC that is not an array, an entry with a stray field', () => {
    expectRefused('rom', (h) => void ((h.toc as unknown[])[2] = null), 'toc[2]', /must be an object/);
    expectRefused('rom', (h) => void ((h as Record<string, unknown>).toc = { 0: h.toc[0] }), 'toc', /must be an array/);
    expectRefused('rom', (h) => void ((h.toc[1] as unknown as Record<string, unknown>).scale = 2), 'toc[1].scale', /is not a field of this format/);
    expectRefused('rom', (h) => void ((h.toc[1] as unknown as Record<string, unknown>).name = 7), 'toc[1].name', /must be a string \(got 7\)/);
  });

  it('a ROM variant "nope"', () => {
    expectRefused(
      'rom',
      (h) => void ((h as Record<string, unknown>).variant = 'nope'),
      'variant',
      /is not a variant with an image layout \(got "nope"; allowed: bitfit, /,
    );
  });

  it('an SRAM header re-checksummed to say full-ft over bitfit data', () => {
    const err = expectRefused('sram', (h) => void (h.variant = 'full-ft' as VariantId), 'toc', /misses tensor ".*" \(and \d+ more\) of a full-ft SRAM image/);
    expect(err.message).toMatch(/hint: the image lists \d+ of the layout's \d+ tensors/);
  });

  it('a ROM header re-checksummed to say another variant: its TOC misses tensors, or holds some that variant keeps in SRAM', () => {
    expectRefused('rom', (h) => void (h.variant = 'bitfit-bq'), 'toc', /misses tensor ".*" .*of a bitfit-bq ROM image/);
    // frozen keeps every encoder bias in ROM: the bitfit ROM lacks them
    expectRefused('rom', (h) => void (h.variant = 'frozen'), 'toc', /misses tensor "bert\.encoder\.layer\.0\.attention\.self\.query\.bias"/);
    // and a frozen ROM said to be bitfit holds biases bitfit keeps in SRAM
    const frozen = layoutImage(g, 'frozen', 'rom');
    const i = tocIndex(frozen, bias);
    const err = refusal(
      editImageHeader(frozen, (h) => void (h.variant = 'bitfit')),
      'frozen.rom',
    );
    expect(err.field).toBe(`toc[${i}].name`);
    expect(err.message).toMatch(/belongs in the other image of the variant, not in a bitfit ROM image/);
  });

  it('a geometry that disagrees with the TOC, is incomplete, or is outside the spec', () => {
    expectRefused(
      'rom',
      (h) => void (h.geometry.hidden = 8),
      `toc[${tocIndex(rom, 'bert.embeddings.word_embeddings.weight')}].shape`,
      /has shape \[10,8\] in the spec/,
    );
    expectRefused('rom', (h) => void delete (h.geometry as Partial<Geometry>).ffn, 'geometry.ffn', /must be an integer \(got undefined\)/);
    expectRefused('rom', (h) => void (h.geometry.heads = 3), 'geometry.heads', /is outside the spec: heads = 3 must divide hidden = 4/);
    expectRefused('rom', (h) => void (h.geometry.layers = 0), 'geometry.layers', /must be an integer in \[1, 1024\]/);
    expectRefused('rom', (h) => void ((h.geometry as unknown as Record<string, unknown>).depth = 1), 'geometry.depth', /is not a field of this format/);
    expectRefused('rom', (h) => void ((h as Record<string, unknown>).geometry = [1, 2]), 'geometry', /must be an object/);
  });

  it('a kind that disagrees with the magic, a stray header field, meta that is not an object, a bad ROM binding', () => {
    expectRefused('rom', (h) => void ((h as Record<string, unknown>).kind = 'sram'), 'kind', /disagrees with the magic, which says rom/);
    expectRefused(
      'rom',
      (h) => void ((h as Record<string, unknown>).extra = 1),
      'extra',
      /is not a field of this format \(allowed: kind, geometry, variant, romSha256, meta, toc\)/,
    );
    expectRefused('rom', (h) => void ((h as Record<string, unknown>).meta = null), 'meta', /must be an object/);
    expectRefused('rom', (h) => void (h.romSha256 = 'ab'.repeat(32)), 'romSha256', /a ROM image names no other image/);
    expectRefused('sram', (h) => void delete h.romSha256, 'romSha256', /must name the ROM image it was exported against/);
    expectRefused('sram', (h) => void (h.romSha256 = 'XY'), 'romSha256', /got "XY"; allowed: a sha256/);
    expectRefused('rom', () => [], 'header', /must be a JSON object/);
  });

  it('never throws anything but ImageFormatError for a TOC of random JSON', () => {
    const entry = fc.oneof(
      fc.constant(null),
      fc.anything(),
      fc.record({ name: fc.string(), dtype: fc.string(), shape: fc.anything(), offset: fc.anything(), bytes: fc.anything() }),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 4 }), fc.nat(5), (junk, at) => {
        const bad = editImageHeader(rom, (h) => void (h.toc as unknown[]).splice(at, 1, ...junk));
        expect(() => decodeImage(bad, 'junk.rom')).toThrow(ImageFormatError);
      }),
      { numRuns: 200 },
    );
  });
});
