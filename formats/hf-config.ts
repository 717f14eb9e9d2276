/**
 * formats/hf-config.ts: HuggingFace BERT `config.json` files, read with HF's defaults and written as
 * HF writes them, shared by the trainer (checkpoints) and the simulator (a config's checkpoint).
 *
 * Every problem throws a CheckpointError (an InputError) naming the file and the field.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic-write.js';
import { CheckpointError } from './safetensors.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A HuggingFace BertConfig, with HF field names. */
export interface BertConfig {
  model_type: 'bert';
  /** e.g. ["BertForSequenceClassification"] or ["BertForMaskedLM"]; omitted when absent. */
  architectures?: string[];
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  /** Only exact (erf) GELU, which is what the datapath implements. */
  hidden_act: 'gelu';
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  num_labels: number;
  /** Label names by index ("0".."num_labels-1"); HF's default LABEL_i when the file has none. */
  id2label: Record<string, string>;
  /** Inverse of id2label. */
  label2id: Record<string, number>;
  /** Every other field of the file (pad_token_id, transformers_version, ...), kept for writing back. */
  extra?: Record<string, unknown>;
}

/** What writeBertConfig takes: a BertConfig whose label maps may be left out (HF's LABEL_i then). */
export type BertConfigInput = Omit<BertConfig, 'id2label' | 'label2id'> & Partial<Pick<BertConfig, 'id2label' | 'label2id'>>;

/** Fields with HuggingFace BertConfig defaults when absent. Geometry fields have no default here. */
const CONFIG_DEFAULTS = {
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
} as const;

const GEOMETRY_FIELDS = [
  'vocab_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'max_position_embeddings',
  'type_vocab_size',
] as const;
const KNOWN_FIELDS = new Set<string>([
  'model_type',
  'architectures',
  ...GEOMETRY_FIELDS,
  ...Object.keys(CONFIG_DEFAULTS),
  'num_labels',
  'id2label',
  'label2id',
]);

/**
 * Read and validate a HuggingFace BERT `config.json`.
 *
 * Required: the geometry fields (vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
 * intermediate_size, max_position_embeddings, type_vocab_size); a missing one is an error rather
 * than HF's bert-base default. Defaulted as HF does: hidden_act "gelu", dropouts 0.1,
 * initializer_range 0.02, layer_norm_eps 1e-12, model_type "bert" (very old configs lack it).
 * The label count comes from num_labels, else from the length of id2label, else HF's default of
 * 2 (a pretraining checkpoint such as bert-base-uncased has no classifier); when both are given
 * they must agree. Other fields are kept in `extra`; position_embedding_type, when present, must
 * be "absolute", the only kind the datapath implements.
 */
export function readBertConfig(path: string): BertConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code) throw new CheckpointError(path, '(file)', `cannot be read: ${(e as Error).message}`);
    throw new CheckpointError(path, '(file)', `is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObj(raw)) throw new CheckpointError(path, '(root)', 'must be a JSON object');
  return parseBertConfig(path, raw);
}

/**
 * Validate `cfg` and write it as HF does (`to_json_string`: keys sorted, 2-space indent, trailing
 * newline), atomically. id2label/label2id are written (HF's own form), num_labels is not.
 */
export function writeBertConfig(path: string, cfg: BertConfigInput): void {
  writeFileAtomic(path, encodeBertConfig(cfg, path), { fsync: true });
}

/** The text writeBertConfig writes (the same validation), for a caller that writes it itself; `path` names the file in errors. */
export function encodeBertConfig(cfg: BertConfigInput, path = '(config.json)'): string {
  // Normalize through the reader's validation so nothing invalid is ever written.
  const { extra, num_labels: _n, ...known } = cfg;
  void _n;
  for (const k of Object.keys(extra ?? {})) {
    if (KNOWN_FIELDS.has(k)) throw new CheckpointError(path, `extra.${k}`, 'is a known field; set it on the config itself');
  }
  const obj: Record<string, unknown> = { ...extra, ...known, num_labels: cfg.num_labels };
  if (known.architectures === undefined) delete obj.architectures;
  const checked = parseBertConfig(path, obj);
  const { extra: ex, num_labels: _m, ...out } = checked;
  void _m;
  const all: Record<string, unknown> = { ...ex, ...out };
  return `${JSON.stringify(sortKeys(all), null, 2)}\n`;
}

/** Recursively sort object keys (json.dumps(sort_keys=True)); arrays keep their order. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObj(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k])]),
  );
}

function parseBertConfig(path: string, raw: Record<string, unknown>): BertConfig {
  const fail = (f: string, msg: string): never => {
    throw new CheckpointError(path, f, msg);
  };
  const posInt = (f: string, v: unknown): number => {
    if (v === undefined) return fail(f, 'is missing (required: the model geometry has no default)');
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) return fail(f, `${JSON.stringify(v)} must be a positive integer`);
    return v;
  };
  const prob = (f: string, v: unknown): number => {
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) return fail(f, `${JSON.stringify(v)} must be a probability in [0, 1)`);
    return v;
  };
  const positive = (f: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return fail(f, `${JSON.stringify(v)} must be a positive number`);
    return v;
  };
  const get = (k: keyof typeof CONFIG_DEFAULTS): unknown => raw[k] ?? CONFIG_DEFAULTS[k];

  const modelType = raw.model_type ?? 'bert';
  if (modelType !== 'bert') fail('model_type', `${JSON.stringify(modelType)} is not "bert"`);
  let architectures: string[] | undefined;
  if (raw.architectures !== undefined && raw.architectures !== null) {
    if (!Array.isArray(raw.architectures) || !raw.architectures.every((a) => typeof a === 'string')) {
      fail('architectures', `${JSON.stringify(raw.architectures)} must be an array of class names`);
    }
    architectures = [...(raw.architectures as string[])];
  }
  const geometry = Object.fromEntries(GEOMETRY_FIELDS.map((f) => [f, posInt(f, raw[f])])) as Record<(typeof GEOMETRY_FIELDS)[number], number>;
  if (geometry.hidden_size % geometry.num_attention_heads !== 0) {
    fail('num_attention_heads', `${geometry.num_attention_heads} must divide hidden_size = ${geometry.hidden_size}`);
  }
  const act = get('hidden_act');
  if (act !== 'gelu') fail('hidden_act', `${JSON.stringify(act)} is not supported: the datapath implements only "gelu" (exact, erf-based)`);
  const pet = raw.position_embedding_type;
  if (pet !== undefined && pet !== null && pet !== 'absolute')
    fail('position_embedding_type', `${JSON.stringify(pet)} is not supported: only "absolute" position embeddings`);

  // Labels: num_labels and/or id2label (HF writes only id2label/label2id).
  let numLabels: number | undefined;
  if (raw.num_labels !== undefined && raw.num_labels !== null) numLabels = posInt('num_labels', raw.num_labels);
  let id2label: Record<string, string> | undefined;
  if (raw.id2label !== undefined && raw.id2label !== null) {
    if (!isObj(raw.id2label)) fail('id2label', 'must be an object from label index to name');
    const m = raw.id2label as Record<string, unknown>;
    const n = Object.keys(m).length;
    if (n === 0) fail('id2label', 'must have at least one label');
    for (let i = 0; i < n; i++) {
      if (typeof m[String(i)] !== 'string')
        fail('id2label', `keys must be "0".."${n - 1}" with string names; ${JSON.stringify(String(i))} is ${JSON.stringify(m[String(i)])}`);
    }
    if (numLabels !== undefined && numLabels !== n) fail('num_labels', `${numLabels} disagrees with id2label, which has ${n} labels`);
    numLabels = n;
    id2label = Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), m[String(i)] as string]));
  }
  numLabels ??= 2;
  id2label ??= Object.fromEntries(Array.from({ length: numLabels }, (_, i) => [String(i), `LABEL_${i}`]));
  let label2id: Record<string, number>;
  if (raw.label2id !== undefined && raw.label2id !== null) {
    if (!isObj(raw.label2id)) fail('label2id', 'must be an object from label name to index');
    label2id = {};
    for (const [name, idx] of Object.entries(raw.label2id as Record<string, unknown>)) {
      if (typeof idx !== 'number' || id2label[String(idx)] !== name)
        fail(`label2id[${JSON.stringify(name)}]`, `${JSON.stringify(idx)} is not the index of ${JSON.stringify(name)} in id2label`);
      label2id[name] = idx as number;
    }
    if (Object.keys(label2id).length !== numLabels) fail('label2id', `has ${Object.keys(label2id).length} labels but there are ${numLabels}`);
  } else {
    label2id = Object.fromEntries(Object.entries(id2label).map(([i, name]) => [name, Number(i)]));
  }

  const extra = Object.fromEntries(Object.entries(raw).filter(([k]) => !KNOWN_FIELDS.has(k)));

  const cfg: BertConfig = {
    model_type: 'bert',
    ...(architectures ? { architectures } : {}),
    ...geometry,
    hidden_act: 'gelu',
    hidden_dropout_prob: prob('hidden_dropout_prob', get('hidden_dropout_prob')),
    attention_probs_dropout_prob: prob('attention_probs_dropout_prob', get('attention_probs_dropout_prob')),
    initializer_range: positive('initializer_range', get('initializer_range')),
    layer_norm_eps: positive('layer_norm_eps', get('layer_norm_eps')),
    num_labels: numLabels,
    id2label,
    label2id,
    extra,
  };
  return cfg;
}
