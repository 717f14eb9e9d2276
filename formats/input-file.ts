/**
 * formats/input-file.ts: reading a file the user named, with the error the user can act on.
 *
 *   const bytes = readInputFile(args.rom, '--rom');   // missing, a directory, unreadable: InputError
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from './errors.js';

/** Check that `file` exists and is a regular file; `field` names who gave it (a flag or a field path). */
export function checkInputFile(file: string, field: string): void {
  let st;
  try {
    st = statSync(resolve(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, field, code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(e as Error).message}`);
  }
  if (st.isDirectory()) throw new InputError(file, field, 'is a directory, not a file');
  if (!st.isFile()) throw new InputError(file, field, 'is not a regular file');
}

/** Read a file the user named (see checkInputFile). */
export function readInputFile(file: string, field: string): Buffer {
  checkInputFile(file, field);
  try {
    return readFileSync(resolve(file));
  } catch (e) {
    throw new InputError(file, field, `cannot be read: ${(e as Error).message}`);
  }
}

/** Read and parse a JSON file the user named; a syntax error is an InputError naming the file. */
export function readJsonFile(file: string, field: string): unknown {
  const text = readInputFile(file, field).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(file, '(file)', `is not valid JSON: ${(e as Error).message}`);
  }
}
