/**
 * A float BERT in TensorFlow.js for any geometry, with HuggingFace parameter names
 * (BertModel / BertForSequenceClassification / BertForMaskedLM): embeddings, encoder layers,
 * pooler, a classification or regression head on [CLS], and the masked-language-model head tied to
 * the word embeddings. Linear weights are held as [in, out] variables (HF stores [out, in]; the
 * checkpoint code transposes) because the wasm backend's transposed-operand matmul is an order of
 * magnitude slower.
 */
import * as tf from '@tensorflow/tfjs-core';
// Gradient functions are registered by the union package, not by tfjs-core itself.
import '@tensorflow/tfjs';
import { floatParamShapes as bertParamShapes, layerPrefix, type Geometry } from '../rtl-model/spec/index.js';

export { bertParamShapes };

export interface BertOptions {
  hiddenDropout: number;
  attentionDropout: number;
  layerNormEps: number;
  /** 'classification': softmax cross-entropy over numLabels; 'regression': MSE on one output (STS-B). */
  head: 'classification' | 'regression';
  initializerRange: number;
}

export const DEFAULT_BERT_OPTIONS: BertOptions = {
  hiddenDropout: 0.1,
  attentionDropout: 0.1,
  layerNormEps: 1e-12,
  head: 'classification',
  initializerRange: 0.02,
};

/** The project's own model (fixtures/pretrained/bert-l4-h128): the geometry of a random-init run and of the step benchmark. */
export function ownModelGeometry(seqLen: number, numLabels = 2, vocab = 30522): Geometry {
  return { layers: 4, hidden: 128, heads: 2, ffn: 512, seqLen, vocab, maxPositions: 512, typeVocab: 2, numLabels };
}

/** A linear weight: 2-D and not an embedding table (stored transposed in the variables). */
export const isLinearWeight = (name: string, shape: number[]): boolean =>
  shape.length === 2 && name.endsWith('.weight') && !name.startsWith('bert.embeddings.');

/**
 * Deterministic initial values as HF's _init_weights: N(0, range) weights, zero biases, LayerNorm 1/0.
 * `need` limits which tensors are generated (tfjs's seeded normal sampler takes ~3 µs a value, 15 s
 * for this model's embeddings); the ones generated are the same either way.
 */
export function initialParams(
  g: Geometry,
  seed: number,
  withMlmHead = false,
  range = DEFAULT_BERT_OPTIONS.initializerRange,
  need: (name: string) => boolean = () => true,
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  let i = 0;
  for (const [name, shape] of bertParamShapes(g, withMlmHead)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const random = !name.endsWith('LayerNorm.weight') && !name.endsWith('.bias');
    // every random tensor keeps its own seed whether or not it is generated (`need`), so a tensor's
    // initial values never depend on which others were asked for
    const tensorSeed = random ? seed + 7919 * i++ : 0;
    if (!need(name)) continue;
    let v: Float32Array;
    if (name.endsWith('LayerNorm.weight')) v = new Float32Array(n).fill(1);
    else if (!random) v = new Float32Array(n);
    else v = tf.tidy(() => tf.truncatedNormal([n], 0, range, 'float32', tensorSeed).dataSync() as Float32Array);
    out.set(name, v);
  }
  return out;
}

/**
 * Row gather (embedding look-up, picking masked positions) whose gradient is a scatter-add (ScatterNd sums repeated indices) instead of
 * the UnsortedSegmentSum that tfjs's gather gradient needs and the wasm backend does not have.
 */
function embed(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const body = (t: tf.Tensor, i: tf.Tensor, save: tf.GradSaveFunc): { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] } => {
    save([i]);
    const [V, H] = t.shape as [number, number];
    return {
      value: tf.gather(t, i),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const flat = tf.reshape(saved[0], [-1, 1]);
        return [tf.scatterND(flat, tf.reshape(dy, [-1, H]), [V, H]), tf.zerosLike(saved[0])];
      },
    };
  };
  const f = tf.customGrad(body as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(table, ids);
}

/**
 * Matrix product (batched over leading axes) whose gradients use explicit transposes and plain
 * products: tfjs's own matMul gradient multiplies with a transposed operand, a path the wasm
 * backend runs an order of magnitude slower than a plain product.
 */
export function mm(a: tf.Tensor, b: tf.Tensor, gradB = true): tf.Tensor {
  const swap = (t: tf.Tensor): tf.Tensor => tf.transpose(t, [...t.shape.map((_, i) => i).slice(0, -2), t.rank - 1, t.rank - 2]);
  const body = (x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc): { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] } => {
    save([x, y]);
    return {
      value: tf.matMul(x, y),
      gradFunc: (dy, [sx, sy]) => {
        let dx = tf.matMul(dy, swap(sy));
        // a frozen right operand (a weight matrix the variant does not train): no dW product at all
        if (!gradB) return [sx.rank < dx.rank ? tf.sum(dx, [...Array(dx.rank - sx.rank).keys()]) : dx, tf.zerosLike(sy)];
        let dyy = tf.matMul(swap(sx), dy);
        // a 2-D right operand used against a batched left one: sum its gradient over the batch
        if (sy.rank < dyy.rank) dyy = tf.sum(dyy, [...Array(dyy.rank - sy.rank).keys()]);
        if (sx.rank < dx.rank) dx = tf.sum(dx, [...Array(dx.rank - sx.rank).keys()]);
        return [dx, dyy];
      },
    };
  };
  return tf.customGrad(body as unknown as Parameters<typeof tf.customGrad>[0])(a, b);
}

export interface BertInputs {
  /** [batch, seq] int32 */
  inputIds: tf.Tensor2D;
  tokenTypeIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
}

export class BertModel {
  /** Variables by HF name; linear weights hold the transpose ([in, out]). */
  readonly vars = new Map<string, tf.Variable>();
  /** Weight matrices whose gradient is never needed (set by the fine-tuning variant). */
  frozen = new Set<string>();
  readonly opts: BertOptions;

  constructor(
    readonly g: Geometry,
    params: Map<string, Float32Array>,
    opts: Partial<BertOptions> = {},
  ) {
    this.opts = { ...DEFAULT_BERT_OPTIONS, ...opts };
    for (const [name, shape] of bertParamShapes(g, params.has('cls.predictions.bias'))) {
      const data = params.get(name);
      if (!data) throw new Error(`BertModel: parameter ${name} is missing`);
      if (data.length !== shape.reduce((a, b) => a * b, 1))
        throw new Error(`BertModel: ${name} has ${data.length} values, shape ${JSON.stringify(shape)} needs ${shape.reduce((a, b) => a * b, 1)}`);
      const t = tf.tidy(() => (isLinearWeight(name, shape) ? tf.transpose(tf.tensor2d(data, shape as [number, number])) : tf.tensor(data, shape)));
      // tfjs names variables globally; let it pick unique names (several models may coexist)
      this.vars.set(name, tf.variable(t, true));
      t.dispose();
    }
  }

  /** Current values of the named variables in their internal layout (linear weights [in, out]). */
  async rawValues(names: readonly string[]): Promise<Float32Array[]> {
    return Promise.all(
      names.map(async (n) => {
        const v = this.vars.get(n);
        if (!v) throw new Error(`BertModel: no variable ${n}`);
        return ((await v.data()) as Float32Array).slice();
      }),
    );
  }

  /** Set the named variables from values in their internal layout (as rawValues returns them). */
  setRawValues(names: readonly string[], values: readonly Float32Array[]): void {
    names.forEach((n, i) => {
      const v = this.vars.get(n);
      if (!v) throw new Error(`BertModel: no variable ${n}`);
      if (values[i].length !== v.size) throw new Error(`BertModel: ${n} has ${v.size} values, got ${values[i].length}`);
      tf.tidy(() => v.assign(tf.tensor(values[i], v.shape)));
    });
  }

  /** Current parameters in HF layout ([out, in] linear weights). */
  async exportParams(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.vars) {
      const t = v.shape.length === 2 && isLinearWeight(name, [v.shape[1], v.shape[0]]) ? tf.transpose(v) : null;
      try {
        out.set(name, ((await (t ?? v).data()) as Float32Array).slice());
      } finally {
        t?.dispose();
      }
    }
    return out;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }

  private v(name: string): tf.Variable {
    const x = this.vars.get(name);
    if (!x) throw new Error(`BertModel: no parameter ${name}`);
    return x;
  }

  private dense(name: string, x: tf.Tensor): tf.Tensor {
    const w = this.v(`${name}.weight`);
    const shape = x.shape;
    const y = tf.add(mm(tf.reshape(x, [-1, shape[shape.length - 1]]), w, !this.frozen.has(`${name}.weight`)), this.v(`${name}.bias`));
    return tf.reshape(y, [...shape.slice(0, -1), w.shape[1] as number]);
  }

  private layerNorm(name: string, x: tf.Tensor): tf.Tensor {
    const { mean, variance } = tf.moments(x, -1, true);
    const xn = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.opts.layerNormEps)));
    return tf.add(tf.mul(xn, this.v(`${name}.weight`)), this.v(`${name}.bias`));
  }

  private dropout(x: tf.Tensor, rate: number, training: boolean): tf.Tensor {
    return training && rate > 0 ? tf.dropout(x, rate) : x;
  }

  /** Exact GELU, x * Phi(x), as BERT's "gelu". */
  static gelu(x: tf.Tensor): tf.Tensor {
    return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
  }

  /** Sequence output [batch, seq, hidden]. */
  encode(inp: BertInputs, training: boolean): tf.Tensor3D {
    const { hidden: H, heads } = this.g;
    const dh = H / heads;
    const [B, L] = inp.inputIds.shape;
    const e = 'bert.embeddings.';
    const pos = tf.range(0, L, 1, 'int32');
    let x = tf.add(
      tf.add(embed(this.v(`${e}word_embeddings.weight`), inp.inputIds), embed(this.v(`${e}position_embeddings.weight`), pos)),
      embed(this.v(`${e}token_type_embeddings.weight`), inp.tokenTypeIds),
    );
    x = this.dropout(this.layerNorm(`${e}LayerNorm`, x), this.opts.hiddenDropout, training);
    // additive mask: 0 for tokens, -10000 for padding (HF BertModel)
    const maskAdd = tf.reshape(tf.mul(tf.sub(1, tf.cast(inp.attentionMask, 'float32')), -10000), [B, 1, 1, L]);
    const split = (t: tf.Tensor): tf.Tensor => tf.transpose(tf.reshape(t, [B, L, heads, dh]), [0, 2, 1, 3]);
    for (let l = 0; l < this.g.layers; l++) {
      const p = layerPrefix(l);
      const q = split(this.dense(`${p}attention.self.query`, x));
      const k = split(this.dense(`${p}attention.self.key`, x));
      const v = split(this.dense(`${p}attention.self.value`, x));
      const scores = tf.add(tf.div(mm(q, tf.transpose(k, [0, 1, 3, 2])), Math.sqrt(dh)), maskAdd);
      const probs = this.dropout(tf.softmax(scores), this.opts.attentionDropout, training);
      const ctx = tf.reshape(tf.transpose(mm(probs, v), [0, 2, 1, 3]), [B, L, H]);
      const attn = this.dropout(this.dense(`${p}attention.output.dense`, ctx), this.opts.hiddenDropout, training);
      const a1 = this.layerNorm(`${p}attention.output.LayerNorm`, tf.add(attn, x));
      const up = BertModel.gelu(this.dense(`${p}intermediate.dense`, a1));
      const down = this.dropout(this.dense(`${p}output.dense`, up), this.opts.hiddenDropout, training);
      x = this.layerNorm(`${p}output.LayerNorm`, tf.add(down, a1));
    }
    return x as tf.Tensor3D;
  }

  /** Classification logits [batch, numLabels] (or regression output [batch, 1]) from [CLS]. */
  classify(inp: BertInputs, training: boolean): tf.Tensor2D {
    const seq = this.encode(inp, training);
    const cls = tf.squeeze(tf.slice(seq, [0, 0, 0], [-1, 1, -1]), [1]);
    const pooled = tf.tanh(this.dense('bert.pooler.dense', cls));
    return this.dense('classifier', this.dropout(pooled, this.opts.hiddenDropout, training)) as tf.Tensor2D;
  }

  /** Masked-LM logits [n, vocab] at the given flat positions (batch * seq indices). */
  mlmLogits(inp: BertInputs, positions: tf.Tensor1D, training: boolean): tf.Tensor2D {
    return this.mlmHead(this.encode(inp, training), positions);
  }

  /** Both pre-training heads from one encoder pass: masked-LM logits and next-sentence logits [batch, 2] (pooled [CLS]). */
  pretrainLogits(inp: BertInputs, positions: tf.Tensor1D, training: boolean): { mlm: tf.Tensor2D; nsp: tf.Tensor2D } {
    const seq = this.encode(inp, training);
    const cls = tf.squeeze(tf.slice(seq, [0, 0, 0], [-1, 1, -1]), [1]);
    const pooled = tf.tanh(this.dense('bert.pooler.dense', cls));
    return { mlm: this.mlmHead(seq, positions), nsp: this.dense('cls.seq_relationship', pooled) as tf.Tensor2D };
  }

  private mlmHead(seq: tf.Tensor3D, positions: tf.Tensor1D): tf.Tensor2D {
    const flat = tf.reshape(seq, [-1, this.g.hidden]);
    const picked = embed(flat, positions);
    const t = this.layerNorm('cls.predictions.transform.LayerNorm', BertModel.gelu(this.dense('cls.predictions.transform.dense', picked)));
    // decoder tied to the word embeddings
    // (an explicit transpose: the wasm backend's transposed-operand matmul is much slower)
    return tf.add(mm(t, tf.transpose(this.v('bert.embeddings.word_embeddings.weight'))), this.v('cls.predictions.bias')) as tf.Tensor2D;
  }

  /** Mean loss of a batch of labels: cross-entropy (classification) or MSE (regression). */
  loss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    if (this.opts.head === 'regression') return tf.mean(tf.square(tf.sub(tf.squeeze(logits, [1]), labels))) as tf.Scalar;
    return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.cast(labels, 'int32'), this.g.numLabels), logits) as tf.Scalar;
  }
}
