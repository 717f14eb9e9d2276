import { describe, it, expect } from 'vitest';
import { InputError } from '../../formats/errors.js';
import { fieldChecker } from '../../formats/json-fields.js';

const f = fieldChecker((field, problem, d) => new InputError('f.json', field, problem, d));

describe('field checks', () => {
  it('return the value when it has the declared type', () => {
    expect(f.object({ a: 1 }, 'x')).toEqual({ a: 1 });
    expect(f.array([1], 'x', { nonEmpty: true })).toEqual([1]);
    expect(f.integer(3, 'x', 0)).toBe(3);
    expect(f.numberOrNaN(null, 'x')).toBeNaN();
    expect(f.metricRecord({ acc: 0.5, mcc: null }, 'dev')).toEqual({ acc: 0.5, mcc: NaN });
  });

  it('refuse anything else, naming the file, the field, the value and what is allowed', () => {
    expect(() => f.object([], 'a.b')).toThrow('f.json: a.b: is an array (got []; allowed: an object)');
    expect(() => f.object(undefined, 'a.b')).toThrow('f.json: a.b: is missing (allowed: an object)');
    expect(() => f.number(Infinity, 'n')).toThrow('f.json: n: is Infinity (allowed: a finite number)');
    expect(() => f.integer(2.5, 'n')).toThrow('f.json: n: is a number (got 2.5; allowed: an integer)');
    expect(() => f.integer(-1, 'n', 0)).toThrow('f.json: n: is below 0 (got -1; allowed: an integer >= 0)');
    expect(() => f.boolean('yes', 'b')).toThrow('f.json: b: is a string (got "yes"; allowed: true or false)');
    expect(() => f.numberRecord({ a: 1, b: '2' }, 'r')).toThrow('f.json: r.b: is a string (got "2"; allowed: a finite number)');
    expect(() => f.array([], 'xs', { nonEmpty: true })).toThrow('f.json: xs: is empty (allowed: a non-empty array)');
  });
});
