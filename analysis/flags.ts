/**
 * The analysis CLIs' flag parsing: formats/flags.ts parseFlags (node:util parseArgs, strict, no
 * positionals), whose refusals are formats' UsageError naming the flag, in the wording every
 * command shares, so runCli exits 2 with the "--help" hint.
 */
export { parseFlags } from '../formats/flags.js';
