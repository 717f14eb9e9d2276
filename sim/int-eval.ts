/**
 * Integer accuracy: a fine-tuned model exported to ROM and SRAM images (ROM calibrated on the base
 * model, the task's writable tensors quantized with the base scales, as on a chip serving many
 * tasks) and evaluated example by example through the integer datapath.
 */
import { exportImages, type FloatModel } from '../rtl-model/export.js';
import { Datapath, type ForwardInput } from '../rtl-model/datapath.js';
import { MemorySystem } from '../rtl-model/memory.js';
import { createGemmEngine } from '../rtl-model/gemm/engines.js';
import { VARIANTS, type Geometry, type VariantId } from '../rtl-model/spec/index.js';

export interface IntegerEval {
  /** Class index per example, or the dequantized regression output. */
  predictions: Float32Array;
  images: { romSha256: string; sramSha256: string; romBytes: number; sramBytes: number; biasSaturated: number; ratioClamped: number };
}

export const isExportable = (v: string): v is VariantId => (VARIANTS as readonly string[]).includes(v);

export async function integerEval(
  g: Geometry,
  base: Map<string, Float32Array>,
  task: Map<string, Float32Array>,
  variant: VariantId,
  calibration: ForwardInput,
  examples: ForwardInput[],
  regression: boolean,
  opts: { trim?: boolean } = {},
): Promise<IntegerEval> {
  const trim = opts.trim ?? true;
  const engine = await createGemmEngine('wasm'); // one thread: campaigns run one process per core
  try {
    const pick = (p: Map<string, Float32Array>): Map<string, Float32Array> => new Map([...p].filter(([k]) => !k.startsWith('cls.')));
    const baseModel: FloatModel = { geometry: g, params: pick(base), source: { kind: 'checkpoint' } };
    const taskModel: FloatModel = { geometry: g, params: pick(task), source: { kind: 'fine-tuned' } };
    const ex = await exportImages(baseModel, variant, calibration, engine, taskModel);
    const mem = new MemorySystem(ex.romImage, ex.sramImage);
    // One datapath per sequence length: an example runs at its length rounded up to 8 (trailing
    // padding cut). The same integers result: masked keys take no part in the softmax (weight 0,
    // excluded from the row maximum and sum), and no other step mixes positions.
    const datapaths = new Map<number, Datapath>();
    const datapathFor = (L: number): Datapath => {
      let dp = datapaths.get(L);
      if (!dp) datapaths.set(L, (dp = new Datapath(mem, { ...g, seqLen: L }, engine)));
      return dp;
    };
    // per-class logit scales (weight scales are per output channel): compare dequantized logits
    const scale = ex.romImage.header.meta.logitScale as number[];
    const predictions = new Float32Array(examples.length);
    for (let i = 0; i < examples.length; i++) {
      const x = examples[i];
      let used = x.attentionMask.length;
      while (used > 1 && !x.attentionMask[used - 1]) used--;
      const L = trim ? Math.min(g.seqLen, Math.ceil(used / 8) * 8) : g.seqLen;
      const input = L === g.seqLen ? x : { inputIds: x.inputIds.slice(0, L), tokenTypeIds: x.tokenTypeIds.slice(0, L), attentionMask: x.attentionMask.slice(0, L) };
      const logits = (await datapathFor(L).forward(input)).get('logits')!;
      if (regression) predictions[i] = logits[0] * scale[0];
      else {
        let best = 0;
        for (let j = 1; j < logits.length; j++) if (logits[j] * scale[j] > logits[best] * scale[best]) best = j;
        predictions[i] = best;
      }
    }
    return {
      predictions,
      images: { romSha256: ex.romImage.sha256, sramSha256: ex.sramImage.sha256, romBytes: ex.rom.length, sramBytes: ex.sram.length, biasSaturated: ex.stats.biasSaturated, ratioClamped: ex.stats.ratioClamped },
    };
  } finally {
    await engine.close?.();
  }
}
