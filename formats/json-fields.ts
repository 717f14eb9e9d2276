/**
 * formats/json-fields.ts: checking the fields of a parsed JSON file against its declared types,
 * for the schema readers (report-schema.ts, results-schema.ts). Each check returns the value with
 * its type or throws, through the reader's own error class, an error naming the file, the field
 * path (`variants[2].areaMm2.total`), the value found and what is allowed.
 *
 *   const f = fieldChecker((field, problem, d) => new ReportError(file, field, problem, d));
 *   const v = f.object(raw, 'variants[0]');
 *   f.number(v.cycles, 'variants[0].cycles');
 */
import type { InputError, InputErrorDetails } from './errors.js';

export type JsonObject = Record<string, unknown>;

/** What a check returns: the value, typed. */
export interface FieldChecker {
  /** A JSON object (not null, not an array). */
  object(v: unknown, path: string): JsonObject;
  /** A JSON array; `nonEmpty` refuses []. */
  array(v: unknown, path: string, opts?: { nonEmpty?: boolean }): unknown[];
  string(v: unknown, path: string): string;
  boolean(v: unknown, path: string): boolean;
  /** A finite number. */
  number(v: unknown, path: string): number;
  /** A finite number or null, null read as NaN (JSON.stringify writes NaN as null). */
  numberOrNaN(v: unknown, path: string): number;
  /** An integer, at least `min` when given. */
  integer(v: unknown, path: string, min?: number): number;
  /** An object whose every value is a finite number. */
  numberRecord(v: unknown, path: string): Record<string, number>;
  /** An object whose every value is a finite number or null (null read as NaN). */
  metricRecord(v: unknown, path: string): Record<string, number>;
  /** The error for any other problem of a field. */
  fail(path: string, problem: string, details?: InputErrorDetails): never;
}

/** What a JSON value is, in a message. */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Checks that throw `make(field, problem, details)`; a missing field says "is missing". */
export function fieldChecker(make: (field: string, problem: string, details: InputErrorDetails) => InputError): FieldChecker {
  const fail = (path: string, problem: string, details: InputErrorDetails = {}): never => {
    throw make(path, problem, details);
  };
  const wrong = (v: unknown, path: string, allowed: string): never => {
    if (v === undefined) return fail(path, 'is missing', { allowed });
    // NaN and infinities (possible in memory, not in JSON) print as themselves, not as JSON's null
    if (typeof v === 'number' && !Number.isFinite(v)) return fail(path, `is ${v}`, { allowed });
    return fail(path, `is ${kindOf(v)}`, { value: v, allowed });
  };
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const c: FieldChecker = {
    object: (v, path) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : wrong(v, path, 'an object')),
    array: (v, path, opts = {}) => {
      if (!Array.isArray(v)) return wrong(v, path, opts.nonEmpty ? 'a non-empty array' : 'an array');
      if (opts.nonEmpty && v.length === 0) fail(path, 'is empty', { allowed: 'a non-empty array' });
      return v;
    },
    string: (v, path) => (typeof v === 'string' ? v : wrong(v, path, 'a string')),
    boolean: (v, path) => (typeof v === 'boolean' ? v : wrong(v, path, 'true or false')),
    number: (v, path) => (isNumber(v) ? v : wrong(v, path, 'a finite number')),
    numberOrNaN: (v, path) => (v === null ? NaN : isNumber(v) ? v : wrong(v, path, 'a finite number or null')),
    integer: (v, path, min) => {
      const allowed = min === undefined ? 'an integer' : `an integer >= ${min}`;
      if (!isNumber(v) || !Number.isInteger(v)) return wrong(v, path, allowed);
      if (min !== undefined && v < min) fail(path, `is below ${min}`, { value: v, allowed });
      return v;
    },
    numberRecord: (v, path) => {
      const o = c.object(v, path);
      for (const [k, x] of Object.entries(o)) c.number(x, `${path}.${k}`);
      return o as Record<string, number>;
    },
    metricRecord: (v, path) => {
      const o = c.object(v, path);
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, c.numberOrNaN(x, `${path}.${k}`)]));
    },
    fail,
  };
  return c;
}
