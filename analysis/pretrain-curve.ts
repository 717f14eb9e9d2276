#!/usr/bin/env -S npx tsx
/**
 * Charts of a pre-training run from its state.json: loss.svg (training and held-out loss) and
 * mlm-accuracy.svg (held-out masked-token accuracy against the unigram baseline, and next-sentence
 * accuracy where the objective included it).
 *
 *   npx tsx analysis/pretrain-curve.ts --checkpoint fixtures/pretrained/bert-l4-h128 [--out DIR]
 *
 * Writes into the checkpoint directory unless --out is given. Exit status: 0 ok, 2 bad input, 3 a bug.
 */
import { join } from 'node:path';
import { InputError, UsageError } from '../formats/errors.js';
import { readJsonFile } from '../formats/input-file.js';
import { checkOutputDir, writeFilesAtomic } from '../formats/atomic-write.js';
import { fieldChecker } from '../formats/json-fields.js';
import { isMain, runCli } from '../formats/cli.js';
import { lossCurveChart, mlmAccuracyChart, type PretrainState } from './trainer-charts.js';
import { parseFlags } from '../formats/flags.js';

const HELP = `Usage: npx tsx analysis/pretrain-curve.ts --checkpoint DIR [--out DIR]

Draws DIR/loss.svg and DIR/mlm-accuracy.svg from the state.json of a trainer/pretrain.ts checkpoint
directory (into the checkpoint directory unless --out is given). Exit status: 0 ok, 2 bad input, 3 a bug.
`;

/** The fields of state.json the charts read, checked (trainer/pretrain.ts writes it). */
export function checkPretrainState(raw: unknown, file: string): PretrainState {
  const f = fieldChecker((field, problem, d) => new InputError(file, field, problem, { hint: 'not the state.json of a trainer/pretrain.ts checkpoint', ...d }));
  const s = f.object(raw, '(file)');
  f.integer(s.step, 'step', 0);
  f.array(s.losses, 'losses').forEach((l, i) => {
    const o = f.object(l, `losses[${i}]`);
    f.integer(o.step, `losses[${i}].step`, 0);
    f.number(o.loss, `losses[${i}].loss`);
  });
  f.array(s.evals, 'evals').forEach((e, i) => {
    const o = f.object(e, `evals[${i}]`);
    f.integer(o.step, `evals[${i}].step`, 0);
    for (const k of ['mlmAccuracy', 'unigramAccuracy', 'loss'] as const) f.number(o[k], `evals[${i}].${k}`);
    if (o.nspAccuracy !== undefined) f.number(o.nspAccuracy, `evals[${i}].nspAccuracy`);
  });
  return s as unknown as PretrainState;
}

export function main(argv: string[]): number {
  const v = parseFlags(argv, { checkpoint: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!v.checkpoint) throw new UsageError('--checkpoint', 'is required', { hint: 'a directory written by trainer/pretrain.ts (with state.json)' });
  const file = join(v.checkpoint, 'state.json');
  const out = v.out ?? v.checkpoint;
  checkOutputDir(out, v.out ? '--out' : '--checkpoint');
  const s = checkPretrainState(readJsonFile(file, '--checkpoint'), file);
  const written = writeFilesAtomic(
    out,
    { 'loss.svg': lossCurveChart(s, `Pre-training loss, ${s.step} steps`), 'mlm-accuracy.svg': mlmAccuracyChart(s) },
    { field: v.out ? '--out' : '--checkpoint' },
  );
  for (const f of written) console.log(`wrote ${f}`);
  return 0;
}

if (isMain(import.meta.url)) runCli('analysis/pretrain-curve.ts', main);
