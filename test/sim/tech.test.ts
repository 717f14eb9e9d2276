import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { listTechNodes, loadTech, TechModel, type TechTable } from '../../sim/tech.js';
import { isInputError } from '../../formats/errors.js';

const base = loadTech('45nm');
const withFormula = (name: string, text: string): TechTable => ({ ...base, file: `hostile.json`, formulas: { ...base.formulas, [name]: text } });

describe('technology formulas are untrusted input', () => {
  const hostile: [string, string, RegExp][] = [
    ['ones(1e5, 1e5)', 'ones', /formulas\.macEnergyPJ.*ones\(\).*not allowed/],
    ['import({ evil: 1 })', 'import', /formulas\.macEnergyPJ.*import\(\).*not allowed/],
    ['evaluate("1+1")', 'evaluate', /formulas\.macEnergyPJ.*evaluate\(\)/],
    ['createUnit("foo")', 'createUnit', /formulas\.macEnergyPJ.*createUnit\(\)/],
    ['[1, 2, 3]', 'matrix', /formulas\.macEnergyPJ.*array expression/],
    ['f(x) = x', 'definition', /formulas\.macEnergyPJ.*functionassignment/],
    ['a = 5', 'assignment', /formulas\.macEnergyPJ.*assignment/],
    ['"text"', 'string', /formulas\.macEnergyPJ.*numeric constants/],
    ['5 cm', 'unit', /formulas\.macEnergyPJ.*"cm"/],
    ['1 == 1', 'comparison', /formulas\.macEnergyPJ.*operator "=="/],
    ['1' + ' + 1'.repeat(300), 'size', /formulas\.macEnergyPJ.*characters/],
  ];
  for (const [text, what, re] of hostile) {
    it(`refuses ${what} (${text.slice(0, 30)}) as bad input naming the formula`, () => {
      let err: unknown;
      try {
        new TechModel(withFormula('macEnergyPJ', text));
      } catch (e) {
        err = e;
      }
      expect(isInputError(err), String(err)).toBe(true);
      expect((err as Error).message).toMatch(re);
    });
  }
  it('refuses a formula that refers to itself, naming it', () => {
    const t = new TechModel({ ...base, formulas: { ...base.formulas, macEnergyPJ: 'macEnergyPJ + 1' } });
    expect(() => t.f('macEnergyPJ')).toThrow(/formulas\.macEnergyPJ: refers to itself through macEnergyPJ -> macEnergyPJ/);
  });
  it('still evaluates the elementary functions a table needs', () => {
    const t = new TechModel(withFormula('macEnergyPJ', 'sqrt(16) + log(exp(2)) + max(1, 2) ^ 2 - min(3, 4) / 3'));
    expect(t.f('macEnergyPJ')).toBeCloseTo(4 + 2 + 4 - 1, 9);
  });
  it('is exit 2 from a CLI, naming the file and the formula', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tech-'));
    const bad = join(dir, 'bad.json');
    const table = JSON.parse(readFileSync(base.file, 'utf8'));
    table.formulas.macEnergyPJ = 'ones(1e5, 1e5)';
    writeFileSync(bad, JSON.stringify(table));
    const script = join(dir, 'run.ts');
    writeFileSync(
      script,
      [
        `import { readFileSync } from 'node:fs';`,
        `import { TechModel } from ${JSON.stringify(resolve('sim/tech.ts'))};`,
        `import { runCli } from ${JSON.stringify(resolve('formats/cli.ts'))};`,
        `runCli('tech', () => {`,
        `  const raw = JSON.parse(readFileSync(${JSON.stringify(bad)}, 'utf8'));`,
        `  new TechModel({ node: 'x', description: '', file: ${JSON.stringify(bad)}, constants: raw.constants, formulas: raw.formulas });`,
        `  return 0;`,
        `});`,
      ].join('\n'),
    );
    let code = 0;
    let err = '';
    try {
      execFileSync('npx', ['tsx', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const x = e as { status: number; stderr: string };
      code = x.status;
      err = x.stderr;
    }
    expect(code).toBe(2);
    expect(err).toMatch(/bad\.json: formulas\.macEnergyPJ: "ones\(1e5, 1e5\)" is refused/);
  }, 60000);
});

describe('technology tables', () => {
  it('has the CACTI nodes and the design nodes', () => {
    expect(listTechNodes()).toEqual(expect.arrayContaining(['22nm', '28nm', '32nm', '45nm', '65nm', '7nm']));
  });
  for (const node of listTechNodes()) {
    it(`${node}: every assumed constant has a range around its value, none cites an unchecked quote`, () => {
      const t = loadTech(node);
      for (const [k, c] of Object.entries(t.constants)) {
        expect(c.source, k).not.toMatch(/check before use|as quoted in DESIGN\.md|checked against the paper before use/i);
        if (c.kind === 'assumed') {
          expect(c.range, k).toBeDefined();
          expect(c.range![0], k).toBeLessThanOrEqual(c.value);
          expect(c.range![1], k).toBeGreaterThanOrEqual(c.value);
        }
      }
    });
  }
  it('sets constants to other values for the uncertainty analysis, and refuses an unknown one', () => {
    const t = new TechModel(base, { memBankKB: 64 });
    expect(t.c('memBankKB')).toBe(64);
    expect(() => new TechModel(base, { noSuchConstant: 1 })).toThrow(/constants\.noSuchConstant/);
  });
});

describe('TechModel copies and compiled formulas', () => {
  it('copies made by with() evaluate at their own constants and record their own used constants', () => {
    const t = new TechModel(loadTech('28nm'));
    const a = t.f('sramCellUm2');
    const hi = t.with({ sramCellF2: 2 * t.c('sramCellF2') });
    expect(hi.f('sramCellUm2')).toBeCloseTo(2 * a, 12);
    expect(t.f('sramCellUm2')).toBe(a);
    expect([...hi.used].sort()).toEqual(['featureNm', 'sramCellF2']);
    expect(t.with({}).used.size).toBe(0);
  });
  it('compiles a table changed since its first model again', () => {
    const table = { ...loadTech('28nm'), formulas: { ...loadTech('28nm').formulas } };
    expect(new TechModel(table).f('macEnergyPJ')).toBeGreaterThan(0);
    table.formulas.macEnergyPJ = 'mult8EnergyPJ + 1000';
    expect(new TechModel(table).f('macEnergyPJ')).toBeCloseTo(new TechModel(table).f('mult8EnergyPJ') + 1000, 9);
    table.formulas.macEnergyPJ = 'ones(2, 2)';
    expect(() => new TechModel(table)).toThrow(/formulas\.macEnergyPJ.*ones\(\).*not allowed/);
  });
});
