/**
 * rtl-model/calibrate.ts: choosing the activation scales. Activations are int8 per tensor, scale =
 * max|x| / 127 on one calibration sequence. Calibration is sequential and runs on the integer
 * graph itself: the datapath executes with a hook that, at each requantization site, sees the
 * exact integer values the site will receive, derives their real values from the scales chosen so
 * far, picks the site's output scale and writes its constants (quantize.ts) before they are read.
 */
import {
  EXP_FRAC_BITS,
  INT8_MAX,
  LN_IN_MAX,
  LN_OUT_EXTRA_BITS,
  PROB_FRAC_BITS,
  SHIFT_MIN,
  SHIFT_MIN_INT32_INPUT,
  SHIFT_MIN_LN_GAIN,
  buildActivationLut,
  gelu,
  layerPrefix,
  lnNormUnit,
  lnNormalize,
  maxRatio,
  type Image,
  type VariantId,
} from './spec/index.js';
import { Datapath, type CalibrationHook, type ForwardInput } from './datapath.js';
import { MemorySystem } from './memory.js';
import type { GemmEngine } from './gemm/oracle.js';
import type { FloatModel } from './float-model.js';
import { maxAbs, quantizeBias, scaleOf, setRq, type QuantState } from './quantize.js';

/** Largest |acc[i] * scales[i % scales.length]| (an accumulator of rows of scales.length channels). */
function maxAbsPerChannel(acc: ArrayLike<number>, scales: Float64Array): number {
  const n = scales.length;
  let m = 0;
  for (let o = 0; o < acc.length; o += n) {
    for (let j = 0; j < n; j++) {
      const a = Math.abs(acc[o + j] * scales[j]);
      if (a > m) m = a;
    }
  }
  return m;
}

/**
 * Calibrate on the integer graph: run the datapath once on `calib` over images holding every
 * tensor of `st`, its constants filled in by the hook as the pass reaches them. Returns the
 * calibration's wall time in milliseconds.
 */
export async function calibrate(st: QuantState, base: FloatModel, variant: VariantId, calib: ForwardInput, engine: GemmEngine): Promise<number> {
  const g = base.geometry;
  const t0 = performance.now();
  // The calibration ROM shares the live arrays, so the hook's writes are what the datapath reads next.
  const fullRom: Image = { header: { kind: 'rom', geometry: g, variant, meta: {}, toc: [] }, tensors: st.tensors, sha256: '' };
  const emptySram: Image = { header: { kind: 'sram', geometry: g, variant, meta: {}, toc: [] }, tensors: new Map(), sha256: '' };
  const mem = new MemorySystem(fullRom, emptySram);
  const dp = new Datapath(mem, g, engine, new Calibrator(st, base));
  await dp.forward(calib);
  return performance.now() - t0;
}

/** The calibration hook: sets each site's constants from the values it is about to receive. */
class Calibrator implements CalibrationHook {
  constructor(
    private readonly st: QuantState,
    private readonly model: FloatModel,
  ) {}

  private p(name: string): Float32Array {
    const a = this.model.params.get(name);
    if (!a) throw new Error(`float model has no parameter ${name}`);
    return a;
  }

  /** Quantize the biases of the linears that consume an activation of scale s. */
  private linearBias(name: string, sIn: number): void {
    const ws = this.st.weightScale.get(`${name}.weight`)!;
    this.quantBias(
      `${name}.bias`,
      this.p(`${name}.bias`),
      Float64Array.from(ws, (w) => w * sIn),
    );
  }

  private quantBias(name: string, f: Float32Array, scales: Float64Array): void {
    quantizeBias(this.st, name, f, scales);
  }

  private consumersOf(ln: string, s: number): void {
    const g = this.model.geometry;
    const m = /^bert\.encoder\.layer\.(\d+)\.(attention\.output|output)\.LayerNorm$/.exec(ln);
    const next = ln === 'bert.embeddings.LayerNorm' ? 0 : m && m[2] === 'output' ? Number(m[1]) + 1 : -1;
    if (m && m[2] === 'attention.output') {
      this.linearBias(`${layerPrefix(Number(m[1]))}intermediate.dense`, s);
    } else if (next >= 0 && next < g.layers) {
      for (const q of ['query', 'key', 'value']) this.linearBias(`${layerPrefix(next)}attention.self.${q}`, s);
    } else if (next === g.layers) {
      this.linearBias('bert.pooler.dense', s);
    }
  }

  observe(site: string, v: Record<string, ArrayLike<number>>): void {
    const st = this.st;
    const g = this.model.geometry;
    const H = g.hidden;
    if (site === 'bert.embeddings.join') {
      const names = ['word_embeddings', 'position_embeddings', 'token_type_embeddings'].map((n) => `bert.embeddings.${n}`);
      const sc = names.map((n) => new Float64Array(H).fill(st.weightScale.get(`${n}.weight`)![0]));
      const terms = names.map((n) => v[n]);
      this.joinScale(site, 'bert.embeddings.LayerNorm', names, terms, sc);
      return;
    }
    const join = /^(.*?)\.(attention\.output|output)\.join$/.exec(site);
    if (join) {
      const pre = `${join[1]}.${join[2]}`;
      const resA = join[2] === 'attention.output' ? this.prevOut(join[1]) : `${join[1]}.attention.output.LayerNorm`;
      const sA = st.actScale.get(resA)!;
      const accScale = st.biasScale.get(`${pre}.dense.bias`)!;
      this.joinScale(
        site,
        `${pre}.LayerNorm`,
        [`${pre}.res_a`, `${pre}.res_b`],
        [v[`${pre}.res_a`], v[`${pre}.res_b`]],
        [new Float64Array(H).fill(sA), accScale],
      );
      return;
    }
    if (site.endsWith('LayerNorm')) {
      this.layerNorm(site, v.x);
      return;
    }
    const qkv = /^(.*attention\.self\.)(query|key|value)$/.exec(site);
    if (qkv || site.endsWith('intermediate.dense') || site === 'bert.pooler.dense') {
      const bs = st.biasScale.get(`${site}.bias`)!;
      const acc = v.acc;
      // The output grid may not be finer than the accumulator's (ratio <= maxRatio(15)).
      let s = Math.max(scaleOf(maxAbsPerChannel(acc, bs)), Math.max(...bs) / maxRatio(SHIFT_MIN_INT32_INPUT));
      if (site === 'bert.pooler.dense') s = Math.min(s, 4 / INT8_MAX); // tanh is flat beyond 4
      setRq(
        st,
        site,
        Float64Array.from(bs, (b) => b / s),
        SHIFT_MIN_INT32_INPUT,
      );
      st.actScale.set(site, s);
      if (qkv && qkv[2] === 'key') {
        const sq = st.actScale.get(`${qkv[1]}query`)!;
        const dh = H / g.heads;
        setRq(st, `${qkv[1]}scores`, [((sq * s) / Math.sqrt(dh)) * 2 ** EXP_FRAC_BITS], SHIFT_MIN_INT32_INPUT);
      }
      if (site.endsWith('intermediate.dense')) {
        let mg = 0;
        for (let i = 0; i < 256; i++) mg = Math.max(mg, Math.abs(gelu((i - 128) * s)));
        const sg = scaleOf(mg);
        const lut = buildActivationLut(gelu, s, sg);
        st.tensors.get(site.replace('intermediate.dense', 'intermediate.gelu.lut'))!.data.set(lut);
        st.actScale.set(site.replace('intermediate.dense', 'intermediate.gelu'), sg);
        this.linearBias(site.replace('intermediate.dense', 'output.dense'), sg);
      }
      if (site === 'bert.pooler.dense') {
        st.tensors.get('bert.pooler.tanh.lut')!.data.set(buildActivationLut(Math.tanh, s, 1 / INT8_MAX));
        st.actScale.set('bert.pooler.tanh', 1 / INT8_MAX);
        this.linearBias('classifier', 1 / INT8_MAX);
      }
      return;
    }
    if (site.endsWith('attention.self.context')) {
      const sv = st.actScale.get(site.replace('context', 'value'))!;
      const accUnit = sv * 2 ** -PROB_FRAC_BITS;
      const s = Math.max(scaleOf(maxAbs(v.acc) * accUnit), accUnit / maxRatio(SHIFT_MIN_INT32_INPUT));
      setRq(st, site, [accUnit / s], SHIFT_MIN_INT32_INPUT);
      st.actScale.set(site, s);
      this.linearBias(site.replace('self.context', 'output.dense'), s);
      return;
    }
    // scores: constants were set with the key projection.
  }

  private prevOut(layerPre: string): string {
    const l = Number(/layer\.(\d+)$/.exec(layerPre)![1]);
    return l === 0 ? 'bert.embeddings.LayerNorm' : `${layerPrefix(l - 1)}output.LayerNorm`;
  }

  /**
   * Pick the LayerNorm input scale so that no term and no sum saturates, and set the terms' rq.
   * `scales[t][j]` is term t's real scale in channel j (of `hidden`); element i is in channel i % hidden.
   */
  private joinScale(site: string, ln: string, sites: string[], terms: ArrayLike<number>[], scales: Float64Array[]): void {
    const st = this.st;
    const H = this.model.geometry.hidden;
    const n = terms[0].length;
    let m = 0;
    for (let o = 0; o < n; o += H) {
      for (let j = 0; j < H; j++) {
        let sum = 0;
        for (let t = 0; t < terms.length; t++) {
          const r = terms[t][o + j] * scales[t][j];
          const a = Math.abs(r);
          if (a > m) m = a;
          sum += r;
        }
        const a = Math.abs(sum);
        if (a > m) m = a;
      }
    }
    let sc = m > 0 ? m / LN_IN_MAX : 1;
    // int32 terms: the LayerNorm input grid may not be finer than their accumulator grid.
    sites.forEach((_, t) => {
      if (t > 0 && site !== 'bert.embeddings.join') for (let j = 0; j < H; j++) sc = Math.max(sc, scales[t][j] / maxRatio(SHIFT_MIN_INT32_INPUT));
    });
    sites.forEach((s, t) => {
      const channels = st.tensors.get(`${s}.rq.mult`)!.data.length;
      const ratios = Float64Array.from({ length: channels }, (_, j) => scales[t][j] / sc);
      const int8Input = t === 0 || site === 'bert.embeddings.join';
      setRq(st, s, ratios, int8Input ? SHIFT_MIN : SHIFT_MIN_INT32_INPUT);
    });
    st.actScale.set(`${ln}.input`, sc);
  }

  private layerNorm(ln: string, x: ArrayLike<number>): void {
    const st = this.st;
    const H = this.model.geometry.hidden;
    const gamma = this.p(`${ln}.weight`);
    const beta = this.p(`${ln}.bias`);
    const meanMult = st.tensors.get(`${ln}.mean.rq.mult`)!.data[0];
    const meanShift = st.tensors.get(`${ln}.mean.rq.shift`)!.data[0];
    const kappa = lnNormUnit(H);
    const rows = x.length / H;
    const nv = new Int32Array(H);
    let m = 0;
    const rowOf: (r: number) => ArrayLike<number> = ArrayBuffer.isView(x)
      ? (r) => (x as Int16Array).subarray(r * H, (r + 1) * H)
      : (r) => Array.prototype.slice.call(x, r * H, (r + 1) * H);
    for (let r = 0; r < rows; r++) {
      lnNormalize(rowOf(r), meanMult, meanShift, nv);
      for (let j = 0; j < H; j++) {
        const a = Math.abs(gamma[j] * nv[j] * kappa + beta[j]);
        if (a > m) m = a;
      }
    }
    const s = scaleOf(m);
    const extra = 2 ** LN_OUT_EXTRA_BITS;
    setRq(
      st,
      `${ln}.gain`,
      Float64Array.from(gamma, (gm) => (gm * kappa * extra) / s),
      SHIFT_MIN_LN_GAIN,
    );
    this.quantBias(`${ln}.bias`, beta, new Float64Array(H).fill(s / extra));
    st.actScale.set(ln, s);
    this.consumersOf(ln, s);
  }
}
