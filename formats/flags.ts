/**
 * formats/flags.ts: the one flag parser of every command (sim, rtl-model, trainer, analysis).
 *
 *   const v = parseFlags(argv, { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
 *
 * node:util parseArgs, strict and without positional arguments, whose refusals become a UsageError
 * naming the flag (exit 2 through formats/cli.ts), each in one wording for every command:
 *   --bogus        "(command line): --bogus: is not a flag of this command (allowed: --out, --help)"
 *   --out          "(command line): --out: needs a value"
 *   --out --x      "(command line): --out: needs a value (got "--x")" and a hint to write --out=--x
 *   --help=1       "(command line): --help: takes no value"
 *   stray          "(command line): (arguments): this command takes no positional arguments (got "stray")"
 *
 * and the checks of a flag's value every command shares: flagNumber (held to a NumberRule) and
 * flagChoice (one of a list), each a UsageError naming the flag, the value and what is allowed.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

export type FlagOptions = NonNullable<ParseArgsConfig['options']>;
export type FlagValues<O extends FlagOptions> = ReturnType<typeof parseArgs<{ args: string[]; strict: true; allowPositionals: false; options: O }>>['values'];

/** The field of a refusal that names no flag. */
const ARGUMENTS = '(arguments)';

/** The first flag a parseArgs message quotes, long form preferred ("Unknown option '--x'", "Option '-o, --out <value>' argument missing"). */
function flagOf(message: string): string | null {
  return /'(?:-[^-\s'], )?(--?[^'\s<,]+)/.exec(message)?.[1] ?? null;
}

/** Every flag of `options`, for the "allowed" of an unknown flag: "--out, --help". */
export function listFlags(options: FlagOptions): string {
  return Object.keys(options)
    .map((k) => `--${k}`)
    .join(', ');
}

/** Parse `argv` against `options`; an unknown flag, a missing or unwanted value or a positional argument is a UsageError. */
export function parseFlags<O extends FlagOptions>(argv: string[], options: O): FlagValues<O> {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: false, options }).values as FlagValues<O>;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (typeof err.code !== 'string' || !err.code.startsWith('ERR_PARSE_ARGS_')) throw e; // a bad options table: a bug
    const quoted = flagOf(err.message);
    // a known short form is named by its long one ("-o" -> "--out")
    const long = Object.entries(options).find(([, o]) => quoted !== null && o.short !== undefined && quoted === `-${o.short}`)?.[0];
    const flag = long !== undefined ? `--${long}` : (quoted ?? ARGUMENTS);
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(flag, 'is not a flag of this command', { allowed: listFlags(options) });
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const arg = /Unexpected argument '([^']*)'/.exec(err.message)?.[1];
      throw new UsageError(ARGUMENTS, 'this command takes no positional arguments', arg === undefined ? {} : { value: arg });
    }
    if (/argument missing/.test(err.message)) throw new UsageError(flag, 'needs a value');
    if (/argument is ambiguous/.test(err.message)) {
      // "--out --x": parseArgs will not take a value that starts with a dash without "="
      const short = options[flag.slice(2)]?.short;
      const i = argv.findIndex((a) => a === flag || (short !== undefined && a === `-${short}`));
      const next = i >= 0 ? argv[i + 1] : undefined;
      throw new UsageError(flag, 'needs a value', {
        ...(next === undefined ? {} : { value: next }),
        hint: `a value that starts with a dash is written ${flag}=${next ?? '-X'}; otherwise give ${flag} its value`,
      });
    }
    if (/does not take an argument/.test(err.message)) throw new UsageError(flag, 'takes no value');
    throw new UsageError(flag, err.message.split('\n')[0].replace(/\.$/, ''));
  }
}

export interface NumberRule {
  /** Whole numbers only. */
  integer?: boolean;
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
  /** Smallest allowed value, exclusive (e.g. 0 for "positive"). */
  above?: number;
  /** Largest allowed value, exclusive. */
  below?: number;
}

/** Words for a rule: "an integer >= 1", "a number in [0, 1)". */
export function describeRule(r: NumberRule): string {
  const kind = r.integer ? 'an integer' : 'a number';
  const lo = r.min !== undefined ? `[${r.min}` : r.above !== undefined ? `(${r.above}` : null;
  const hi = r.max !== undefined ? `${r.max}]` : r.below !== undefined ? `${r.below})` : null;
  if (lo && hi) return `${kind} in ${lo}, ${hi}`;
  if (lo) return `${kind} ${r.min !== undefined ? `>= ${r.min}` : `> ${r.above}`}`;
  if (hi) return `${kind} ${r.max !== undefined ? `<= ${r.max}` : `< ${r.below}`}`;
  return kind;
}

/** The number a flag gives, held to `rule`; otherwise a UsageError naming the flag, the value and what is allowed. */
export function flagNumber(flag: string, text: string | undefined, rule: NumberRule = {}): number {
  const x = text === undefined || text.trim() === '' ? NaN : Number(text);
  const ok =
    Number.isFinite(x) &&
    (!rule.integer || Number.isInteger(x)) &&
    (rule.min === undefined || x >= rule.min) &&
    (rule.max === undefined || x <= rule.max) &&
    (rule.above === undefined || x > rule.above) &&
    (rule.below === undefined || x < rule.below);
  if (!ok) throw new UsageError(flag, `${text === undefined ? 'is required: ' : 'must be '}${describeRule(rule)}`, text === undefined ? {} : { value: text });
  return x;
}

/** The value of a flag, one of `allowed`; otherwise a UsageError listing them. */
export function flagChoice<T extends string>(flag: string, text: string | undefined, allowed: readonly T[]): T {
  if (text === undefined || !(allowed as readonly string[]).includes(text)) {
    throw new UsageError(flag, `${text === undefined ? 'is required' : 'is not a known value'}`, {
      ...(text === undefined ? {} : { value: text }),
      allowed: allowed.join(', '),
    });
  }
  return text as T;
}
