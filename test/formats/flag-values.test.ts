import { describe, it, expect } from 'vitest';
import { describeRule, flagChoice, flagNumber, parseFlags } from '../../formats/flags.js';
import { usageErrorOf } from './usage-error-of.js';

const OPTS = { task: { type: 'string' }, help: { type: 'boolean' } } as const;

const errorOf = usageErrorOf;

describe('command-line flags and their values (formats/flags.ts)', () => {
  it('parse, and every parse problem is a UsageError naming the flag', () => {
    expect(parseFlags(['--task', 'rte'], OPTS)).toMatchObject({ task: 'rte' });
    expect(errorOf(() => parseFlags(['--bogus'], OPTS)).message).toBe('(command line): --bogus: is not a flag of this command (allowed: --task, --help)');
    expect(errorOf(() => parseFlags(['--task'], OPTS)).message).toBe('(command line): --task: needs a value');
    expect(errorOf(() => parseFlags(['--help=1'], OPTS)).message).toBe('(command line): --help: takes no value');
    expect(errorOf(() => parseFlags(['rte'], OPTS)).message).toBe('(command line): (arguments): this command takes no positional arguments (got "rte")');
  });

  it('numbers are held to their rule, the value and the rule named', () => {
    expect(flagNumber('--lr', '1e-3', { above: 0, below: 1 })).toBe(1e-3);
    expect(flagNumber('--epochs', '3', { integer: true, min: 1 })).toBe(3);
    expect(errorOf(() => flagNumber('--epochs', '2.5', { integer: true, min: 1 })).message).toBe(
      '(command line): --epochs: must be an integer >= 1 (got "2.5")',
    );
    expect(errorOf(() => flagNumber('--lr', '1', { above: 0, below: 1 })).message).toBe('(command line): --lr: must be a number in (0, 1) (got "1")');
    expect(errorOf(() => flagNumber('--seq', 'abc', { integer: true, min: 8, max: 512 })).message).toMatch(
      /--seq: must be an integer in \[8, 512\] \(got "abc"\)/,
    );
    expect(errorOf(() => flagNumber('--seq', '', { min: 8 })).message).toMatch(/got ""/);
    expect(errorOf(() => flagNumber('--size', undefined, { integer: true })).message).toBe('(command line): --size: is required: an integer');
    expect(describeRule({ max: 3 })).toBe('a number <= 3');
  });

  it('choices list what is allowed', () => {
    expect(flagChoice('--backend', 'cpu', ['wasm', 'cpu'] as const)).toBe('cpu');
    expect(errorOf(() => flagChoice('--backend', 'tpu', ['wasm', 'cpu'])).message).toBe(
      '(command line): --backend: is not a known value (got "tpu"; allowed: wasm, cpu)',
    );
    expect(errorOf(() => flagChoice('--task', undefined, ['rte'])).message).toBe('(command line): --task: is required (allowed: rte)');
  });
});
