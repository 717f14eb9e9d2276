/**
 * formats/report-schema.ts: report.json declared once. What the simulator writes (sim/report.ts
 * buildReport, typed by this declaration) is what the reader accepts; a report off the declaration
 * is a ReportError (an InputError) naming the file, the field path, the value and what is allowed.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../formats/errors.js';
import { checkReport, readReport, ReportError, REPORT_SCHEMA } from '../../formats/report-schema.js';
import { buildReport } from '../../sim/report.js';
import { evaluate } from '../../sim/costs.js';
import { geometryOf, loadConfig } from '../../sim/config.js';
import { loadTech, TechModel } from '../../sim/tech.js';
import { SIM_VARIANTS } from '../../sim/variants.js';

/** A parsed JSON document, to damage field by field on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const GOLDEN = 'fixtures/golden/report-rom-bert-tiny.json';
const golden = (): Json => JSON.parse(readFileSync(GOLDEN, 'utf8'));
const refusal = (edit: (r: Json) => void): string => {
  const r = golden();
  edit(r);
  try {
    checkReport(r, 'r.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ReportError);
    expect(e).toBeInstanceOf(InputError);
    expect((e as ReportError).file).toBe('r.json');
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('report schema', () => {
  it('accepts what the simulator writes, through JSON, and the golden report', () => {
    const cfg = loadConfig('rom-bert-tiny');
    const tech = new TechModel(loadTech(cfg.hardware.technology));
    const points = SIM_VARIANTS.map((v) => evaluate(geometryOf(cfg.model), cfg.hardware, tech, v));
    const written = JSON.parse(JSON.stringify(buildReport(cfg, tech, points, null, 'test')));
    expect(checkReport(written, 'out/report.json').variants.map((v) => v.id)).toEqual([...SIM_VARIANTS]);
    expect(readReport(GOLDEN).schema).toBe(REPORT_SCHEMA);
  });

  it('names the file, the field, the value and what is allowed', () => {
    expect(refusal((r) => (r.schema = 'bitfit-rom-accel/report@0'))).toBe(
      'r.json: schema: is not the schema this tool reads (got "bitfit-rom-accel/report@0"; allowed: bitfit-rom-accel/report@1)\n' +
        '  hint: rebuild the report with this version of sim/run.ts',
    );
    expect(refusal((r) => delete r.schema)).toMatch(/^r\.json: schema: is missing \(allowed: bitfit-rom-accel\/report@1\)/);
    expect(refusal((r) => (r.variants = []))).toMatch(/^r\.json: variants: is empty \(allowed: a non-empty array\)/);
    expect(refusal((r) => delete r.variants[1].cyclesByOpKind)).toMatch(/^r\.json: variants\[1\]\.cyclesByOpKind: is missing \(allowed: an object\)/);
    expect(refusal((r) => (r.variants[0].areaMm2.rom = null))).toMatch(/^r\.json: variants\[0\]\.areaMm2\.rom: is null \(got null; allowed: a finite number\)/);
    expect(refusal((r) => (r.variants[0].cycles = -5))).toMatch(/^r\.json: variants\[0\]\.cycles: is below 0 \(got -5; allowed: an integer >= 0\)/);
    expect(refusal((r) => delete r.variants[0].counts.macs)).toMatch(/^r\.json: variants\[0\]\.counts\.macs: is missing/);
    expect(refusal((r) => (r.variants[0].cyclesByLayer[1].layer = 3))).toMatch(
      /^r\.json: variants\[0\]\.cyclesByLayer\[1\]\.layer: is a number \(got 3; allowed: a string\)/,
    );
    expect(refusal((r) => (r.variants[0].accuracy = { mean: 1, std: 0 }))).toMatch(/^r\.json: variants\[0\]\.accuracy\.metric: is missing/);
    expect(refusal((r) => (r.model.weights.kind = 'pretrained'))).toMatch(
      /^r\.json: model\.weights\.kind: is not a kind of weights \(got "pretrained"; allowed: synthetic or checkpoint\)/,
    );
    expect(refusal((r) => (r.hardware.array.rows = 0))).toMatch(/^r\.json: hardware\.array\.rows: is below 1/);
    expect(refusal((r) => (r.verify.firstMismatch = { tensor: 'x' }))).toMatch(/^r\.json: verify\.firstMismatch\.index: is missing/);
    expect(refusal((r) => delete r.sources.accuracy)).toMatch(/^r\.json: sources\.accuracy: is missing/);
    expect(refusal((r) => (r.technology.constants[0].value = '1'))).toMatch(/^r\.json: technology\.constants\[0\]\.value: is a string/);
  });

  it('checks the webgpu adapter a verify section records', () => {
    const adapter = { vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'Mesa 25', software: true };
    const r = golden();
    r.verify.adapter = adapter;
    expect(checkReport(r, 'r.json').verify?.adapter).toEqual(adapter);
    expect(refusal((x) => (x.verify.adapter = { ...adapter, software: 'yes' }))).toMatch(
      /^r\.json: verify\.adapter\.software: is a string \(got "yes"; allowed: true or false\)/,
    );
    expect(refusal((x) => (x.verify.adapter = { ...adapter, vendor: undefined }))).toMatch(/^r\.json: verify\.adapter\.vendor: is missing/);
  });

  it('refuses a missing file, a directory and text that is not JSON, naming the flag', () => {
    const d = mkdtempSync(join(tmpdir(), 'report-schema-'));
    expect(() => readReport(join(d, 'none.json'), '--compare')).toThrow(/none\.json: --compare: does not exist/);
    expect(() => readReport(d)).toThrow(/: --in: is a directory, not a file/);
    writeFileSync(join(d, 'r.json'), '{"schema": ');
    expect(() => readReport(join(d, 'r.json'))).toThrow(ReportError);
    expect(() => readReport(join(d, 'r.json'))).toThrow(/r\.json: \(file\): is not valid JSON/);
  });
});
