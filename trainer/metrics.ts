/**
 * GLUE evaluation metrics, matching the reference implementations BitFit's evaluation used
 * (sklearn accuracy_score, f1_score, matthews_corrcoef; scipy pearsonr, spearmanr):
 *  - accuracy: fraction of positions where prediction and label are equal;
 *  - f1Binary: F1 of the positive class 1 = 2tp / (2tp + fp + fn); 0 when there is no positive
 *    in either array (sklearn's zero_division default);
 *  - matthewsCorrelation: the multiclass MCC of sklearn (Gorodkin's R_K; the usual binary formula
 *    for two classes); 0 when undefined (a constant prediction or label array), as sklearn;
 *  - pearson: the sample correlation coefficient; NaN when either input is constant (as scipy);
 *  - spearman: Pearson correlation of the ranks, tied values getting the average of their ranks;
 *    NaN when either input is constant (as scipy).
 * Every function takes plain arrays or typed arrays (e.g. a tensor's dataSync()), and throws a
 * RangeError for inputs of different or zero length.
 */
import { taskMetric, taskNumLabels, type GlueTask, type MetricName } from './glue.js';

type Values = ArrayLike<number>;

/** Metric values by name; evaluate() fills exactly the task's metrics. */
export type Metrics = Partial<Record<MetricName, number>>;

function checkPair(name: string, a: Values, b: Values): number {
  if (a.length !== b.length) throw new RangeError(`${name}: arrays of different lengths (${a.length} and ${b.length})`);
  if (a.length === 0) throw new RangeError(`${name}: empty input`);
  return a.length;
}

const clampUnit = (r: number): number => Math.min(1, Math.max(-1, r));

export function accuracy(predictions: Values, labels: Values): number {
  const n = checkPair('accuracy', predictions, labels);
  let correct = 0;
  for (let i = 0; i < n; i++) if (predictions[i] === labels[i]) correct++;
  return correct / n;
}

/** F1 of class 1; every value must be 0 or 1. */
export function f1Binary(predictions: Values, labels: Values): number {
  const n = checkPair('f1Binary', predictions, labels);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < n; i++) {
    const p = predictions[i];
    const y = labels[i];
    if ((p !== 0 && p !== 1) || (y !== 0 && y !== 1)) {
      throw new RangeError(`f1Binary: values must be 0 or 1, found prediction ${p} and label ${y} at index ${i}`);
    }
    if (p === 1 && y === 1) tp++;
    else if (p === 1) fp++;
    else if (y === 1) fn++;
  }
  const denominator = 2 * tp + fp + fn;
  return denominator === 0 ? 0 : (2 * tp) / denominator;
}

/**
 * Matthews correlation over any set of class values. With the confusion counts C (n samples,
 * c correct, t_k = true count of class k, p_k = predicted count of class k):
 *   MCC = (c n - sum_k p_k t_k) / sqrt((n^2 - sum_k p_k^2) (n^2 - sum_k t_k^2)).
 * All terms are integers below 2^53 for any realistic n, so they are exact.
 */
export function matthewsCorrelation(predictions: Values, labels: Values): number {
  const n = checkPair('matthewsCorrelation', predictions, labels);
  const predicted = new Map<number, number>();
  const truth = new Map<number, number>();
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const p = predictions[i];
    const y = labels[i];
    if (p === y) correct++;
    predicted.set(p, (predicted.get(p) ?? 0) + 1);
    truth.set(y, (truth.get(y) ?? 0) + 1);
  }
  let pt = 0;
  let pp = 0;
  let tt = 0;
  for (const [k, p] of predicted) {
    pt += p * (truth.get(k) ?? 0);
    pp += p * p;
  }
  for (const t of truth.values()) tt += t * t;
  const covPred = n * n - pp;
  const covTrue = n * n - tt;
  if (covPred === 0 || covTrue === 0) return 0;
  return clampUnit((correct * n - pt) / Math.sqrt(covPred * covTrue));
}

function mean(x: Values): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

/**
 * Pearson correlation. Two passes: the means, then the centred sums; the deviations are divided
 * by their largest magnitude first, so that tiny (subnormal) or huge deviations neither underflow
 * to 0 nor overflow when squared. NaN if x or y is constant.
 */
export function pearson(x: Values, y: Values): number {
  const n = checkPair('pearson', x, y);
  const mx = mean(x);
  const my = mean(y);
  let ax = 0;
  let ay = 0;
  for (let i = 0; i < n; i++) {
    ax = Math.max(ax, Math.abs(x[i] - mx));
    ay = Math.max(ay, Math.abs(y[i] - my));
  }
  if (Number.isNaN(ax) || Number.isNaN(ay)) return NaN;
  if (ax === 0 || ay === 0) return NaN;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] - mx) / ax;
    const dy = (y[i] - my) / ay;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return clampUnit(sxy / Math.sqrt(sxx * syy));
}

/** 1-based ranks of x in ascending order; a run of equal values gets the average of its ranks. */
export function averageRanks(x: Values): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && x[order[end]] === x[order[start]]) end++;
    // positions start..end-1 hold equal values: ranks start+1..end, average (start+1+end)/2
    const rank = (start + 1 + end) / 2;
    for (let j = start; j < end; j++) ranks[order[j]] = rank;
    start = end;
  }
  return ranks;
}

/** Spearman rank correlation with average ranks for ties. NaN if x or y is constant or holds a NaN. */
export function spearman(x: Values, y: Values): number {
  const n = checkPair('spearman', x, y);
  for (let i = 0; i < n; i++) if (Number.isNaN(x[i]) || Number.isNaN(y[i])) return NaN; // NaN cannot be ranked
  return pearson(averageRanks(x), averageRanks(y));
}

/** Mean and sample standard deviation (n - 1 denominator; NaN for a single value). */
export function meanStd(values: Values): { mean: number; std: number; n: number } {
  const n = values.length;
  if (n === 0) throw new RangeError('meanStd: empty input');
  const m = mean(values);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - m) ** 2;
  return { mean: m, std: n > 1 ? Math.sqrt(ss / (n - 1)) : NaN, n };
}

const METRIC_FUNCTIONS: Record<MetricName, (predictions: Values, labels: Values) => number> = {
  accuracy,
  f1: f1Binary,
  mcc: matthewsCorrelation,
  pearson,
  spearman,
};

/**
 * Every metric of the task (taskMetric(task).metrics, in that order). Classification tasks take
 * predicted class indices (argmax of the logits) and labels, both integers in [0, numLabels);
 * STS-B takes predicted and gold scores.
 */
export function evaluate(task: GlueTask, predictions: Values, labels: Values): Metrics {
  const spec = taskMetric(task);
  checkPair(`evaluate(${task})`, predictions, labels);
  if (spec.kind === 'classification') {
    const numLabels = taskNumLabels(task);
    for (const [name, values] of [
      ['prediction', predictions],
      ['label', labels],
    ] as const) {
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (!(Number.isInteger(v) && v >= 0 && v < numLabels)) {
          throw new RangeError(`evaluate(${task}): ${name} ${v} at index ${i} is not a class index in [0, ${numLabels})`);
        }
      }
    }
  } else {
    for (let i = 0; i < predictions.length; i++) {
      if (!Number.isFinite(predictions[i])) throw new RangeError(`evaluate(${task}): prediction ${predictions[i]} at index ${i} is not finite`);
    }
  }
  const out: Metrics = {};
  for (const metric of spec.metrics) out[metric] = METRIC_FUNCTIONS[metric](predictions, labels);
  return out;
}

/** Metrics that are fractions of the examples (printed as percentages); the others are correlations in [-1, 1]. */
const FRACTIONS: ReadonlySet<string> = new Set(['accuracy', 'f1']);

/** One metric for a person: accuracy and F1 as percentages with 2 decimals, correlations with 4 ("f1 84.31%", "mcc 0.4123"). */
export function formatMetric(name: string, value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return `${name} NaN`;
  return FRACTIONS.has(name) ? `${name} ${(100 * value).toFixed(2)}%` : `${name} ${value.toFixed(4)}`;
}

/** Every metric of a result, in its order: "f1 84.31%, accuracy 78.43%". */
export function formatMetrics(m: Metrics): string {
  return Object.entries(m)
    .map(([k, v]) => formatMetric(k, v))
    .join(', ');
}
