/**
 * formats/hf-checkpoint.ts: the tensors of a HuggingFace BERT checkpoint (a safetensors file) checked
 * against the project's parameter layout and renamed to the project's names. The expected layout is
 * the caller's (floatParamShapes of a geometry), so this module needs nothing of the model code.
 */
import { CheckpointError, type FloatTensor, type Tensor } from './safetensors.js';

export interface ValidateOptions {
  /**
   * Expected names that may be absent, e.g. ['classifier.weight', 'classifier.bias'] when loading
   * a pretraining checkpoint (bert-base-uncased) that has no task head yet; the caller
   * initializes them. They are simply left out of the result.
   */
  optional?: Iterable<string>;
}

/** Tensors of HF checkpoints that are not parameters of BertForSequenceClassification. */
function isIgnored(name: string): boolean {
  // position_ids is a registered buffer (0..max_positions-1) that older transformers saved;
  // cls.* is the masked-LM / next-sentence pretraining head of BertForPreTraining / ForMaskedLM.
  return name === 'bert.embeddings.position_ids' || name === 'embeddings.position_ids' || name.startsWith('cls.');
}

/**
 * Check checkpoint tensors against the expected float parameter shapes (floatParamShapes of the
 * geometry) and return them under the project's names, in `shapes` order.
 *
 * Accepted HuggingFace variants, mapped to the project's names:
 *   - names without the `bert.` prefix (a checkpoint saved from BertModel rather than
 *     BertForSequenceClassification): `encoder.layer.0...` -> `bert.encoder.layer.0...`
 *   - LayerNorm `gamma`/`beta` (TF-converted checkpoints, bert-base-uncased's own files) ->
 *     `weight`/`bias`
 * Ignored: `bert.embeddings.position_ids` (a buffer, not a parameter) and `cls.*` (pretraining
 * heads). Every other problem is collected into one error: tensors missing, tensors not expected,
 * two tensors mapping to the same name, shapes that differ, and non-float tensors.
 */
export function validateAgainstShapes(
  tensors: ReadonlyMap<string, Tensor>,
  shapes: ReadonlyMap<string, number[]>,
  file: string,
  options: ValidateOptions = {},
): Map<string, FloatTensor> {
  const optional = new Set(options.optional ?? []);
  const found = new Map<string, { from: string; t: Tensor }>();
  const unexpected: string[] = [];
  const duplicate: string[] = [];
  for (const [name, t] of tensors) {
    if (isIgnored(name)) continue;
    const target = projectName(name, shapes);
    if (target === null) {
      unexpected.push(name);
      continue;
    }
    const prior = found.get(target);
    if (prior) {
      duplicate.push(`${prior.from} and ${name} both give ${target}`);
      continue;
    }
    found.set(target, { from: name, t });
  }

  const missing: string[] = [];
  const mismatched: string[] = [];
  const out = new Map<string, FloatTensor>();
  for (const [name, shape] of shapes) {
    const f = found.get(name);
    if (!f) {
      if (!optional.has(name)) missing.push(`${name} ${JSON.stringify(shape)}`);
      continue;
    }
    const as = f.from === name ? name : `${name} (as ${f.from})`;
    if (f.t.shape.length !== shape.length || f.t.shape.some((d, i) => d !== shape[i])) {
      mismatched.push(`${as}: shape ${JSON.stringify(f.t.shape)}, expected ${JSON.stringify(shape)}`);
    } else if (f.t.dtype !== 'F32') {
      mismatched.push(`${as}: dtype ${f.t.dtype}, expected a float dtype (F32, F16, BF16 or F64)`);
    } else {
      out.set(name, { dtype: 'F32', shape: [...shape], data: f.t.data }); // data shared, not copied
    }
  }

  const problems: string[] = [];
  const list = (title: string, items: string[]): void => {
    if (items.length === 0) return;
    const LIMIT = 20;
    const shown = items.slice(0, LIMIT).map((s) => `    ${s}`);
    if (items.length > LIMIT) shown.push(`    ... and ${items.length - LIMIT} more`);
    problems.push(`  ${items.length} ${title}:\n${shown.join('\n')}`);
  };
  list('missing', missing);
  list('unexpected', unexpected);
  list('duplicated', duplicate);
  list('mismatched', mismatched);
  if (problems.length) {
    throw new CheckpointError(file, '(tensors)', `does not match the model layout (${shapes.size} expected tensors):\n${problems.join('\n')}`);
  }
  return out;
}

/** The project name a checkpoint tensor name stands for, or null if it is none. */
function projectName(name: string, shapes: ReadonlyMap<string, number[]>): string | null {
  const renamed = name.replace(/\.LayerNorm\.gamma$/, '.LayerNorm.weight').replace(/\.LayerNorm\.beta$/, '.LayerNorm.bias');
  if (shapes.has(renamed)) return renamed;
  if (!renamed.startsWith('bert.') && shapes.has(`bert.${renamed}`)) return `bert.${renamed}`;
  return null;
}
