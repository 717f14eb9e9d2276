import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError, CONFIG_DIR } from '../../sim/config.js';

const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
function write(name: string, obj: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof obj === 'string' ? obj : JSON.stringify(obj));
  return p;
}
const base = loadConfig('rom-bert-base');
const hardware = JSON.parse(readFileSync(join(CONFIG_DIR, 'rom-bert-base.json'), 'utf8')).hardware;
const rawBase = {
  name: 'x',
  hardware,
  model: { layers: 2, hidden: 8, heads: 2, ffn: 16, seqLen: 4, vocab: 10, maxPositions: 8, typeVocab: 2, numLabels: 2, checkpoint: null, syntheticSeed: 1 },
  variants: ['bitfit'],
  verify: { variant: 'bitfit', calibrationSeed: 1, inputSeed: 2, padTail: 0 },
};
const withModel = (m: Record<string, unknown>): unknown => ({ ...rawBase, model: { ...rawBase.model, ...m } });

describe('configs', () => {
  it('takes a bank size per memory', () => {
    const h = {
      ...hardware,
      rom: { ...hardware.rom, bankKB: 64 },
      biasSram: { ...hardware.biasSram, bankKB: 8 },
      taskStorage: { ...hardware.taskStorage, bankKB: 16 },
    };
    const c = loadConfig(write('banks.json', { ...rawBase, hardware: h }));
    expect(c.hardware.rom.bankKB).toBe(64);
    expect(c.hardware.biasSram.bankKB).toBe(8);
    expect(c.hardware.taskStorage.bankKB).toBe(16);
    expect(c.hardware.buffers.bankKB).toBeUndefined();
  });
  it('loads the shipped configs with the geometries of the issue', () => {
    expect(base.model).toMatchObject({ layers: 12, hidden: 768, heads: 12, ffn: 3072, seqLen: 128, vocab: 30522 });
    expect(loadConfig('rom-bert-tiny').model).toMatchObject({ layers: 2, hidden: 128, heads: 2, ffn: 512, seqLen: 128 });
    expect(loadConfig('odd-geometry').model).toMatchObject({ layers: 5, hidden: 120, heads: 5, ffn: 333, seqLen: 19 });
    expect(loadConfig('rom-bert-large').model).toMatchObject({ layers: 24, hidden: 1024, heads: 16, ffn: 4096 });
    expect(base.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
  it('merges extends: objects merge, scalars replace', () => {
    const p = write('child.json', { extends: 'rom-bert-base', name: 'child', model: { layers: 3 } });
    const c = loadConfig(p);
    expect(c.model.layers).toBe(3);
    expect(c.model.hidden).toBe(768);
    expect(c.name).toBe('child');
  });
  const bad: [string, unknown, RegExp][] = [
    ['heads not dividing hidden', withModel({ heads: 3 }), /model\.geometry|heads = 3 must divide hidden = 8/],
    ['negative size', withModel({ ffn: -4 }), /model\.ffn: ffn = -4 must be an integer in \[1, 16384\]/],
    ['non-integer size', withModel({ hidden: 8.5 }), /model\.hidden: 8.5 must be a positive integer/],
    ['unknown variant', { ...rawBase, variants: ['bitfit', 'lora'] }, /variants\[1\]: "lora" is not a variant; allowed: bitfit/],
    [
      'missing field',
      (() => {
        const m: Record<string, unknown> = { ...rawBase.model };
        delete m.vocab;
        return { ...rawBase, model: m };
      })(),
      /model\.vocab: is missing/,
    ],
    ['unknown field', withModel({ hiden: 8 }), /model\.hiden: unknown field; allowed:/],
    ['unknown top-level field', { ...rawBase, colour: 'red' }, /colour: unknown field/],
    ['sequence longer than positions', withModel({ seqLen: 9 }), /seqLen = 9 exceeds maxPositions = 8/],
    ['padding the whole sequence', { ...rawBase, verify: { ...rawBase.verify, padTail: 4 } }, /verify\.padTail: 4 must be an integer in \[0, 3\]/],
    [
      'a checkpoint directory that does not exist',
      withModel({ checkpoint: 'no/such/dir' }),
      /model\.checkpoint: "no\/such\/dir": .*config\.json does not exist/,
    ],
    [
      'a checkpoint of another geometry',
      withModel({ checkpoint: 'fixtures/pretrained/bert-l4-h128' }),
      /model\.layers: 2 but the checkpoint "fixtures\/pretrained\/bert-l4-h128" has 4/,
    ],
    ['results without a checkpoint', withModel({ results: 'fixtures/results' }), /model\.results: "fixtures\/results": results need a model\.checkpoint/],
    ['duplicate variant', { ...rawBase, variants: ['bitfit', 'bitfit'] }, /variants\[1\]: bitfit is listed twice/],
    ['not JSON', '{ nope', /is not valid JSON/],
    [
      'unknown dataflow',
      { ...rawBase, hardware: { ...hardware, array: { ...hardware.array, dataflow: 'rs' } } },
      /hardware\.array\.dataflow: "rs" is not a dataflow; allowed: os, ws, is/,
    ],
    ['zero array rows', { ...rawBase, hardware: { ...hardware, array: { ...hardware.array, rows: 0 } } }, /hardware\.array\.rows: 0 must be an integer/],
    ['negative clock', { ...rawBase, hardware: { ...hardware, clockMHz: -1 } }, /hardware\.clockMHz: -1 must be a number/],
    ['missing hardware', { ...rawBase, hardware: undefined }, /hardware: is missing/],
    [
      'a bank size outside the memory model',
      { ...rawBase, hardware: { ...hardware, rom: { ...hardware.rom, bankKB: 4096 } } },
      /hardware\.rom\.bankKB: 4096 must be a bank \(subarray\) size in KiB in \[8, 256\]/,
    ],
    [
      'a bank size that is not a number',
      { ...rawBase, hardware: { ...hardware, buffers: { ...hardware.buffers, bankKB: '32' } } },
      /hardware\.buffers\.bankKB: "32" must be/,
    ],
  ];
  for (const [what, obj, msg] of bad) {
    it(`rejects ${what} with a message naming the field`, () => {
      const p = write(`${what.replace(/\W+/g, '-')}.json`, obj);
      expect(() => loadConfig(p)).toThrow(ConfigError);
      expect(() => loadConfig(p)).toThrow(msg);
      expect(() => loadConfig(p)).toThrow(p);
    });
  }
  it("loads the config of the project's own checkpoint, whose geometry is the checkpoint's", () => {
    const c = loadConfig('bert-l4-h128');
    expect(c.model).toMatchObject({ layers: 4, hidden: 128, heads: 2, ffn: 512, vocab: 30522, checkpoint: 'fixtures/pretrained/bert-l4-h128' });
    const p = write('ck-bad-results.json', { extends: 'bert-l4-h128', name: 'r', model: { results: 'fixtures/results/no-such-campaign' } });
    expect(() => loadConfig(p)).toThrow(/model\.results: "fixtures\/results\/no-such-campaign": .* does not exist/);
  });
  it('rejects a missing file and an extends cycle', () => {
    expect(() => loadConfig('no-such-config')).toThrow(/does not exist/);
    write('a.json', { extends: './b.json' });
    write('b.json', { extends: './a.json' });
    expect(() => loadConfig(join(dir, 'a.json'))).toThrow(/cycle/);
  });
});
