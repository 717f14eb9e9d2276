/**
 * The model layout both implementations share: geometry, tensor names (HuggingFace BertModel /
 * BertForSequenceClassification names, plus `.rq.*` and `.lut` suffixes for the integer constants),
 * integer dtypes and shapes, and which tensors each variant makes writable.
 */
import { IMAGE_VARIANTS, variantInfo } from '../../formats/variants.js';

export interface Geometry {
  layers: number;
  hidden: number;
  heads: number;
  ffn: number;
  seqLen: number;
  vocab: number;
  maxPositions: number;
  typeVocab: number;
  numLabels: number;
}

export type IntDType = 'i8' | 'u8' | 'i16' | 'i32' | 'b24';

export const DTYPE_BITS: Record<IntDType, number> = { i8: 8, u8: 8, i16: 16, i32: 32, b24: 24 };

/** The image variants, in order: those of the one registry (formats/variants.ts) with an image layout. */
export const VARIANTS = IMAGE_VARIANTS;
export type VariantId = (typeof VARIANTS)[number];

/** The eight bias terms of one encoder layer, in paper notation, with their HuggingFace suffix. */
export const LAYER_BIAS_TERMS = {
  b_q: 'attention.self.query.bias',
  b_k: 'attention.self.key.bias',
  b_v: 'attention.self.value.bias',
  b_m1: 'attention.output.dense.bias',
  b_LN1: 'attention.output.LayerNorm.bias',
  b_m2: 'intermediate.dense.bias',
  b_m3: 'output.dense.bias',
  b_LN2: 'output.LayerNorm.bias',
} as const;
export type BiasTerm = keyof typeof LAYER_BIAS_TERMS;

/** The writable encoder bias terms of each image variant (its trainable set in formats/variants.ts). */
export const VARIANT_BIAS_TERMS: Record<VariantId, readonly BiasTerm[]> = Object.fromEntries(
  VARIANTS.map((v): [VariantId, readonly BiasTerm[]] => [v, variantInfo(v).trainable.biasTerms]),
) as Record<VariantId, readonly BiasTerm[]>;

/** Always task-specific (in the SRAM image of every variant). */
export const HEAD_TENSORS = ['bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias'] as const;

export interface TensorSpec {
  name: string;
  dtype: IntDType;
  shape: number[];
  /** 'param' tensors come from the float model; 'const' tensors are integer constants made at export. */
  kind: 'param' | 'const';
}

export const layerPrefix = (l: number): string => `bert.encoder.layer.${l}.`;

/** The four linear layers of an encoder layer with their weight shapes [out, in]. */
export function layerLinears(g: Geometry): { suffix: string; out: number; in: number }[] {
  return [
    { suffix: 'attention.self.query', out: g.hidden, in: g.hidden },
    { suffix: 'attention.self.key', out: g.hidden, in: g.hidden },
    { suffix: 'attention.self.value', out: g.hidden, in: g.hidden },
    { suffix: 'attention.output.dense', out: g.hidden, in: g.hidden },
    { suffix: 'intermediate.dense', out: g.ffn, in: g.hidden },
    { suffix: 'output.dense', out: g.hidden, in: g.ffn },
  ];
}

/** Requantization constants of a per-channel site: `<name>.rq.mult` (i16) and `<name>.rq.shift` (u8). */
function rqTensors(name: string, channels: number): TensorSpec[] {
  return [
    { name: `${name}.rq.mult`, dtype: 'i16', shape: [channels], kind: 'const' },
    { name: `${name}.rq.shift`, dtype: 'u8', shape: [channels], kind: 'const' },
  ];
}

function layerNormTensors(prefix: string, n: number): TensorSpec[] {
  return [
    // The float gamma is folded into the gain multipliers; beta is the (possibly writable) bias.
    { name: `${prefix}.bias`, dtype: 'b24', shape: [n], kind: 'param' },
    ...rqTensors(`${prefix}.gain`, n),
    ...rqTensors(`${prefix}.mean`, 1),
  ];
}

/** Residual join: two terms requantized into the LayerNorm input scale and summed (int16). */
function residualTensors(prefix: string, n: number): TensorSpec[] {
  return [...rqTensors(`${prefix}.res_a`, 1), ...rqTensors(`${prefix}.res_b`, n)];
}

/** Every tensor of a model's integer images, in a fixed order. */
export function modelTensors(g: Geometry): TensorSpec[] {
  const t: TensorSpec[] = [];
  const e = 'bert.embeddings.';
  t.push({ name: `${e}word_embeddings.weight`, dtype: 'i8', shape: [g.vocab, g.hidden], kind: 'param' });
  t.push({ name: `${e}position_embeddings.weight`, dtype: 'i8', shape: [g.maxPositions, g.hidden], kind: 'param' });
  t.push({ name: `${e}token_type_embeddings.weight`, dtype: 'i8', shape: [g.typeVocab, g.hidden], kind: 'param' });
  t.push(...rqTensors(`${e}word_embeddings`, 1), ...rqTensors(`${e}position_embeddings`, 1), ...rqTensors(`${e}token_type_embeddings`, 1));
  t.push(...layerNormTensors(`${e}LayerNorm`, g.hidden));
  for (let l = 0; l < g.layers; l++) {
    const p = layerPrefix(l);
    for (const lin of layerLinears(g)) {
      t.push({ name: `${p}${lin.suffix}.weight`, dtype: 'i8', shape: [lin.out, lin.in], kind: 'param' });
      t.push({ name: `${p}${lin.suffix}.bias`, dtype: 'b24', shape: [lin.out], kind: 'param' });
      if (lin.suffix !== 'attention.output.dense' && lin.suffix !== 'output.dense') t.push(...rqTensors(`${p}${lin.suffix}`, lin.out));
    }
    t.push(...rqTensors(`${p}attention.self.scores`, 1));
    t.push(...rqTensors(`${p}attention.self.context`, 1));
    t.push(...residualTensors(`${p}attention.output`, g.hidden));
    t.push(...layerNormTensors(`${p}attention.output.LayerNorm`, g.hidden));
    t.push({ name: `${p}intermediate.gelu.lut`, dtype: 'i8', shape: [256], kind: 'const' });
    t.push(...residualTensors(`${p}output`, g.hidden));
    t.push(...layerNormTensors(`${p}output.LayerNorm`, g.hidden));
  }
  t.push({ name: 'bert.pooler.dense.weight', dtype: 'i8', shape: [g.hidden, g.hidden], kind: 'param' });
  t.push({ name: 'bert.pooler.dense.bias', dtype: 'b24', shape: [g.hidden], kind: 'param' });
  t.push(...rqTensors('bert.pooler.dense', g.hidden));
  t.push({ name: 'bert.pooler.tanh.lut', dtype: 'i8', shape: [256], kind: 'const' });
  t.push({ name: 'classifier.weight', dtype: 'i8', shape: [g.numLabels, g.hidden], kind: 'param' });
  t.push({ name: 'classifier.bias', dtype: 'b24', shape: [g.numLabels], kind: 'param' });
  t.push({ name: 'softmax.exp.lut', dtype: 'i32', shape: [256], kind: 'const' });
  return t;
}

/** Names of the tensors a variant stores in the writable SRAM task image. */
export function writableTensors(g: Geometry, variant: VariantId): Set<string> {
  const set = new Set<string>(HEAD_TENSORS);
  if (variant === 'full-ft') {
    // A conventional all-SRAM design: every tensor of the model is writable, except the exp
    // table, which is fixed by the spec and identical for every model.
    for (const t of modelTensors(g)) if (t.name !== 'softmax.exp.lut') set.add(t.name);
    return set;
  }
  for (let l = 0; l < g.layers; l++) {
    for (const term of VARIANT_BIAS_TERMS[variant]) set.add(layerPrefix(l) + LAYER_BIAS_TERMS[term]);
  }
  return set;
}

/** Writable encoder bias terms of a variant (BERT-base bitfit: 101,376). */
export function encoderBiasParams(g: Geometry, variant: VariantId): number {
  const perTerm: Record<BiasTerm, number> = {
    b_q: g.hidden,
    b_k: g.hidden,
    b_v: g.hidden,
    b_m1: g.hidden,
    b_LN1: g.hidden,
    b_m2: g.ffn,
    b_m3: g.hidden,
    b_LN2: g.hidden,
  };
  return g.layers * VARIANT_BIAS_TERMS[variant].reduce((s, term) => s + perTerm[term], 0);
}

export function tensorElements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Geometry limits the spec's bounds are proven for. */
export function geometryProblems(g: Geometry): string[] {
  const p: string[] = [];
  const pos = (k: keyof Geometry, max: number): void => {
    const v = g[k];
    if (!Number.isInteger(v) || v < 1 || v > max) p.push(`${k} = ${v} must be an integer in [1, ${max}]`);
  };
  pos('layers', 1024);
  pos('hidden', 4096);
  pos('heads', 4096);
  pos('ffn', 4 * 4096);
  pos('seqLen', 4096);
  pos('vocab', 1 << 20);
  pos('maxPositions', 4096);
  pos('typeVocab', 16);
  pos('numLabels', 4096);
  if (p.length === 0) {
    if (g.hidden % g.heads !== 0) p.push(`heads = ${g.heads} must divide hidden = ${g.hidden}`);
    if (g.seqLen > g.maxPositions) p.push(`seqLen = ${g.seqLen} exceeds maxPositions = ${g.maxPositions}`);
    // Largest GEMM depth: ffn (FFN down). K * 2^15 + 2^23 must stay far below 2^31.
    if (g.ffn * 2 ** 15 + 2 ** 23 >= 2 ** 31) p.push(`ffn = ${g.ffn} is too deep for an int32 accumulator`);
  }
  return p;
}

/** Bits of the ROM image and the SRAM task image of a variant, from the layout alone. */
export function imageLayoutBits(g: Geometry, variant: VariantId): { rom: number; sram: number } {
  const writable = writableTensors(g, variant);
  let rom = 0;
  let sram = 0;
  for (const t of modelTensors(g)) {
    const bits = tensorElements(t.shape) * DTYPE_BITS[t.dtype];
    if (writable.has(t.name)) sram += bits;
    else rom += bits;
  }
  return { rom, sram };
}

/**
 * HuggingFace parameter names and shapes ([out, in] for linear weights) of a
 * BertForSequenceClassification of this geometry, and of BertForPreTraining's heads (masked LM and
 * next sentence, `cls.*`) when asked.
 */
export function floatParamShapes(g: Geometry, withMlmHead = false): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const e = 'bert.embeddings.';
  m.set(`${e}word_embeddings.weight`, [g.vocab, g.hidden]);
  m.set(`${e}position_embeddings.weight`, [g.maxPositions, g.hidden]);
  m.set(`${e}token_type_embeddings.weight`, [g.typeVocab, g.hidden]);
  m.set(`${e}LayerNorm.weight`, [g.hidden]);
  m.set(`${e}LayerNorm.bias`, [g.hidden]);
  for (let l = 0; l < g.layers; l++) {
    const p = layerPrefix(l);
    for (const lin of layerLinears(g)) {
      m.set(`${p}${lin.suffix}.weight`, [lin.out, lin.in]);
      m.set(`${p}${lin.suffix}.bias`, [lin.out]);
    }
    for (const ln of ['attention.output.LayerNorm', 'output.LayerNorm']) {
      m.set(`${p}${ln}.weight`, [g.hidden]);
      m.set(`${p}${ln}.bias`, [g.hidden]);
    }
  }
  m.set('bert.pooler.dense.weight', [g.hidden, g.hidden]);
  m.set('bert.pooler.dense.bias', [g.hidden]);
  m.set('classifier.weight', [g.numLabels, g.hidden]);
  m.set('classifier.bias', [g.numLabels]);
  if (withMlmHead) {
    m.set('cls.predictions.transform.dense.weight', [g.hidden, g.hidden]);
    m.set('cls.predictions.transform.dense.bias', [g.hidden]);
    m.set('cls.predictions.transform.LayerNorm.weight', [g.hidden]);
    m.set('cls.predictions.transform.LayerNorm.bias', [g.hidden]);
    m.set('cls.predictions.bias', [g.vocab]);
    // next-sentence head of BertForPreTraining (0 = B follows A, 1 = B is random)
    m.set('cls.seq_relationship.weight', [2, g.hidden]);
    m.set('cls.seq_relationship.bias', [2]);
  }
  return m;
}
