/**
 * analysis/pretrain-curve.ts as a command: the two charts of a pre-training checkpoint's state.json;
 * a missing flag, a directory without state.json, a malformed state.json and an output that cannot
 * be written are exit 2 naming the flag, file and field, before anything is written.
 */
import { describe, it, expect, vi } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../analysis/pretrain-curve.js';
import { runMain, scratch, spawnCli } from './cli-helpers.js';

const curve = (...args: string[]): { code: number; message: string } => runMain('analysis/pretrain-curve.ts', main, ...args);
const STATE = {
  step: 40,
  losses: [
    { step: 20, loss: 9.5 },
    { step: 40, loss: 9.1 },
  ],
  evals: [{ step: 40, mlmAccuracy: 0.11, unigramAccuracy: 0.07, loss: 8.9 }],
};
const checkpoint = (state: unknown = STATE): string => {
  const d = scratch('pretrain-ckpt');
  writeFileSync(join(d, 'state.json'), typeof state === 'string' ? state : JSON.stringify(state));
  return d;
};

describe('analysis/pretrain-curve.ts', () => {
  it('as a process: a missing --checkpoint is exit 2 naming it', () => {
    const r = spawnCli('analysis/pretrain-curve.ts');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^error: \(command line\): --checkpoint: is required\n {2}hint: .*trainer\/pretrain\.ts.*\nrun npx tsx analysis\/pretrain-curve\.ts --help/,
    );
  });

  it('draws loss.svg and mlm-accuracy.svg into the checkpoint, or into --out', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const d = checkpoint();
      expect(curve('--checkpoint', d)).toEqual({ code: 0, message: '' });
      expect(readdirSync(d).sort()).toEqual(['loss.svg', 'mlm-accuracy.svg', 'state.json']);
      expect(readFileSync(join(d, 'loss.svg'), 'utf8')).toMatch(/^<svg[\s\S]*Pre-training loss, 40 steps/);
      const out = join(scratch('pretrain-out'), 'charts');
      expect(curve('--checkpoint', d, '--out', out)).toEqual({ code: 0, message: '' });
      expect(readdirSync(out).sort()).toEqual(['loss.svg', 'mlm-accuracy.svg']);
    } finally {
      log.mockRestore();
    }
  });

  it('refuses a directory without state.json, a malformed one and an unwritable --out, writing nothing', () => {
    const empty = scratch('pretrain-empty');
    expect(curve('--checkpoint', empty)).toMatchObject({ code: 2, message: expect.stringMatching(/state\.json: --checkpoint: does not exist/) });
    const text = checkpoint('{"step": 4');
    expect(curve('--checkpoint', text)).toMatchObject({ code: 2, message: expect.stringMatching(/state\.json: \(file\): is not valid JSON/) });
    const noEvals = checkpoint({ ...STATE, evals: undefined });
    expect(curve('--checkpoint', noEvals)).toMatchObject({
      code: 2,
      message: expect.stringMatching(
        /state\.json: evals: is missing \(allowed: an array\)\n {2}hint: not the state\.json of a trainer\/pretrain\.ts checkpoint/,
      ),
    });
    const badLoss = checkpoint({ ...STATE, losses: [{ step: 1, loss: 'high' }] });
    expect(curve('--checkpoint', badLoss)).toMatchObject({
      code: 2,
      message: expect.stringMatching(/state\.json: losses\[0\]\.loss: is a string \(got "high"; allowed: a finite number\)/),
    });
    const ok = checkpoint();
    writeFileSync(join(ok, 'a-file'), 'x');
    expect(curve('--checkpoint', ok, '--out', join(ok, 'a-file'))).toMatchObject({
      code: 2,
      message: expect.stringMatching(/a-file: --out: is a file, not a directory/),
    });
    for (const d of [empty, text, noEvals, badLoss, ok]) expect(readdirSync(d).filter((n) => n.endsWith('.svg') || n.includes('.tmp-'))).toEqual([]);
  });
});
