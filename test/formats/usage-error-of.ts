import { expect } from 'vitest';
import { UsageError } from '../../formats/errors.js';

/** The UsageError a call throws (the test fails if it throws nothing, or something else). */
export function usageErrorOf(f: () => unknown): UsageError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('expected a UsageError');
}
