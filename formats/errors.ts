/**
 * formats/errors.ts: the one error every reader and validator throws for bad input.
 *
 * A bad flag, config, checkpoint, image, report, results file or plan is the user's to fix, so its
 * error says where and what: the file (or `(command line)` for a flag), the field path inside it,
 * the value found, what is allowed, and a hint when there is one. Every CLI (formats/cli.ts) turns
 * it into exit code 2 and one message, never a stack trace; anything else is a bug (exit 3).
 *
 *   throw new InputError('fixtures/configs/x.json', 'hardware.array.rows', 'must be a positive integer', { value: -1 });
 *   -> "fixtures/configs/x.json: hardware.array.rows: must be a positive integer (got -1)"
 */

export interface InputErrorDetails {
  /** The value found (printed as JSON, shortened). */
  value?: unknown;
  /** What is allowed, in words ("one of os, ws, is", "an integer in [1, 64]"). */
  allowed?: string;
  /** What the user might do about it ("re-export the image with ...", "see --help"). */
  hint?: string;
}

/** Shorten a value for a message: JSON, at most 80 characters. */
export function showValue(value: unknown): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Bad input: `<file>: <field>: <problem> (got <value>; allowed: <allowed>)` and an optional hint line. */
export class InputError extends Error {
  readonly value: unknown;
  readonly allowed: string | undefined;
  readonly hint: string | undefined;
  constructor(
    readonly file: string,
    readonly field: string,
    readonly problem: string,
    details: InputErrorDetails = {},
  ) {
    const extra = ['value' in details ? `got ${showValue(details.value)}` : null, details.allowed !== undefined ? `allowed: ${details.allowed}` : null].filter(
      (x) => x !== null,
    );
    super(`${file}: ${field}: ${problem}${extra.length ? ` (${extra.join('; ')})` : ''}${details.hint ? `\n  hint: ${details.hint}` : ''}`);
    this.name = 'InputError';
    this.value = details.value;
    this.allowed = details.allowed;
    this.hint = details.hint;
  }
}

/** The file name used for problems of the command line itself. */
export const COMMAND_LINE = '(command line)';

/** A bad flag: `(command line): --flag: problem`. CLIs print their usage hint after it. */
export class UsageError extends InputError {
  constructor(flag: string, problem: string, details: InputErrorDetails = {}) {
    super(COMMAND_LINE, flag, problem, details);
    this.name = 'UsageError';
  }
}

/** Is this bad input (exit 2) rather than a bug? */
export function isInputError(e: unknown): e is InputError {
  return e instanceof InputError;
}
