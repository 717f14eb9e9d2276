import { describe, it, expect } from 'vitest';
import { constantBaselines } from '../../analysis/baselines.js';
import { glueMiniDir } from '../trainer/glue-mini.js';

describe('constant-prediction baselines', () => {
  it('score the best single class on each dev set (MRPC: all paraphrase, F1 2/3), n/a for STS-B', () => {
    const b = constantBaselines(['mrpc', 'rte', 'stsb'], glueMiniDir());
    const mrpc = b.find((x) => x.task === 'mrpc')!;
    // one paraphrase among two pairs: always "paraphrase" gives precision 1/2, recall 1, F1 2/3
    expect(mrpc.prediction).toBe(1);
    expect(mrpc.score).toBeCloseTo(200 / 3, 10);
    const rte = b.find((x) => x.task === 'rte')!;
    expect(rte.score).toBe(50); // one of each class
    expect(b.find((x) => x.task === 'stsb')).toMatchObject({ score: null, prediction: null });
    expect(mrpc.devSha256).toMatch(/^[0-9a-f]{64}$/);
  });
  it('names an unknown task', () => {
    expect(() => constantBaselines(['qqp'], glueMiniDir())).toThrow(
      /\(results\): task: is not a GLUE task, so it has no constant-prediction baseline \(got "qqp"; allowed: .*rte/,
    );
  });
});
