import fs from 'node:fs';
import { TaskioError } from './errors.js';
import { describeFileType } from './fifo/openFifo.js';

/**
 * Tells whether an open with `O_NOFOLLOW | O_NONBLOCK` failed because of what the path holds:
 * `ELOOP` a symlink (under `O_NOFOLLOW`), `ENXIO` a FIFO without a reader or a socket (under
 * `O_NONBLOCK`), `EISDIR` a directory opened for writing (one opened to read opens, and its fstat
 * tells). Every such open maps these to {@link notRegularFile}, so a planted file of any type is
 * the same typed error naming the path, whichever open met it.
 */
export function isNotRegularOpenError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ELOOP' || code === 'ENXIO' || code === 'EISDIR';
}

/** What {@link notRegularFile} says and throws. */
export interface NotRegularFileOptions {
  /** What the file is to taskio, starting the message: default `log file`. */
  file?: string;
  /** The error code: default `ERR_NOT_REGULAR_FILE` (the daemon's `ERR_INVALID_LOG_PATH` where the path came in a request). */
  code?: string;
  /** The failed open, where there was one. */
  cause?: unknown;
}

/**
 * The error for a path that holds something other than a regular file, naming the path and what
 * is there (`st`, from lstat or fstat; `null` or `undefined`: nothing any more).
 */
export function notRegularFile(path: string, st: fs.Stats | null | undefined, opts: NotRegularFileOptions = {}): TaskioError {
  const what = st ? describeFileType(st) : 'gone';
  return new TaskioError(opts.code ?? 'ERR_NOT_REGULAR_FILE', `${opts.file ?? 'log file'} ${JSON.stringify(path)} is not a regular file (it is ${what})`,
    opts.cause === undefined ? undefined : { cause: opts.cause });
}

/**
 * {@link notRegularFile} for a synchronous open of `path` that failed with `err`
 * ({@link isNotRegularOpenError}): what is at the path now, without following a symlink.
 */
export function notRegularFileAt(path: string, err: unknown, opts: Omit<NotRegularFileOptions, 'cause'> = {}): TaskioError {
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(path);
  } catch {
    st = undefined; // Gone meanwhile (or a parent swapped): the message says so.
  }
  return notRegularFile(path, st, { ...opts, cause: err });
}
