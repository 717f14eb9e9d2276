#!/usr/bin/env -S npx tsx
/**
 * A campaign of fine-tuning runs: tasks x variants x learning rates x seeds, run by `--jobs`
 * parallel processes (one per core), resumable: a run whose result file exists is skipped.
 *
 *   npx tsx trainer/campaign.ts [--plan fixtures/campaigns/NAME.json] [--jobs 2] [--dry-run]
 *
 * Plan file (JSON): { "name", "checkpoint", "tasks": [...], "variants": [...], "seeds": [...],
 *   "lr": { "bias": [1e-4, 4e-4, 7e-4, 1e-3], "full": [1e-5, 2e-5, 3e-5, 5e-5] },
 *   "epochs", "batch", "seq", "trainLimit": { "sst2": 8000, "*": 1000 } }   ("*": every other task)
 *   optional "trainSizes": [100, 400, 1600]: one run per size (first N training examples; Figure 2)
 * Results: fixtures/results/<plan name>/<task>-<variant>-lr<lr>-seed<seed>.json (each with provenance).
 * The learning-rate grids default to the paper's (bias-only and full fine-tuning).
 */
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cpus } from 'node:os';
import { PROJECT_ROOT } from './glue.js';

export interface Plan {
  name: string;
  checkpoint: string | null;
  tasks: string[];
  variants: string[];
  seeds: number[];
  lr: { bias: number[]; full: number[] };
  epochs: number;
  batch: number;
  seq: number;
  trainLimit: Record<string, number>;
  /** Training-set sizes to sweep (the paper's Figure 2); each run uses the first N examples. Overrides trainLimit. */
  trainSizes?: number[];
}

export const PAPER_LR = { bias: [1e-4, 4e-4, 7e-4, 1e-3], full: [1e-5, 2e-5, 3e-5, 5e-5] };

export interface PlannedRun {
  task: string;
  variant: string;
  lr: number;
  seed: number;
  /** Training examples (0: the whole training set). */
  limit: number;
  out: string;
  args: string[];
}

/**
 * Why an existing result file does not belong to this plan (another checkpoint, sequence length,
 * epoch count, batch or training-set size), or null when it does and the run can be skipped.
 */
export function staleReason(file: string, r: PlannedRun, p: Plan, checkpointSha: string | null): string | null {
  let res: { provenance?: { checkpoint?: { sha256?: string; kind?: string }; hyper?: { seqLen?: number; epochs?: number; batch?: number }; data?: { train?: { used?: number } } } };
  try {
    res = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return `unreadable (${(e as Error).message})`;
  }
  const pv = res.provenance ?? {};
  const ck = checkpointSha ?? 'random-init';
  const theirs = pv.checkpoint?.sha256 ?? pv.checkpoint?.kind ?? '?';
  if (theirs !== ck) return `checkpoint ${theirs.slice(0, 12)}, plan ${ck.slice(0, 12)}`;
  const h = pv.hyper ?? {};
  if (h.seqLen !== p.seq || h.epochs !== p.epochs || h.batch !== p.batch) return `seq/epochs/batch ${h.seqLen}/${h.epochs}/${h.batch}, plan ${p.seq}/${p.epochs}/${p.batch}`;
  if (r.limit > 0 && pv.data?.train?.used !== r.limit) return `${pv.data?.train?.used} training examples, plan ${r.limit}`;
  return null;
}

export function expandPlan(p: Plan, resultsDir: string): PlannedRun[] {
  const runs: PlannedRun[] = [];
  // seeds outermost: a campaign cut short still has every task and variant at the first seeds
  for (const seed of p.seeds) {
    for (const task of p.tasks) {
      for (const variant of p.variants) {
        for (const lr of variant === 'full-ft' ? p.lr.full : p.lr.bias) {
          const sizes = p.trainSizes ?? [p.trainLimit[task] ?? p.trainLimit['*'] ?? 0];
          for (const size of sizes) {
            const tag = p.trainSizes ? `-n${size}` : '';
            const out = join(resultsDir, `${task}-${variant}-lr${lr}${tag}-seed${seed}.json`);
            const args = ['tsx', 'trainer/train.ts', '--task', task, '--variant', variant, '--lr', String(lr), '--seed', String(seed), '--epochs', String(p.epochs), '--batch', String(p.batch), '--seq', String(p.seq), '--out', out];
            if (p.checkpoint) args.push('--checkpoint', p.checkpoint);
            else args.push('--random-init');
            if (size) args.push('--train-limit', String(size));
            runs.push({ task, variant, lr, seed, limit: size, out, args });
          }
        }
      }
    }
  }
  return runs;
}

function loadPlan(file: string): Plan {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<Plan>;
  const need = <K extends keyof Plan>(k: K): Plan[K] => {
    if (raw[k] === undefined) throw new Error(`${file}: ${String(k)}: is missing`);
    return raw[k] as Plan[K];
  };
  return {
    name: need('name'), checkpoint: raw.checkpoint ?? null, tasks: need('tasks'), variants: need('variants'), seeds: need('seeds'),
    lr: raw.lr ?? PAPER_LR, epochs: raw.epochs ?? 3, batch: raw.batch ?? 16, seq: raw.seq ?? 128, trainLimit: raw.trainLimit ?? {}, trainSizes: raw.trainSizes,
  };
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({ options: { plan: { type: 'string', default: 'fixtures/campaigns/bitfit-small.json' }, jobs: { type: 'string', default: String(cpus().length) }, 'dry-run': { type: 'boolean', default: false } }, strict: true });
  const plan = loadPlan(resolve(v.plan!));
  const dir = resolve(PROJECT_ROOT, 'fixtures/results', plan.name);
  mkdirSync(dir, { recursive: true });
  const runs = expandPlan(plan, dir);
  const ckSha = plan.checkpoint ? createHash('sha256').update(readFileSync(join(resolve(PROJECT_ROOT, plan.checkpoint), 'model.safetensors'))).digest('hex') : null;
  const stale: string[] = [];
  const todo = runs.filter((r) => {
    if (!existsSync(r.out)) return true;
    const why = staleReason(r.out, r, plan, ckSha);
    if (why) stale.push(`${r.out}: ${why}`);
    return why !== null;
  });
  if (stale.length) console.error(`${stale.length} existing results do not match the plan and will be re-run:\n  ${stale.slice(0, 10).join('\n  ')}${stale.length > 10 ? '\n  ...' : ''}`);
  console.error(`${plan.name}: ${runs.length} runs, ${runs.length - todo.length} done, ${todo.length} to do, ${v.jobs} at a time`);
  if (v['dry-run']) {
    for (const r of todo) console.log(['npx', ...r.args].join(' '));
    return;
  }
  let next = 0;
  let done = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const r = todo[next++];
      const code = await new Promise<number>((ok) => {
        const p = spawn('npx', r.args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
        p.on('close', (c) => {
          if (c !== 0) console.error(`\nFAILED ${r.task} ${r.variant} lr ${r.lr} seed ${r.seed}:\n${err}`);
          ok(c ?? 1);
        });
      });
      done++;
      if (code !== 0) failed++;
      process.stderr.write(`\r[${done}/${todo.length}] ${r.task} ${r.variant} lr ${r.lr} seed ${r.seed} ${code === 0 ? 'ok' : 'FAILED'}        `);
    }
  };
  await Promise.all(Array.from({ length: Number(v.jobs) }, worker));
  console.error(`\n${done - failed} runs finished, ${failed} failed; results in ${dir}`);
  if (failed) process.exit(1);
}

if (process.argv[1]?.endsWith('campaign.ts')) main().catch((e) => (console.error(e), process.exit(1)));
