import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../formats/errors.js';
import { readSafetensors, writeSafetensors, type Tensor } from '../../formats/safetensors.js';
import { buildSafetensors, bytesOf, expectCheckpointError, f32FromBits, sameBytes, scratchDir } from './checkpoint-helpers.js';

const { dir, fresh, remove } = scratchDir('safetensors-test-');
afterAll(remove);

/** A hand-built safetensors file in the test directory (see buildSafetensors). */
const build = (header: object | string, data: Uint8Array | number[] = [], opts: { pad?: boolean; length?: bigint } = {}): string =>
  buildSafetensors(fresh(), header, data, opts);

/** Write, read back, and check every tensor bit-exactly (dtype, shape, bytes). */
function roundTrip(tensors: Map<string, Tensor>, metadata?: Record<string, string>): ReturnType<typeof readSafetensors> {
  const path = fresh();
  writeSafetensors(path, tensors, metadata);
  const back = readSafetensors(path);
  expect([...back.tensors.keys()].sort()).toEqual([...tensors.keys()].sort());
  for (const [name, t] of tensors) {
    const r = back.tensors.get(name)!;
    expect(r.dtype).toBe(t.dtype);
    expect(r.fileDtype).toBe(t.dtype);
    expect(r.shape).toEqual(t.shape);
    expect(r.data.constructor).toBe(t.data.constructor);
    expect(sameBytes(r.data, t.data)).toBe(true);
  }
  return back;
}

// ------------------------------------------------------------------------------------------
describe('safetensors round trip', () => {
  const F32_CORNERS = [
    0,
    -0,
    1,
    -1,
    NaN,
    Infinity,
    -Infinity,
    1.4e-45,
    -1.4e-45,
    1.1754942107e-38,
    1.1754943508222875e-38,
    3.4028234663852886e38,
    -3.4028234663852886e38,
    0.1,
    Math.PI,
  ];

  it('F32 corner values: -0, NaN, infinities, subnormals, extremes (bit-exact)', () => {
    const data = Float32Array.from(F32_CORNERS);
    // Beyond the brief: NaN payloads survive too, since the bytes are copied, never re-encoded.
    const payloads = f32FromBits([0x7fc00001, 0xffc12345, 0x7f800001, 0x00000001, 0x807fffff]);
    roundTrip(
      new Map<string, Tensor>([
        ['corners', { dtype: 'F32', shape: [data.length], data }],
        ['payloads', { dtype: 'F32', shape: [1, payloads.length], data: payloads }],
      ]),
    );
  });

  it('integer extremes of I32, I8 and U8', () => {
    roundTrip(
      new Map<string, Tensor>([
        ['i32', { dtype: 'I32', shape: [2, 3], data: Int32Array.from([-(2 ** 31), 2 ** 31 - 1, 0, -1, 1, 123456789]) }],
        ['i8', { dtype: 'I8', shape: [4], data: Int8Array.from([-128, 127, 0, -1]) }],
        ['u8', { dtype: 'U8', shape: [3], data: Uint8Array.from([0, 255, 128]) }],
      ]),
    );
  });

  it('scalars, empty tensors and zero extents', () => {
    roundTrip(
      new Map<string, Tensor>([
        ['scalar', { dtype: 'F32', shape: [], data: Float32Array.of(-0) }],
        ['empty', { dtype: 'I8', shape: [0], data: new Int8Array(0) }],
        ['zero-extent', { dtype: 'F32', shape: [3, 0, 2], data: new Float32Array(0) }],
        ['after', { dtype: 'U8', shape: [1], data: Uint8Array.of(7) }],
      ]),
    );
    roundTrip(new Map()); // no tensors at all
  });

  it('unaligned offsets: an odd-sized U8 tensor before F32 data (subarray views too)', () => {
    const backing = new Float32Array([9, 1.5, -2.25, 3]);
    const t = new Map<string, Tensor>([
      ['a', { dtype: 'U8', shape: [3], data: Uint8Array.of(1, 2, 3) }],
      ['b', { dtype: 'F32', shape: [3], data: backing.subarray(1) }],
    ]);
    roundTrip(t);
  });

  // One property per writable dtype: arbitrary shapes and values (fast-check's float32 arrays
  // include NaN, -0, subnormals and infinities).
  const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });
  const withShape = <T>(arr: (n: number) => fc.Arbitrary<T>): fc.Arbitrary<[number[], T]> =>
    shapeArb.chain((shape) => arr(shape.reduce((a, b) => a * b, 1)).map((d) => [shape, d] as [number[], T]));
  const cases: [string, fc.Arbitrary<Tensor>][] = [
    ['F32', withShape((n) => fc.float32Array({ minLength: n, maxLength: n })).map(([shape, data]) => ({ dtype: 'F32', shape, data }))],
    ['I32', withShape((n) => fc.int32Array({ minLength: n, maxLength: n })).map(([shape, data]) => ({ dtype: 'I32', shape, data }))],
    ['I8', withShape((n) => fc.int8Array({ minLength: n, maxLength: n })).map(([shape, data]) => ({ dtype: 'I8', shape, data }))],
    ['U8', withShape((n) => fc.uint8Array({ minLength: n, maxLength: n })).map(([shape, data]) => ({ dtype: 'U8', shape, data }))],
  ];
  for (const [dtype, arb] of cases) {
    it(`${dtype}: arbitrary shapes and values round-trip bit-exactly`, () => {
      fc.assert(
        fc.property(arb, (t) => void roundTrip(new Map([['t', t]]))),
        { numRuns: 50 },
      );
    });
  }

  it('mixed maps with arbitrary names and metadata round-trip, and re-writing is idempotent', () => {
    const name = fc.string({ unit: 'grapheme', maxLength: 6 }).filter((s) => s !== '__metadata__');
    const tensor = fc.oneof(...cases.map(([, a]) => a));
    const arb = fc.record({
      tensors: fc.uniqueArray(fc.tuple(name, tensor), { selector: ([n]) => n, maxLength: 5 }),
      metadata: fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 5 }), fc.string({ unit: 'grapheme', maxLength: 5 }), { maxKeys: 3 }),
    });
    fc.assert(
      fc.property(arb, ({ tensors, metadata }) => {
        const back = roundTrip(new Map(tensors), metadata);
        expect(back.metadata).toEqual(metadata);
        const a = fresh();
        const b = fresh();
        writeSafetensors(a, new Map(tensors), metadata);
        writeSafetensors(b, back.tensors, back.metadata);
        expect(sameBytes(readFileSync(a), readFileSync(b))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});

describe('safetensors metadata and determinism', () => {
  it('metadata round-trips; none or empty writes no __metadata__ entry and reads as {}', () => {
    const meta = { format: 'pt', 'ünïcode "key"': 'line\nbreak \\ and "quotes"', '0': 'numeric key' };
    const t = new Map<string, Tensor>([['x', { dtype: 'F32', shape: [1], data: Float32Array.of(1) }]]);
    expect(roundTrip(t, meta).metadata).toEqual(meta);
    for (const m of [undefined, {}]) {
      const p = fresh();
      writeSafetensors(p, t, m);
      expect(readFileSync(p).toString('latin1')).not.toContain('__metadata__');
      expect(readSafetensors(p).metadata).toEqual({});
    }
    // A null __metadata__ (as some writers emit) is "none".
    expect(readSafetensors(build({ __metadata__: null })).metadata).toEqual({});
  });

  it('matches the reference writer (safetensors 0.8) byte for byte', () => {
    // Produced by safetensors.numpy.save({u: uint8[1,2,255], i8: int8[-128], b: f32[1.5,-0],
    // i32: int32[-2], a: f32[2]}, metadata={"format": "pt"}): dtype-major order F32, I32, I8, U8,
    // then by name; 312-byte header padded with spaces.
    const header =
      '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},' +
      '"i32":{"dtype":"I32","shape":[1],"data_offsets":[12,16]},"i8":{"dtype":"I8","shape":[1],"data_offsets":[16,17]},' +
      '"u":{"dtype":"U8","shape":[3],"data_offsets":[17,20]}}       ';
    const data = '000000400000c03f00000080feffffff800102ff';
    const expected = Buffer.concat([Buffer.from('3801000000000000', 'hex'), Buffer.from(header), Buffer.from(data, 'hex')]);
    const p = fresh();
    writeSafetensors(
      p,
      new Map<string, Tensor>([
        ['u', { dtype: 'U8', shape: [3], data: Uint8Array.of(1, 2, 255) }],
        ['i8', { dtype: 'I8', shape: [1], data: Int8Array.of(-128) }],
        ['b', { dtype: 'F32', shape: [2], data: Float32Array.of(1.5, -0) }],
        ['i32', { dtype: 'I32', shape: [1], data: Int32Array.of(-2) }],
        ['a', { dtype: 'F32', shape: [1], data: Float32Array.of(2) }],
      ]),
      { format: 'pt' },
    );
    expect(readFileSync(p).equals(expected)).toBe(true);
  });

  it('same content in any insertion order gives identical bytes; header padded to 8 with spaces', () => {
    const entries: [string, Tensor][] = [
      ['bert.pooler.dense.weight', { dtype: 'F32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) }],
      ['a', { dtype: 'U8', shape: [1], data: Uint8Array.of(5) }],
      ['0', { dtype: 'I32', shape: [1], data: Int32Array.of(6) }],
      ['classifier.bias', { dtype: 'F32', shape: [3], data: Float32Array.of(7, 8, 9) }],
    ];
    const meta = { z: '1', format: 'pt', a: '2' };
    const p1 = fresh();
    const p2 = fresh();
    writeSafetensors(p1, new Map(entries), meta);
    writeSafetensors(p2, new Map([...entries].reverse()), { a: '2', format: 'pt', z: '1' });
    const b = readFileSync(p1);
    expect(b.equals(readFileSync(p2))).toBe(true);
    const n = Number(b.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = b.subarray(8, 8 + n).toString('utf8');
    expect(header).toMatch(/^\{.*\} *$/);
    expect(header.trimEnd().length).toBeGreaterThan(n - 8);
    // Header order = data order: F32 by name, then I32, then U8; integer-like names stay in place.
    const names = [...header.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1]);
    expect(names).toEqual(['bert.pooler.dense.weight', 'classifier.bias', '0', 'a']);
    expect(header.indexOf('__metadata__":{"a":"2","format":"pt","z":"1"}')).toBeGreaterThan(0);
  });

  it('writes atomically: overwrites in place, leaves no temporary files, writes nothing when the input is invalid', () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const p = join(sub, 'model.safetensors');
    writeSafetensors(p, new Map<string, Tensor>([['x', { dtype: 'I8', shape: [1], data: Int8Array.of(1) }]]));
    writeSafetensors(p, new Map<string, Tensor>([['y', { dtype: 'I8', shape: [1], data: Int8Array.of(2) }]]));
    expect([...readSafetensors(p).tensors.keys()]).toEqual(['y']);
    const bad = { dtype: 'F32', shape: [2], data: Float32Array.of(1) } as Tensor;
    expectCheckpointError(
      () => writeSafetensors(join(sub, 'bad.safetensors'), new Map([['w', bad]])),
      join(sub, 'bad.safetensors'),
      'tensors["w"].shape',
      /has 2 elements but the data has 1/,
    );
    expect(readdirSync(sub)).toEqual(['model.safetensors']);
  });

  it('a destination the file system refuses is an InputError naming it, and leaves no temporary file', () => {
    const sub = mkdtempSync(join(dir, 'refused-'));
    const t = new Map<string, Tensor>([['x', { dtype: 'I8', shape: [1], data: Int8Array.of(1) }]]);
    const taken = join(sub, 'model.safetensors');
    mkdirSync(join(taken, 'inside'), { recursive: true }); // a directory where the file should go
    const fileAsDir = join(sub, 'plain');
    writeFileSync(fileAsDir, 'not a directory');
    for (const [target, why] of [
      [taken, /a directory is in the way/],
      [join(fileAsDir, 'model.safetensors'), /cannot write/],
    ] as const) {
      let err: unknown;
      try {
        writeSafetensors(target, t);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).message).toMatch(why);
      expect((err as InputError).message).toContain(sub);
    }
    expect(readdirSync(sub).sort()).toEqual(['model.safetensors', 'plain']);
    expect(readdirSync(taken)).toEqual(['inside']);
  });

  it('rejects invalid tensors when writing', () => {
    const p = fresh();
    const w = (t: unknown, name = 't'): void => writeSafetensors(p, new Map([[name, t as Tensor]]));
    expectCheckpointError(() => w({ dtype: 'F16', shape: [1], data: new Uint16Array(1) }), p, 'tensors["t"].dtype', /"F16" is not writable/);
    expectCheckpointError(() => w({ dtype: 'F32', shape: [1], data: Int32Array.of(1) }), p, 'tensors["t"].data', /needs a Float32Array, got Int32Array/);
    expectCheckpointError(() => w({ dtype: 'I8', shape: [1], data: Uint8Array.of(1) }), p, 'tensors["t"].data', /needs a Int8Array/);
    expectCheckpointError(() => w({ dtype: 'U8', shape: [-1], data: Uint8Array.of(1) }), p, 'tensors["t"].shape', /non-negative integers/);
    expectCheckpointError(() => w({ dtype: 'U8', shape: [1], data: Uint8Array.of(1) }, '__metadata__'), p, 'tensors["__metadata__"]', /reserved/);
    expectCheckpointError(() => writeSafetensors(p, new Map(), { k: 1 as unknown as string }), p, '__metadata__["k"]', /must be a string/);
  });
});

// ------------------------------------------------------------------------------------------
describe('safetensors reading: wrong files give clear errors', () => {
  const f32 = (xs: number[]): Uint8Array => bytesOf(Float32Array.from(xs));
  const entry = (dtype: string, shape: unknown, data_offsets: unknown): object => ({ dtype, shape, data_offsets });

  it('file too short for the length prefix', () => {
    const p = fresh();
    writeFileSync(p, Buffer.from([1, 2, 3, 4, 5]));
    expectCheckpointError(() => readSafetensors(p), p, '(file)', /is 5 bytes; a safetensors file starts with an 8-byte header length/);
    const missing = join(dir, 'no-such.safetensors');
    expectCheckpointError(() => readSafetensors(missing), missing, '(file)', /cannot be read: ENOENT/);
  });

  it('header length beyond the file (also the length of a non-safetensors file)', () => {
    const p = build({ a: entry('F32', [1], [0, 4]) }, f32([1]), { length: 1000n });
    expectCheckpointError(() => readSafetensors(p), p, 'header length', /is 1000 bytes but only \d+ bytes follow/);
    const q = build({}, [], { length: 2n ** 64n - 1n });
    expectCheckpointError(() => readSafetensors(q), q, 'header length', /18446744073709551615 bytes/);
    const pt = fresh();
    writeFileSync(pt, Buffer.from('PK\x03\x04 a zip (PyTorch .bin) file'));
    expectCheckpointError(() => readSafetensors(pt), pt, 'header length', /not a safetensors file/);
  });

  it('header not JSON, not an object, not UTF-8', () => {
    const p = build('{"a": {"dtype": "F32",', [], { pad: false });
    expectCheckpointError(() => readSafetensors(p), p, 'header', /is not valid JSON/);
    const q = build('[1, 2]');
    expectCheckpointError(() => readSafetensors(q), q, 'header', /must be a JSON object starting with '\{'/);
    const raw = fresh(); // '{', a byte that is never UTF-8, '}'
    writeFileSync(raw, Buffer.concat([Buffer.from('0300000000000000', 'hex'), Buffer.from([0x7b, 0xff, 0x7d])]));
    expectCheckpointError(() => readSafetensors(raw), raw, 'header', /not valid UTF-8/);
  });

  it('unknown or unsupported dtype', () => {
    for (const dtype of ['Q4', 'BOOL', 'F8_E4M3', 'f32']) {
      const p = build({ t: entry(dtype, [1], [0, 1]) }, [0]);
      expectCheckpointError(
        () => readSafetensors(p),
        p,
        'tensors["t"].dtype',
        new RegExp(`"${dtype}" is not a supported dtype \\(supported: F32, F16, BF16, F64, I32, I8, U8, I64\\)`),
      );
    }
  });

  it('shape / offset mismatch: bytes != product(shape) * itemsize', () => {
    const p = build({ t: entry('F32', [3], [0, 8]) }, f32([1, 2]));
    expectCheckpointError(() => readSafetensors(p), p, 'tensors["t"].data_offsets', /\[0, 8\] spans 8 bytes but shape \[3\] of F32 needs 3 x 4 = 12/);
    const q = build({ t: entry('I8', [2, -1], [0, 2]) }, [1, 2]);
    expectCheckpointError(() => readSafetensors(q), q, 'tensors["t"].shape', /non-negative integers/);
    const r = build({ t: entry('I8', [2], [0]) }, [1, 2]);
    expectCheckpointError(() => readSafetensors(r), r, 'tensors["t"].data_offsets', /must be \[begin, end\]/);
    const s = build({ t: 5 });
    expectCheckpointError(() => readSafetensors(s), s, 'tensors["t"]', /must be an object/);
  });

  it('overlapping, gapped, reversed and out-of-range offsets', () => {
    const data = f32([1, 2, 3, 4]);
    const overlap = build({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) }, data.subarray(0, 12));
    expectCheckpointError(() => readSafetensors(overlap), overlap, 'tensors["b"].data_offsets', /\[4, 12\] overlaps tensors\["a"\] at \[0, 8\]/);
    const same = build({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [0, 8]) }, data.subarray(0, 8));
    expectCheckpointError(() => readSafetensors(same), same, 'tensors["b"].data_offsets', /overlaps tensors\["a"\]/);
    const gap = build({ a: entry('F32', [1], [0, 4]), b: entry('F32', [2], [8, 16]) }, data);
    expectCheckpointError(
      () => readSafetensors(gap),
      gap,
      'tensors["b"].data_offsets',
      /leaves bytes 4\.\.8 uncovered \(between tensors\["a"\] and tensors\["b"\]\)/,
    );
    const lead = build({ a: entry('F32', [1], [4, 8]) }, data.subarray(0, 8));
    expectCheckpointError(() => readSafetensors(lead), lead, 'tensors["a"].data_offsets', /leaves bytes 0\.\.4 uncovered \(before tensors\["a"\]\)/);
    const beyond = build({ a: entry('F32', [4], [0, 16]) }, data.subarray(0, 8));
    expectCheckpointError(() => readSafetensors(beyond), beyond, 'tensors["a"].data_offsets', /\[0, 16\] ends beyond the 8-byte data section/);
    const reversed = build({ a: entry('F32', [1], [8, 4]) }, data);
    expectCheckpointError(() => readSafetensors(reversed), reversed, 'tensors["a"].data_offsets', /ends before it begins/);
  });

  it('trailing bytes not covered by any tensor', () => {
    const p = build({ a: entry('F32', [1], [0, 4]) }, f32([1, 2]));
    expectCheckpointError(() => readSafetensors(p), p, '(data)', /4 trailing bytes \(4\.\.8 of the data section\) are not covered by any tensor/);
    const q = build({}, [0]);
    expectCheckpointError(() => readSafetensors(q), q, '(data)', /1 trailing bytes/);
  });

  it('bad metadata', () => {
    const p = build({ __metadata__: { format: 1 } });
    expectCheckpointError(() => readSafetensors(p), p, '__metadata__["format"]', /must be a string/);
    const q = build({ __metadata__: ['pt'] });
    expectCheckpointError(() => readSafetensors(q), q, '__metadata__', /must be an object of strings/);
  });

  it('I64 values beyond int32 and F64 values beyond float32', () => {
    const i64 = bytesOf(BigInt64Array.of(1n, 2n ** 31n));
    const p = build({ big: entry('I64', [2], [0, 16]) }, i64);
    expectCheckpointError(() => readSafetensors(p), p, 'tensors["big"]', /I64 element 1 = 2147483648 does not fit in int32/);
    const q = build({ big: entry('I64', [1], [0, 8]) }, bytesOf(BigInt64Array.of(-(2n ** 31n) - 1n)));
    expectCheckpointError(() => readSafetensors(q), q, 'tensors["big"]', /= -2147483649 does not fit/);
    const r = build({ d: entry('F64', [2], [0, 16]) }, bytesOf(Float64Array.of(1, 1e39)));
    expectCheckpointError(() => readSafetensors(r), r, 'tensors["d"]', /F64 element 1 = 1e\+39 is beyond the float32 range/);
  });
});

// ------------------------------------------------------------------------------------------
describe('safetensors reading: widened dtypes', () => {
  /** Read one tensor of `dtype` from hand-built little-endian 16-bit words. */
  const read16 = (dtype: 'F16' | 'BF16', words: number[]): Float32Array => {
    const p = build({ t: { dtype, shape: [words.length], data_offsets: [0, 2 * words.length] } }, bytesOf(Uint16Array.from(words)));
    const t = readSafetensors(p).tensors.get('t')!;
    expect(t.dtype).toBe('F32');
    expect(t.fileDtype).toBe(dtype);
    return t.data as Float32Array;
  };

  it('F16 against hand-computed values: normals, subnormals, +-0, infinities, NaN', () => {
    const cases: [number, number][] = [
      [0x3c00, 1],
      [0xc000, -2],
      [0x3555, 1365 / 4096],
      [0x3bff, 1 - 2 ** -11],
      [0x7bff, 65504],
      [0x0400, 2 ** -14],
      [0x03ff, 1023 * 2 ** -24],
      [0x0001, 2 ** -24],
      [0x8001, -(2 ** -24)],
      [0x0000, 0],
      [0x8000, -0],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
      [0x7e00, NaN],
    ];
    const got = read16(
      'F16',
      cases.map(([w]) => w),
    );
    cases.forEach(([w, v], i) => expect(got[i], `0x${w.toString(16)}`).toBe(v)); // toBe: Object.is, so -0 and NaN are exact
    // NaN payloads carried over: 0x7e01 -> 0x7fc02000.
    expect(new Uint32Array(read16('F16', [0x7e01, 0xfd00]).buffer)).toEqual(Uint32Array.of(0x7fc02000, 0xffa00000));
  });

  it('every one of the 65,536 F16 values widens to the value its fields define', () => {
    const all = Array.from({ length: 65536 }, (_, i) => i);
    const got = read16('F16', all);
    // Independent check by arithmetic: value = (-1)^s * 2^(e-15) * (1 + m/1024), subnormal 2^-14 * m/1024.
    for (const h of all) {
      const s = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      const v = e === 0x1f ? (m ? NaN : s * Infinity) : e === 0 ? s * 2 ** -14 * (m / 1024) : s * 2 ** (e - 15) * (1 + m / 1024);
      if (!Object.is(got[h], v)) throw new Error(`F16 0x${h.toString(16)}: got ${got[h]}, expected ${v}`);
    }
  });

  it('BF16 against hand-computed values', () => {
    const cases: [number, number][] = [
      [0x3f80, 1],
      [0xc040, -3],
      [0x3f00, 0.5],
      [0x3e80, 0.25],
      [0x4049, 3.140625],
      [0x7f7f, (2 - 2 ** -7) * 2 ** 127],
      [0x0080, 2 ** -126],
      [0x0001, 2 ** -133],
      [0x8000, -0],
      [0x7f80, Infinity],
      [0xff80, -Infinity],
      [0x7fc0, NaN],
    ];
    const got = read16(
      'BF16',
      cases.map(([w]) => w),
    );
    cases.forEach(([w, v], i) => expect(got[i], `0x${w.toString(16)}`).toBe(v));
  });

  it('F64 rounds to float32; I64 narrows to Int32Array', () => {
    const d = Float64Array.of(0.1, -0, 1e-300, 2 ** -149, 3.4028234663852886e38, -Infinity, NaN, 1 + 2 ** -30);
    const i = BigInt64Array.of(-(2n ** 31n), 2n ** 31n - 1n, 0n, -1n);
    const p = build(
      { d: { dtype: 'F64', shape: [2, 4], data_offsets: [0, 64] }, i: { dtype: 'I64', shape: [4], data_offsets: [64, 96] } },
      Buffer.concat([bytesOf(d), bytesOf(i)]),
    );
    const t = readSafetensors(p).tensors;
    expect(t.get('d')).toMatchObject({ dtype: 'F32', fileDtype: 'F64', shape: [2, 4] });
    expect(Array.from(t.get('d')!.data)).toEqual(Array.from(d, (x) => Math.fround(x)));
    expect(Object.is(t.get('d')!.data[1], -0)).toBe(true);
    expect(t.get('i')).toMatchObject({ dtype: 'I32', fileDtype: 'I64', shape: [4] });
    expect(t.get('i')!.data).toEqual(Int32Array.of(-(2 ** 31), 2 ** 31 - 1, 0, -1));
  });

  it('a hand-built file in the HuggingFace layout (metadata format=pt, padded header, gamma/beta, position_ids)', () => {
    // As transformers' save_pretrained writes a pretraining checkpoint: F32 tensors by name, then
    // the I64 position_ids buffer (dtype-major order puts I64 first), 8-byte space padding.
    const gamma = Float32Array.of(1, 1.5);
    const beta = Float32Array.of(-0.5, 0);
    const pos = BigInt64Array.of(0n, 1n, 2n);
    const header =
      '{"__metadata__":{"format":"pt"},' +
      '"bert.embeddings.position_ids":{"dtype":"I64","shape":[1,3],"data_offsets":[0,24]},' +
      '"bert.embeddings.LayerNorm.beta":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},' +
      '"bert.embeddings.LayerNorm.gamma":{"dtype":"F32","shape":[2],"data_offsets":[32,40]}}';
    expect(Buffer.byteLength(header) % 8).not.toBe(0); // so the padding is really exercised
    const p = build(header, Buffer.concat([bytesOf(pos), bytesOf(beta), bytesOf(gamma)]));
    const raw = readFileSync(p);
    expect(
      raw
        .subarray(8, 8 + Number(raw.readBigUInt64LE(0)))
        .toString()
        .endsWith(' '),
    ).toBe(true);
    const f = readSafetensors(p);
    expect(f.metadata).toEqual({ format: 'pt' });
    expect([...f.tensors.keys()]).toEqual(['bert.embeddings.position_ids', 'bert.embeddings.LayerNorm.beta', 'bert.embeddings.LayerNorm.gamma']);
    expect(f.tensors.get('bert.embeddings.LayerNorm.gamma')!.data).toEqual(gamma);
    expect(f.tensors.get('bert.embeddings.LayerNorm.beta')!.data).toEqual(beta);
    expect(f.tensors.get('bert.embeddings.position_ids')).toMatchObject({ dtype: 'I32', fileDtype: 'I64', shape: [1, 3], data: Int32Array.of(0, 1, 2) });
  });
});
