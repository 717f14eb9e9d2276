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
