/**
 * The design variants the simulator costs (all of the registry in formats/variants.ts, in its
 * order), and their storage plans, chosen by each variant's cost model. The image variants
 * (rtl-model/spec VARIANTS) differ in which tensors are writable; three more are hardware
 * alternatives costed analytically:
 *  - rand-uniform: as many randomly placed encoder weights writable as bitfit has bias terms,
 *    held in a patch memory (index + value) and applied by a correction unit;
 *  - rand-rowcol: the same number of weights as whole random rows of length `hidden` (rows of the
 *    Q/K/V/O/FFN-up matrices, columns of FFN-down), held as writable SRAM rows next to the ROM;
 *  - dram-stream: a conventional design that streams every parameter from DRAM through the same
 *    array on every inference.
 */
import {
  VARIANTS,
  type VariantId,
  type Geometry,
  DTYPE_BITS,
  encoderBiasParams,
  imageLayoutBits,
  modelTensors,
  tensorElements,
  layerLinears,
} from '../rtl-model/spec/index.js';
import { COSTED_VARIANTS, variantInfo } from '../formats/variants.js';

export const SIM_VARIANTS = COSTED_VARIANTS;
export type SimVariantId = (typeof SIM_VARIANTS)[number];

export const isImageVariant = (v: string): v is VariantId => (VARIANTS as readonly string[]).includes(v);

/** Where a variant keeps its bits, and what it must load per task. */
export interface StoragePlan {
  /** Bits hard-wired in ROM (weights, tables, constants, fixed biases). */
  romBits: number;
  /** Writable on-chip bits of the active task (SRAM registers, patch memory, writable rows). */
  writableBits: number;
  /** Bits of one task image (what changes per task). */
  taskImageBits: number;
  /** Writable encoder parameters (bias terms, or weights for the random variants). */
  writableParams: number;
  /** Encoder bias terms that are writable (the paper's count). */
  biasParams: number;
  /** Patch entries (rand-uniform) and their width. */
  patch: { entries: number; entryBits: number } | null;
  /** Weight rows in SRAM (rand-rowcol). */
  sramRows: number;
  /** Weight bits streamed from DRAM every inference (dram-stream). */
  dramBitsPerInference: number;
  /** Whether the weight matrices are read from SRAM instead of ROM (full-ft). */
  weightsInSram: boolean;
}

/** Encoder weight elements (the matrices of every layer). */
export function encoderWeightElements(g: Geometry): number {
  return g.layers * layerLinears(g).reduce((s, l) => s + l.out * l.in, 0);
}

const plans = new Map<string, Readonly<StoragePlan>>();

/**
 * A variant's storage plan for a geometry. It depends on nothing else, so it is computed once per
 * (geometry, variant) and shared, frozen (a sweep costs it at every point: it walks every tensor of the model).
 */
export function storagePlan(g: Geometry, v: SimVariantId): Readonly<StoragePlan> {
  const key = `${v}\u0000${JSON.stringify(g)}`;
  let plan = plans.get(key);
  if (!plan) {
    const fresh = computeStoragePlan(g, v);
    if (fresh.patch) Object.freeze(fresh.patch);
    plan = Object.freeze(fresh);
    if (plans.size >= 4096) plans.clear(); // (a bound, for a process that costs many geometries)
    plans.set(key, plan);
  }
  return plan;
}

function computeStoragePlan(g: Geometry, v: SimVariantId): StoragePlan {
  const none = { patch: null, sramRows: 0, dramBitsPerInference: 0, weightsInSram: false };
  const model = variantInfo(v).costModel;
  if (model === 'rom' || model === 'sram-weights') {
    if (!isImageVariant(v)) throw new Error(`storagePlan: variant ${v} is costed by its image layout but has none`);
    const bits = imageLayoutBits(g, v);
    const biasParams = encoderBiasParams(g, v);
    const weightsInSram = model === 'sram-weights';
    return {
      ...none,
      romBits: bits.rom,
      writableBits: bits.sram,
      taskImageBits: bits.sram,
      writableParams: weightsInSram ? encoderWeightElements(g) + biasParams : biasParams,
      biasParams,
      weightsInSram,
    };
  }
  const frozen = imageLayoutBits(g, 'frozen');
  const head = frozen.sram; // head tensors only
  const count = encoderBiasParams(g, 'bitfit');
  if (model === 'patch') {
    // index: which matrix (ceil log2 of 6 * layers) and the position in it (ceil log2 of the largest matrix)
    const matrices = 6 * g.layers;
    const largest = Math.max(...layerLinears(g).map((l) => l.out * l.in));
    const entryBits = 8 + Math.ceil(Math.log2(matrices)) + Math.ceil(Math.log2(largest));
    const bits = count * entryBits;
    return {
      ...none,
      romBits: frozen.rom,
      writableBits: bits + head,
      taskImageBits: bits + head,
      writableParams: count,
      biasParams: 0,
      patch: { entries: count, entryBits },
    };
  }
  if (model === 'sram-rows') {
    const rows = Math.ceil(count / g.hidden);
    const totalRows = g.layers * (4 * g.hidden + g.ffn + g.ffn); // Q,K,V,O rows + FFN-up rows + FFN-down columns
    const rowBits = rows * (g.hidden * 8 + Math.ceil(Math.log2(totalRows)));
    return {
      ...none,
      romBits: frozen.rom - rows * g.hidden * 8,
      writableBits: rowBits + head,
      taskImageBits: rowBits + head,
      writableParams: rows * g.hidden,
      biasParams: 0,
      sramRows: rows,
    };
  }
  // dram-stream: every parameter in DRAM; on chip only the spec's exp table.
  let all = 0;
  let streamed = 0;
  for (const t of modelTensors(g)) {
    const bits = tensorElements(t.shape) * DTYPE_BITS[t.dtype];
    all += bits;
    if (t.name === 'softmax.exp.lut') continue;
    // Embedding tables: only the rows of the sequence's tokens and positions are fetched.
    if (t.name.startsWith('bert.embeddings.') && t.name.endsWith('_embeddings.weight')) streamed += g.seqLen * g.hidden * 8;
    else streamed += bits;
  }
  const lut = tensorElements([256]) * 32;
  return {
    ...none,
    romBits: lut,
    writableBits: 0,
    taskImageBits: all - lut,
    writableParams: encoderWeightElements(g) + encoderBiasParams(g, 'bitfit'),
    biasParams: encoderBiasParams(g, 'bitfit'),
    dramBitsPerInference: streamed,
  };
}
