/**
 * The exporter's fast paths (rtl-model/export-kernels.ts, the lazy synthetic model of
 * synthetic-weights.ts, encodeImageDecoded and decodeImage's views in spec/image-format.ts), each
 * against the plain code it replaces, written out here as it was: the same floats, the same
 * integers, the same images, byte for byte.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { quantizeLazyRows, quantizeWeightRows } from '../../rtl-model/export-kernels.js';
import { exportImages, rng, syntheticInput, syntheticModel, syntheticTask, BERT_INIT_STATS } from '../../rtl-model/export.js';
import { floatParam, type FloatModel, type LazyTensors } from '../../rtl-model/float-model.js';
import { oracleEngine } from '../../rtl-model/gemm/oracle.js';
import {
  VARIANTS,
  WEIGHT_MAX,
  decodeImage,
  dtypeArray,
  encodeImage,
  encodeImageDecoded,
  floatParamShapes,
  imageArena,
  modelTensors,
  tensorElements,
  writableTensors,
  type Geometry,
  type ImageTensor,
  type TensorData,
} from '../../rtl-model/spec/index.js';

/** The plain quantization: scale = max|row| / 127 (or given), q = clamp(Math.round(x / scale), ±127). */
function plainQuantize(f: Float32Array, rows: number, given?: Float64Array): { q: Int8Array; scales: Float64Array; clamped: number } {
  const cols = f.length / rows;
  const q = new Int8Array(f.length);
  const scales = given ? Float64Array.from(given) : new Float64Array(rows);
  let clamped = 0;
  for (let r = 0; r < rows; r++) {
    if (!given) {
      let m = 0;
      for (let c = 0; c < cols; c++) m = Math.max(m, Math.abs(f[r * cols + c]));
      scales[r] = m > 0 ? m / WEIGHT_MAX : 1;
    }
    const inv = 1 / scales[r];
    for (let c = 0; c < cols; c++) {
      const v = Math.round(f[r * cols + c] * inv);
      if (v > WEIGHT_MAX || v < -WEIGHT_MAX) clamped++;
      q[r * cols + c] = Math.min(WEIGHT_MAX, Math.max(-WEIGHT_MAX, v));
    }
  }
  return { q, scales, clamped };
}

/** The synthetic model as it was made before: one rng(seed) stream, a draw per pair of values. */
function plainSyntheticModel(g: Geometry, seed: number): Map<string, Float32Array> {
  const rand = rng(seed);
  const s = BERT_INIT_STATS;
  // the quantile table, as synthetic-weights.ts has it (its values are checked through the model)
  const table = quantiles();
  const params = new Map<string, Float32Array>();
  for (const [name, shape] of floatParamShapes(g)) {
    const a = new Float32Array(tensorElements(shape));
    const isGamma = name.endsWith('LayerNorm.weight');
    const std = isGamma ? s.gammaStd : name.endsWith('.bias') ? s.biasStd : s.weightStd;
    const mean = isGamma ? 1 : 0;
    for (let i = 0; i < a.length; i += 2) {
      const r = (rand() * 4294967296) >>> 0;
      a[i] = mean + std * table[r & 0xffff];
      if (i + 1 < a.length) a[i + 1] = mean + std * table[r >>> 16];
    }
    params.set(name, a);
  }
  return params;
}

function quantiles(): Float64Array {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const inv = (p: number): number => {
    if (p < 0.02425) {
      const q = Math.sqrt(-2 * Math.log(p));
      return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    if (p > 1 - 0.02425) return -inv(1 - p);
    const q = p - 0.5;
    const r = q * q;
    return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  };
  return Float64Array.from({ length: 65536 }, (_, i) => inv((i + 0.5) / 65536));
}

/** A lazy source over materialized arrays (to test quantizeLazyRows on any values). */
function lazyOver(tensors: Map<string, { shape: number[]; data: Float32Array }>): LazyTensors {
  return {
    has: (n) => tensors.has(n),
    shape: (n) => tensors.get(n)!.shape,
    read: (n, start, out) => out.set(tensors.get(n)!.data.subarray(start, start + out.length)),
  };
}

/** Values next to every rounding boundary the quantizer meets: half-integers and their neighbours. */
function boundaryValues(): number[] {
  const v: number[] = [0, -0, 0.49999999999999994, -0.49999999999999994, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 126.5, -126.5, 127, -127, 127.5, -127.5];
  for (let k = -128; k <= 128; k++) {
    const h = k + 0.5;
    for (const x of [h, h - 2 ** -45, h + 2 ** -45, h - Number.EPSILON * Math.abs(h), h + Number.EPSILON * Math.abs(h)]) v.push(x);
  }
  return v;
}

describe('quantizeWeightRows', () => {
  it('equals the plain Math.round quantization at its own scales, on random rows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 40 }), fc.integer(), (rows, cols, seed) => {
        const rand = rng(seed);
        const f = Float32Array.from({ length: rows * cols }, () => (rand() - 0.5) * 10 ** (rand() * 6 - 4));
        const out = new Int8Array(f.length);
        const got = quantizeWeightRows(f, out, rows);
        const want = plainQuantize(f, rows);
        expect(Array.from(out)).toEqual(Array.from(want.q));
        expect(Array.from(got.scales)).toEqual(Array.from(want.scales));
        expect(got.clamped).toBe(0);
      }),
      { seed: 14, numRuns: 200 },
    );
  });

  it('equals Math.round with clamping at given scales, next to every half-integer, and on NaN and infinities', () => {
    const x = boundaryValues();
    const specials = [NaN, Infinity, -Infinity, 1e6, -1e6];
    const f = Float32Array.from([...x, ...specials]);
    // scale 1 keeps the float32 values as they are; a float64 multiplier reaches the float64 neighbours
    for (const scale of [1, 1 / 3, 0.1, 7]) {
      const given = new Float64Array([scale]);
      const out = new Int8Array(f.length);
      const got = quantizeWeightRows(f, out, 1, Float64Array.from(given));
      const want = plainQuantize(f, 1, given);
      expect(Array.from(out)).toEqual(Array.from(want.q));
      expect(got.clamped).toBe(want.clamped);
    }
  });

  it('rounds a product of 0.5 - 2^-54 down, as Math.round does (floor(x + 0.5) alone rounds it up)', () => {
    // f * (1 / scale) === 0.49999999999999994 for these (found by search): x + 0.5 rounds to 1.0
    const half = 0.49999999999999994;
    const given: [number, number][] = [
      [0.1080392375588417, 0.21607847511768344],
      [0.05302886664867401, 0.10605773329734804],
      [0.022497408092021942, 0.04499481618404389],
    ];
    for (const [f, scale] of given) {
      expect(Math.fround(f) * (1 / scale)).toBe(half);
      const out = new Int8Array(2);
      quantizeWeightRows(new Float32Array([f, -f]), out, 1, new Float64Array([scale]));
      expect(Array.from(out)).toEqual([0, 0]);
    }
    // at the row's own scale: a row whose largest magnitude m makes f * (1 / (m / 127)) the same product
    const own: [number, number][] = [
      [0.007829883135855198, 0.00003082631155848503],
      [0.007870570756494999, 0.000030986499041318893],
    ];
    for (const [m, f] of own) {
      const row = new Float32Array([m, f, -f]);
      expect(row[1] * (1 / (row[0] / WEIGHT_MAX))).toBe(half);
      const out = new Int8Array(3);
      quantizeWeightRows(row, out, 1);
      expect(Array.from(out)).toEqual([127, 0, 0]);
      const lazyOut = new Int8Array(3);
      quantizeLazyRows(lazyOver(new Map([['w', { shape: [1, 3], data: row }]])), 'w', lazyOut, 1);
      expect(Array.from(lazyOut)).toEqual([127, 0, 0]);
    }
  });
});

describe('quantizeLazyRows', () => {
  it('gives the scales and integers of quantizeWeightRows on the materialized tensor, rows short and longer than its chunk', () => {
    const rand = rng(3);
    for (const [rows, cols] of [
      [3, 7],
      [1, 40000],
      [2, 16385],
      [1, 1],
    ]) {
      const data = Float32Array.from({ length: rows * cols }, () => (rand() - 0.5) * 0.1);
      data[Math.floor(rand() * data.length)] = -0.3; // the largest magnitude somewhere inside
      const src = lazyOver(new Map([['w', { shape: [rows, cols], data }]]));
      const lazyOut = new Int8Array(data.length);
      const scales = quantizeLazyRows(src, 'w', lazyOut, rows);
      const out = new Int8Array(data.length);
      const want = quantizeWeightRows(data, out, rows);
      expect(Array.from(scales)).toEqual(Array.from(want.scales));
      expect(lazyOut).toEqual(out);
    }
  });
});

describe('the synthetic model', () => {
  const g: Geometry = { layers: 2, hidden: 6, heads: 2, ffn: 11, seqLen: 5, vocab: 31, maxPositions: 9, typeVocab: 1, numLabels: 3 };

  it('holds exactly the values of one rng(seed) stream, a draw per pair (odd-sized tensors included)', () => {
    const got = syntheticModel(g, 9).params;
    const want = plainSyntheticModel(g, 9);
    expect([...got.keys()]).toEqual([...want.keys()]);
    for (const [name, a] of want) expect(got.get(name), name).toEqual(a);
  });

  it('lazy, reads any range of a weight, from any (odd) start, as the eager model holds it', () => {
    const eager = syntheticModel(g, 9);
    const lazy = syntheticModel(g, 9, undefined, { lazyWeights: true });
    expect(lazy.lazy).toBeDefined();
    const names = [...floatParamShapes(g).keys()];
    for (const name of names) {
      const a = eager.params.get(name)!;
      if (!lazy.lazy!.has(name)) {
        expect(lazy.params.get(name), name).toEqual(a);
        continue;
      }
      expect(lazy.params.has(name), name).toBe(false);
      expect(floatParam(lazy, name)).toEqual(a);
      for (const [start, n] of [
        [0, 1],
        [1, 1],
        [1, 4],
        [3, a.length - 3],
        [a.length - 1, 1],
      ]) {
        const out = new Float32Array(n);
        lazy.lazy!.read(name, start, out);
        expect(out, `${name}[${start}, ${start + n})`).toEqual(a.subarray(start, start + n));
      }
    }
    expect(() => lazy.lazy!.read('bert.embeddings.word_embeddings.weight', g.vocab * g.hidden - 1, new Float32Array(2))).toThrow(RangeError);
  });
});

describe('exportImages on a lazy synthetic model', () => {
  const g: Geometry = { layers: 2, hidden: 6, heads: 2, ffn: 11, seqLen: 5, vocab: 31, maxPositions: 9, typeVocab: 2, numLabels: 3 };
  const run = (m: FloatModel, variant: (typeof VARIANTS)[number]) => exportImages(m, variant, syntheticInput(g, 5), oracleEngine, syntheticTask(m, variant, 6));

  for (const variant of VARIANTS) {
    it(`makes the ${variant} images of the eager model, byte for byte, and hands on the images decodeImage reads from them`, async () => {
      const eager = await run(syntheticModel(g, 4), variant);
      const lazy = await run(syntheticModel(g, 4, undefined, { lazyWeights: true }), variant);
      expect(lazy.rom).toEqual(eager.rom);
      expect(lazy.sram).toEqual(eager.sram);
      expect(lazy.stats).toEqual({ ...eager.stats, calibrationMs: lazy.stats.calibrationMs });
      // encodeImageDecoded: the images handed on equal what decodeImage makes of the bytes
      expect(lazy.romImage).toEqual(decodeImage(lazy.rom, 'rom'));
      expect(lazy.sramImage).toEqual(decodeImage(lazy.sram, 'sram'));
      // the ROM was encoded around its tensors, quantized in place in its buffer
      for (const t of lazy.romImage.tensors.values()) if (t.dtype !== 'b24') expect(t.data.buffer === lazy.rom.buffer, t.name).toBe(true);
    });
  }
});

describe('decodeImage with view', () => {
  it('gives the tensors of a copying decode, as views into the bytes where aligned, b24 unpacked', async () => {
    const g: Geometry = { layers: 1, hidden: 6, heads: 2, ffn: 11, seqLen: 5, vocab: 31, maxPositions: 9, typeVocab: 2, numLabels: 3 };
    const ex = await exportImages(syntheticModel(g, 4), 'bitfit', syntheticInput(g, 5), oracleEngine);
    for (const bytes of [ex.rom, ex.sram]) {
      const copy = decodeImage(bytes, 'image');
      const view = decodeImage(bytes, 'image', { view: true });
      expect(view).toEqual(copy);
      for (const t of view.tensors.values()) expect(t.data.buffer === bytes.buffer, t.name).toBe(t.dtype !== 'b24');
      // misaligned bytes (an odd offset): every tensor wider than a byte is copied
      const shifted = new Uint8Array(bytes.length + 1).subarray(1);
      shifted.set(bytes);
      const moved = decodeImage(shifted, 'image', { view: true });
      expect(moved).toEqual(copy);
      for (const t of moved.tensors.values()) expect(t.data.buffer === shifted.buffer, t.name).toBe(t.dtype === 'i8' || t.dtype === 'u8');
    }
  });
});

describe('imageArena', () => {
  const g: Geometry = { layers: 1, hidden: 6, heads: 2, ffn: 11, seqLen: 5, vocab: 31, maxPositions: 9, typeVocab: 2, numLabels: 3 };
  const specs = modelTensors(g).filter((t) => !writableTensors(g, 'frozen').has(t.name)); // b24 biases among them
  const fill = (data: TensorData, j0: number): void => {
    for (let j = 0; j < data.length; j++) data[j] = ((j * 7 + j0) % 200) - 100;
  };

  for (const [what, room] of [
    ['with room for the header, in place', undefined],
    ['with too little room for the header, by copying', 8],
  ] as const) {
    it(`encodes tensors filled in the arena into encodeImage's bytes, ${what}`, () => {
      const arena = imageArena(specs, room);
      const tensors: ImageTensor[] = specs.map((t, i) => {
        const data = arena.arrays.get(t.name) ?? dtypeArray(t.dtype, tensorElements(t.shape));
        fill(data, i);
        return { name: t.name, dtype: t.dtype, shape: t.shape, data };
      });
      expect(tensors.some((t) => t.dtype === 'b24' && !arena.arrays.has(t.name))).toBe(true);
      const copies = tensors.map((t) => ({ ...t, data: t.data.slice() }));
      const want = encodeImage('rom', g, 'frozen', copies, { note: 'arena' });
      const { bytes, image } = encodeImageDecoded('rom', g, 'frozen', tensors, { note: 'arena' }, undefined, arena);
      expect(bytes).toEqual(want);
      expect(bytes.buffer === arena.buffer).toBe(room === undefined);
      expect(image).toEqual(decodeImage(want, 'rom'));
    });
  }
});
