import { TaskioError, showValue } from '../errors.js';

/**
 * The stdio of a task as paths: FIFO paths for a FIFO set, or log URIs (`file://`, `binary://`).
 * An empty string means the stream is not used (containerd's blank path).
 */
export interface Config {
  /** True when the task has a terminal: output is one stream and `stderr` is empty. */
  terminal: boolean;
  stdin: string;
  stdout: string;
  stderr: string;
}

/** The id rule lives in one place for all of taskio. */
export { validateId } from '../ids.js';

/**
 * Checks a path before it reaches the kernel: a non-empty string without NUL. libc takes whatever
 * it is given as a `char *` — a number becomes a pointer (a FIFO named by this process's memory) —
 * and stops at the first NUL (a FIFO made at a shorter path than the one asked for). Returns it.
 * @param what - what the path is, for the message (`stdout`, `the FIFO directory` …).
 * @throws TaskioError `ERR_INVALID_ARG_TYPE` for a non-string, `ERR_INVALID_ARG_VALUE` for `''` or
 *   a NUL, naming the value.
 */
export function checkPath(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TaskioError('ERR_INVALID_ARG_TYPE', `${what} must be a path (a string), got ${showValue(value)}`);
  if (value === '' || value.includes('\0')) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `${what} must be a non-empty path without NUL, got ${showValue(value)}`);
  }
  return value;
}

/**
 * Checks the config of a FIFO set: `terminal` a boolean, each stream a path or `''` (not used).
 * @throws TaskioError `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` naming the entry and value.
 */
export function checkConfig(config: unknown): Config {
  if (config === null || typeof config !== 'object') {
    throw new TaskioError('ERR_INVALID_ARG_TYPE', `a FIFO set's config must be an object { terminal, stdin, stdout, stderr }, got ${showValue(config)}`);
  }
  const c = config as Record<string, unknown>;
  if (typeof c.terminal !== 'boolean') throw new TaskioError('ERR_INVALID_ARG_TYPE', `config.terminal must be a boolean, got ${showValue(c.terminal)}`);
  for (const name of ['stdin', 'stdout', 'stderr']) if (c[name] !== '') checkPath(c[name], `config.${name}`);
  return config as Config;
}
