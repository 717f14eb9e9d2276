/**
 * Command-line flags of the trainer's commands (train.ts, pretrain.ts, campaign.ts, vocab.ts):
 * formats/flags.ts parseFlags (node's parseArgs, strict, no positionals), with every problem a
 * UsageError naming the flag in the wording every command shares (exit 2 through formats/cli.ts),
 * and the number checks they share.
 */
import { UsageError } from '../formats/errors.js';

export { parseFlags } from '../formats/flags.js';

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
