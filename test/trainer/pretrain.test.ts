import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

// The vocabulary checks of trainer/pretrain.ts run before any data is read, so these are quick.
const run = (...a: string[]) => spawnSync('npx', ['tsx', 'trainer/pretrain.ts', ...a], { encoding: 'utf8' });

describe('pretrain.ts vocabulary', () => {
  it('refuses a --vocab that is missing or a directory with exit 2, naming the path', () => {
    const d = mkdtempSync(join(tmpdir(), 'pt-'));
    const missing = run('--out', join(d, 'o'), '--vocab', join(d, 'none.txt'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--vocab .*none\.txt: .*none\.txt is not a file/);
    const dir = run('--out', join(d, 'o'), '--vocab', d);
    expect(dir.status).toBe(2);
    expect(dir.stderr).toMatch(/--vocab .*pt-.*: .* is not a file/);
  });

  it('resumes only with the vocabulary the run started with (its own vocab.txt by default)', () => {
    const out = mkdtempSync(join(tmpdir(), 'pt-resume-'));
    writeFileSync(join(out, 'model.safetensors'), '');
    writeFileSync(join(out, 'state.json'), JSON.stringify({ provenance: { vocab: { sha256: 'f'.repeat(64) } } }));
    writeFileSync(join(out, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a'].join('\n') + '\n');
    const r = run('--out', out);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/was pre-trained with a vocabulary of sha256 ffffffffffffffff…; .*pt-resume-.*vocab\.txt is [0-9a-f]{16}…/);
  });
});
