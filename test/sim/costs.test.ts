import { describe, it, expect } from 'vitest';
import { costOf, evaluate, scheduleOf } from '../../sim/costs.js';
import { loadConfig, geometryOf } from '../../sim/config.js';
import { loadTech, TechModel, listTechNodes } from '../../sim/tech.js';
import { SIM_VARIANTS } from '../../sim/variants.js';
import { buildReport, assertFinite } from '../../sim/report.js';

const cfg = loadConfig('rom-bert-base');
const g = geometryOf(cfg.model);

describe('design point costs (rom-bert-base)', () => {
  it('counts the writable encoder bias terms of the paper for BERT-base', () => {
    const t = new TechModel(loadTech('28nm'));
    const bias = Object.fromEntries(SIM_VARIANTS.map((v) => [v, evaluate(g, cfg.hardware, t, v).plan.biasParams]));
    expect(bias).toMatchObject({ bitfit: 101376, 'bitfit-bq-bm2': 46080, 'bitfit-bm2': 36864, 'bitfit-bq': 9216, frozen: 0 });
  });
  for (const node of listTechNodes()) {
    it(`gives every variant non-zero area and energy with finite parts at ${node}`, () => {
      const t = new TechModel(loadTech(node));
      for (const v of SIM_VARIANTS) {
        const p = evaluate(g, cfg.hardware, t, v);
        expect(p.areaMm2.total, v).toBeGreaterThan(0);
        expect(p.energyUJ.total, v).toBeGreaterThan(0);
        expect(p.cycles, v).toBeGreaterThan(0);
        expect(p.energyUJ.macs, v).toBeGreaterThan(0);
        expect(p.areaMm2.macArray, v).toBeGreaterThan(0);
        for (const part of Object.values(p.areaMm2)) expect(Number.isFinite(part) && part >= 0).toBe(true);
        for (const part of Object.values(p.energyUJ)) expect(Number.isFinite(part) && part >= 0).toBe(true);
        if (v !== 'full-ft' && v !== 'dram-stream') expect(p.areaMm2.rom, v).toBeGreaterThan(0);
        if (v === 'dram-stream') expect(p.energyUJ.dram).toBeGreaterThan(0);
      }
    });
  }
  it('orders the variants as the hardware argument expects', () => {
    const t = new TechModel(loadTech('28nm'));
    const p = Object.fromEntries(SIM_VARIANTS.map((v) => [v, evaluate(g, cfg.hardware, t, v)]));
    // smaller writable sets: smaller task images, cheaper switches, no more area
    expect(p['bitfit-bq'].plan.taskImageBits).toBeLessThan(p['bitfit-bq-bm2'].plan.taskImageBits);
    expect(p['bitfit-bq-bm2'].plan.taskImageBits).toBeLessThan(p.bitfit.plan.taskImageBits);
    expect(p.bitfit.taskSwitch.cycles).toBeLessThan(p['full-ft'].taskSwitch.cycles / 100);
    // a ROM design beats the all-SRAM design in area and energy per inference
    expect(p.bitfit.areaMm2.total).toBeLessThan(p['full-ft'].areaMm2.total);
    expect(p.bitfit.energyUJ.total).toBeLessThan(p['full-ft'].energyUJ.total);
    // and beats streaming weights from DRAM in energy
    expect(p.bitfit.energyUJ.total).toBeLessThan(p['dram-stream'].energyUJ.total);
    // random subsets pay for indices and correction
    expect(p['rand-uniform'].plan.taskImageBits).toBeGreaterThan(p.bitfit.plan.taskImageBits);
    expect(p['rand-uniform'].counts.correctionMacs).toBeGreaterThan(0);
    expect(p['rand-uniform'].areaMm2.correction).toBeGreaterThan(0);
  });
  it('builds a report with every field the issue names and no NaN', () => {
    const t = new TechModel(loadTech('28nm'));
    const points = SIM_VARIANTS.map((v) => evaluate(g, cfg.hardware, t, v));
    const r = buildReport(cfg, t, points, null, 'test');
    expect(Object.keys(r)).toEqual(expect.arrayContaining(['schema', 'config', 'provenance', 'model', 'hardware', 'verify', 'variants']));
    expect(r.model).toMatchObject({ layers: 12, hidden: 768, heads: 12, ffn: 3072, seqLen: 128 });
    expect(r.model.params).toBeGreaterThan(109e6);
    for (const v of r.variants) {
      expect(Object.keys(v)).toEqual(
        expect.arrayContaining([
          'id',
          'biasParams',
          'writableBits',
          'romBits',
          'areaMm2',
          'energyUJ',
          'cycles',
          'latencyUs',
          'taskImageBytes',
          'taskSwitch',
          'accuracy',
        ]),
      );
      expect(v.accuracy).toBeNull();
    }
    expect(r.technology.constants.length).toBeGreaterThan(10);
    for (const c of r.technology.constants) expect(['measured', 'derived', 'assumed']).toContain(c.kind);
    expect(() => assertFinite({ a: [1, { b: NaN }] })).toThrow(/a\[1\]\.b = NaN/);
  });
  it('organises full-ft weight SRAM like the ROM it replaces (same memories, same bank rule)', () => {
    const t = new TechModel(loadTech('28nm'));
    const b = evaluate(g, cfg.hardware, t, 'bitfit');
    const f = evaluate(g, cfg.hardware, t, 'full-ft');
    expect(f.memories.writableSram.count).toBe(b.memories.rom.count);
    expect(f.memories.writableSram.wordBits).toBe(b.memories.rom.wordBits);
    expect(f.memories.writableSram.bankBytes).toBe(b.memories.rom.bankBytes);
    // a larger bank setting changes both alike
    const hw = { ...cfg.hardware, rom: { ...cfg.hardware.rom, bankKB: 128 } };
    expect(evaluate(g, hw, t, 'full-ft').memories.writableSram.bankBytes).toBe(128 * 1024);
    expect(evaluate(g, hw, t, 'bitfit').memories.rom.bankBytes).toBe(128 * 1024);
  });
  it('reports how the headline ratios move across every assumed constant, most influential first', () => {
    const t = new TechModel(loadTech('28nm'));
    const points = SIM_VARIANTS.map((v) => evaluate(g, cfg.hardware, t, v));
    const u = buildReport(cfg, t, points, null, 'test').uncertainty!;
    expect(u.headline.map((h) => h.id)).toEqual([
      'area: bitfit / full-ft',
      'energy: bitfit / full-ft',
      'area: bitfit / dram-stream',
      'energy: bitfit / dram-stream',
    ]);
    for (const h of u.headline) {
      expect(h.low).toBeLessThanOrEqual(h.base);
      expect(h.high).toBeGreaterThanOrEqual(h.base);
    }
    expect(u.constants.length).toBeGreaterThan(10);
    for (let i = 1; i < u.constants.length; i++) expect(u.constants[i].influence).toBeLessThanOrEqual(u.constants[i - 1].influence);
    expect(u.constants[0].name).toBe('romCellF2'); // the ROM cell sets the area of a ROM-weight chip
    for (const p of points) {
      const band = u.bands[p.variant];
      expect(band.areaMm2[0]).toBeLessThanOrEqual(p.areaMm2.total * (1 + 1e-6));
      expect(band.areaMm2[1]).toBeGreaterThanOrEqual(p.areaMm2.total * (1 - 1e-6));
    }
  });
});

const base = loadConfig('rom-bert-base');
const gBase = geometryOf(base.model);

describe('costOf(scheduleOf(...))', () => {
  it('costs a schedule as evaluate does, for every variant and table, and at other constants (the uncertainty analysis re-costs one schedule)', () => {
    for (const node of listTechNodes()) {
      const t = new TechModel(loadTech(node));
      for (const v of SIM_VARIANTS) {
        const s = scheduleOf(gBase, base.hardware, v);
        expect(costOf(s, base.hardware, t), `${node} ${v}`).toEqual(evaluate(gBase, base.hardware, t, v));
        const hi = t.with({ sramCellF2: t.table.constants.sramCellF2.range?.[1] ?? 200 });
        expect(costOf(s, base.hardware, hi), `${node} ${v}`).toEqual(evaluate(gBase, base.hardware, hi.with({}), v));
      }
    }
  });
});
