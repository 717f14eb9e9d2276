/**
 * The data beside the project (../shared/data: BERT uncased's vocabulary, the GLUE sets, the
 * corpus) is not part of a clone. A test that needs it skips when it is missing and says so on
 * stderr; with REQUIRE_SHARED_DATA=1 (the CI run that has the data) a missing file fails instead.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** ../shared/data beside the project. */
export const SHARED_DATA_DIR = resolve(ROOT, '../shared/data');

/** Is the shared data required (REQUIRE_SHARED_DATA=1), so that its absence fails rather than skips? */
export const REQUIRE_SHARED_DATA = process.env.REQUIRE_SHARED_DATA === '1';

export interface SharedData {
  /** The path exists. */
  have: boolean;
  /** '' when present, else " (skipped: <what> not found at <path>)", for a describe or it title. */
  skipNote: string;
}

/**
 * Look for `path` (what: "the BERT uncased vocabulary"; hint: how to provide it). Missing: prints
 * the reason, and under REQUIRE_SHARED_DATA=1 registers a failing test that names it.
 */
export function sharedData(path: string, what: string, hint: string): SharedData {
  if (existsSync(path)) return { have: true, skipNote: '' };
  const reason = `${what} not found at ${path} (${hint})`;
  if (REQUIRE_SHARED_DATA) {
    it(`${what} is present (REQUIRE_SHARED_DATA=1)`, () => {
      throw new Error(`${reason}; REQUIRE_SHARED_DATA=1 is set, so the tests that need it may not skip`);
    });
  } else {
    console.warn(`skipped: ${reason}`);
  }
  return { have: false, skipNote: ` (skipped: ${what} not found at ${path})` };
}
