/**
 * Command-line flags of the trainer's commands (train.ts, pretrain.ts, campaign.ts, vocab.ts):
 * node's parseArgs, with every problem a UsageError naming the flag (exit 2 through formats/cli.ts),
 * and the number checks they share.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../formats/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs (strict, no positionals); an unknown flag, a missing value or a stray argument is a UsageError naming it. */
export function parseFlags<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const named = /'(-[^' ]+)/.exec(err.message)?.[1];
    const stray = /Unexpected argument '([^']*)'/.exec(err.message)?.[1];
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(named ?? '(flag)', 'unknown flag');
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(stray ?? '(argument)', 'unexpected argument: this command takes only flags');
    if (/argument missing/.test(err.message)) throw new UsageError(named ?? '(flag)', 'needs a value');
    if (/does not take an argument/.test(err.message)) throw new UsageError(named ?? '(flag)', 'takes no value');
    throw new UsageError(named ?? '(flag)', err.message);
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
