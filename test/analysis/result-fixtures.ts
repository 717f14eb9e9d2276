/** Result files for the analysis tests: as trainer/train.ts writes them, with the fields the summaries read. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResultFile } from '../../formats/results-schema.js';

/** A result file as trainer/train.ts writes it, with the fields the summaries read. */
export function run(
  task: string,
  variant: string,
  lr: number,
  seed: number,
  dev: number,
  integer: number | null,
  sha = 'a'.repeat(64),
  seqLen = 64,
): Omit<RunResultFile, 'file'> {
  const metric = task === 'cola' ? 'mcc' : 'accuracy';
  return {
    task,
    variant,
    lr,
    seed,
    trainable: { count: 10, total: 1000, percent: 1 },
    epochs: [{ epoch: 1, trainLoss: 0.5, dev: { [metric]: dev }, train: { [metric]: dev + 0.1 } }],
    best: { epoch: 1, metric, value: dev, dev: { [metric]: dev } },
    integer: integer === null ? null : { dev: { [metric]: integer }, images: {} },
    biasChange: { b_q: [seed, 2 * seed], b_k: [0, 0] },
    provenance: { checkpoint: { sha256: sha }, geometry: { seqLen }, wallS: 10 },
  };
}

export function dirWith(runs: Omit<RunResultFile, 'file'>[]): string {
  const d = mkdtempSync(join(tmpdir(), 'results-'));
  runs.forEach((r, i) => writeFileSync(join(d, `r${i}.json`), JSON.stringify(r)));
  return d;
}
