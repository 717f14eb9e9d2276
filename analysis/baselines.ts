/**
 * What a model that learned nothing from the input scores on each dev set: the best any constant
 * prediction scores there (classification: each class tried, e.g. always "not entailment" on RTE,
 * always "paraphrase" on MRPC, whose F1 is then far from 0); STS-B: a constant score has no
 * defined correlation (null). The row Table 3 must be read against: on a small, weakly pre-trained
 * model several variants sit at this level.
 */
import { GLUE_TASKS, loadGlue, taskMetric, type GlueTask } from '../trainer/glue.js';
import { evaluate } from '../trainer/metrics.js';
import { InputError } from '../formats/errors.js';

export interface Baseline {
  task: string;
  /** Headline metric × 100; null when undefined for a constant prediction (STS-B). */
  score: number | null;
  /** The best constant class (classification); null for STS-B. */
  prediction: number | null;
  devFile: string;
  devSha256: string;
}

/** The best constant prediction's dev score of each task (headline metric). */
export function constantBaselines(tasks: readonly string[], glueDir?: string): Baseline[] {
  return tasks.map((t) => {
    if (!(GLUE_TASKS as readonly string[]).includes(t))
      throw new InputError('(results)', 'task', 'is not a GLUE task, so it has no constant-prediction baseline', { value: t, allowed: GLUE_TASKS.join(', ') });
    const task = t as GlueTask;
    const dev = loadGlue(task, 'dev', glueDir);
    const spec = taskMetric(task);
    const base = { task, devFile: dev.file, devSha256: dev.sha256 };
    if (spec.kind === 'regression') return { ...base, score: null, prediction: null };
    const labels = dev.examples.map((e) => e.label);
    let best = { score: -Infinity, prediction: 0 };
    for (let c = 0; c < dev.numLabels; c++) {
      const score =
        100 *
        evaluate(
          task,
          labels.map(() => c),
          labels,
        )[spec.headline]!;
      if (score > best.score) best = { score, prediction: c };
    }
    return { ...base, ...best };
  });
}
