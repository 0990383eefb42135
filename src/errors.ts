/** An error raised by taskio itself, with a `code` like Node's own errors (`'ERR_INVALID_ID'`, `'EBUSY'` …). */
export class TaskioError extends Error {
  /** A stable, machine-readable code; the message is for people. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TaskioError';
    this.code = code;
  }
}

/** Builds an `AbortError` like Node's own (`name === 'AbortError'`, `code === 'ABORT_ERR'`). */
export function abortError(signal?: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal?.reason }) as Error & { code: string };
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  return err;
}

/**
 * A value as an error message names it: a string quoted as JSON, anything else as `String()` shows
 * it — without ever throwing, whatever a careless caller passed (a BigInt, a Symbol, an object
 * without a prototype), so a check always ends in its own typed error.
 */
export function showValue(v: unknown): string {
  switch (typeof v) {
    case 'string': return JSON.stringify(v);
    case 'bigint': return `${v}n`;
    case 'symbol': return v.toString();
    case 'function': return `[function ${v.name || 'anonymous'}]`;
    case 'object': return v === null ? 'null' : Object.prototype.toString.call(v);
    default: return String(v);
  }
}
