import { describe, it, expect } from 'vitest';
import { biasChangeChart, lossCurveChart, mlmAccuracyChart, objectiveChanges, trainSizeChart } from '../../analysis/trainer-charts.js';

const state = {
  step: 40,
  losses: [
    { step: 20, loss: 9.5 },
    { step: 40, loss: 8.25 },
  ],
  evals: [{ step: 40, mlmAccuracy: 0.12, unigramAccuracy: 0.07, loss: 8.5 }],
};

describe('trainer charts', () => {
  it('draws the loss curve with every held-out point titled with its figures', () => {
    const svg = lossCurveChart(state);
    expect(svg).toContain('id="pretrain-loss"');
    expect(svg).toContain('step 40: held-out loss 8.5, masked-token accuracy 12.0% (unigram 7.0%)');
    expect(svg).not.toMatch(/NaN|undefined/);
  });
  it('draws model and unigram accuracy, or says there is nothing yet', () => {
    expect(mlmAccuracyChart(state)).toContain('step 40: masked tokens: unigram baseline 7.00%');
    expect(mlmAccuracyChart(state)).not.toContain('next sentence');
    expect(mlmAccuracyChart({ ...state, evals: [] })).toContain('no held-out evaluation yet');
  });
  it('marks where the objective changed and draws next-sentence accuracy where it was measured', () => {
    const s2 = {
      step: 80,
      losses: [...state.losses, { step: 60, loss: 9.0 }, { step: 80, loss: 8.9 }],
      evals: [...state.evals, { step: 80, mlmAccuracy: 0.13, unigramAccuracy: 0.07, loss: 8.4, nspAccuracy: 0.625 }],
      provenance: {
        sessions: [{ fromStep: 0 }, { fromStep: 40, objective: 'mlm' }, { fromStep: 40, objective: 'mlm+nsp' }, { fromStep: 60, objective: 'mlm+nsp' }],
      },
    };
    expect(objectiveChanges(s2)).toEqual([{ step: 40, objective: 'mlm+nsp' }]);
    expect(objectiveChanges(state)).toEqual([]);
    const loss = lossCurveChart(s2);
    expect(loss).toContain('objective mlm+nsp from step 40');
    expect(loss).toContain('next sentence where marked');
    const acc = mlmAccuracyChart(s2);
    expect(acc).toContain('step 80: next sentence (chance 50%) 62.50%');
    expect(acc).not.toContain('step 40: next sentence');
    expect(acc).not.toMatch(/NaN|undefined/);
  });
  it('draws one titled point per bias term and layer (Figure 1)', () => {
    const svg = biasChangeChart({ b_q: [1e-3, 2e-3], b_m2: [5e-4, 0] });
    expect(svg).toContain('b_q, layer 1: 2.000e-3');
    expect(svg).toContain('b_m2, layer 0: 5.000e-4');
    expect((svg.match(/<title>b_/g) ?? []).length).toBe(4);
  });
  it('draws Figure 2: a titled point per variant and size, spread bars where there are seeds, the constant prediction', () => {
    const curves = [
      {
        variant: 'bitfit',
        points: [
          { n: 500, mean: 51, std: 1.5, seeds: 3 },
          { n: 2000, mean: 52.25, std: 0.5, seeds: 3 },
        ],
      },
      {
        variant: 'full-ft',
        points: [
          { n: 500, mean: 55, std: 0, seeds: 1 },
          { n: 2000, mean: 67.9, std: 2, seeds: 3 },
        ],
      },
    ];
    const svg = trainSizeChart(curves, { task: 'SST-2', metric: 'accuracy', baseline: 50.9 });
    expect(svg).toContain('id="train-size"');
    expect(svg).toContain('bitfit, 2,000 examples: 52.3 ± 0.5 (3 seeds)');
    expect(svg).toContain('full-ft, 500 examples: 55.0 (1 seed)');
    expect(svg).toContain('constant prediction: 50.9');
    expect((svg.match(/class="err/g) ?? []).length).toBe(3); // no bar for the single seed
    expect(svg).not.toMatch(/NaN|undefined/);
    expect(trainSizeChart([], { task: 'SST-2', metric: 'accuracy' })).toContain('no training-set sizes to compare');
    expect(trainSizeChart(curves, { task: 'SST-2', metric: 'accuracy' })).not.toContain('constant prediction');
    // a run without a recorded size (0) or score (NaN), or a NaN baseline, is left out rather than drawn as NaN
    const odd = trainSizeChart(
      [
        ...curves,
        {
          variant: 'frozen',
          points: [
            { n: 0, mean: 50, std: 0, seeds: 1 },
            { n: 500, mean: NaN, std: NaN, seeds: 1 },
          ],
        },
      ],
      { task: 'SST-2', metric: 'accuracy', baseline: NaN },
    );
    expect(odd).not.toMatch(/NaN|undefined|frozen|constant prediction/);
  });
});
