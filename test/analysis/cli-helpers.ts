/** Running the analysis CLIs in tests: as a process (exit code and stderr) or in-process through runCli's own mapping. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFailure } from '../../formats/cli.js';

/** Run `npx tsx <script> ...args`: its exit status, stdout and stderr. */
export function spawnCli(script: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npx', ['tsx', script, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Call a CLI's main in-process: the exit code and message runCli would give (formats/cli.ts describeFailure). */
export function runMain(script: string, main: (argv: string[]) => number, ...args: string[]): { code: number; message: string } {
  try {
    return { code: main(args), message: '' };
  } catch (e) {
    return describeFailure(script, e);
  }
}

export const scratch = (prefix: string): string => mkdtempSync(join(tmpdir(), `${prefix}-`));

/** Temporary files of formats/atomic-write.ts left in a directory (none may be). */
export const temporaries = (dir: string): string[] => readdirSync(dir).filter((n) => /\.tmp-\d+/.test(n));
