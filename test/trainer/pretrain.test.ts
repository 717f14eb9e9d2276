import { describe, it, expect } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parsePretrainOptions } from '../../trainer/pretrain-options.js';

// The vocabulary checks of trainer/pretrain.ts run before any data is read, so these are quick.
const run = (...a: string[]) => spawnSync('npx', ['tsx', 'trainer/pretrain.ts', ...a], { encoding: 'utf8' });

describe('pretrain.ts vocabulary', () => {
  it('refuses a --vocab that is missing or a directory with exit 2, naming the path', () => {
    const d = mkdtempSync(join(tmpdir(), 'pt-'));
    const missing = run('--out', join(d, 'o'), '--vocab', join(d, 'none.txt'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/\(command line\): --vocab: .*none\.txt is not a file/);
    const dir = run('--out', join(d, 'o'), '--vocab', d);
    expect(dir.status).toBe(2);
    expect(dir.stderr).toMatch(/\(command line\): --vocab: .*pt-.* is not a file/);
  });

  it('resumes only with the vocabulary the run started with (its own vocab.txt by default)', () => {
    const out = mkdtempSync(join(tmpdir(), 'pt-resume-'));
    writeFileSync(join(out, 'model.safetensors'), '');
    writeFileSync(join(out, 'state.json'), JSON.stringify({ provenance: { vocab: { sha256: 'f'.repeat(64) } } }));
    writeFileSync(join(out, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a'].join('\n') + '\n');
    const r = run('--out', out);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /state\.json: provenance\.vocab\.sha256: .*was pre-trained with a vocabulary of sha256 ffffffffffffffff…; .*pt-resume-.*vocab\.txt is [0-9a-f]{16}…/,
    );
  });
});

describe('pretrain.ts resuming a checkpoint', () => {
  /** A copy of the committed v8k checkpoint (L4/H128, its own vocabulary), to resume. */
  const copy = (): string => {
    const out = join(mkdtempSync(join(tmpdir(), 'pt-geom-')), 'ckpt');
    cpSync('fixtures/pretrained/bert-l4-h128-v8k', out, { recursive: true });
    return out;
  };

  it('with other geometry flags is exit 2 naming config.json, the field and both values, before any data is read', () => {
    const r = run('--out', copy(), '--hidden', '256', '--threads', '1');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^error: .*pt-geom-.*config\.json: hidden_size: is 128, but --hidden is 256\n {2}hint: resume with the geometry .*--layers 4 --hidden 128/,
    );
    expect(r.stderr).not.toMatch(/resuming|data:|corpus|GLUE|\n\s+at /);
    const layers = run('--out', copy(), '--layers', '2', '--threads', '1');
    expect(layers.status).toBe(2);
    expect(layers.stderr).toMatch(/config\.json: num_hidden_layers: is 4, but --layers is 2/);
  });

  it('whose weights do not match its config.json is exit 2 naming the tensors, before any data is read', () => {
    const out = copy();
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(out, 'config.json'), JSON.stringify({ ...cfg, hidden_size: 256 }));
    const r = run('--out', out, '--hidden', '256', '--threads', '1');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: .*model\.safetensors: \(tensors\): does not match the model layout/);
    expect(r.stderr).toMatch(/bert\.embeddings\.word_embeddings\.weight: shape \[8192,128\], expected \[8192,256\]/);
    expect(r.stderr).not.toMatch(/resuming|data:|corpus|GLUE|\n\s+at /);
  });
});

describe('pretrain.ts flags', () => {
  it('--help prints the help text with the defaults (exit 0)', () => {
    const r = run('--help');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npx tsx trainer\/pretrain\.ts/);
    expect(r.stdout).toMatch(/--minutes M +wall-time budget of this session \(default 60\)/);
    expect(r.stdout).toMatch(/--objective O +mlm\+nsp or mlm \(default mlm\+nsp\)/);
  });

  it('a bad flag is exit 2 naming it, before any vocabulary or data is read', () => {
    const d = mkdtempSync(join(tmpdir(), 'pt-flags-'));
    const cases: [string[], RegExp][] = [
      [['--bogus'], /--bogus: is not a flag of this command \(allowed: /],
      [['--threads', '0'], /--threads: must be an integer in \[1, 32\] \(got "0"\)/],
      [['--seq', '1024'], /--seq: must be an integer in \[8, 512\]/],
      [['--batch', '4', '--threads', '5'], /--threads: must be an integer in \[1, 4\] \(got "5"\)/],
      [['--objective', 'nsp'], /--objective: is not a known value \(got "nsp"; allowed: mlm\+nsp, mlm\)/],
      [['--dropout', '1'], /--dropout: must be a number in \[0, 1\) \(got "1"\)/],
      [['--hidden', '100', '--heads', '3'], /--heads: must divide --hidden \(100\)/],
    ];
    for (const [args, msg] of cases)
      expect(() => parsePretrainOptions(['--out', join(d, 'o'), '--vocab', join(d, 'none.txt'), ...args]), args.join(' ')).toThrow(msg);
    const r = run('--out', join(d, 'o'), '--vocab', join(d, 'none.txt'), '--threads', '0');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: \(command line\): --threads: must be an integer/);
    expect(r.stderr).not.toMatch(/none\.txt/); // the flags are checked before the vocabulary
  });

  it('--out naming a file is exit 2 before any work', () => {
    const d = mkdtempSync(join(tmpdir(), 'pt-out-'));
    const f = join(d, 'file');
    writeFileSync(f, 'x');
    const r = run('--out', f);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/pt-out-.*file: --out: is a file, not a directory/);
  });
});
