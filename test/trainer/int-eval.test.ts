import { describe, it, expect } from 'vitest';
import { integerEval, integerLayout } from '../../trainer/int-eval.js';
import { exportImages, syntheticModel, syntheticTask, syntheticInput } from '../../rtl-model/export.js';
import { oracleEngine } from '../../rtl-model/gemm/oracle.js';
import type { Geometry } from '../../rtl-model/spec/index.js';
import type { ForwardInput } from '../../rtl-model/datapath.js';

const g: Geometry = { layers: 2, hidden: 24, heads: 3, ffn: 40, seqLen: 29, vocab: 60, maxPositions: 64, typeVocab: 2, numLabels: 3 };

/** Right-padded example of `used` tokens (the tokenizer's layout). */
function example(seed: number, used: number): ForwardInput {
  const x = syntheticInput(g, seed);
  for (let i = used; i < g.seqLen; i++) {
    x.inputIds[i] = 0;
    x.tokenTypeIds[i] = 0;
    x.attentionMask[i] = 0;
  }
  return x;
}

describe('integer evaluation of a dev set', () => {
  it('gives the same integers when trailing padding is cut (each example at its length rounded up to 8)', async () => {
    const base = syntheticModel(g, 3);
    const task = syntheticTask(base, 'bitfit', 4);
    const lengths = [1, 2, 7, 8, 9, 15, 16, 17, 24, 25, 28, 29];
    const xs = lengths.map((n, i) => example(100 + i, n));
    for (const regression of [true, false]) {
      // regression: the dequantized first logit itself, compared exactly
      const a = await integerEval(g, base.params, task.params, 'bitfit', syntheticInput(g, 9), xs, regression, { trim: true });
      const b = await integerEval(g, base.params, task.params, 'bitfit', syntheticInput(g, 9), xs, regression, { trim: false });
      expect(Array.from(a.predictions)).toEqual(Array.from(b.predictions));
      expect(a.images.romSha256).toBe(b.images.romSha256);
    }
  });
});

describe('integer layouts of the variants', () => {
  it('image variants use their own layout, the random subsets the full-ft layout, others none', () => {
    expect(integerLayout('bitfit-bq')).toBe('bitfit-bq');
    expect(integerLayout('rand-uniform')).toBe('full-ft');
    expect(integerLayout('rand-rowcol')).toBe('full-ft');
    expect(integerLayout('bogus')).toBeNull();
  });
  it('a random-subset model in the full-ft layout differs from the base ROM exactly at its patched weights', async () => {
    const base = syntheticModel(g, 5);
    const task = new Map([...base.params].map(([k, v]) => [k, v.slice()]));
    const name = 'bert.encoder.layer.1.intermediate.dense.weight';
    const w = task.get(name)!;
    const patched = [3, 77, 500];
    for (const i of patched) w[i] = -w[i] + 0.05;
    const calib = syntheticInput(g, 6);
    const rom = await exportImages(base, 'frozen', calib, oracleEngine);
    const ex = await exportImages(base, 'full-ft', calib, oracleEngine, { ...base, params: task, source: { kind: 'fine-tuned' } });
    let differing = 0;
    for (const t of ex.sramImage.tensors.values()) {
      if (!t.name.endsWith('.weight') || t.name.startsWith('bert.embeddings.')) continue;
      const r = (rom.romImage.tensors.get(t.name) ?? rom.sramImage.tensors.get(t.name))!.data;
      t.data.forEach((v, i) => {
        if (v !== r[i]) {
          differing++;
          expect(t.name === name && patched.includes(i), `${t.name}[${i}]`).toBe(true);
        }
      });
    }
    expect(differing).toBeGreaterThan(0);
    const a = await integerEval(g, base.params, task, 'rand-uniform', calib, [syntheticInput(g, 7)], false);
    expect(a.images.layout).toBe('full-ft');
    await expect(integerEval(g, base.params, task, 'bogus', calib, [], false)).rejects.toThrow(/variant bogus has no image layout/);
  });
});

describe('task models in the full-ft layout', () => {
  it("carry the task's LayerNorm gammas into the gain constants, and count weights clamped at the base scales", async () => {
    const base = syntheticModel(g, 8);
    const calib = syntheticInput(g, 9);
    const same = await exportImages(base, 'full-ft', calib, oracleEngine, { ...base, source: { kind: 'fine-tuned' } });
    const task = new Map([...base.params].map(([k, v]) => [k, v.slice()]));
    const ln = 'bert.encoder.layer.1.output.LayerNorm';
    task.set(
      `${ln}.weight`,
      task.get(`${ln}.weight`)!.map((x) => 1.5 * x),
    );
    const w = task.get('bert.encoder.layer.0.attention.self.query.weight')!;
    w[0] = 100; // far beyond its row's maximum
    const ex = await exportImages(base, 'full-ft', calib, oracleEngine, { ...base, params: task, source: { kind: 'fine-tuned' } });
    const t = (e: typeof ex, n: string) => Array.from((e.sramImage.tensors.get(n) ?? e.romImage.tensors.get(n))!.data);
    // the gain of that LayerNorm changed, every other constant did not
    const gainOf = (e: typeof ex) => t(e, `${ln}.gain.rq.mult`).map((m, i) => m / 2 ** t(e, `${ln}.gain.rq.shift`)[i]);
    gainOf(ex).forEach((x, i) => expect(x / gainOf(same)[i]).toBeCloseTo(1.5, 2));
    expect(t(ex, 'bert.encoder.layer.0.output.LayerNorm.gain.rq.mult')).toEqual(t(same, 'bert.encoder.layer.0.output.LayerNorm.gain.rq.mult'));
    expect(same.stats.weightSaturated).toBe(0);
    expect(ex.stats.weightSaturated).toBe(1);
  });
});

describe('the classification head of a task', () => {
  it('is quantized at its own per-class scales (carried as the SRAM logit scale), leaving the ROM unchanged', async () => {
    const base = syntheticModel(g, 10);
    const calib = syntheticInput(g, 11);
    // a trained head far outside its initialisation's range
    const task = new Map(base.params);
    for (const n of ['classifier.weight', 'classifier.bias'])
      task.set(
        n,
        base.params.get(n)!.map((x) => 10 * x),
      );
    const plain = await exportImages(base, 'bitfit', calib, oracleEngine);
    const ex = await exportImages(base, 'bitfit', calib, oracleEngine, { ...base, params: task, source: { kind: 'fine-tuned' } });
    expect(ex.stats.weightSaturated).toBe(0);
    expect(ex.romImage.sha256).toBe(plain.romImage.sha256);
    // a task that saturates a bias register leaves the ROM (and its meta) as it was too
    const sat = new Map(task);
    const qb = 'bert.encoder.layer.0.attention.self.query.bias';
    sat.set(
      qb,
      task.get(qb)!.map((x, i) => (i === 0 ? 1e9 : x)),
    );
    const exSat = await exportImages(base, 'bitfit', calib, oracleEngine, { ...base, params: sat, source: { kind: 'fine-tuned' } });
    expect(exSat.stats.biasSaturated).toBeGreaterThan(plain.stats.biasSaturated);
    expect(exSat.romImage.sha256).toBe(plain.romImage.sha256);
    const baseScale = plain.sramImage.header.meta.logitScale as number[];
    const taskScale = ex.sramImage.header.meta.logitScale as number[];
    expect(ex.romImage.header.meta.logitScale).toEqual(baseScale);
    taskScale.forEach((s, i) => expect(s / baseScale[i]).toBeCloseTo(10, 4));
    // the same integers at ten times the scale: the same decisions
    const xs = [12, 13, 14, 15].map((s) => syntheticInput(g, s));
    const a = await integerEval(g, base.params, base.params, 'bitfit', calib, xs, false);
    const b = await integerEval(g, base.params, task, 'bitfit', calib, xs, false);
    expect(Array.from(b.predictions)).toEqual(Array.from(a.predictions));
    const ra = await integerEval(g, base.params, base.params, 'bitfit', calib, xs, true);
    const rb = await integerEval(g, base.params, task, 'bitfit', calib, xs, true);
    Array.from(rb.predictions).forEach((p, i) => expect(p / ra.predictions[i]).toBeCloseTo(10, 1));
  });
});
