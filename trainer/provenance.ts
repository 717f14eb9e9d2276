/** The code a result was produced with: the git commit and the source files that differ from it. */
import { execFileSync } from 'node:child_process';
import { PROJECT_ROOT } from './glue.js';

export function codeVersion(): { commit: string; uncommitted: string[] | null } {
  try {
    const git = (...a: string[]): string => execFileSync('git', a, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const commit = git('rev-parse', 'HEAD').trim();
    // source files that differ from the commit (the run's code is then not exactly the commit's)
    const uncommitted = git('status', '--porcelain', '--untracked-files=no', '--', 'trainer', 'rtl-model', 'sim', 'package-lock.json')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(3));
    return { commit, uncommitted };
  } catch {
    return { commit: 'unknown', uncommitted: null }; // not a git checkout
  }
}
