import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkInputFile, readInputFile, readJsonFile } from '../../formats/input-file.js';
import { InputError } from '../../formats/errors.js';

const d = mkdtempSync(join(tmpdir(), 'input-'));
writeFileSync(join(d, 'ok.json'), '{"a": 1}');
writeFileSync(join(d, 'bad.json'), '{"a": ');

describe('reading a file the user named', () => {
  it('reads a regular file and parses JSON', () => {
    expect(readInputFile(join(d, 'ok.json'), '--in').toString()).toBe('{"a": 1}');
    expect(readJsonFile(join(d, 'ok.json'), '--in')).toEqual({ a: 1 });
  });

  it('a missing file, a directory and bad JSON are InputErrors naming the file and the flag', () => {
    expect(() => checkInputFile(join(d, 'missing.bin'), '--rom')).toThrow(/missing\.bin: --rom: does not exist/);
    expect(() => readInputFile(d, '--rom')).toThrow(InputError);
    expect(() => readInputFile(d, '--rom')).toThrow(/: --rom: is a directory, not a file/);
    expect(() => readJsonFile(join(d, 'bad.json'), '--in')).toThrow(/bad\.json: \(file\): is not valid JSON/);
  });
});
