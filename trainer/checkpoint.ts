/**
 * Model checkpoints: a directory of a HuggingFace-style BERT `config.json` and a `model.safetensors`,
 * so that the project's own BERT and a real HuggingFace checkpoint (e.g. `bert-base-uncased`) can be
 * loaded, validated against the project's layout and renamed to the project's parameter names.
 *
 * The file formats live in the neutral formats/ layer, shared with the simulator:
 *   formats/safetensors.ts    safetensors reading and writing, CheckpointError
 *   formats/hf-config.ts      config.json reading and writing (HF's defaults and layout)
 *   formats/hf-checkpoint.ts  a checkpoint's tensors against the project's layout (HF name variants)
 * They are re-exported here for the trainer's modules. What stays here needs the integer spec:
 * the project's Geometry of a config.
 */
import { geometryProblems, type Geometry } from '../rtl-model/spec/index.js';
import { CheckpointError } from '../formats/safetensors.js';
import type { BertConfigInput } from '../formats/hf-config.js';

export {
  CheckpointError,
  readSafetensors,
  writeSafetensors,
  shapeElements,
  type FloatTensor,
  type LoadedTensor,
  type ReadableDType,
  type SafetensorsFile,
  type Tensor,
  type WritableDType,
} from '../formats/safetensors.js';
export { readBertConfig, writeBertConfig, type BertConfig, type BertConfigInput } from '../formats/hf-config.js';
export { validateAgainstShapes, type ValidateOptions } from '../formats/hf-checkpoint.js';

/**
 * The project's Geometry of a config, run at sequence length `seqLen`; throws (field "geometry",
 * naming `file`) with every problem geometryProblems finds (e.g. seqLen > max_position_embeddings).
 */
export function toGeometry(cfg: BertConfigInput, seqLen: number, file = '(config)'): Geometry {
  const g: Geometry = {
    layers: cfg.num_hidden_layers,
    hidden: cfg.hidden_size,
    heads: cfg.num_attention_heads,
    ffn: cfg.intermediate_size,
    seqLen,
    vocab: cfg.vocab_size,
    maxPositions: cfg.max_position_embeddings,
    typeVocab: cfg.type_vocab_size,
    numLabels: cfg.num_labels,
  };
  const p = geometryProblems(g);
  if (p.length) throw new CheckpointError(file, 'geometry', p.join('; '));
  return g;
}
