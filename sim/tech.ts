/**
 * Technology tables (fixtures/tech/<node>.json): constants, each with value, unit, kind
 * (measured | derived | assumed) and source, plus component cost formulas written as mathjs
 * expressions over the constants and per-call quantities, so a user can plug in their own model
 * without code.
 */
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { EvalFunction } from 'mathjs';
import { ConfigError } from './config.js';

// mathjs (about 1,100 modules) loads when a table's formulas are first compiled, not with this
// module: listing the tables (sim/run.ts --help, its flag checks) stays fast.
const requireCjs = createRequire(import.meta.url);
const compile = (text: string): EvalFunction => (requireCjs('mathjs') as typeof import('mathjs')).compile(text);

export const TECH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/tech');
export const CONSTANT_KINDS = ['measured', 'derived', 'assumed'] as const;
export type ConstantKind = (typeof CONSTANT_KINDS)[number];

export interface TechConstant {
  value: number;
  unit: string;
  kind: ConstantKind;
  source: string;
  formula?: string;
}

export interface TechTable {
  node: string;
  description: string;
  file: string;
  constants: Record<string, TechConstant>;
  formulas: Record<string, string>;
}

export function listTechNodes(): string[] {
  return readdirSync(TECH_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

const cache = new Map<string, TechTable>();

export function loadTech(node: string): TechTable {
  const hit = cache.get(node);
  if (hit) return hit;
  const file = resolve(TECH_DIR, `${node}.json`);
  if (!existsSync(file)) throw new ConfigError(file, 'hardware.technology', `${JSON.stringify(node)} has no table; available: ${listTechNodes().join(', ')}`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(file, '(file)', `is not valid JSON: ${(e as Error).message}`);
  }
  const constants = raw.constants as Record<string, TechConstant> | undefined;
  if (!constants || typeof constants !== 'object') throw new ConfigError(file, 'constants', 'is missing');
  for (const [k, c] of Object.entries(constants)) {
    if (typeof c?.value !== 'number' || !Number.isFinite(c.value) || c.value < 0)
      throw new ConfigError(file, `constants.${k}.value`, `${JSON.stringify(c?.value)} must be a finite non-negative number`);
    if (!CONSTANT_KINDS.includes(c.kind))
      throw new ConfigError(file, `constants.${k}.kind`, `${JSON.stringify(c.kind)}; allowed: ${CONSTANT_KINDS.join(', ')}`);
    if (typeof c.source !== 'string' || !c.source) throw new ConfigError(file, `constants.${k}.source`, 'every constant needs a source');
    if (typeof c.unit !== 'string') throw new ConfigError(file, `constants.${k}.unit`, 'must be a string');
  }
  const formulas = (raw.formulas ?? {}) as Record<string, string>;
  const t: TechTable = { node: String(raw.node ?? node), description: String(raw.description ?? ''), file, constants, formulas };
  cache.set(node, t);
  return t;
}

/** Evaluates a table's formulas with its constants and caller-supplied quantities in scope. */
export class TechModel {
  private readonly compiled = new Map<string, EvalFunction>();
  private readonly scope: Record<string, number> = {};
  /** Constants actually read, for the report's source list. */
  readonly used = new Set<string>();

  constructor(readonly table: TechTable) {
    for (const [k, c] of Object.entries(table.constants)) this.scope[k] = c.value;
    for (const [k, f] of Object.entries(table.formulas)) {
      try {
        this.compiled.set(k, compile(f));
      } catch (e) {
        throw new ConfigError(table.file, `formulas.${k}`, `${JSON.stringify(f)} is not a valid expression: ${(e as Error).message}`);
      }
    }
  }

  /** A constant's value (recorded as used). */
  c(name: string): number {
    const k = this.table.constants[name];
    if (!k) throw new ConfigError(this.table.file, `constants.${name}`, 'is missing (needed by the cost model)');
    this.used.add(name);
    return k.value;
  }

  /** A formula evaluated with the constants and `vars`; every constant it names is recorded as used. */
  f(name: string, vars: Record<string, number> = {}, stack: string[] = []): number {
    const key = `${name}|${JSON.stringify(vars)}`;
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    const value = this.evalFormula(name, vars, stack);
    this.memo.set(key, value);
    return value;
  }

  private readonly memo = new Map<string, number>();

  private evalFormula(name: string, vars: Record<string, number>, stack: string[]): number {
    const fn = this.compiled.get(name);
    if (!fn) throw new ConfigError(this.table.file, `formulas.${name}`, 'is missing (needed by the cost model)');
    if (stack.includes(name)) throw new ConfigError(this.table.file, `formulas.${name}`, `refers to itself through ${[...stack, name].join(' -> ')}`);
    const text = this.table.formulas[name];
    const scope: Record<string, number> = { ...this.scope, ...vars };
    const mentions = (id: string): boolean => new RegExp(`\\b${id}\\b`).test(text);
    for (const k of Object.keys(this.table.constants)) if (mentions(k)) this.used.add(k);
    // A formula may use other formulas by name.
    for (const other of this.compiled.keys()) if (other !== name && mentions(other)) scope[other] = this.f(other, vars, [...stack, name]);
    let v: unknown;
    try {
      v = fn.evaluate(scope);
    } catch (e) {
      throw new ConfigError(this.table.file, `formulas.${name}`, `${JSON.stringify(text)} cannot be evaluated: ${(e as Error).message}`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new ConfigError(
        this.table.file,
        `formulas.${name}`,
        `evaluated to ${String(v)} with ${JSON.stringify(vars)}; a cost must be a finite non-negative number`,
      );
    }
    return v;
  }

  /** Every constant used so far, with its provenance. */
  sources(): (TechConstant & { name: string })[] {
    return [...this.used].sort().map((name) => ({ name, ...this.table.constants[name] }));
  }
}
