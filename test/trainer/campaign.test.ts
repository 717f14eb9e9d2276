import { describe, it, expect } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { checkRunInputs, expandPlan, loadPlan, PAPER_LR, PlanError, staleReason, type Plan } from '../../trainer/campaign.js';
import { PROJECT_ROOT } from '../../trainer/glue.js';
import { BERT_VOCAB } from '../../trainer/vocab-file.js';
import { InputError } from '../../formats/errors.js';
import { glueMiniDir } from './glue-mini.js';

// The committed v8k checkpoint's vocabulary: a plan with it needs no ../shared/data.
const SMALL_VOCAB = 'fixtures/pretrained/bert-l4-h128-v8k/vocab.txt';

describe('campaign plans', () => {
  it('expands tasks x variants x the learning-rate grid of each kind x seeds, one result file each', () => {
    const plan: Plan = {
      name: 't',
      checkpoint: null,
      tasks: ['rte', 'sst2'],
      variants: ['bitfit', 'full-ft'],
      seeds: [1, 2],
      lr: PAPER_LR,
      epochs: 1,
      batch: 8,
      seq: 32,
      trainLimit: { sst2: 100 },
    };
    const runs = expandPlan(plan, '/r');
    expect(runs.length).toBe(2 * (4 + 4) * 2);
    expect(new Set(runs.map((r) => r.out)).size).toBe(runs.length);
    expect(runs.filter((r) => r.variant === 'full-ft').every((r) => PAPER_LR.full.includes(r.lr))).toBe(true);
    expect(runs.filter((r) => r.variant === 'bitfit').every((r) => PAPER_LR.bias.includes(r.lr))).toBe(true);
    const sst = runs.find((r) => r.task === 'sst2')!;
    expect(sst.args).toContain('--train-limit');
    expect(sst.args).toContain('--random-init');
    expect(runs[0].out).toBe('/r/rte-bitfit-lr0.0001-seed1.json');
    expect(runs.find((r) => r.task === 'rte')!.args).not.toContain('--train-limit');
  });

  it('passes the plan vocabulary to every run', () => {
    const plan: Plan = {
      name: 'v',
      checkpoint: null,
      tasks: ['rte'],
      variants: ['bitfit', 'full-ft'],
      seeds: [1],
      lr: { bias: [1e-3], full: [5e-4] },
      epochs: 1,
      batch: 8,
      seq: 32,
      trainLimit: {},
      vocab: 'fixtures/v.txt',
    };
    for (const r of expandPlan(plan, '/r'))
      expect(r.args.slice(r.args.indexOf('--vocab'), r.args.indexOf('--vocab') + 2)).toEqual(['--vocab', join(PROJECT_ROOT, 'fixtures/v.txt')]);
    expect(expandPlan({ ...plan, vocab: undefined }, '/r')[0].args).not.toContain('--vocab');
  });

  it('orders runs seed by seed, and applies the "*" training limit to tasks without their own', () => {
    const plan: Plan = {
      name: 't',
      checkpoint: 'ck',
      tasks: ['rte', 'sst2'],
      variants: ['bitfit'],
      seeds: [1, 2, 3],
      lr: { bias: [1e-3], full: [5e-5] },
      epochs: 1,
      batch: 8,
      seq: 32,
      trainLimit: { sst2: 100, '*': 50 },
    };
    const runs = expandPlan(plan, '/r');
    expect(runs.map((r) => r.seed)).toEqual([1, 1, 2, 2, 3, 3]);
    const limit = (r: (typeof runs)[number]): string => r.args[r.args.indexOf('--train-limit') + 1];
    expect(runs.filter((r) => r.task === 'rte').map(limit)).toEqual(['50', '50', '50']);
    expect(runs.filter((r) => r.task === 'sst2').map(limit)).toEqual(['100', '100', '100']);
    expect(runs[0].args.slice(-2)).not.toContain('--random-init');
    expect(runs[0].args).toContain('ck');
  });

  it('sweeps training-set sizes, one result file per size', () => {
    const plan: Plan = {
      name: 'f2',
      checkpoint: 'ck',
      tasks: ['sst2'],
      variants: ['bitfit', 'full-ft'],
      seeds: [1],
      lr: { bias: [1e-3], full: [5e-5] },
      epochs: 1,
      batch: 8,
      seq: 32,
      trainLimit: { '*': 50 },
      trainSizes: [100, 400],
    };
    const runs = expandPlan(plan, '/r');
    expect(runs.map((r) => r.out)).toEqual([
      '/r/sst2-bitfit-lr0.001-n100-seed1.json',
      '/r/sst2-bitfit-lr0.001-n400-seed1.json',
      '/r/sst2-full-ft-lr0.00005-n100-seed1.json',
      '/r/sst2-full-ft-lr0.00005-n400-seed1.json',
    ]);
    expect(runs.map((r) => r.args[r.args.indexOf('--train-limit') + 1])).toEqual(['100', '400', '100', '400']);
  });

  it('re-runs results of another checkpoint, recipe or training-set size instead of skipping them', () => {
    const plan: Plan = {
      name: 's',
      checkpoint: 'ck',
      tasks: ['rte'],
      variants: ['bitfit'],
      seeds: [1],
      lr: { bias: [1e-3], full: [5e-5] },
      epochs: 2,
      batch: 16,
      seq: 64,
      trainLimit: { '*': 400 },
    };
    const [r] = expandPlan(plan, '/r');
    const d = mkdtempSync(join(tmpdir(), 'stale-'));
    const file = (name: string, pv: unknown, extra: object = {}): string => {
      writeFileSync(join(d, name), JSON.stringify({ provenance: pv, ...extra }));
      return join(d, name);
    };
    const ok = { checkpoint: { sha256: 'a'.repeat(64) }, hyper: { seqLen: 64, epochs: 2, batch: 16 }, data: { train: { used: 400 } } };
    expect(staleReason(file('ok.json', ok), r, plan, 'a'.repeat(64))).toBeNull();
    expect(staleReason(file('ck.json', { ...ok, checkpoint: { sha256: 'b'.repeat(64) } }), r, plan, 'a'.repeat(64))).toMatch(/checkpoint bbbb/);
    expect(staleReason(file('ep.json', { ...ok, hyper: { seqLen: 64, epochs: 3, batch: 16 } }), r, plan, 'a'.repeat(64))).toMatch(
      /seq\/epochs\/batch 64\/3\/16/,
    );
    expect(staleReason(file('n.json', { ...ok, data: { train: { used: 640 } } }), r, plan, 'a'.repeat(64))).toMatch(/640 training examples, plan 400/);
    expect(staleReason(file('ri.json', { ...ok, checkpoint: { kind: 'random-init' } }), r, plan, null)).toBeNull();
    // a random-init plan with its own vocabulary: results tokenized with another one are stale
    const withVocab = { ...ok, checkpoint: { kind: 'random-init' }, vocab: { sha256: 'c'.repeat(64) } };
    expect(staleReason(file('v.json', withVocab), r, plan, null, 'c'.repeat(64))).toBeNull();
    expect(staleReason(file('v2.json', withVocab), r, plan, null, 'd'.repeat(64))).toMatch(/vocabulary cccccccccccc, plan dddddddddddd/);
    expect(staleReason(file('v3.json', { ...ok, checkpoint: { kind: 'random-init' } }), r, { ...plan, vocab: 'v.txt' }, null, 'd'.repeat(64))).toMatch(
      /vocabulary \?, plan dddd/,
    );
    expect(staleReason(file('v4.json', { ...ok, checkpoint: { kind: 'random-init' } }), r, plan, null, 'd'.repeat(64))).toBeNull();
    // integer accuracy of an older exporter (no version recorded: version 1) is stale; none at all is not
    expect(staleReason(file('e1.json', ok, { integer: { images: { layout: 'bitfit' } } }), r, plan, 'a'.repeat(64))).toMatch(
      /integer accuracy by exporter version 1, now 2/,
    );
    expect(staleReason(file('e2.json', ok, { integer: { images: { exporterVersion: 2 } } }), r, plan, 'a'.repeat(64))).toBeNull();
    expect(staleReason(file('e0.json', ok, { integer: null }), r, plan, 'a'.repeat(64))).toBeNull();
    writeFileSync(join(d, 'bad.json'), '{');
    expect(staleReason(join(d, 'bad.json'), r, plan, null)).toMatch(/unreadable/);
  });
});

describe('plan files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plan-'));
  const write = (name: string, body: unknown): string => {
    const f = join(dir, name);
    writeFileSync(f, typeof body === 'string' ? body : JSON.stringify(body));
    return f;
  };
  const ok = { name: 'p', checkpoint: null, tasks: ['rte'], variants: ['bitfit'], seeds: [1] };

  it('fills the defaults: the paper learning rates, 3 epochs, batch 16, sequence 128', () => {
    expect(loadPlan(write('ok.json', ok))).toEqual({ ...ok, lr: PAPER_LR, epochs: 3, batch: 16, seq: 128, trainLimit: {}, trainSizes: undefined });
    expect(loadPlan(write('okv.json', { ...ok, vocab: 'fixtures/pretrained/bert-l4-h128-v8k/vocab.txt' })).vocab).toBe(
      'fixtures/pretrained/bert-l4-h128-v8k/vocab.txt',
    );
  });

  it('names the file, the field and the value of every problem', () => {
    const cases: [unknown, RegExp][] = [
      ['{ not json', /bad\.json: \(file\): not valid JSON/],
      [{ ...ok, extra: 1 }, /bad\.json: extra: unknown field; allowed: name, checkpoint/],
      [{ ...ok, tasks: ['qnli'] }, /tasks\[0\]: "qnli" is not one of sst2, cola, rte, mrpc, stsb/],
      [{ ...ok, variants: ['bitfit', 'bias-only'] }, /variants\[1\]: "bias-only" is not one of bitfit,/],
      [{ ...ok, seeds: [] }, /seeds: \[\] is not a non-empty list/],
      [{ ...ok, seeds: [1.5] }, /seeds\[0\]: 1.5 is not an integer/],
      [{ ...ok, lr: { bias: [0] } }, /lr\.bias\[0\]: 0 is not a learning rate in \(0, 1\)/],
      [{ ...ok, epochs: 0 }, /epochs: 0 is not an integer >= 1/],
      [{ ...ok, trainLimit: { qqp: 5 } }, /trainLimit\.qqp: not one of/],
      [{ ...ok, trainSizes: [100, -1] }, /trainSizes\[1\]: -1 is not an integer >= 1/],
      [{ ...ok, name: '../x' }, /name: "\.\.\/x" must be a directory name/],
      [{ tasks: ['rte'], variants: ['bitfit'], seeds: [1] }, /name: is missing/],
      [{ ...ok, tasks: ['rte', 'rte'] }, /tasks\[1\]: "rte" appears twice/],
      [{ ...ok, lr: [] }, /lr: \[\] must be/],
      [{ ...ok, checkpoint: 'no/such/ckpt' }, /checkpoint: "no\/such\/ckpt" has no model\.safetensors/],
      [{ ...ok, vocab: 'no/such/vocab.txt' }, /vocab: "no\/such\/vocab\.txt": .*no\/such\/vocab\.txt is not a file/],
      [{ ...ok, vocab: 'fixtures/pretrained' }, /vocab: "fixtures\/pretrained": .* is not a file/],
      [{ ...ok, vocab: 3 }, /vocab: 3 must be the path of a vocab\.txt file/],
      [
        { ...ok, checkpoint: 'fixtures/pretrained/bert-l4-h128', vocab: 'fixtures/pretrained/bert-l4-h128-v8k/vocab.txt' },
        /vocab: .* does not fit the checkpoint: .*vocab_size 30522, but .*vocab\.txt has 8192 tokens/,
      ],
    ];
    for (const [body, msg] of cases) {
      const f = write('bad.json', body);
      expect(() => loadPlan(f), JSON.stringify(body)).toThrow(PlanError);
      expect(() => loadPlan(f), JSON.stringify(body)).toThrow(msg);
    }
    expect(() => loadPlan(join(dir, 'none.json'))).toThrow(/none\.json: \(file\): does not exist/);
    // the one error of bad input: the CLI exits 2 with its message
    expect(() => loadPlan(join(dir, 'none.json'))).toThrow(InputError);
  });

  const runIn = (env: Record<string, string>, ...args: string[]) =>
    spawnSync('npx', ['tsx', 'trainer/campaign.ts', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  const run = (...args: string[]) => runIn({}, ...args);

  it('the command exits 2 on a bad plan or flag, 0 on --help', () => {
    const bad = run('--plan', write('bad2.json', { ...ok, epochs: -1 }));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/bad2\.json: epochs: -1 is not an integer >= 1/);
    const jobs = run('--plan', write('ok2.json', ok), '--jobs', 'x');
    expect(jobs.status).toBe(2);
    expect(jobs.stderr).toMatch(/^error: \(command line\): --jobs: must be an integer >= 1 \(got "x"\)/);
    const bogus = run('--bogus');
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toMatch(/--bogus: is not a flag of this command \(allowed: [^\n]*\)\nrun npx tsx trainer\/campaign\.ts --help/);
    const asDir = run('--plan', dir);
    expect(asDir.status).toBe(2);
    expect(asDir.stderr).toMatch(/: \(file\): is not a file/);
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: npx tsx trainer\/campaign\.ts --plan/);
    expect(help.stdout).toMatch(/--results-root DIR +where the plan's results directory is \(default fixtures\/results\)/);
  });

  it("a result of another experiment in the plan's directory stops the campaign (results under --results-root, never fixtures/)", () => {
    const root = mkdtempSync(join(tmpdir(), 'results-root-'));
    const resDir = join(root, 'stale');
    mkdirSync(resDir);
    writeFileSync(
      join(resDir, 'rte-bitfit-lr0.001-seed1.json'),
      JSON.stringify({ provenance: { checkpoint: { sha256: 'f'.repeat(64) }, hyper: { seqLen: 128, epochs: 3, batch: 16 } } }),
    );
    const plan = write('stale.json', { ...ok, name: 'stale', lr: { bias: [1e-3] }, vocab: SMALL_VOCAB });
    const st = runIn({ GLUE_DIR: glueMiniDir() }, '--plan', plan, '--dry-run', '--results-root', root);
    expect(st.status).toBe(2);
    expect(st.stderr).toMatch(/1 existing results do not match the plan:[\s\S]*checkpoint ffffffffffff, plan random-init[\s\S]*--rerun-stale/);
    const again = runIn({ GLUE_DIR: glueMiniDir() }, '--plan', plan, '--dry-run', '--rerun-stale', '--results-root', root);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain(`--out ${join(resDir, 'rte-bitfit-lr0.001-seed1.json')}`);
    expect(existsSync(join('fixtures/results', 'stale'))).toBe(false);
    const asFile = runIn({ GLUE_DIR: glueMiniDir() }, '--plan', plan, '--dry-run', '--results-root', join(resDir, 'rte-bitfit-lr0.001-seed1.json'));
    expect(asFile.status).toBe(2);
    expect(asFile.stderr).toMatch(/rte-bitfit-lr0\.001-seed1\.json: --results-root: is a file, so .*seed1\.json\/stale cannot be a directory/);
  });

  it('checks the vocabulary and the GLUE files of every task before any run starts (exit 2)', () => {
    const root = mkdtempSync(join(tmpdir(), 'results-root-'));
    const noData = mkdtempSync(join(tmpdir(), 'no-glue-'));
    // a plan with a vocabulary, and no GLUE data where $GLUE_DIR points
    const noGlue = runIn({ GLUE_DIR: noData }, '--plan', write('glue.json', { ...ok, name: 'g', tasks: ['rte'], vocab: SMALL_VOCAB }), '--results-root', root);
    expect(noGlue.status).toBe(2);
    expect(noGlue.stderr).toMatch(
      /^error: .*no-glue-.*RTE\/train\.tsv: .*glue\.json: tasks \(rte train\): does not exist\n {2}hint: the GLUE directory is .*no-glue-.* \(from GLUE_DIR\)/,
    );
    expect(noGlue.stderr).not.toMatch(/FAILED|runs finished/);
    // a vocabulary that does not load: exit 2 naming its file and line
    const bad = write('dup-vocab.txt', ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'a'].join('\n') + '\n');
    const badVocab = runIn({ GLUE_DIR: glueMiniDir() }, '--plan', write('bv.json', { ...ok, name: 'bv', vocab: bad }), '--results-root', root);
    expect(badVocab.status).toBe(2);
    expect(badVocab.stderr).toMatch(/^error: .*dup-vocab\.txt: line 7: duplicate token \(first at line 6\)/);
    // the default vocabulary of a random-init plan (or of a checkpoint without vocab.txt) is BERT's in ../shared/data:
    // without it (a clone with nothing beside it), exit 2 naming it; with it, every run uses it
    const dflt = runIn({ GLUE_DIR: glueMiniDir() }, '--plan', write('dv.json', ok), '--results-root', root, '--dry-run');
    if (existsSync(BERT_VOCAB)) {
      expect(dflt.status, dflt.stderr).toBe(0);
      expect(checkRunInputs(loadPlan(write('dv.json', ok)), 'dv.json').vocab).toBe(BERT_VOCAB);
    } else {
      expect(dflt.status).toBe(2);
      expect(dflt.stderr).toMatch(/^error: .*bert-base-uncased-vocab\.txt: \(default vocabulary\): does not exist\n {2}hint: BERT uncased's vocabulary/);
    }
    // in this process too, with the GLUE directory the runs above had (a clone has no ../shared/data/glue)
    const glueEnv = process.env.GLUE_DIR;
    process.env.GLUE_DIR = glueMiniDir();
    try {
      expect(checkRunInputs({ ...loadPlan(write('dv.json', ok)), vocab: SMALL_VOCAB }, 'dv.json').vocab).toBe(join(PROJECT_ROOT, SMALL_VOCAB));
    } finally {
      if (glueEnv === undefined) delete process.env.GLUE_DIR;
      else process.env.GLUE_DIR = glueEnv;
    }
  });
});

describe('campaigns on a queue', () => {
  it('--queue takes a redis:// or rediss:// URL (exit 2 otherwise), and --help says how', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-q-'));
    const plan = join(dir, 'q.json');
    writeFileSync(plan, JSON.stringify({ name: 'q', checkpoint: null, tasks: ['rte'], variants: ['bitfit'], seeds: [1], vocab: SMALL_VOCAB }));
    const bad = spawnSync('npx', ['tsx', 'trainer/campaign.ts', '--plan', plan, '--queue', 'http://:pw@h:1'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--queue: scheme http: is not redis: or rediss: \(got "http:\/\/:\*\*\*@h:1"/);
    const help = spawnSync('npx', ['tsx', 'trainer/campaign.ts', '--help'], { encoding: 'utf8' });
    expect(help.stdout).toMatch(/--queue URL +run the runs as BullMQ jobs on this Redis/);
  });

  it('expands a plan into the same train.ts command lines as before the queue existed', () => {
    const plan: Plan = {
      name: 'a',
      checkpoint: 'ck',
      tasks: ['rte'],
      variants: ['bitfit'],
      seeds: [2],
      lr: { bias: [1e-3], full: [5e-5] },
      epochs: 1,
      batch: 8,
      seq: 32,
      trainLimit: { '*': 50 },
      vocab: 'v.txt',
    };
    expect(expandPlan(plan, '/r')[0].args).toEqual([
      'tsx',
      'trainer/train.ts',
      '--task',
      'rte',
      '--variant',
      'bitfit',
      '--lr',
      '0.001',
      '--seed',
      '2',
      '--epochs',
      '1',
      '--batch',
      '8',
      '--seq',
      '32',
      '--out',
      '/r/rte-bitfit-lr0.001-seed2.json',
      '--checkpoint',
      'ck',
      '--vocab',
      join(PROJECT_ROOT, 'v.txt'),
      '--train-limit',
      '50',
    ]);
  });
});
