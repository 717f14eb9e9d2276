#!/usr/bin/env -S npx tsx
/**
 * Charts of a pre-training run from its state.json: loss.svg (training and held-out loss) and
 * mlm-accuracy.svg (held-out masked-token accuracy against the unigram baseline, and next-sentence
 * accuracy where the objective included it).
 *
 *   npx tsx analysis/pretrain-curve.ts --checkpoint fixtures/pretrained/bert-l4-h128 [--out DIR]
 *
 * Writes into the checkpoint directory unless --out is given. Exit status: 0 ok, 2 bad input.
 */
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lossCurveChart, mlmAccuracyChart, type PretrainState } from './trainer-charts.js';

function main(argv: string[]): number {
  let v;
  try {
    v = parseArgs({ args: argv, strict: true, options: { checkpoint: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (e) {
    console.error(`analysis/pretrain-curve.ts: ${(e as Error).message}`);
    return 2;
  }
  if (v.help) {
    console.log('usage: npx tsx analysis/pretrain-curve.ts --checkpoint DIR [--out DIR]');
    return 0;
  }
  const file = v.checkpoint ? join(v.checkpoint, 'state.json') : '';
  if (!v.checkpoint || !existsSync(file)) {
    console.error(`analysis/pretrain-curve.ts: --checkpoint ${v.checkpoint ?? '(missing)'}: no state.json there (a directory written by trainer/pretrain.ts)`);
    return 2;
  }
  let s: PretrainState;
  try {
    s = JSON.parse(readFileSync(file, 'utf8')) as PretrainState;
    if (!Array.isArray(s.losses) || !Array.isArray(s.evals) || typeof s.step !== 'number') throw new Error('fields step, losses[] and evals[] are required');
  } catch (e) {
    console.error(`analysis/pretrain-curve.ts: ${file}: ${(e as Error).message}`);
    return 2;
  }
  const out = v.out ?? v.checkpoint;
  mkdirSync(out, { recursive: true });
  for (const [name, svg] of [['loss.svg', lossCurveChart(s, `Pre-training loss, ${s.step} steps`)], ['mlm-accuracy.svg', mlmAccuracyChart(s)]] as const) {
    writeFileSync(join(out, `${name}.tmp`), svg);
    renameSync(join(out, `${name}.tmp`), join(out, name));
    console.log(`wrote ${join(out, name)}`);
  }
  return 0;
}

if (process.argv[1]?.endsWith('pretrain-curve.ts')) process.exitCode = main(process.argv.slice(2));
