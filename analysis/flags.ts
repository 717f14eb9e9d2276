/**
 * The analysis CLIs' flag parsing: node:util parseArgs (strict, no positionals) whose refusals
 * become formats' UsageError naming the flag, so runCli exits 2 with the "--help" hint.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../formats/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; strict: true; allowPositionals: false; options: O }>>['values'];

/** The first flag a parseArgs message quotes ("Unknown option '--x'", "Option '--in <value>' argument missing"). */
function flagOf(message: string): string | null {
  return /'(?:-[A-Za-z], )?(--?[A-Za-z][\w-]*)/.exec(message)?.[1] ?? null;
}

/** Parse `argv` against `options`; an unknown flag, a missing value or a positional argument is a UsageError. */
export function parseFlags<O extends Options>(argv: string[], options: O): Values<O> {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: false, options }).values as Values<O>;
  } catch (e) {
    const err = e as Error & { code?: string };
    const flag = flagOf(err.message);
    switch (err.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
        throw new UsageError(flag ?? '(arguments)', 'is not a flag of this command', {
          allowed: Object.keys(options)
            .map((k) => `--${k}`)
            .join(', '),
        });
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
        const arg = /'([^']*)'/.exec(err.message)?.[1];
        throw new UsageError('(arguments)', 'this command takes no positional arguments', arg === undefined ? {} : { value: arg });
      }
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
        throw new UsageError(flag ?? '(arguments)', err.message.replace(/^Option '[^']*' /, '').replace(/\.$/, ''));
      default:
        throw e;
    }
  }
}
