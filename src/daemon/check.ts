import path from 'node:path';
import { TaskioError } from '../errors.js';
import { maxTimerMs } from '../maxTimerMs.js';

/** The JSON types a field of a request may have. */
export type FieldType = 'string' | 'boolean' | 'integer' | 'number' | 'string[]' | 'object' | 'object[]' | 'signal';

/** A request body's shape: each known field and its type; `!` after the type marks it required. */
export type Schema = Record<string, `${FieldType}${'' | '!'}`>;

/** A value as a message shows it: its JSON, cut at 80 characters. */
export function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

/** Whether JSON value `v` is of `type`. */
export function matches(type: FieldType, v: unknown): boolean {
  switch (type) {
    case 'string': return typeof v === 'string';
    case 'boolean': return typeof v === 'boolean';
    case 'integer': return typeof v === 'number' && Number.isSafeInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'string[]': return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'object[]': return Array.isArray(v) && v.every((x) => matches('object', x));
    case 'signal': return typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v));
  }
}

/** Each type as a message names it. */
export const typeNames: Record<FieldType, string> = {
  string: 'a string', boolean: 'true or false', integer: 'a whole number', number: 'a number',
  'string[]': 'an array of strings', object: 'an object', 'object[]': 'an array of objects', signal: 'a signal name or number',
};

/**
 * Checks a parsed JSON body against `schema`: it must be an object, every field known (an unknown
 * one is refused, as a typo must not be silently ignored), every value of its type, required
 * fields present. `where` names the object in messages (`body`, `limits`).
 * @throws TaskioError `ERR_INVALID_BODY`, `ERR_UNKNOWN_FIELD` or `ERR_INVALID_FIELD`, naming the field and value.
 */
export function checkFields<T>(value: unknown, schema: Schema, where = 'body'): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TaskioError('ERR_INVALID_BODY', `the ${where} must be a JSON object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(schema, key)) {
      throw new TaskioError('ERR_UNKNOWN_FIELD', `unknown field ${JSON.stringify(key)} in the ${where} (known: ${Object.keys(schema).join(', ') || 'none'})`);
    }
  }
  for (const [key, spec] of Object.entries(schema)) {
    const required = spec.endsWith('!');
    const type = (required ? spec.slice(0, -1) : spec) as FieldType;
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) {
      if (required) throw new TaskioError('ERR_INVALID_FIELD', `missing field ${JSON.stringify(key)} in the ${where}: expected ${typeNames[type]}`);
      continue;
    }
    if (!matches(type, v)) throw new TaskioError('ERR_INVALID_FIELD', `field ${JSON.stringify(key)} must be ${typeNames[type]}, got ${describe(v)}`);
  }
  return value as T;
}

/** The most character cells one dimension of a terminal holds: a `winsize` field is 16 bits. */
const maxCells = 65535;

/**
 * Checks a terminal size in a request: `fields` are required whole numbers of character cells, 1
 * to 65535 each (`TIOCSWINSZ` would cut a larger one, and 0 is no terminal). `where` names the
 * object as in {@link checkFields}, `prefix` its fields in a range error (`consoleSize.`).
 * @throws TaskioError as {@link checkFields}, and `ERR_INVALID_FIELD` for a size out of range.
 */
export function checkCells<K extends string>(value: unknown, fields: readonly K[], where = 'body', prefix = ''): Record<K, number> {
  const size = checkFields<Record<K, number>>(value, Object.fromEntries(fields.map((f) => [f, 'integer!'])) as Schema, where);
  for (const k of fields) {
    if (size[k] < 1 || size[k] > maxCells) throw new TaskioError('ERR_INVALID_FIELD', `field "${prefix}${k}" must be 1 to ${maxCells}, got ${size[k]}`);
  }
  return size;
}

/** The type of one query parameter. */
export type QueryType = 'boolean' | 'integer' | 'string';

/**
 * Reads the query of a request against `schema`; unknown parameters are refused like unknown
 * fields. Booleans are `1`/`0`/`true`/`false`, integers whole numbers ≥ 0.
 * @throws TaskioError `ERR_UNKNOWN_FIELD` / `ERR_INVALID_FIELD` naming the parameter and value.
 */
export function checkQuery(query: URLSearchParams, schema: Record<string, QueryType>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, raw] of query) {
    // Own keys only: `?__proto__=1` or `?constructor=x` would find Object's and pass as known.
    const type = Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (type === undefined) {
      throw new TaskioError('ERR_UNKNOWN_FIELD', `unknown query parameter ${JSON.stringify(key)} (known: ${Object.keys(schema).join(', ') || 'none'})`);
    }
    if (Object.hasOwn(out, key)) throw new TaskioError('ERR_INVALID_FIELD', `query parameter ${JSON.stringify(key)} is given more than once`);
    if (type === 'boolean') {
      if (!['1', '0', 'true', 'false', ''].includes(raw)) throw new TaskioError('ERR_INVALID_FIELD', `query parameter ${key} must be 1 or 0, got ${JSON.stringify(raw)}`);
      out[key] = raw === '1' || raw === 'true' || raw === '';
    } else if (type === 'integer') {
      if (!/^\d{1,15}$/.test(raw)) throw new TaskioError('ERR_INVALID_FIELD', `query parameter ${key} must be a whole number ≥ 0, got ${JSON.stringify(raw)}`);
      out[key] = Number(raw);
    } else {
      out[key] = raw;
    }
  }
  return out;
}

/** Checks that `p` is an absolute path without NUL; returns it normalized. */
export function absolutePath(field: string, p: string): string {
  if (p.includes('\0') || !path.isAbsolute(p)) {
    throw new TaskioError('ERR_INVALID_FIELD', `field ${JSON.stringify(field)} must be an absolute path, got ${describe(p)}`);
  }
  return path.normalize(p);
}

/**
 * A working directory (`cwd`), absolute and cleaned as docker cleans it: `/a/../b/` is `/b`. runsc
 * looks a `..` up as it stands, so `/a/../b` failed its start when `/a` was missing (runc went on).
 * @throws TaskioError `ERR_INVALID_FIELD` as {@link absolutePath}.
 */
export function workingDir(field: string, p: string): string {
  return path.posix.resolve(absolutePath(field, p));
}

/** Checks `KEY=value` environment entries. */
export function checkEnv(env: readonly string[]): void {
  for (const e of env) {
    if (!/^[^=\0]+=/.test(e) || e.includes('\0')) {
      throw new TaskioError('ERR_INVALID_FIELD', `environment entry ${describe(e)} must look like KEY=value`);
    }
    // exec(2) fails with a bare E2BIG for one string longer than that: said here, with its name.
    if (Buffer.byteLength(e) >= maxArgStrlen) {
      throw new TaskioError('ERR_INVALID_FIELD', `environment variable ${e.slice(0, e.indexOf('='))} is too long: ${Buffer.byteLength(e)} bytes, Linux takes less than ${maxArgStrlen} (MAX_ARG_STRLEN)`);
    }
  }
}

/** Linux's limit on one argument or environment string, its NUL included (32 pages). */
const maxArgStrlen = 128 * 1024;

/** The longest stop timeout: what one Node timer can wait, in whole seconds. */
export const maxStopSeconds = Math.floor(maxTimerMs / 1000);

/** Checks a stop timeout in a request (`stopTimeout`, stop's `timeout`): seconds, or -1 to wait for ever. */
export function checkStopTimeout(field: string, seconds: number): number {
  // Beyond Node's longest timer the wait would end at once, killing the task without its grace.
  if (seconds < -1 || seconds > maxStopSeconds) {
    throw new TaskioError('ERR_INVALID_FIELD', `field "${field}" must be 0 to ${maxStopSeconds} seconds (24.8 days), or -1 to wait for ever; got ${seconds}`);
  }
  return seconds;
}
