import { describe, it, expect } from 'vitest';
import { biasChangeChart, lossCurveChart, mlmAccuracyChart } from '../../analysis/trainer-charts.js';

const state = {
  step: 40,
  losses: [{ step: 20, loss: 9.5 }, { step: 40, loss: 8.25 }],
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
    expect(mlmAccuracyChart(state)).toContain('step 40: unigram baseline 7.00%');
    expect(mlmAccuracyChart({ ...state, evals: [] })).toContain('no held-out evaluation yet');
  });
  it('draws one titled point per bias term and layer (Figure 1)', () => {
    const svg = biasChangeChart({ b_q: [1e-3, 2e-3], b_m2: [5e-4, 0] });
    expect(svg).toContain('b_q, layer 1: 2.000e-3');
    expect(svg).toContain('b_m2, layer 0: 5.000e-4');
    expect((svg.match(/<title>b_/g) ?? []).length).toBe(4);
  });
});
