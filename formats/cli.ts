/**
 * formats/cli.ts: how every command-line entry point ends.
 *
 *   runCli('sim/run.ts', main);   // main(argv) resolves to its exit code
 *
 * Exit codes, the same for every command: 0 success; 1 a mismatch or a check that failed (main
 * returns it); 2 bad input, an InputError (one message naming the file, the field, the value and
 * what is allowed; no stack); 3 anything else, which is a bug: "this is a bug, please report it"
 * with the stack.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InputError, UsageError } from './errors.js';

export const EXIT_OK = 0;
export const EXIT_MISMATCH = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_BUG = 3;

export interface CliOptions {
  /** Printed after a UsageError (e.g. "run with --help for every flag"). */
  usageHint?: string;
}

/** The message and exit code for an error thrown out of a command's main. */
export function describeFailure(command: string, e: unknown, opts: CliOptions = {}): { code: number; message: string } {
  if (e instanceof InputError) {
    const usage = e instanceof UsageError ? `\n${opts.usageHint ?? `run npx tsx ${command} --help for every flag`}` : '';
    return { code: EXIT_BAD_INPUT, message: `error: ${e.message}${usage}` };
  }
  const stack = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
  return {
    code: EXIT_BUG,
    message: `${command}: internal error. This is a bug, please report it with the command line and this trace:\n${stack}`,
  };
}

/**
 * Exit with `code` once stdout and stderr have taken everything written to them. Writes to a pipe
 * are asynchronous, so exiting at once can cut off the end of a large output; process.exitCode
 * alone is not enough either, as a worker thread or a timer left running would keep the process alive.
 */
export function exitAfterOutput(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

/** Run a command's main and exit with its code, or with the code of what it threw (see above), after its output is out. */
export function runCli(command: string, main: (argv: string[]) => number | Promise<number>, opts: CliOptions = {}): void {
  Promise.resolve()
    .then(() => main(process.argv.slice(2)))
    .then(
      (code) => exitAfterOutput(code),
      (e: unknown) => {
        const f = describeFailure(command, e, opts);
        console.error(f.message);
        exitAfterOutput(f.code);
      },
    );
}

/** Is this module the script node was started with? (`if (isMain(import.meta.url)) runCli(...)`) */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  return real(fileURLToPath(moduleUrl)) === real(script);
}
