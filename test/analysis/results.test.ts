import { describe, it, expect } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { averageOverTasks, experimentOf, meanBiasChange, stat, summarize } from '../../analysis/results.js';
import { readResults, ResultsError, type RunResultFile } from '../../formats/results-schema.js';
import { buildTables } from '../../analysis/table.js';
import { dirWith, run } from './result-fixtures.js';
import { loadConfig } from '../../sim/config.js';
import { accuracyOf } from '../../sim/report.js';
import { checkpointSha256 } from '../../sim/pipeline.js';

describe('results summaries', () => {
  it('computes the sample standard deviation', () => {
    expect(stat([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(5 / 3), n: 4 });
    expect(stat([7])).toEqual({ mean: 7, std: 0, n: 1 });
  });

  it('picks the learning rate with the best mean dev score, then takes mean ± std over seeds, x 100', () => {
    const runs = readResults(
      dirWith([
        run('rte', 'bitfit', 1e-4, 1, 0.5, 0.5),
        run('rte', 'bitfit', 1e-4, 2, 0.7, 0.6),
        run('rte', 'bitfit', 1e-3, 1, 0.6, 0.55),
        run('rte', 'bitfit', 1e-3, 2, 0.62, 0.6),
      ]),
    );
    const [c] = summarize(runs);
    expect(c.lr).toBe(1e-3); // mean 0.61 beats 0.60
    expect(c.float.mean).toBeCloseTo(61, 10);
    expect(c.float.std).toBeCloseTo(Math.sqrt(2) * 1, 10);
    expect(c.integer!.mean).toBeCloseTo(57.5, 10);
    expect(c.train.mean).toBeCloseTo(71, 10);
  });

  it('averages over tasks seed by seed, using only seeds every task has; no integer figure if a run has none', () => {
    const cells = summarize(
      readResults(
        dirWith([
          run('rte', 'bitfit', 1e-3, 1, 0.5, 0.4),
          run('rte', 'bitfit', 1e-3, 2, 0.7, 0.6),
          run('rte', 'bitfit', 1e-3, 3, 0.9, 0.9),
          run('cola', 'bitfit', 1e-3, 1, 0.1, 0.1),
          run('cola', 'bitfit', 1e-3, 2, 0.3, 0.3),
          run('rte', 'rand-uniform', 1e-3, 1, 0.5, null),
          run('cola', 'rand-uniform', 1e-3, 1, 0.2, null),
        ]),
      ),
    );
    const a = averageOverTasks(cells, 'bitfit', ['rte', 'cola'])!;
    expect(a.seeds).toEqual([1, 2]);
    expect(a.float.mean).toBeCloseTo(40, 10); // seed 1: (50 + 10) / 2 = 30; seed 2: (70 + 30) / 2 = 50
    expect(a.float.std).toBeCloseTo(Math.sqrt(200), 10);
    expect(a.integer!.mean).toBeCloseTo(35, 10);
    const r = averageOverTasks(cells, 'rand-uniform', ['rte', 'cola'])!;
    expect(r.integer).toBeNull();
    expect(r.float.mean).toBeCloseTo(35, 10);
    expect(averageOverTasks(cells, 'full-ft', ['rte'])).toBeNull();
  });

  it("averages the bias change of the paper's Figure 1 over runs", () => {
    const runs = readResults(dirWith([run('rte', 'bitfit', 1e-3, 1, 0.5, 0.5), run('rte', 'bitfit', 1e-3, 3, 0.5, 0.5)]));
    expect(meanBiasChange(runs)).toEqual({ b_q: [2, 4], b_k: [0, 0] });
  });

  it("summarises training-set sizes apart and lays them out as the paper's Figure 2", () => {
    const sized = (n: number, seed: number, dev: number, v = 'bitfit'): Omit<RunResultFile, 'file'> => {
      const r = run('sst2', v, 1e-3, seed, dev, dev);
      return { ...r, provenance: { ...r.provenance, data: { train: { used: n } } } };
    };
    const runs = readResults(
      dirWith([sized(100, 1, 0.6), sized(100, 2, 0.62), sized(400, 1, 0.7), sized(400, 2, 0.74), sized(100, 1, 0.5, 'full-ft'), sized(400, 1, 0.8, 'full-ft')]),
    );
    const cells = summarize(runs).filter((c) => c.variant === 'bitfit');
    expect(cells.map((c) => [c.trainExamples, c.float.mean])).toEqual([
      [100, 61],
      [400, 72],
    ]);
    const t = buildTables({ name: 'f2', runs });
    expect(t.markdown).toContain('| variant | 100 | 400 |');
    expect(t.markdown).toContain('| bitfit | 61.0 ± 1.4 | 72.0 ± 2.8 |');
    expect(t.markdown).toContain('| full-ft | 50.0 ± — | 80.0 ± — |');
    expect(t.markdown).toMatch(/\| bitfit \| 1\.000 \| 72\.0 ± 2\.8 \| 72\.0 ± 2\.8 \|/); // Table 3 takes the largest size
  });

  it('adds the sizes of a sweep directory to Figure 2 only, and refuses one of another experiment', () => {
    const sized = (n: number, seed: number, dev: number, v = 'bitfit', sha = 'a'.repeat(64)): Omit<RunResultFile, 'file'> => {
      const r = run('sst2', v, 1e-3, seed, dev, dev, sha);
      return { ...r, provenance: { ...r.provenance, data: { train: { used: n } } } };
    };
    // the main campaign: 2000 examples, two variants on SST-2 plus RTE; the sweep: 500 and 8000, and a 2000 it must not take
    const main = readResults(dirWith([sized(2000, 1, 0.6), sized(2000, 2, 0.64), sized(2000, 1, 0.7, 'full-ft'), run('rte', 'bitfit', 1e-3, 1, 0.55, 0.55)]));
    const sweep = readResults(dirWith([sized(500, 1, 0.5), sized(500, 2, 0.52), sized(8000, 1, 0.8), sized(2000, 1, 0.99), sized(4000, 1, 0.55, 'frozen')]));
    const t = buildTables({ name: 'main', runs: main }, undefined, [{ task: 'sst2', score: 50.9, prediction: 1, devFile: 'x', devSha256: 'c'.repeat(64) }], {
      name: 'sweep',
      runs: sweep,
    });
    expect(t.markdown).toContain('| variant | 500 | 2000 | 8000 |');
    expect(t.markdown).toContain('| bitfit | 51.0 ± 1.4 | 62.0 ± 2.8 | 80.0 ± — |');
    expect(t.markdown).toContain('Sizes 500, 8000 from sweep (bitfit lr 0.001).'); // not frozen's 4000: not a variant of the main directory
    expect(t.json.sizesWith).toEqual({
      name: 'sweep',
      added: [
        { task: 'sst2', variant: 'bitfit', trainExamples: 500, lr: 1e-3 },
        { task: 'sst2', variant: 'bitfit', trainExamples: 8000, lr: 1e-3 },
      ],
    });
    expect(t.markdown).toMatch(/\| bitfit \| 1\.000 \| 62\.0 ± 2\.8 \|/); // Table 3 keeps the main directory's size
    expect(t.sizeFigures).toEqual([
      {
        task: 'SST-2',
        metric: 'accuracy',
        baseline: 50.9,
        curves: [
          {
            variant: 'bitfit',
            points: [
              { n: 500, mean: 51, std: expect.closeTo(1.414, 3), seeds: 2 },
              { n: 2000, mean: 62, std: expect.closeTo(2.828, 3), seeds: 2 },
              { n: 8000, mean: 80, std: 0, seeds: 1 },
            ],
          },
        ],
      },
    ]);
    expect(buildTables({ name: 'main', runs: main }).sizeFigures).toEqual([]);
    const other = readResults(dirWith([sized(500, 1, 0.5, 'bitfit', 'b'.repeat(64))]));
    expect(() => buildTables({ name: 'main', runs: main }, undefined, undefined, { name: 'other', runs: other })).toThrow(
      /main with --sizes-with other: provenance: runs of different experiments/,
    );
  });

  it('adds the constant-prediction row under both Table 3 layouts when baselines are given', () => {
    const runs = readResults(dirWith([run('rte', 'bitfit', 1e-3, 1, 0.6, 0.55), run('stsb', 'bitfit', 1e-3, 1, 0.3, 0.2)]));
    const t = buildTables({ name: 'b', runs }, undefined, [
      { task: 'rte', score: 52.7, prediction: 1, devFile: 'x', devSha256: 'a'.repeat(64) },
      { task: 'stsb', score: null, prediction: null, devFile: 'y', devSha256: 'b'.repeat(64) },
    ]);
    expect(t.markdown.match(/\| \(constant prediction\) \| — \| n\/a \| 52\.7 \| — \|/g)?.length).toBe(2);
    expect(t.markdown).toContain('best constant prediction on each dev set');
    expect(buildTables({ name: 'b', runs }).markdown).not.toContain('constant prediction');
  });

  it('says under the integer table how many runs an older exporter evaluated', () => {
    const cur = (r: Omit<RunResultFile, 'file'>, ev?: number): Omit<RunResultFile, 'file'> => ({
      ...r,
      integer: { ...r.integer!, ...(ev ? { images: { exporterVersion: ev } } : {}) },
    });
    const mixed = readResults(dirWith([cur(run('rte', 'bitfit', 1e-3, 1, 0.6, 0.55)), cur(run('rte', 'bitfit', 1e-3, 2, 0.6, 0.55), 2)]));
    expect(buildTables({ name: 'e', runs: mixed }).markdown).toMatch(/Exporter: 1 of these runs were evaluated by exporter version 1, against 2 now/);
    const now = readResults(dirWith([cur(run('rte', 'bitfit', 1e-3, 1, 0.6, 0.55), 2)]));
    expect(buildTables({ name: 'e', runs: now }).markdown).not.toContain('Exporter:');
  });

  it('refuses runs of different checkpoints or recipes in one table, and NaN scores are not zeros', () => {
    const a = run('rte', 'bitfit', 1e-3, 1, 0.6, 0.6);
    const b = run('rte', 'bitfit', 1e-3, 2, 0.6, 0.6, 'c'.repeat(64));
    expect(() => buildTables({ name: 'mixed', runs: readResults(dirWith([a, b])) })).toThrow(
      /mixed: provenance: runs of different experiments \[checkpoint, seqLen, epochs\] are mixed: .*\n {2}hint: move the stale runs out/,
    );
    const hyper = (r: Omit<RunResultFile, 'file'>, epochs: number): Omit<RunResultFile, 'file'> => ({
      ...r,
      provenance: { ...r.provenance, hyper: { seqLen: 64, epochs } },
    });
    expect(() => experimentOf(readResults(dirWith([hyper(a, 2), hyper(run('rte', 'bitfit', 1e-3, 2, 0.6, 0.6), 3)])), 'x')).toThrow(ResultsError);
    const nan = { ...run('stsb', 'bitfit', 1e-3, 1, 0.5, 0.5), best: { epoch: 1, metric: 'spearman', value: null as unknown as number, dev: {} } };
    const [c] = summarize(readResults(dirWith([nan])));
    expect(Number.isNaN(c.float.mean)).toBe(true);
  });

  it('chooses the learning rate on the seeds every rate has, ignoring a rate whose mean is NaN', () => {
    const nanRun = { ...run('rte', 'bitfit', 1e-4, 1, 0.5, 0.5), best: { epoch: 1, metric: 'accuracy', value: null as unknown as number, dev: {} } };
    const cells = summarize(readResults(dirWith([nanRun, run('rte', 'bitfit', 1e-3, 1, 0.55, 0.5), run('rte', 'bitfit', 1e-3, 2, 0.2, 0.2)])));
    expect(cells[0].lr).toBe(1e-3);
    const partial = summarize(
      readResults(dirWith([run('rte', 'bitfit', 1e-4, 1, 0.6, 0.6), run('rte', 'bitfit', 1e-3, 1, 0.5, 0.5), run('rte', 'bitfit', 1e-3, 2, 0.9, 0.9)])),
    );
    expect(partial[0].lr).toBe(1e-4); // compared on seed 1 only: 60 > 50
  });

  it('names a file that is not a result', () => {
    const d = dirWith([]);
    writeFileSync(join(d, 'x.json'), JSON.stringify({ task: 'rte' }));
    expect(() => readResults(d)).toThrow(ResultsError);
    expect(() => readResults(d)).toThrow(/x\.json: variant: is missing \(allowed: a string\)/);
    expect(() => readResults(join(d, 'none'), '--results')).toThrow(/none: --results: does not exist/);
    expect(() => readResults(join(d, 'x.json'), '--results')).toThrow(/x\.json: --results: is a file, not a directory/);
  });

  it('lays out Table 3 with float and integer rows and the comparison against another campaign', () => {
    const main = readResults(dirWith([run('rte', 'bitfit', 1e-3, 1, 0.6, 0.55), run('rte', 'full-ft', 5e-5, 1, 0.7, 0.7)]));
    const other = readResults(dirWith([run('rte', 'bitfit', 1e-3, 1, 0.5, 0.5, 'random-init')]));
    const t = buildTables({ name: 'main', runs: main }, { name: 'random', runs: other });
    expect(t.markdown).toContain('| full-ft | 1.000 | 70.0 ± — | 70.0 ± — |'); // one seed: no spread
    expect(t.markdown).toContain('| bitfit | 1.000 | 55.0 ± — | 55.0 ± — |'); // integer table
    expect(t.markdown).toContain('60.0 ± — vs 50.0 ± — (+10.0)');
    expect(t.markdown).not.toContain('Dev score per learning rate'); // one rate per cell: no such table
  });

  it('lists every learning rate run, marking the one Table 3 uses', () => {
    const main = readResults(
      dirWith([
        run('sst2', 'bitfit', 1e-3, 1, 0.5, null),
        run('sst2', 'bitfit', 1e-2, 1, 0.6, null),
        run('sst2', 'bitfit', 1e-2, 2, 0.7, null),
        run('sst2', 'full-ft', 5e-4, 1, 0.65, null),
      ]),
    );
    const t = buildTables({ name: 'probe', runs: main });
    expect(t.markdown).toContain('| task | variant | lr 0.0005 | lr 0.001 | lr 0.01 |');
    expect(t.markdown).toContain('| SST-2 | bitfit |  | 50.0 ± — | 65.0 ± 7.1 * |');
    expect(t.markdown).toContain('| SST-2 | full-ft | 65.0 ± — * |  |  |');
  });
});

describe('accuracy in the simulator report', () => {
  it("reads only runs of the config's checkpoint and sequence length; dram-stream reports full fine-tuning", () => {
    const cfg0 = loadConfig('bert-l4-h128');
    const sha = checkpointSha256(cfg0.model.checkpoint!);
    const d = dirWith([
      run('rte', 'bitfit', 1e-3, 1, 0.6, 0.5, sha),
      run('rte', 'bitfit', 1e-3, 2, 0.8, 0.7, sha),
      run('rte', 'full-ft', 5e-5, 1, 0.9, 0.9, sha),
      run('rte', 'bitfit', 1e-3, 3, 0.1, 0.1, 'b'.repeat(64)), // another checkpoint
      run('rte', 'bitfit', 1e-3, 4, 0.1, 0.1, sha, 128), // another sequence length
    ]);
    const cfg = { ...cfg0, model: { ...cfg0.model, results: d } };
    const acc = accuracyOf(cfg);
    expect(acc.byVariant.get('bitfit')).toMatchObject({ mean: 70, std: 14.1, seeds: [1, 2], integer: { mean: 60, std: 14.1 }, task: 'rte' });
    expect(acc.byVariant.get('dram-stream')).toMatchObject({ mean: 90, from: 'full-ft' });
    expect(acc.byVariant.has('frozen')).toBe(false);
    expect(acc.source).toMatch(
      /3 fine-tuning runs .*; 2 runs of other checkpoints or sequence lengths left out; the integer figures of 3 runs are by an older exporter than version 2/,
    );
    expect(accuracyOf(loadConfig('rom-bert-base')).source).toMatch(/^null: seeded synthetic weights/);
    const stale = accuracyOf({ ...cfg0, model: { ...cfg0.model, results: dirWith([run('rte', 'bitfit', 1e-3, 3, 0.1, 0.1, 'b'.repeat(64))]) } });
    expect(stale.byVariant.size).toBe(0);
    expect(stale.source).toMatch(/^null: none of the 1 fine-tuning runs in .* is of this checkpoint \(sha256 [0-9a-f]{16}…\) at sequence 64/);
    // runs of two recipes for the same checkpoint are a config error naming model.results
    const d2 = dirWith([
      run('rte', 'bitfit', 1e-3, 1, 0.6, 0.5, sha),
      {
        ...run('rte', 'bitfit', 1e-3, 2, 0.6, 0.5, sha),
        provenance: { checkpoint: { sha256: sha }, geometry: { seqLen: 64 }, hyper: { seqLen: 64, epochs: 9 } },
      },
    ]);
    expect(() => accuracyOf({ ...cfg0, model: { ...cfg0.model, results: d2 } })).toThrow(/model\.results: .*runs of different experiments/);
  });
});
