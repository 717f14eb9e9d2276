/**
 * The frozen known answer of rom-bert-tiny (fixtures/golden/known-answer-rom-bert-tiny.json): the
 * project's own export path must make the same ROM and SRAM images, byte for byte, the datapath
 * must compute the same logits (and every intermediate), and the TensorFlow.js reference must agree
 * with it. A change to either implementation or to the exporter fails here; the file may be
 * regenerated only with a new spec or exporter version (rtl-model/known-answer.ts --write).
 */
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KNOWN_ANSWER_FILE,
  REGENERATE_COMMAND,
  ROM_BERT_TINY_RECIPE,
  answerOfImages,
  describeDifference,
  diffKnownAnswers,
  formatKnownAnswer,
  main,
  readKnownAnswer,
  type KnownAnswer,
} from '../../rtl-model/known-answer.js';
import { syntheticInput, type ExportResult } from '../../rtl-model/export.js';
import type { IntTensor } from '../../rtl-model/datapath.js';
import { oracleEngine } from '../../rtl-model/gemm/oracle.js';
import { SPEC_VERSION } from '../../rtl-model/spec/index.js';
import { EXPORTER_VERSION } from '../../formats/exporter-version.js';
import { InputError } from '../../formats/errors.js';
import { geometryOf, loadConfig } from '../../sim/config.js';
import { imagesFor } from '../../sim/pipeline.js';
import { selectBackend } from '../../trainer/backend.js';
import { TfjsIntReference } from '../../trainer/int-reference.js';
import { compareTensors } from '../../sim/verify.js';

const recorded = readKnownAnswer(KNOWN_ANSWER_FILE);
const cfg = loadConfig(ROM_BERT_TINY_RECIPE.config);

let ex: ExportResult;
let computed: KnownAnswer;
let records: Map<string, IntTensor>;
beforeAll(async () => {
  // the export path sim/run.ts takes (no cache directory: exported now)
  ex = await imagesFor(cfg, cfg.verify.variant, oracleEngine);
  ({ answer: computed, records } = await answerOfImages(ROM_BERT_TINY_RECIPE, ex));
});

describe('the known answer of rom-bert-tiny', () => {
  it('is of the recipe the config describes (geometry, synthetic weights, verify variant, seeds)', () => {
    expect(recorded.recipe).toEqual(ROM_BERT_TINY_RECIPE);
    expect(cfg.model.checkpoint).toBeNull();
    expect(ROM_BERT_TINY_RECIPE).toEqual({
      config: cfg.name,
      geometry: geometryOf(cfg.model),
      syntheticSeed: cfg.model.syntheticSeed,
      taskSeed: cfg.model.syntheticSeed + 1,
      variant: cfg.verify.variant,
      calibrationSeed: cfg.verify.calibrationSeed,
      inputSeed: cfg.verify.inputSeed,
      padTail: cfg.verify.padTail,
    });
  });

  it('was made with this spec and exporter version', () => {
    expect(recorded.specVersion, `the file is of spec version ${recorded.specVersion}; run ${REGENERATE_COMMAND}`).toBe(SPEC_VERSION);
    expect(recorded.exporterVersion, `the file is of exporter version ${recorded.exporterVersion}; run ${REGENERATE_COMMAND}`).toBe(EXPORTER_VERSION);
  });

  it('holds: sim/pipeline.ts imagesFor makes the same ROM and SRAM images, and the datapath the same logits and intermediates', () => {
    const diffs = diffKnownAnswers(recorded, computed);
    expect(diffs, describeDifference(KNOWN_ANSWER_FILE, diffs)).toEqual([]);
    expect(computed.romSha256).toBe(recorded.romSha256);
    expect(computed.sramSha256).toBe(recorded.sramSha256);
    expect(computed.logits).toEqual(recorded.logits);
  });

  it('the TensorFlow.js reference (cpu) computes the same logits and every intermediate bit for bit', async () => {
    expect((await selectBackend('cpu')).name).toBe('cpu');
    const ref = new TfjsIntReference(ex.romImage, ex.sramImage);
    const b = await ref.forward(syntheticInput(ROM_BERT_TINY_RECIPE.geometry, ROM_BERT_TINY_RECIPE.inputSeed, ROM_BERT_TINY_RECIPE.padTail));
    ref.dispose();
    expect(Array.from(b.get('logits')!), `the reference's logits differ from the known answer; ${REGENERATE_COMMAND} cannot fix this`).toEqual(recorded.logits);
    const cmp = compareTensors(records, b);
    expect(cmp.firstMismatch).toBeNull();
    expect(cmp.bitExact).toBe(true);
  });
});

describe('rtl-model/known-answer.ts', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'known-answer-'));
    vi.spyOn(console, 'log').mockImplementation(() => {});
  });
  afterAll(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });
  const compute = async (): Promise<KnownAnswer> => computed;
  const withFile = (name: string, a: unknown): string => {
    const f = join(dir, name);
    writeFileSync(f, typeof a === 'string' ? a : formatKnownAnswer(a as KnownAnswer));
    return f;
  };

  it('checks: exit 0 when the answer holds, 1 naming each difference and the command to regenerate', async () => {
    expect(await main([], compute)).toBe(0);
    const f = withFile('changed.json', { ...recorded, logits: [recorded.logits[0] + 1, ...recorded.logits.slice(1)], sramSha256: '0'.repeat(64) });
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await main(['--file', f], compute)).toBe(1);
    const out = error.mock.calls.map((c) => String(c[0])).join('\n');
    error.mockRestore();
    expect(out).toMatch(/sramSha256: the file has 0{64}, this code makes [0-9a-f]{64}/);
    expect(out).toMatch(/logits\[0\]: the file has -?\d+, this code makes -?\d+/);
    expect(out).toContain(REGENERATE_COMMAND);
  });

  it('--write refuses (InputError, exit 2) while the file is of this spec and exporter version, and leaves it as it was', async () => {
    const f = withFile('same.json', recorded);
    const before = readFileSync(f, 'utf8');
    await expect(main(['--write', '--file', f], compute)).rejects.toThrow(InputError);
    await expect(main(['--write', '--file', f], compute)).rejects.toThrow(/refusing to rewrite a known answer made by the same spec and exporter versions/);
    expect(readFileSync(f, 'utf8')).toBe(before);
  });

  it('--write rewrites a file of another spec or exporter version, or a missing file', async () => {
    for (const old of [
      { ...recorded, specVersion: SPEC_VERSION - 1, logits: [0, 0] },
      { ...recorded, exporterVersion: EXPORTER_VERSION - 1 },
    ]) {
      const f = withFile('old.json', old);
      expect(await main(['--write', '--file', f], compute)).toBe(0);
      expect(readKnownAnswer(f)).toEqual(computed);
    }
    const f = join(dir, 'new.json');
    expect(await main(['--write', '--file', f], compute)).toBe(0);
    expect(readFileSync(f, 'utf8')).toBe(formatKnownAnswer(computed));
  });

  it('--write checks --file before computing: a directory, or a path under a file, is refused (exit 2) with nothing computed', async () => {
    let computedTimes = 0;
    const counting = async (): Promise<KnownAnswer> => {
      computedTimes++;
      return computed;
    };
    const notDir = withFile('plain.json', recorded);
    await expect(main(['--write', '--file', dir], counting)).rejects.toThrow(/known-answer-[^:]*: --file: is a directory, not a file/);
    await expect(main(['--write', '--file', join(notDir, 'x.json')], counting)).rejects.toThrow(InputError);
    expect(computedTimes).toBe(0);
  });

  it('the committed file is exactly what --write makes of this answer', () => {
    expect(readFileSync(KNOWN_ANSWER_FILE, 'utf8')).toBe(formatKnownAnswer(computed));
  });

  it('a damaged file or a bad flag is an InputError naming the file and field', async () => {
    await expect(main(['--file', withFile('bad.json', '{')], compute)).rejects.toThrow(/bad\.json: \(file\): is not valid JSON/);
    await expect(main(['--file', withFile('hex.json', { ...recorded, romSha256: 'xyz' })], compute)).rejects.toThrow(/hex\.json: romSha256: must be a sha256/);
    await expect(main(['--file', join(dir, 'missing.json')], compute)).rejects.toThrow(/missing\.json: --file: does not exist/);
    await expect(main(['--frobnicate'], compute)).rejects.toThrow(/--frobnicate: is not a flag/);
  });

  it('as a command, --write on the committed file exits 2 with the message and no stack', () => {
    const r = spawnSync('npx', ['tsx', 'rtl-model/known-answer.ts', '--write'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: .*known-answer-rom-bert-tiny\.json: specVersion, exporterVersion: refusing to rewrite/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
