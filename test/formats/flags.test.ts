import { describe, it, expect } from 'vitest';
import { usageErrorOf } from './usage-error-of.js';
import { listFlags, parseFlags } from '../../formats/flags.js';

const OPTS = {
  config: { type: 'string' },
  out: { type: 'string', short: 'o' },
  seeds: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const errorOf = usageErrorOf;

describe('formats/flags.ts parseFlags', () => {
  it('parses flags, short forms, defaults and repeated flags', () => {
    expect(parseFlags(['--config', 'a', '-o', 'dir', '--seeds', '1', '--seeds=2'], OPTS)).toEqual({ config: 'a', out: 'dir', seeds: ['1', '2'], help: false });
    expect(parseFlags(['-h'], OPTS)).toEqual({ help: true });
    expect(parseFlags(['--out=--odd'], OPTS)).toMatchObject({ out: '--odd' });
    expect(parseFlags([], OPTS)).toEqual({ help: false });
  });

  it('refuses an unknown flag naming it and every flag of the command, in one wording', () => {
    const all = '(allowed: --config, --out, --seeds, --help)';
    expect(errorOf(() => parseFlags(['--bogus'], OPTS)).message).toBe(`(command line): --bogus: is not a flag of this command ${all}`);
    expect(errorOf(() => parseFlags(['--bogus=3'], OPTS)).message).toBe(`(command line): --bogus: is not a flag of this command ${all}`);
    expect(errorOf(() => parseFlags(['-x'], OPTS)).message).toBe(`(command line): -x: is not a flag of this command ${all}`);
    expect(errorOf(() => parseFlags(['--bogus'], OPTS)).field).toBe('--bogus');
    expect(listFlags(OPTS)).toBe('--config, --out, --seeds, --help');
  });

  it('refuses a missing value, a value after a flag that takes none, and a positional argument', () => {
    expect(errorOf(() => parseFlags(['--config'], OPTS)).message).toBe('(command line): --config: needs a value');
    expect(errorOf(() => parseFlags(['-o'], OPTS)).message).toBe('(command line): --out: needs a value');
    expect(errorOf(() => parseFlags(['--help=1'], OPTS)).message).toBe('(command line): --help: takes no value');
    expect(errorOf(() => parseFlags(['stray'], OPTS)).message).toBe('(command line): (arguments): this command takes no positional arguments (got "stray")');
    expect(errorOf(() => parseFlags(['--', 'x'], OPTS)).message).toBe('(command line): (arguments): this command takes no positional arguments (got "x")');
  });

  it('a flag followed by another flag needs a value, with the "=" form as the hint', () => {
    const e = errorOf(() => parseFlags(['--config', '--out', 'x'], OPTS));
    expect(e.message).toBe(
      '(command line): --config: needs a value (got "--out")\n' +
        '  hint: a value that starts with a dash is written --config=--out; otherwise give --config its value',
    );
    expect(errorOf(() => parseFlags(['-o', '-h'], OPTS)).message).toMatch(
      /^\(command line\): --out: needs a value \(got "-h"\)\n {2}hint: a value that starts with a dash is written --out=-h;/,
    );
  });

  it('a bad options table is a bug, not a UsageError', () => {
    expect(() => parseFlags(['--x'], { x: { type: 'number' } } as never)).toThrow(TypeError);
  });
});
