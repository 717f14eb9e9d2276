/**
 * Integer accuracy: a fine-tuned model exported to ROM and SRAM images (ROM calibrated on the base
 * model, the task's writable tensors quantized with the base scales, as on a chip serving many
 * tasks, except its classification head, at its own per-class scales: the SRAM image's logit scale)
 * and evaluated example by example through the integer datapath.
 *
 * The random-subset variants (rand-uniform, rand-rowcol) have no image layout of their own: on the
 * chip their scattered weights live in a patch memory whose correction path adds x * (w' - w) to
 * the ROM array's x * w (sim/costs.ts costs it). They are evaluated in the full-ft layout, where
 * every weight is in SRAM quantized with the base scales: a weight the variant did not train
 * quantizes to the ROM's value, a patched one to w', and x * w + x * (w' - w) = x * w' exactly in
 * integers, so the predictions are those of the patched chip whose patch memory holds int8 values
 * at the ROM's scales. A trained weight beyond ±127 at those scales is clamped (as such a patch
 * memory would have to); `images.weightSaturated` counts them. The image facts recorded (ROM
 * sha256 and size) are those of this all-SRAM export, not of the shared base ROM.
 */
import { exportImages, type FloatModel } from '../rtl-model/export.js';
import { EXPORTER_VERSION } from '../formats/exporter-version.js';
import { Datapath, type ForwardInput } from '../rtl-model/datapath.js';
import { MemorySystem } from '../rtl-model/memory.js';
import { createGemmEngine } from '../rtl-model/gemm/engines.js';
import { type Geometry, type VariantId } from '../rtl-model/spec/index.js';
import { isVariantId, variantInfo } from '../formats/variants.js';

export interface IntegerEval {
  /** Class index per example, or the dequantized regression output. */
  predictions: Float32Array;
  images: {
    exporterVersion: number;
    layout: VariantId;
    romSha256: string;
    sramSha256: string;
    romBytes: number;
    sramBytes: number;
    biasSaturated: number;
    ratioClamped: number;
    weightSaturated: number;
  };
}

/** The image layout a variant's integer accuracy is measured in (its registry entry's integerImage; null: none). */
export function integerLayout(v: string): VariantId | null {
  return isVariantId(v) ? variantInfo(v).integerImage : null;
}

export async function integerEval(
  g: Geometry,
  base: Map<string, Float32Array>,
  task: Map<string, Float32Array>,
  variant: string,
  calibration: ForwardInput,
  examples: ForwardInput[],
  regression: boolean,
  opts: { trim?: boolean } = {},
): Promise<IntegerEval> {
  const trim = opts.trim ?? true;
  const layout = integerLayout(variant);
  if (!layout) throw new Error(`integer evaluation: variant ${variant} has no image layout`);
  const engine = await createGemmEngine('wasm'); // one thread: campaigns run one process per core
  try {
    const pick = (p: Map<string, Float32Array>): Map<string, Float32Array> => new Map([...p].filter(([k]) => !k.startsWith('cls.')));
    const baseModel: FloatModel = { geometry: g, params: pick(base), source: { kind: 'checkpoint' } };
    const taskModel: FloatModel = { geometry: g, params: pick(task), source: { kind: 'fine-tuned' } };
    const ex = await exportImages(baseModel, layout, calibration, engine, taskModel);
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
    const scale = ex.sramImage.header.meta.logitScale as number[];
    const predictions = new Float32Array(examples.length);
    for (let i = 0; i < examples.length; i++) {
      const x = examples[i];
      let used = x.attentionMask.length;
      while (used > 1 && !x.attentionMask[used - 1]) used--;
      const L = trim ? Math.min(g.seqLen, Math.ceil(used / 8) * 8) : g.seqLen;
      const input =
        L === g.seqLen ? x : { inputIds: x.inputIds.slice(0, L), tokenTypeIds: x.tokenTypeIds.slice(0, L), attentionMask: x.attentionMask.slice(0, L) };
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
      images: {
        exporterVersion: EXPORTER_VERSION,
        layout,
        romSha256: ex.romImage.sha256,
        sramSha256: ex.sramImage.sha256,
        romBytes: ex.rom.length,
        sramBytes: ex.sram.length,
        biasSaturated: ex.stats.biasSaturated,
        ratioClamped: ex.stats.ratioClamped,
        weightSaturated: ex.stats.weightSaturated,
      },
    };
  } finally {
    await engine.close?.();
  }
}
