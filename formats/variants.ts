/**
 * formats/variants.ts: the one registry of design variants (ids as in DESIGN.md section 5). Each
 * entry says, once, what the three consumers used to list apart:
 *   - imageLayout: how the integer images (rtl-model/spec) hold it, or null for a variant with no
 *     image layout of its own; the image variants are rtl-model/spec's VARIANTS;
 *   - trainable: what a fine-tuning run changes (trainer/finetune.ts TRAIN_VARIANTS), or null for a
 *     hardware alternative that is not a training recipe; the classifier head and the pooler bias
 *     (rtl-model/spec HEAD_TENSORS) are trainable in every variant and are not listed;
 *   - costModel: how the simulator costs its storage (sim/variants.ts storagePlan); every variant
 *     is costed, so the simulator's SIM_VARIANTS are all of them;
 *   - integerImage: the image variant whose layout its integer accuracy is measured in (itself, or
 *     full-ft for the random subsets: trainer/int-eval.ts), or null when it has none.
 *
 * The derived lists keep the registry's order and their literal types, so `(typeof X)[number]` is
 * the union of exactly their ids. This module is neutral: it imports nothing (rtl-model, sim and
 * trainer import it).
 */

/** The eight bias terms of an encoder layer, in paper notation (rtl-model/spec LAYER_BIAS_TERMS names them). */
export const BIAS_TERM_IDS = ['b_q', 'b_k', 'b_v', 'b_m1', 'b_LN1', 'b_m2', 'b_m3', 'b_LN2'] as const;
export type BiasTermId = (typeof BIAS_TERM_IDS)[number];

/**
 * How the images hold a variant: 'bias-set' (weights in ROM, a set of encoder bias terms in the
 * SRAM task image), 'all-weights' (every tensor but the spec's exp table in SRAM).
 */
export type ImageLayout = 'bias-set' | 'all-weights';

/**
 * How the simulator costs a variant's storage:
 *   'rom'          weights hard-wired in ROM, the writable bias terms and the head in SRAM;
 *   'patch'        ROM weights plus a patch memory (index + value) and a correction path;
 *   'sram-rows'    ROM weights with some whole rows moved to writable SRAM rows;
 *   'sram-weights' every weight in SRAM (a conventional all-SRAM design);
 *   'dram-stream'  every parameter streamed from DRAM through the array on every inference.
 */
export type CostModel = 'rom' | 'patch' | 'sram-rows' | 'sram-weights' | 'dram-stream';

/** Which weights a fine-tuning run changes, beyond its bias terms. */
export type TrainableWeights = 'none' | 'random-elements' | 'random-rows' | 'all';

export interface Trainable {
  /** Encoder bias terms trained in every layer. */
  readonly biasTerms: readonly BiasTermId[];
  /**
   * Weights trained: none; randomly placed encoder weight elements or whole rows of length
   * `hidden` (as many as bitfit has bias terms, chosen by the run's seed); or every parameter.
   */
  readonly weights: TrainableWeights;
}

export interface VariantInfo {
  readonly id: string;
  readonly imageLayout: ImageLayout | null;
  readonly trainable: Trainable | null;
  readonly costModel: CostModel;
  readonly integerImage: string | null;
  readonly description: string;
}

const ALL_TERMS = BIAS_TERM_IDS;

/** The registry, in the order every derived list keeps. */
export const VARIANT_REGISTRY = [
  {
    id: 'bitfit',
    imageLayout: 'bias-set',
    trainable: { biasTerms: ALL_TERMS, weights: 'none' },
    costModel: 'rom',
    integerImage: 'bitfit',
    description: 'all encoder bias terms writable (BitFit)',
  },
  {
    id: 'bitfit-bq-bm2',
    imageLayout: 'bias-set',
    trainable: { biasTerms: ['b_q', 'b_m2'], weights: 'none' },
    costModel: 'rom',
    integerImage: 'bitfit-bq-bm2',
    description: 'query and FFN-up bias terms writable (b_q, b_m2)',
  },
  {
    id: 'bitfit-bm2',
    imageLayout: 'bias-set',
    trainable: { biasTerms: ['b_m2'], weights: 'none' },
    costModel: 'rom',
    integerImage: 'bitfit-bm2',
    description: 'FFN-up bias terms writable (b_m2)',
  },
  {
    id: 'bitfit-bq',
    imageLayout: 'bias-set',
    trainable: { biasTerms: ['b_q'], weights: 'none' },
    costModel: 'rom',
    integerImage: 'bitfit-bq',
    description: 'query bias terms writable (b_q)',
  },
  {
    id: 'frozen',
    imageLayout: 'bias-set',
    trainable: { biasTerms: [], weights: 'none' },
    costModel: 'rom',
    integerImage: 'frozen',
    description: 'nothing in the encoder writable; only the head',
  },
  {
    id: 'rand-uniform',
    imageLayout: null,
    trainable: { biasTerms: [], weights: 'random-elements' },
    costModel: 'patch',
    integerImage: 'full-ft',
    description: 'as many randomly placed encoder weights writable as bitfit has bias terms, in a patch memory',
  },
  {
    id: 'rand-rowcol',
    imageLayout: null,
    trainable: { biasTerms: [], weights: 'random-rows' },
    costModel: 'sram-rows',
    integerImage: 'full-ft',
    description: 'random whole rows/columns of the same total size writable, as SRAM rows beside the ROM',
  },
  {
    id: 'full-ft',
    imageLayout: 'all-weights',
    trainable: { biasTerms: ALL_TERMS, weights: 'all' },
    costModel: 'sram-weights',
    integerImage: 'full-ft',
    description: 'every weight writable: a conventional all-SRAM design',
  },
  {
    id: 'dram-stream',
    imageLayout: null,
    trainable: null,
    costModel: 'dram-stream',
    integerImage: null,
    description: 'a conventional design streaming every parameter from DRAM on every inference',
  },
] as const satisfies readonly VariantInfo[];

type Registry = typeof VARIANT_REGISTRY;

/** The ids of the registry entries that extend `Where`, in registry order, as a tuple type. */
type IdsWhere<T extends readonly unknown[], Where> = T extends readonly [infer H, ...infer R]
  ? H extends Where
    ? [H extends { readonly id: infer I } ? I : never, ...IdsWhere<R, Where>]
    : IdsWhere<R, Where>
  : [];

const idsWhere = (keep: (v: VariantInfo) => boolean): string[] => VARIANT_REGISTRY.filter(keep).map((v) => v.id);

/** Every variant id, in registry order. */
export const ALL_VARIANTS = idsWhere(() => true) as unknown as Readonly<IdsWhere<Registry, unknown>>;
export type AnyVariantId = (typeof ALL_VARIANTS)[number];

/** Variants with an image layout of their own (rtl-model/spec VARIANTS). */
export const IMAGE_VARIANTS = idsWhere((v) => v.imageLayout !== null) as unknown as Readonly<IdsWhere<Registry, { readonly imageLayout: ImageLayout }>>;
export type ImageVariantId = (typeof IMAGE_VARIANTS)[number];

/** Variants the simulator costs (sim/variants.ts SIM_VARIANTS): all of them. */
export const COSTED_VARIANTS = ALL_VARIANTS;

/** Variants a fine-tuning run can train (trainer/finetune.ts TRAIN_VARIANTS). */
export const TRAINABLE_VARIANTS = idsWhere((v) => v.trainable !== null) as unknown as Readonly<IdsWhere<Registry, { readonly trainable: Trainable }>>;
export type TrainableVariantId = (typeof TRAINABLE_VARIANTS)[number];

/** The registry entry of a variant id. */
export type VariantEntry<I extends AnyVariantId> = Extract<Registry[number], { readonly id: I }>;

/** Is `v` a variant id of the registry? */
export function isVariantId(v: string): v is AnyVariantId {
  return (ALL_VARIANTS as readonly string[]).includes(v);
}

/** The registry entry of `id`; throws for an id not in the registry (a bug: ids are checked where they are read). */
export function variantInfo<I extends AnyVariantId>(id: I): VariantEntry<I> {
  const v = VARIANT_REGISTRY.find((e) => e.id === id);
  if (!v) throw new Error(`variantInfo: ${JSON.stringify(id)} is not a variant (one of ${ALL_VARIANTS.join(', ')})`);
  return v as VariantEntry<I>;
}
