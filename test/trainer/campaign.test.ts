import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandPlan, PAPER_LR, staleReason, type Plan } from '../../trainer/campaign.js';

describe('campaign plans', () => {
  it('expands tasks x variants x the learning-rate grid of each kind x seeds, one result file each', () => {
    const plan: Plan = { name: 't', checkpoint: null, tasks: ['rte', 'sst2'], variants: ['bitfit', 'full-ft'], seeds: [1, 2], lr: PAPER_LR, epochs: 1, batch: 8, seq: 32, trainLimit: { sst2: 100 } };
    const runs = expandPlan(plan, '/r');
    expect(runs.length).toBe(2 * (4 + 4) * 2);
    expect(new Set(runs.map((r) => r.out)).size).toBe(runs.length);
    expect(runs.filter((r) => r.variant === 'full-ft').every((r) => PAPER_LR.full.includes(r.lr))).toBe(true);
    expect(runs.filter((r) => r.variant === 'bitfit').every((r) => PAPER_LR.bias.includes(r.lr))).toBe(true);
    const sst = runs.find((r) => r.task === 'sst2')!;
    expect(sst.args).toContain('--train-limit');
    expect(sst.args).toContain('--random-init');
    expect(runs[0].out).toBe('/r/rte-bitfit-lr0.0001-seed1.json');
    expect(runs.find((r) => r.task === 'rte')!.args).not.toContain('--train-limit');
  });

  it('orders runs seed by seed, and applies the "*" training limit to tasks without their own', () => {
    const plan: Plan = { name: 't', checkpoint: 'ck', tasks: ['rte', 'sst2'], variants: ['bitfit'], seeds: [1, 2, 3], lr: { bias: [1e-3], full: [5e-5] }, epochs: 1, batch: 8, seq: 32, trainLimit: { sst2: 100, '*': 50 } };
    const runs = expandPlan(plan, '/r');
    expect(runs.map((r) => r.seed)).toEqual([1, 1, 2, 2, 3, 3]);
    const limit = (r: (typeof runs)[number]): string => r.args[r.args.indexOf('--train-limit') + 1];
    expect(runs.filter((r) => r.task === 'rte').map(limit)).toEqual(['50', '50', '50']);
    expect(runs.filter((r) => r.task === 'sst2').map(limit)).toEqual(['100', '100', '100']);
    expect(runs[0].args.slice(-2)).not.toContain('--random-init');
    expect(runs[0].args).toContain('ck');
  });

  it('sweeps training-set sizes, one result file per size', () => {
    const plan: Plan = { name: 'f2', checkpoint: 'ck', tasks: ['sst2'], variants: ['bitfit', 'full-ft'], seeds: [1], lr: { bias: [1e-3], full: [5e-5] }, epochs: 1, batch: 8, seq: 32, trainLimit: { '*': 50 }, trainSizes: [100, 400] };
    const runs = expandPlan(plan, '/r');
    expect(runs.map((r) => r.out)).toEqual(['/r/sst2-bitfit-lr0.001-n100-seed1.json', '/r/sst2-bitfit-lr0.001-n400-seed1.json', '/r/sst2-full-ft-lr0.00005-n100-seed1.json', '/r/sst2-full-ft-lr0.00005-n400-seed1.json']);
    expect(runs.map((r) => r.args[r.args.indexOf('--train-limit') + 1])).toEqual(['100', '400', '100', '400']);
  });

  it('re-runs results of another checkpoint, recipe or training-set size instead of skipping them', () => {
    const plan: Plan = { name: 's', checkpoint: 'ck', tasks: ['rte'], variants: ['bitfit'], seeds: [1], lr: { bias: [1e-3], full: [5e-5] }, epochs: 2, batch: 16, seq: 64, trainLimit: { '*': 400 } };
    const [r] = expandPlan(plan, '/r');
    const d = mkdtempSync(join(tmpdir(), 'stale-'));
    const file = (name: string, pv: unknown): string => {
      writeFileSync(join(d, name), JSON.stringify({ provenance: pv }));
      return join(d, name);
    };
    const ok = { checkpoint: { sha256: 'a'.repeat(64) }, hyper: { seqLen: 64, epochs: 2, batch: 16 }, data: { train: { used: 400 } } };
    expect(staleReason(file('ok.json', ok), r, plan, 'a'.repeat(64))).toBeNull();
    expect(staleReason(file('ck.json', { ...ok, checkpoint: { sha256: 'b'.repeat(64) } }), r, plan, 'a'.repeat(64))).toMatch(/checkpoint bbbb/);
    expect(staleReason(file('ep.json', { ...ok, hyper: { seqLen: 64, epochs: 3, batch: 16 } }), r, plan, 'a'.repeat(64))).toMatch(/seq\/epochs\/batch 64\/3\/16/);
    expect(staleReason(file('n.json', { ...ok, data: { train: { used: 640 } } }), r, plan, 'a'.repeat(64))).toMatch(/640 training examples, plan 400/);
    expect(staleReason(file('ri.json', { ...ok, checkpoint: { kind: 'random-init' } }), r, plan, null)).toBeNull();
    writeFileSync(join(d, 'bad.json'), '{');
    expect(staleReason(join(d, 'bad.json'), r, plan, null)).toMatch(/unreadable/);
  });
});
