import { describe, it, expect, beforeAll } from 'vitest';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { selectBackend } from '../../trainer/backend.js';
import { runFinetune, startingPoint, variantCounts } from '../../trainer/train.js';
import { vocabFile } from '../../trainer/vocab-file.js';
import { readSafetensors, writeSafetensors, type Tensor } from '../../trainer/checkpoint.js';
import { InputError } from '../../formats/errors.js';
import { glueMiniDir } from './glue-mini.js';

// The committed v8k checkpoint's vocabulary: a random-init run needs no ../shared/data.
const smallVocab = resolve('fixtures/pretrained/bert-l4-h128-v8k/vocab.txt');

/** A vocabulary of BERT uncased's size (30,522 tokens: the specials, then made-up words), so that no test needs ../shared/data. */
function bertSizedVocab(dir: string): string {
  const f = join(dir, 'bert-sized-vocab.txt');
  const words = Array.from({ length: 30522 - 5 }, (_, i) => `w${i}`);
  writeFileSync(f, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...words].join('\n') + '\n');
  return f;
}

describe('one fine-tuning run (mini GLUE fixtures, random init)', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });
  it('trains a variant, evaluates every epoch and records provenance', async () => {
    const r = await runFinetune({
      task: 'mrpc',
      variant: 'bitfit-bq',
      checkpoint: null,
      lr: 1e-3,
      epochs: 2,
      batch: 4,
      seqLen: 24,
      seed: 3,
      trainLimit: 0,
      glueDir: glueMiniDir(),
      vocab: smallVocab,
      integer: true,
    });
    expect(r.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(Object.keys(r.best.dev)).toEqual(['f1', 'accuracy']);
    expect(r.best.metric).toBe('f1');
    expect(Object.keys(r.integer!.dev)).toEqual(['f1', 'accuracy']);
    expect(r.integer!.images.romSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(r.epochs[0].train)).toEqual(['f1', 'accuracy']);
    expect(r.trainable.count).toBe(4 * 128 + 128 + 2 * 128 + 2); // b_q of 4 layers + pooler bias + classifier
    const p = r.provenance as { data: { train: { sha256: string } }; vocab: { sha256: string } };
    expect(p.data.train.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(p.vocab.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Figure 1 data: only b_q trains in this variant, so only b_q moves
    expect(r.biasChange.b_q.length).toBe(4);
    expect(r.biasChange.b_q.every((x) => x > 0)).toBe(true);
    for (const t of ['b_k', 'b_v', 'b_m1', 'b_LN1', 'b_m2', 'b_m3', 'b_LN2'] as const) expect(r.biasChange[t]).toEqual([0, 0, 0, 0]);
  });
});

describe('trainable counts per variant', () => {
  it('counts biases, head and pooler bias of the project geometry as the paper defines the variants', async () => {
    await selectBackend('wasm');
    const { g, params } = startingPoint(null, 16, 2, 1, 100);
    const c = Object.fromEntries(variantCounts(g, params).map((x) => [x.variant, x.count]));
    const H = 128,
      F = 512,
      L = 4;
    const head = H + 2 * H + 2; // pooler bias + classifier
    expect(c.frozen).toBe(head);
    expect(c['bitfit-bq']).toBe(head + L * H);
    expect(c['bitfit-bm2']).toBe(head + L * F);
    expect(c.bitfit).toBe(head + L * (7 * H + F)); // q, k, v, m1, LN1, m3, LN2 of width H; m2 of width F
    expect(c['rand-uniform']).toBe(c.bitfit);
    expect(c['full-ft']).toBe(variantCounts(g, params)[0].total);
  });
});

describe('the vocabulary of a checkpoint', () => {
  it('is its vocab.txt when it has one, and must match its vocab_size (exit 2 naming both)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    copyFileSync('fixtures/pretrained/bert-l4-h128/config.json', join(dir, 'config.json'));
    symlinkSync(resolve('fixtures/pretrained/bert-l4-h128/model.safetensors'), join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', '##a'].join('\n') + '\n');
    const r = spawnSync('npx', ['tsx', 'trainer/train.ts', '--task', 'rte', '--variant', 'bitfit', '--checkpoint', dir], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/ckpt-.*config\.json: vocab_size: 30522, but the vocabulary .*ckpt-.*vocab\.txt has 7 tokens/);
    expect(vocabFile(dir, undefined)).toBe(join(dir, 'vocab.txt'));
    const vocab = bertSizedVocab(dir);
    // --vocab overrides the checkpoint's vocab.txt, and is held to the same check
    expect(vocabFile(dir, vocab)).toBe(vocab);
    const bert = spawnSync('npx', ['tsx', 'trainer/train.ts', '--checkpoint', dir, '--vocab', vocab, '--list-variants'], { encoding: 'utf8' });
    expect(bert.status, bert.stderr).toBe(0);
    expect(bert.stdout).toMatch(/bitfit/);
    const other = join(dir, 'other.txt');
    copyFileSync(join(dir, 'vocab.txt'), other);
    const w = spawnSync('npx', ['tsx', 'trainer/train.ts', '--task', 'rte', '--checkpoint', 'fixtures/pretrained/bert-l4-h128', '--vocab', other], {
      encoding: 'utf8',
    });
    expect(w.status).toBe(2);
    expect(w.stderr).toMatch(/vocab_size: 30522, but the vocabulary .*other\.txt has 7 tokens/);
  });

  it('--vocab sizes a random-init model, and a missing file is exit 2 naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'voc-'));
    const small = join(dir, 'vocab.txt');
    writeFileSync(small, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', '##a'].join('\n') + '\n');
    expect(vocabFile(null, small)).toBe(small);
    expect(vocabFile(null, undefined)).toMatch(/bert-base-uncased-vocab\.txt$/);
    expect(vocabFile(null, join(dir, 'none.txt'))).toEqual({ error: expect.stringMatching(/.*none\.txt is not a file/) });
    expect(vocabFile(null, dir)).toEqual({ error: expect.stringMatching(/voc-.* is not a file/) });
    const asDir = spawnSync('npx', ['tsx', 'trainer/train.ts', '--random-init', '--vocab', dir, '--list-variants'], { encoding: 'utf8' });
    expect(asDir.status).toBe(2);
    expect(asDir.stderr).toMatch(/\(command line\): --vocab: .*voc-.* is not a file/);
    const r = spawnSync('npx', ['tsx', 'trainer/train.ts', '--random-init', '--vocab', small, '--list-variants'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // 7 word and 512 position embeddings of 128 dimensions instead of 30,522 word embeddings
    expect(r.stdout).toMatch(/full-ft +[\d,]+ of [\d,]+/);
    const total = Number(/full-ft +([\d,]+)/.exec(r.stdout)![1].replace(/,/g, ''));
    expect(total).toBeLessThan(1_000_000);
    const miss = spawnSync('npx', ['tsx', 'trainer/train.ts', '--task', 'rte', '--random-init', '--vocab', join(dir, 'none.txt')], { encoding: 'utf8' });
    expect(miss.status).toBe(2);
    expect(miss.stderr).toMatch(/\(command line\): --vocab: .*none\.txt is not a file/);
  });
});

describe('a checkpoint against its config.json', () => {
  /** A checkpoint directory of the committed L4/H128 weights under an edited config.json. */
  function editedCheckpoint(edit: Record<string, unknown>): string {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-cfg-'));
    const cfg = JSON.parse(readFileSync('fixtures/pretrained/bert-l4-h128/config.json', 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, ...edit }));
    symlinkSync(resolve('fixtures/pretrained/bert-l4-h128/model.safetensors'), join(dir, 'model.safetensors'));
    return dir;
  }

  it('tensors of another width than config.json says are exit 2 naming the tensors, not a crash in the model', () => {
    const dir = editedCheckpoint({ hidden_size: 256 });
    expect(() => startingPoint(dir, 64, 2, 1, 30522)).toThrow(InputError);
    expect(() => startingPoint(dir, 64, 2, 1, 30522)).toThrow(
      /ckpt-cfg-.*model\.safetensors: \(tensors\): does not match the model layout[\s\S]*bert\.embeddings\.word_embeddings\.weight: shape \[30522,128\], expected \[30522,256\]/,
    );
    const r = spawnSync('npx', ['tsx', 'trainer/train.ts', '--checkpoint', dir, '--vocab', bertSizedVocab(dir), '--list-variants'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: .*ckpt-cfg-.*model\.safetensors: \(tensors\): does not match the model layout/);
    expect(r.stderr).toMatch(/bert\.encoder\.layer\.0\.attention\.self\.query\.weight: shape \[128,128\], expected \[256,256\]/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a sequence longer than its position table is an error naming config.json', () => {
    const dir = editedCheckpoint({ max_position_embeddings: 64 });
    expect(() => startingPoint(dir, 128, 2, 1, 30522)).toThrow(InputError);
    expect(() => startingPoint(dir, 128, 2, 1, 30522)).toThrow(/ckpt-cfg-.*config\.json: geometry: seqLen = 128 exceeds maxPositions = 64/);
  });

  it('a missing encoder tensor is an error; a missing pooler is drawn fresh', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-drop-'));
    copyFileSync('fixtures/pretrained/bert-l4-h128-v8k/config.json', join(dir, 'config.json'));
    const all = readSafetensors('fixtures/pretrained/bert-l4-h128-v8k/model.safetensors').tensors;
    const without = (drop: (k: string) => boolean): Map<string, Tensor> => new Map([...all].filter(([k]) => !drop(k)));
    writeSafetensors(
      join(dir, 'model.safetensors'),
      without((k) => k.startsWith('bert.pooler.')),
    );
    const { params } = startingPoint(dir, 32, 2, 1, 8192);
    expect(params.get('bert.pooler.dense.bias')).toEqual(new Float32Array(128)); // drawn fresh: a zero bias
    expect(params.get('bert.encoder.layer.0.output.dense.bias')).toEqual(all.get('bert.encoder.layer.0.output.dense.bias')!.data);
    writeSafetensors(
      join(dir, 'model.safetensors'),
      without((k) => k === 'bert.encoder.layer.2.output.dense.bias'),
    );
    expect(() => startingPoint(dir, 32, 2, 1, 8192)).toThrow(
      /model\.safetensors: \(tensors\): .*\n {2}1 missing:\n {4}bert\.encoder\.layer\.2\.output\.dense\.bias \[128\]/,
    );
  });
});

describe('the train.ts command', () => {
  const train = (...a: string[]) => spawnSync('npx', ['tsx', 'trainer/train.ts', ...a], { encoding: 'utf8' });

  it('--help prints the help text with the defaults the code uses (exit 0)', () => {
    const r = train('--help');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npx tsx trainer\/train\.ts --task TASK/);
    expect(r.stdout).toMatch(/--epochs N +passes over the training set \(default 3\)/);
    expect(r.stdout).toMatch(/--seq N +maximum sequence length in tokens, at least 8 \(default 128\)/);
    expect(r.stdout).toMatch(/--variant V +bitfit, .*full-ft \(default bitfit\)/);
    expect(r.stdout).not.toMatch(/\/\*\*|^ \*/m); // not the source comment
  });

  it('a bad flag is exit 2 naming it, with the --help hint and no stack trace', () => {
    const unknown = train('--bogus');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(
      /^error: \(command line\): --bogus: is not a flag of this command \(allowed: [^\n]*\)\nrun npx tsx trainer\/train\.ts --help for every flag/,
    );
    const epochs = train('--task', 'rte', '--epochs', '0');
    expect(epochs.status).toBe(2);
    expect(epochs.stderr).toMatch(/--epochs: must be an integer >= 1 \(got "0"\)/);
    const task = train('--task', 'mnli');
    expect(task.status).toBe(2);
    expect(task.stderr).toMatch(/--task: is not a known value \(got "mnli"; allowed: sst2, cola, rte, mrpc, stsb\)/);
    const qnli = train('--task', 'qnli');
    expect(qnli.status).toBe(2);
    expect(qnli.stderr).toMatch(/--task: QNLI has no train split here/);
    for (const r of [unknown, epochs, task, qnli]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--out naming a directory, or a path under a file, is exit 2 before any data is read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'train-out-'));
    const empty = mkdtempSync(join(tmpdir(), 'no-glue-')); // no GLUE files: a run that read them would fail naming them
    const asDir = train('--task', 'rte', '--random-init', '--vocab', smallVocab, '--glue-dir', empty, '--out', dir);
    expect(asDir.status).toBe(2);
    expect(asDir.stderr).toMatch(/train-out-.*: --out: is a directory, not a file/);
    expect(asDir.stderr).not.toMatch(/GLUE|epoch/);
    const file = join(dir, 'plain');
    writeFileSync(file, 'x');
    const underFile = train('--task', 'rte', '--random-init', '--vocab', smallVocab, '--glue-dir', empty, '--out', join(file, 'r.json'));
    expect(underFile.status).toBe(2);
    expect(underFile.stderr).toMatch(/plain: --out: is a file, not a directory/);
  });

  it('a bad vocabulary file is exit 2 naming the file and the line, before any data is read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bad-vocab-'));
    const empty = mkdtempSync(join(tmpdir(), 'no-glue-')); // no GLUE files: a run that read them would fail naming them
    const dup = join(dir, 'dup.txt');
    writeFileSync(dup, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b', 'a'].join('\n') + '\n');
    const r = train('--task', 'rte', '--random-init', '--vocab', dup, '--glue-dir', empty, '--out', join(dir, 'r.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: .*bad-vocab-.*dup\.txt: line 8: duplicate token \(first at line 6\) \(got "a"/);
    expect(r.stderr).not.toMatch(/\n\s+at |GLUE/);
    const noCls = join(dir, 'no-cls.txt');
    writeFileSync(noCls, ['[PAD]', '[UNK]', '[SEP]', '[MASK]', 'a'].join('\n') + '\n');
    const n = train('--random-init', '--vocab', noCls, '--list-variants');
    expect(n.status).toBe(2);
    expect(n.stderr).toMatch(/^error: .*no-cls\.txt: \(special tokens\): vocabulary lacks the special token\(s\) \[CLS\]/);
  });

  it('missing GLUE data is exit 2 naming the file and --glue-dir', () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-glue-'));
    const r = train('--task', 'rte', '--random-init', '--vocab', smallVocab, '--glue-dir', empty, '--out', join(empty, 'r.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/GLUE file not found: .*no-glue-.*RTE.*--glue-dir/);
  });

  it('a run shows a progress bar per epoch and metrics to 2 decimals in percent, and writes the result atomically', () => {
    const dir = mkdtempSync(join(tmpdir(), 'train-run-'));
    const out = join(dir, 'r.json');
    const r = train(
      '--task',
      'rte',
      '--random-init',
      '--vocab',
      smallVocab,
      '--glue-dir',
      glueMiniDir(),
      '--epochs',
      '2',
      '--batch',
      '2',
      '--seq',
      '16',
      '--no-integer',
      '--out',
      out,
    );
    expect(r.status, r.stderr).toBe(0);
    // not a terminal: plain lines, the last of each epoch with its time
    expect(r.stderr).toMatch(/^epoch 1\/2 \[#{20}\] 2\/2 steps {2}\d+\.\d examples\/s {2}in 0:\d\d$/m);
    expect(r.stderr).toMatch(/^epoch 2\/2 \[#{10}\.{10}\] 1\/2 steps {2}\d+\.\d examples\/s {2}ETA 0:\d\d$/m);
    expect(r.stderr).toMatch(/^epoch 2: train loss \d\.\d{4}, dev accuracy \d{1,3}\.\d\d%; train accuracy \d{1,3}\.\d\d% \(2 steps/m);
    expect(r.stdout).toMatch(/^best epoch [12]: dev accuracy \d{1,3}\.\d\d% -> .*r\.json$/m);
    expect(JSON.parse(readFileSync(out, 'utf8')).epochs).toHaveLength(2);
    expect(readdirSync(dir)).toEqual(['r.json']); // no temporary left beside it
  });
});
