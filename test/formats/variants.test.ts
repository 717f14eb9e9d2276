import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ALL_VARIANTS,
  BIAS_TERM_IDS,
  COSTED_VARIANTS,
  IMAGE_VARIANTS,
  TRAINABLE_VARIANTS,
  VARIANT_REGISTRY,
  isVariantId,
  variantInfo,
} from '../../formats/variants.js';
import {
  HEAD_TENSORS,
  LAYER_BIAS_TERMS,
  VARIANTS,
  VARIANT_BIAS_TERMS,
  layerPrefix,
  modelTensors,
  writableTensors,
  type Geometry,
} from '../../rtl-model/spec/index.js';
import { SIM_VARIANTS, isImageVariant, storagePlan } from '../../sim/variants.js';
import { CONFIG_DIR, ConfigError, loadConfig } from '../../sim/config.js';
import { TRAIN_VARIANTS, selectTrainable } from '../../trainer/finetune.js';
import { integerLayout } from '../../trainer/int-eval.js';
import { selectBackend } from '../../trainer/backend.js';
import { BertModel, initialParams } from '../../trainer/model.js';
import { SHARED_DATA_DIR, sharedData } from '../trainer/shared-data.js';

// The lists as they were written out before the registry (rtl-model/spec/model.ts, sim/variants.ts,
// trainer/finetune.ts): the registry must reproduce them, order included.
const OLD_VARIANTS = ['bitfit', 'bitfit-bq-bm2', 'bitfit-bm2', 'bitfit-bq', 'frozen', 'full-ft'];
const OLD_SIM_VARIANTS = ['bitfit', 'bitfit-bq-bm2', 'bitfit-bm2', 'bitfit-bq', 'frozen', 'rand-uniform', 'rand-rowcol', 'full-ft', 'dram-stream'];
const OLD_TRAIN_VARIANTS = ['bitfit', 'bitfit-bq-bm2', 'bitfit-bm2', 'bitfit-bq', 'frozen', 'rand-uniform', 'rand-rowcol', 'full-ft'];
const ALL_TERMS = ['b_q', 'b_k', 'b_v', 'b_m1', 'b_LN1', 'b_m2', 'b_m3', 'b_LN2'];
const OLD_VARIANT_BIAS_TERMS = {
  bitfit: ALL_TERMS,
  'bitfit-bq-bm2': ['b_q', 'b_m2'],
  'bitfit-bm2': ['b_m2'],
  'bitfit-bq': ['b_q'],
  frozen: [],
  'full-ft': ALL_TERMS,
};

const g: Geometry = { layers: 2, hidden: 16, heads: 2, ffn: 24, seqLen: 8, vocab: 30, maxPositions: 16, typeVocab: 2, numLabels: 2 };

describe('the variant registry', () => {
  it('derives the three old lists, in their order', () => {
    expect([...VARIANTS]).toEqual(OLD_VARIANTS);
    expect([...IMAGE_VARIANTS]).toEqual(OLD_VARIANTS);
    expect([...SIM_VARIANTS]).toEqual(OLD_SIM_VARIANTS);
    expect([...COSTED_VARIANTS]).toEqual(OLD_SIM_VARIANTS);
    expect([...TRAIN_VARIANTS]).toEqual(OLD_TRAIN_VARIANTS);
    expect([...TRAINABLE_VARIANTS]).toEqual(OLD_TRAIN_VARIANTS);
    expect({ ...VARIANT_BIAS_TERMS }).toEqual(OLD_VARIANT_BIAS_TERMS);
    expect([...ALL_VARIANTS]).toEqual(OLD_SIM_VARIANTS);
  });

  it('has each id once, bias terms that the spec names, and integer images that are image variants', () => {
    expect(new Set(ALL_VARIANTS).size).toBe(VARIANT_REGISTRY.length);
    expect([...BIAS_TERM_IDS]).toEqual(Object.keys(LAYER_BIAS_TERMS));
    for (const v of VARIANT_REGISTRY) {
      expect(v.description.length, v.id).toBeGreaterThan(0);
      for (const t of v.trainable?.biasTerms ?? []) expect(BIAS_TERM_IDS, v.id).toContain(t);
      if (v.integerImage !== null) expect(IMAGE_VARIANTS as readonly string[], v.id).toContain(v.integerImage);
      // an image variant's accuracy is measured in its own layout
      if (v.imageLayout !== null) expect(v.integerImage).toBe(v.id);
    }
    expect(isVariantId('bitfit')).toBe(true);
    expect(isVariantId('nope')).toBe(false);
    expect(() => variantInfo('nope' as 'bitfit')).toThrow(/"nope" is not a variant \(one of bitfit, /);
  });

  // ../shared/DESIGN.md is not part of a clone: skipped (saying why) without it, failed under REQUIRE_SHARED_DATA=1
  const designFile = resolve(SHARED_DATA_DIR, '../DESIGN.md');
  const design = sharedData(designFile, 'the design document DESIGN.md', 'it lives in ../shared beside the project, not in a clone');
  it.skipIf(!design.have)(`keeps DESIGN.md's ids (section 5, Variants)${design.skipNote}`, () => {
    const text = readFileSync(designFile, 'utf8');
    const section = text.slice(text.indexOf('**Variants**'), text.indexOf('**Bias terms per layer**'));
    const ids = [...section.matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(isVariantId(id), id).toBe(true);
    for (const id of TRAIN_VARIANTS) expect(ids, id).toContain(id); // DESIGN.md lists the trained variants
  });
});

describe('every consumer takes the ids it should', () => {
  it("rtl-model: an image variant's writable tensors are its layout's (bias set and head, or all but the exp table)", () => {
    const all = modelTensors(g).map((t) => t.name);
    for (const v of VARIANTS) {
      const info = variantInfo(v);
      const want = new Set<string>(HEAD_TENSORS);
      if (info.imageLayout === 'all-weights') {
        for (const n of all) if (n !== 'softmax.exp.lut') want.add(n);
      } else {
        for (let l = 0; l < g.layers; l++) for (const t of info.trainable.biasTerms) want.add(layerPrefix(l) + LAYER_BIAS_TERMS[t]);
      }
      expect([...writableTensors(g, v)].sort(), v).toEqual([...want].sort());
      expect(isImageVariant(v)).toBe(true);
    }
    for (const v of ['rand-uniform', 'rand-rowcol', 'dram-stream']) expect(isImageVariant(v), v).toBe(false);
  });

  it("sim: every variant has a storage plan of its cost model's kind", () => {
    for (const v of SIM_VARIANTS) {
      const model = variantInfo(v).costModel;
      const p = storagePlan(g, v);
      expect(p.patch !== null, v).toBe(model === 'patch');
      expect(p.sramRows > 0, v).toBe(model === 'sram-rows');
      expect(p.weightsInSram, v).toBe(model === 'sram-weights');
      expect(p.dramBitsPerInference > 0, v).toBe(model === 'dram-stream');
      expect(p.romBits > 0, v).toBe(true);
    }
  });

  describe('sim: a config lists any of the simulator variants and verifies any image variant', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'variants-test-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const configWith = (patch: object): string => {
      const f = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(f, JSON.stringify({ extends: join(CONFIG_DIR, 'rom-bert-tiny.json'), ...patch }));
      return f;
    };

    it('the shipped rom-bert-base config lists every simulator variant in order', () => {
      expect(loadConfig('rom-bert-base').variants).toEqual([...SIM_VARIANTS]);
    });

    it('every image variant is a verify.variant; the others are refused with the list', () => {
      for (const v of VARIANTS) expect(loadConfig(configWith({ variants: [...SIM_VARIANTS], verify: { variant: v } })).verify.variant).toBe(v);
      for (const v of ['rand-uniform', 'rand-rowcol', 'dram-stream']) {
        expect(() => loadConfig(configWith({ verify: { variant: v } })), v).toThrow(ConfigError);
      }
      expect(() => loadConfig(configWith({ variants: ['nope'] }))).toThrow(/variants\[0\]: "nope" is not a variant; allowed: bitfit, /);
    });
  });

  it('trainer: every trainable variant has an integer layout; dram-stream and unknown ids have none', () => {
    for (const v of TRAIN_VARIANTS) expect(integerLayout(v), v).toBe(variantInfo(v).integerImage);
    expect(integerLayout('rand-uniform')).toBe('full-ft');
    expect(integerLayout('rand-rowcol')).toBe('full-ft');
    expect(integerLayout('bitfit-bq')).toBe('bitfit-bq');
    expect(integerLayout('dram-stream')).toBeNull();
    expect(integerLayout('nope')).toBeNull();
  });

  describe('trainer: selectTrainable trains what the registry says', () => {
    beforeAll(async () => {
      await selectBackend('cpu');
    });

    for (const v of TRAIN_VARIANTS) {
      it(v, () => {
        const m = new BertModel(g, initialParams(g, 1), { hiddenDropout: 0, attentionDropout: 0 });
        try {
          const info = variantInfo(v).trainable;
          const tr = selectTrainable(m, v, 2);
          const isLayerBias = (n: string): boolean => Object.values(LAYER_BIAS_TERMS).some((s) => n.startsWith('bert.encoder.layer.') && n.endsWith(`.${s}`));
          const terms = new Set<string>();
          for (let l = 0; l < g.layers; l++) for (const t of info.biasTerms) terms.add(layerPrefix(l) + LAYER_BIAS_TERMS[t]);
          expect(tr.names.filter(isLayerBias).sort()).toEqual([...terms].sort());
          for (const h of HEAD_TENSORS) expect(tr.names).toContain(h);
          expect(tr.masks.size > 0).toBe(info.weights === 'random-elements' || info.weights === 'random-rows');
          expect(tr.count === tr.total).toBe(info.weights === 'all');
        } finally {
          m.dispose();
        }
      });
    }
  });
});
