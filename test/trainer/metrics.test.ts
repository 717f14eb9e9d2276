import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GLUE_TASKS, taskMetric } from '../../trainer/glue.js';
import {
  accuracy,
  averageRanks,
  evaluate,
  f1Binary,
  formatMetric,
  formatMetrics,
  matthewsCorrelation,
  meanStd,
  pearson,
  spearman,
} from '../../trainer/metrics.js';

/**
 * A binary confusion matrix tp = 5, tn = 3, fp = 2, fn = 1 as (predictions, labels):
 *   accuracy = 8/11, F1 = 2*5 / (2*5 + 2 + 1) = 10/13,
 *   MCC = (5*3 - 2*1) / sqrt((5+2)(5+1)(3+2)(3+1)) = 13 / sqrt(840).
 */
function confusion(tp: number, tn: number, fp: number, fn: number): { pred: number[]; label: number[] } {
  const pred: number[] = [];
  const label: number[] = [];
  const add = (p: number, y: number, k: number): void => {
    for (let i = 0; i < k; i++) {
      pred.push(p);
      label.push(y);
    }
  };
  add(1, 1, tp);
  add(0, 0, tn);
  add(1, 0, fp);
  add(0, 1, fn);
  return { pred, label };
}
const CM = confusion(5, 3, 2, 1);

describe('metrics: hand-computed values', () => {
  it('accuracy', () => {
    expect(accuracy(CM.pred, CM.label)).toBeCloseTo(8 / 11, 15);
    expect(accuracy([1, 2, 3], [1, 2, 3])).toBe(1);
    expect(accuracy(Float32Array.from([0, 1]), [1, 0])).toBe(0);
  });

  it('F1 of the positive class', () => {
    expect(f1Binary(CM.pred, CM.label)).toBeCloseTo(10 / 13, 15);
    // precision 5/7 and recall 5/6: the harmonic mean is the same number
    const p = 5 / 7;
    const r = 5 / 6;
    expect(f1Binary(CM.pred, CM.label)).toBeCloseTo((2 * p * r) / (p + r), 15);
    // no positive predicted or true: 0 (sklearn's zero_division default), tp = 0: 0
    expect(f1Binary([0, 0, 0], [0, 0, 0])).toBe(0);
    expect(f1Binary([1, 1, 0], [0, 0, 1])).toBe(0);
    expect(() => f1Binary([2, 1], [1, 1])).toThrow(/values must be 0 or 1/);
  });

  it('Matthews correlation', () => {
    expect(matthewsCorrelation(CM.pred, CM.label)).toBeCloseTo(13 / Math.sqrt(840), 15);
    // sklearn's documented example: y_true [+1, +1, +1, -1], y_pred [+1, -1, +1, +1] gives -0.33...
    expect(matthewsCorrelation([1, -1, 1, 1], [1, 1, 1, -1])).toBeCloseTo(-1 / 3, 15);
    // three classes: y = [0,0,1,1,2,2], p = [0,1,1,2,2,0]: c = 3, n = 6, t = p = (2,2,2)
    //   (3*6 - 12) / sqrt((36 - 12)(36 - 12)) = 6 / 24
    expect(matthewsCorrelation([0, 1, 1, 2, 2, 0], [0, 0, 1, 1, 2, 2])).toBeCloseTo(0.25, 15);
    // undefined (a constant array): 0, as sklearn
    expect(matthewsCorrelation([1, 1, 1, 1], [0, 1, 0, 1])).toBe(0);
    expect(matthewsCorrelation([0, 1, 0, 1], [1, 1, 1, 1])).toBe(0);
  });

  it('Pearson', () => {
    // x = [1,2,3,4], y = [2,4,5,9]: dx = [-1.5,-.5,.5,1.5], dy = [-3,-1,0,4]; sxy = 11, sxx = 5, syy = 26
    expect(pearson([1, 2, 3, 4], [2, 4, 5, 9])).toBeCloseTo(11 / Math.sqrt(130), 15);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 15);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN(); // constant input: undefined, as scipy
    // found by fast-check: subnormal deviations must not underflow to 0 when squared
    expect(pearson([0, -5e-324], [0, -5e-324])).toBe(1);
    expect(pearson([1e300, -1e300, 0], [1, -1, 0])).toBeCloseTo(1, 15);
  });

  it('average ranks for ties', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    expect(Array.from(averageRanks([7, 7, 7]))).toEqual([2, 2, 2]);
    expect(Array.from(averageRanks([3, 1, 2, 1, 3, 3]))).toEqual([5, 1.5, 3, 1.5, 5, 5]);
  });

  it('Spearman with ties', () => {
    // x = [1,2,2,3,4] -> ranks [1,2.5,2.5,4,5]; y = [2,1,3,3,5] -> ranks [2,1,3.5,3.5,5]
    // centred (mean 3): dx = [-2,-.5,-.5,1,2], dy = [-1,-2,.5,.5,2]; sxy = 7.25, sxx = syy = 9.5
    const rho = spearman([1, 2, 2, 3, 4], [2, 1, 3, 3, 5]);
    expect(rho).toBeCloseTo(7.25 / 9.5, 15);
    // the no-ties shortcut 1 - 6 sum d^2 / (n (n^2 - 1)) = 1 - 27/120 would be wrong here
    expect(rho).not.toBeCloseTo(1 - 27 / 120, 3);
    // monotone but not linear: Spearman 1, Pearson below 1
    expect(spearman([1, 2, 3, 4, 5], [1, 4, 9, 16, 25])).toBe(1);
    expect(pearson([1, 2, 3, 4, 5], [1, 4, 9, 16, 25])).toBeLessThan(1);
    expect(spearman([2, 2, 2], [1, 2, 3])).toBeNaN();
    expect(spearman([1, NaN, 3], [1, 2, 3])).toBeNaN();
  });

  it('meanStd: sample standard deviation (n - 1)', () => {
    // mean 5, squared deviations sum to 32, sample variance 32/7
    const r = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(r.mean).toBe(5);
    expect(r.std).toBeCloseTo(Math.sqrt(32 / 7), 15);
    expect(r.n).toBe(8);
    expect(meanStd([84.1, 85.3]).std).toBeCloseTo(Math.abs(84.1 - 85.3) / Math.SQRT2, 12);
    const one = meanStd([3]);
    expect(one.mean).toBe(3);
    expect(one.std).toBeNaN();
    expect(() => meanStd([])).toThrow(RangeError);
  });

  it('input checks', () => {
    for (const f of [accuracy, f1Binary, matthewsCorrelation, pearson, spearman]) {
      expect(() => f([1, 0], [1])).toThrow(/different lengths \(2 and 1\)/);
      expect(() => f([], [])).toThrow(/empty input/);
    }
  });
});

describe('evaluate', () => {
  it('returns exactly the task metrics, in taskMetric order', () => {
    expect(evaluate('mrpc', CM.pred, CM.label)).toEqual({ f1: f1Binary(CM.pred, CM.label), accuracy: 8 / 11 });
    expect(Object.keys(evaluate('mrpc', CM.pred, CM.label))).toEqual(['f1', 'accuracy']);
    expect(evaluate('cola', CM.pred, CM.label)).toEqual({ mcc: matthewsCorrelation(CM.pred, CM.label) });
    for (const t of ['sst2', 'rte', 'qnli'] as const) expect(evaluate(t, CM.pred, CM.label)).toEqual({ accuracy: 8 / 11 });
    const s = evaluate('stsb', [0.5, 2.1, 2.1, 4.9, 3.0], [1, 2, 2.2, 4.5, 3.5]);
    expect(Object.keys(s)).toEqual(['spearman', 'pearson']);
    expect(s.spearman).toBe(spearman([0.5, 2.1, 2.1, 4.9, 3.0], [1, 2, 2.2, 4.5, 3.5]));
    expect(s.pearson).toBe(pearson([0.5, 2.1, 2.1, 4.9, 3.0], [1, 2, 2.2, 4.5, 3.5]));
    for (const t of GLUE_TASKS) {
      const pred = t === 'stsb' ? [1, 2, 3] : [0, 1, 1];
      expect(Object.keys(evaluate(t, pred, [0, 1, 0]))).toEqual([...taskMetric(t).metrics]);
    }
  });

  it('rejects predictions that are not class indices, and non-finite scores', () => {
    expect(() => evaluate('sst2', [0, 2], [0, 1])).toThrow(/prediction 2 at index 1 is not a class index in \[0, 2\)/);
    expect(() => evaluate('rte', [0, 1], [0.5, 1])).toThrow(/label 0.5 at index 0/);
    expect(() => evaluate('stsb', [1, NaN], [1, 2])).toThrow(/prediction NaN at index 1 is not finite/);
    expect(() => evaluate('cola', [0, 1], [0])).toThrow(/different lengths/);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

/** Two arrays of the same length n >= 1 with elements from `arb`. */
function pairOf<T>(arb: fc.Arbitrary<T>, maxLength = 60): fc.Arbitrary<[T[], T[]]> {
  return fc.array(fc.tuple(arb, arb), { minLength: 1, maxLength }).map((pairs) => [pairs.map((p) => p[0]), pairs.map((p) => p[1])] as [T[], T[]]);
}
const classes = (k: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: k - 1 });
const distinctCount = (x: readonly number[]): number => new Set(x).size;

describe('metrics: properties', () => {
  it('accuracy is in [0, 1], and 1 for identical arrays', () => {
    fc.assert(
      fc.property(pairOf(classes(3)), ([p, y]) => {
        const a = accuracy(p, y);
        expect(a).toBeGreaterThanOrEqual(0);
        expect(a).toBeLessThanOrEqual(1);
        expect(accuracy(y, y)).toBe(1);
      }),
    );
  });

  it('F1 is in [0, 1], and 1 for perfect predictions with a positive', () => {
    fc.assert(
      fc.property(pairOf(classes(2)), ([p, y]) => {
        const f = f1Binary(p, y);
        expect(f).toBeGreaterThanOrEqual(0);
        expect(f).toBeLessThanOrEqual(1);
        expect(f1Binary(y, y)).toBe(y.includes(1) ? 1 : 0);
      }),
    );
  });

  it('MCC is in [-1, 1] and symmetric (multiclass)', () => {
    fc.assert(
      fc.property(pairOf(classes(4)), ([p, y]) => {
        const m = matthewsCorrelation(p, y);
        expect(m).toBeGreaterThanOrEqual(-1);
        expect(m).toBeLessThanOrEqual(1);
        expect(matthewsCorrelation(y, p)).toBeCloseTo(m, 12);
      }),
    );
  });

  it('MCC is 1 for perfect predictions (0 if only one class occurs)', () => {
    fc.assert(
      fc.property(fc.array(classes(4), { minLength: 1, maxLength: 60 }), (y) => {
        expect(matthewsCorrelation(y, y)).toBe(distinctCount(y) >= 2 ? 1 : 0);
      }),
    );
  });

  it('MCC is -1 for inverted binary predictions when both classes occur', () => {
    fc.assert(
      fc.property(fc.array(classes(2), { minLength: 2, maxLength: 60 }), (y) => {
        fc.pre(distinctCount(y) === 2);
        expect(
          matthewsCorrelation(
            y.map((v) => 1 - v),
            y,
          ),
        ).toBe(-1);
      }),
    );
  });

  it('Pearson of x with a x + b is 1 for a > 0 (and -1 for a < 0)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 2, maxLength: 60 }),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        fc.double({ min: -100, max: 100, noNaN: true }),
        (x, a, b) => {
          fc.pre(distinctCount(x) >= 2);
          expect(
            pearson(
              x,
              x.map((v) => a * v + b),
            ),
          ).toBeCloseTo(1, 12);
          expect(
            pearson(
              x,
              x.map((v) => -a * v + b),
            ),
          ).toBeCloseTo(-1, 12);
        },
      ),
    );
  });

  it('Pearson is in [-1, 1] (or NaN for a constant input)', () => {
    fc.assert(
      fc.property(pairOf(fc.double({ min: -1e6, max: 1e6, noNaN: true })), ([x, y]) => {
        const r = pearson(x, y);
        if (Number.isNaN(r)) expect(distinctCount(x) === 1 || distinctCount(y) === 1).toBe(true);
        else {
          expect(r).toBeGreaterThanOrEqual(-1);
          expect(r).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  /** Strictly increasing maps: exact on the small integers used, so ties stay ties. */
  const INCREASING: [string, (v: number) => number][] = [
    ['cube', (v) => v ** 3],
    ['exp', (v) => Math.exp(v / 20)],
    ['affine', (v) => 3 * v - 7],
    ['atan', (v) => Math.atan(v / 10)],
  ];

  it('Spearman is invariant under strictly increasing transforms (ties included)', () => {
    fc.assert(
      fc.property(pairOf(fc.integer({ min: -30, max: 30 })), fc.constantFrom(...INCREASING), fc.constantFrom(...INCREASING), ([x, y], [, f], [, g]) => {
        // identical ranks give the identical number (or NaN for both when one input is constant)
        expect(spearman(x.map(f), y.map(g))).toBe(spearman(x, y));
      }),
    );
  });

  it('Spearman changes sign under a decreasing transform, and lies in [-1, 1]', () => {
    fc.assert(
      fc.property(pairOf(fc.integer({ min: -30, max: 30 })), ([x, y]) => {
        const rho = spearman(x, y);
        fc.pre(!Number.isNaN(rho));
        expect(
          spearman(
            x,
            y.map((v) => -v),
          ),
        ).toBeCloseTo(-rho, 12);
        expect(Math.abs(rho)).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('meanStd: the mean lies within the values, std >= 0, shift-invariant', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1000, max: 1000, noNaN: true }), { minLength: 2, maxLength: 30 }),
        fc.double({ min: -1000, max: 1000, noNaN: true }),
        (v, c) => {
          const { mean, std } = meanStd(v);
          expect(mean).toBeGreaterThanOrEqual(Math.min(...v) - 1e-9);
          expect(mean).toBeLessThanOrEqual(Math.max(...v) + 1e-9);
          expect(std).toBeGreaterThanOrEqual(0);
          expect(meanStd(v.map((x) => x + c)).std).toBeCloseTo(std, 6);
        },
      ),
    );
  });
});

describe('metrics for a person', () => {
  it('prints accuracy and F1 in percent with 2 decimals, correlations with 4, NaN as NaN', () => {
    expect(formatMetrics({ f1: 0.5234567891, accuracy: 0.75 })).toBe('f1 52.35%, accuracy 75.00%');
    expect(formatMetrics({ mcc: -0.123456 })).toBe('mcc -0.1235');
    expect(formatMetrics({ spearman: NaN, pearson: 0.9 })).toBe('spearman NaN, pearson 0.9000');
    expect(formatMetric('accuracy', 1)).toBe('accuracy 100.00%');
  });
});
