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
import type { EvalFunction, MathJsInstance, MathNode } from 'mathjs';
import { ConfigError } from './config.js';

// mathjs loads when a table's formulas are first compiled, not with this
// module: listing the tables (sim/run.ts --help, its flag checks) stays fast.
const requireCjs = createRequire(import.meta.url);

/**
 * A table's formulas are untrusted input (a table someone else sent). They are parsed by a private
 * mathjs instance whose dangerous functions are replaced by ones that throw, and every parsed
 * formula is checked against a whitelist before it is compiled: numbers, names, the arithmetic
 * operators, parentheses and the scalar elementary functions below. No assignment, function
 * definition, matrix, object, index, range, unit or string survives the check, so a formula can
 * neither allocate (`ones(1e5, 1e5)`) nor reach mathjs itself (`import`, `evaluate`, `parse`).
 * Size bound: FORMULA_MAX_CHARS characters and FORMULA_MAX_NODES nodes; time bound: scalar
 * operations only, formulas nest at most FORMULA_MAX_DEPTH deep, and an evaluation that still takes
 * longer than FORMULA_MAX_MS is refused.
 */
export const SAFE_FUNCTIONS = ['sqrt', 'cbrt', 'exp', 'log', 'log2', 'log10', 'min', 'max', 'abs', 'ceil', 'floor', 'round', 'pow'] as const;
const SAFE_OPERATORS = new Set(['add', 'subtract', 'multiply', 'divide', 'pow', 'unaryMinus', 'unaryPlus']);
export const FORMULA_MAX_CHARS = 500;
export const FORMULA_MAX_NODES = 200;
export const FORMULA_MAX_DEPTH = 16;
export const FORMULA_MAX_MS = 50;

let safeMath: MathJsInstance | undefined;
function restrictedMath(): MathJsInstance {
  if (safeMath) return safeMath;
  // An instance of mathjs's number-only build made of only the functions formulas may call (plus
  // parse and compile): loading the full build costs about a second of every run.
  const needed = ['parse', 'compile', ...SAFE_OPERATORS, ...SAFE_FUNCTIONS];
  const { create, deps } = mathjsParts(needed);
  for (const [k, v] of Object.entries(deps)) if (!v) throw new Error(`mathjs/number lacks ${k}`);
  const m = create(deps as unknown as Parameters<typeof create>[0], { number: 'number' });
  const refuse = (name: string) => () => {
    throw new Error(`function ${name} is disabled in technology formulas`);
  };
  const parse = m.parse; // kept for this module only, before it is disabled for formulas
  const disabled = [
    'import',
    'createUnit',
    'evaluate',
    'parse',
    'compile',
    'simplify',
    'derivative',
    'resolve',
    'reviver',
    'replacer',
    'chain',
    'matrix',
    'sparse',
    'unit',
    'ones',
    'zeros',
    'range',
    'identity',
  ];
  m.import(Object.fromEntries(disabled.map((n) => [n, refuse(n)])), { override: true });
  safeMath = Object.assign(m, { parse });
  return safeMath;
}

/**
 * mathjs's create() and the `<name>Dependencies` of the functions named. The 'mathjs/number' entry
 * builds every one of its functions as it loads (mathjs 15.2: about 0.37 s of CPU here); the
 * per-function files it re-exports (lib/cjs/entry/dependenciesNumber/dependencies<Name>.generated.js,
 * the same objects) build nothing, and load in about 0.15 s. mathjs's package.json does not export
 * those paths, so they are required by file; a mathjs laid out otherwise is loaded through its entry.
 */
function mathjsParts(names: string[]): { create: typeof import('mathjs').create; deps: Record<string, unknown> } {
  try {
    const root = dirname(requireCjs.resolve('mathjs/package.json'));
    const file = (n: string): string => resolve(root, 'lib/cjs/entry/dependenciesNumber', `dependencies${n[0].toUpperCase()}${n.slice(1)}.generated.js`);
    const deps = Object.fromEntries(names.map((n) => [`${n}Dependencies`, (requireCjs(file(n)) as Record<string, unknown>)[`${n}Dependencies`]]));
    const { create } = requireCjs(resolve(root, 'lib/cjs/core/create.js')) as typeof import('mathjs');
    if (typeof create === 'function' && Object.values(deps).every((d) => d)) return { create, deps };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
  }
  const mathjs = requireCjs('mathjs/number') as typeof import('mathjs');
  return {
    create: mathjs.create,
    deps: Object.fromEntries(names.map((n) => [`${n}Dependencies`, (mathjs as unknown as Record<string, unknown>)[`${n}Dependencies`]])),
  };
}

/** Parse and check one formula; a problem is an Error whose message says what is not allowed. */
function compileSafe(text: string, names: ReadonlySet<string>): EvalFunction {
  if (typeof text !== 'string') throw new Error('must be a string');
  if (text.length > FORMULA_MAX_CHARS) throw new Error(`is ${text.length} characters; at most ${FORMULA_MAX_CHARS} are allowed`);
  const m = restrictedMath();
  const node = m.parse(text);
  let count = 0;
  node.traverse((n: MathNode, _path: string, parent: MathNode | null) => {
    if (++count > FORMULA_MAX_NODES) throw new Error(`has more than ${FORMULA_MAX_NODES} nodes`);
    const t = n.type;
    if (t === 'ConstantNode') {
      if (typeof (n as unknown as { value: unknown }).value !== 'number') throw new Error('may hold only numeric constants');
    } else if (t === 'OperatorNode') {
      const fn = (n as unknown as { fn: string }).fn;
      if (!SAFE_OPERATORS.has(fn))
        throw new Error(`operator ${JSON.stringify((n as unknown as { op: string }).op)} is not allowed (arithmetic only: + - * / ^)`);
    } else if (t === 'FunctionNode') {
      const fn = (n as unknown as { fn: MathNode }).fn;
      const name = fn.type === 'SymbolNode' ? (fn as unknown as { name: string }).name : '';
      if (!(SAFE_FUNCTIONS as readonly string[]).includes(name))
        throw new Error(`calls ${name ? `${name}()` : 'a computed function'}, which is not allowed (allowed: ${SAFE_FUNCTIONS.join(', ')})`);
    } else if (t === 'SymbolNode') {
      const name = (n as unknown as { name: string }).name;
      const isCallee = parent?.type === 'FunctionNode' && (parent as unknown as { fn: MathNode }).fn === n;
      if (!isCallee && !names.has(name))
        throw new Error(`names ${JSON.stringify(name)}, which is neither a constant, a formula nor a quantity of the cost model`);
    } else if (t !== 'ParenthesisNode') {
      throw new Error(
        `contains a ${t.replace(/Node$/, '').toLowerCase()} expression; only numbers, names, + - * / ^, parentheses and ${SAFE_FUNCTIONS.join(', ')} are allowed`,
      );
    }
  });
  return node.compile();
}

/** Quantities the cost model passes to formulas (besides constants and other formulas). */
export const FORMULA_VARIABLES = ['macroKB', 'capacityBits', 'wordBits'] as const;

export const TECH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/tech');
export const CONSTANT_KINDS = ['measured', 'derived', 'assumed'] as const;
export type ConstantKind = (typeof CONSTANT_KINDS)[number];

export interface TechConstant {
  value: number;
  unit: string;
  kind: ConstantKind;
  source: string;
  formula?: string;
  /** For an assumed constant: the plausible range [low, high] (the report's tornado varies it across). */
  range?: [number, number];
}

/** Phrases that mark a citation as second-hand or unchecked; a table that uses one is refused. */
export const UNCHECKED_CITATION = [/check(ed)? (against the paper )?before use/i, /as quoted in DESIGN\.md/i];

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
    for (const re of UNCHECKED_CITATION)
      if (re.test(c.source))
        throw new ConfigError(
          file,
          `constants.${k}.source`,
          `cites ${JSON.stringify(re.exec(c.source)![0])}: a constant carries a primary source read first-hand, or kind "assumed" with a range and reason`,
        );
    if (c.kind === 'assumed') {
      const r = c.range;
      if (
        !Array.isArray(r) ||
        r.length !== 2 ||
        !r.every((x) => typeof x === 'number' && Number.isFinite(x)) ||
        r[0] > r[1] ||
        c.value < r[0] ||
        c.value > r[1]
      )
        throw new ConfigError(
          file,
          `constants.${k}.range`,
          `${JSON.stringify(r)}: an assumed constant needs a range [low, high] of finite numbers, low <= value (${c.value}) <= high`,
        );
    } else if (c.range !== undefined) throw new ConfigError(file, `constants.${k}.range`, `only an assumed constant carries a range (this one is ${c.kind})`);
  }
  const formulas = (raw.formulas ?? {}) as Record<string, string>;
  const t: TechTable = { node: String(raw.node ?? node), description: String(raw.description ?? ''), file, constants, formulas };
  cache.set(node, t);
  return t;
}

/** A table's compiled formulas and, per formula, the names its text mentions: shared by every TechModel of the table. */
interface CompiledTable {
  /** The formulas and constant names they were compiled against (a table changed since is compiled again). */
  signature: string;
  fns: Map<string, EvalFunction>;
  mentions: Map<string, { constants: string[]; self: boolean; formulas: string[] }>;
}

const compiledTables = new WeakMap<TechTable, CompiledTable>();

/** Evaluates a table's formulas with its constants and caller-supplied quantities in scope. */
export class TechModel {
  private readonly compiled: Map<string, EvalFunction>;
  private readonly shared: CompiledTable;
  private readonly scope: Record<string, number> = {};
  /** Constants actually read, for the report's source list. */
  readonly used = new Set<string>();

  /** `overrides`: constants set to other values (the uncertainty analysis varies assumed ones across their range). */
  constructor(
    readonly table: TechTable,
    readonly overrides: Readonly<Record<string, number>> = {},
  ) {
    for (const [k, c] of Object.entries(table.constants)) this.scope[k] = overrides[k] ?? c.value;
    for (const k of Object.keys(overrides))
      if (!table.constants[k]) throw new ConfigError(table.file, `constants.${k}`, 'is overridden but the table has no such constant');
    // compiled once per table: the copies the uncertainty analysis makes (with) share the formulas
    const signature = JSON.stringify([table.formulas, Object.keys(table.constants)]);
    const hit = compiledTables.get(table);
    if (hit && hit.signature === signature) this.shared = hit;
    else {
      const names = new Set([...Object.keys(table.constants), ...Object.keys(table.formulas), ...FORMULA_VARIABLES]);
      const fns = new Map<string, EvalFunction>();
      for (const [k, f] of Object.entries(table.formulas)) {
        if (table.constants[k]) throw new ConfigError(table.file, `formulas.${k}`, 'has the name of a constant; a name is either a constant or a formula');
        try {
          fns.set(k, compileSafe(f, names));
        } catch (e) {
          throw new ConfigError(table.file, `formulas.${k}`, `${JSON.stringify(f)} is refused: ${(e as Error).message}`);
        }
      }
      this.shared = { signature, fns, mentions: new Map() };
      compiledTables.set(table, this.shared);
    }
    this.compiled = this.shared.fns;
  }

  /** A copy with some constants set to other values (same table, fresh memo). */
  with(overrides: Readonly<Record<string, number>>): TechModel {
    return new TechModel(this.table, { ...this.overrides, ...overrides });
  }

  /** A constant's value (recorded as used). */
  c(name: string): number {
    const k = this.table.constants[name];
    if (!k) throw new ConfigError(this.table.file, `constants.${name}`, 'is missing (needed by the cost model)');
    this.used.add(name);
    return this.overrides[name] ?? k.value;
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
    if (stack.length >= FORMULA_MAX_DEPTH)
      throw new ConfigError(this.table.file, `formulas.${name}`, `formulas nest deeper than ${FORMULA_MAX_DEPTH} (${[...stack, name].join(' -> ')})`);
    const text = this.table.formulas[name];
    const scope: Record<string, number> = { ...this.scope, ...vars };
    const named = this.mentionsOf(name, text);
    for (const k of named.constants) this.used.add(k);
    if (named.self) throw new ConfigError(this.table.file, `formulas.${name}`, `refers to itself through ${[...stack, name, name].join(' -> ')}`);
    // A formula may use other formulas by name.
    for (const other of named.formulas) scope[other] = this.f(other, vars, [...stack, name]);
    let v: unknown;
    const t0 = performance.now();
    try {
      v = fn.evaluate(scope);
    } catch (e) {
      throw new ConfigError(this.table.file, `formulas.${name}`, `${JSON.stringify(text)} cannot be evaluated: ${(e as Error).message}`);
    }
    const ms = performance.now() - t0;
    if (ms > FORMULA_MAX_MS)
      throw new ConfigError(this.table.file, `formulas.${name}`, `${JSON.stringify(text)} took ${ms.toFixed(0)} ms; at most ${FORMULA_MAX_MS} ms are allowed`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new ConfigError(
        this.table.file,
        `formulas.${name}`,
        `evaluated to ${String(v)} with ${JSON.stringify(vars)}; a cost must be a finite non-negative number`,
      );
    }
    return v;
  }

  /** The constants, the formula itself and the other formulas a formula's text names (as whole words), worked out once per table. */
  private mentionsOf(name: string, text: string): { constants: string[]; self: boolean; formulas: string[] } {
    let m = this.shared.mentions.get(name);
    if (!m) {
      const mentions = (id: string): boolean => new RegExp(`\\b${id}\\b`).test(text);
      m = {
        constants: Object.keys(this.table.constants).filter(mentions),
        self: mentions(name),
        formulas: [...this.compiled.keys()].filter((other) => other !== name && mentions(other)),
      };
      this.shared.mentions.set(name, m);
    }
    return m;
  }

  /** Every constant used so far, with its provenance. */
  sources(): (TechConstant & { name: string })[] {
    return [...this.used].sort().map((name) => ({ name, ...this.table.constants[name], value: this.overrides[name] ?? this.table.constants[name].value }));
  }
}
