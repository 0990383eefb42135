import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TaskioError, showValue } from '../errors.js';
import { checkPermBits } from '../permBits.js';

/** How a log file lays out task output: `raw` bytes (containerd's `file://`) or CRI entries (kubelet). */
export type LogFormat = 'raw' | 'cri';

/** The two output streams of a task, as CRI log entries name them. */
export type LogStreamName = 'stdout' | 'stderr';

/** The default longest line a CRI entry holds before it is cut into `P` entries (kubelet's 16 KiB). */
export const defaultMaxLineSize = 16 * 1024;

/** The default number of files kept when rotating (kubelet's `containerLogMaxFiles`). */
export const defaultMaxFiles = 5;

/**
 * The most files a rotation keeps. Each rotation renames every slot from the oldest down, so the
 * count is the work of one rotation: a billion made the first rotation spin for hours. Docker's
 * and kubelet's defaults are 1 and 5; a thousand is far beyond any real use and a rotation's
 * renames (tens of milliseconds) stay unnoticed.
 */
export const maxMaxFiles = 1000;

/**
 * The longest `maxLineSize`: 64 MiB. A CRI encoder sets aside about three times it per stream and
 * copy when it starts (the held line, and an output area holding two entries), so 2 GiB failed
 * with a RangeError at the first write after the open had succeeded. containerd's default line is
 * 16 KiB (kubelet's too); 64 MiB keeps a writer with two streams under half a gigabyte at worst.
 */
export const maxMaxLineSize = 64 * 1024 * 1024;

/** What a log writer does with the output it is given. */
export interface LogWriterOptions {
  /** `raw` (default, containerd's `file://`) or `cri`. */
  format?: LogFormat;
  /** Rotate when the current file would grow past this many bytes; no rotation when unset. */
  maxSize?: number;
  /** Files kept in all, the current one included (`name`, `name.1` … `name.<maxFiles-1>`); default 5, at most 1000. */
  maxFiles?: number;
  /** CRI only: the longest content one entry holds before the line is cut (default 16 KiB, at most 64 MiB). */
  maxLineSize?: number;
  /** Mode of files the writer creates: permission bits 0..0o777 (default 0o640, as container runtimes create container logs). */
  mode?: number;
}

/** A log URI taken apart: the absolute file path and the writer options from its query. */
export interface ParsedLogOptions extends LogWriterOptions {
  /** The absolute path of the log file. */
  path: string;
  format: LogFormat;
}

const units: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kb: 1024, ki: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mi: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gi: 1024 ** 3, gib: 1024 ** 3,
};

function invalid(name: string, value: string, why: string): TaskioError {
  return new TaskioError('ERR_INVALID_LOG_OPTION', `invalid log option ${name}=${JSON.stringify(value)}: ${why}`);
}

/**
 * Parses a size such as `10MB`, `512k`, `1Gi` or `4096` into bytes. Every unit is a power of 1024
 * (so `10MB` and `10Mi` agree), as a log URI's sizes always were; docker's and podman's
 * `--log-opt max-size` count 1000s, and the command reads those itself (`fromHumanSize`). Throws
 * `ERR_INVALID_LOG_OPTION` naming `name` when the text is not a positive whole size.
 */
export function parseSize(name: string, value: string): number {
  const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(value.trim());
  const unit = m ? units[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw invalid(name, value, 'expected a size like 4096, 512KB or 10MB');
  const n = Number(m[1]) * unit;
  if (!Number.isSafeInteger(n) || n < 1) throw invalid(name, value, 'expected a positive size');
  return n;
}

function parseCount(name: string, value: string): number {
  if (!/^\d+$/.test(value)) throw invalid(name, value, 'expected a whole number');
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw invalid(name, value, 'expected at least 1');
  return n;
}

/**
 * Checks writer options given in code the same way a URI's query is checked, so a bad value
 * fails at once with `ERR_INVALID_LOG_OPTION` instead of misbehaving at the first rotation
 * (`maxFiles` at most {@link maxMaxFiles}, `maxLineSize` at most {@link maxMaxLineSize}); a bad
 * `mode` is `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE`, as any file mode argument.
 */
export function validateLogWriterOptions(opts: LogWriterOptions): void {
  if (typeof opts !== 'object' || opts === null) {
    throw new TaskioError('ERR_INVALID_ARG_TYPE', `log writer options must be an object, got ${showValue(opts)}`);
  }
  if (opts.format !== undefined && opts.format !== 'raw' && opts.format !== 'cri') {
    throw invalid('format', String(opts.format), 'expected raw or cri');
  }
  for (const key of ['maxSize', 'maxFiles', 'maxLineSize'] as const) {
    const v = opts[key];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw invalid(key, String(v), 'expected a positive whole number');
  }
  if (opts.maxFiles !== undefined && opts.maxFiles > maxMaxFiles) {
    throw invalid('maxFiles', String(opts.maxFiles), `at most ${maxMaxFiles} files are kept`);
  }
  if (opts.maxLineSize !== undefined && opts.maxLineSize > maxMaxLineSize) {
    throw invalid('maxLineSize', String(opts.maxLineSize), `at most ${maxMaxLineSize} bytes (64 MiB)`);
  }
  if (opts.mode !== undefined) checkPermBits(opts.mode, 'a log file mode');
  // Docker refuses max-file without max-size: a file count means nothing if files never rotate.
  if (opts.maxFiles !== undefined && opts.maxSize === undefined) {
    throw invalid('maxFiles', String(opts.maxFiles), 'needs maxSize (files rotate only by size)');
  }
  if (opts.maxLineSize !== undefined && opts.format !== 'cri') {
    throw invalid('maxLineSize', String(opts.maxLineSize), 'applies only to format=cri');
  }
}

/**
 * Reads the writer options from a `file://` log URI such as
 * `file:///var/log/task.log?format=cri&maxSize=10MB&maxFiles=5&maxLineSize=16KB`.
 * An unknown, repeated or empty option, or a bad value, throws `ERR_INVALID_LOG_OPTION` naming it;
 * a URI that is not `file:` (or has a host, a NUL or an escaped slash in its path) throws
 * `ERR_INVALID_LOG_URI`. `nulCode` is the code for a NUL instead: a stdio entry passes
 * `ERR_INVALID_ARG_VALUE`, its code for a NUL under every scheme. This is the one check of a NUL
 * in a log file path: every reader of a `file://` URI (stdio targets, the daemon, the CRI logger)
 * comes through here.
 */
export function parseLogOptions(url: URL, nulCode = 'ERR_INVALID_LOG_URI'): ParsedLogOptions {
  if (url.protocol !== 'file:' || (url.host !== '' && url.host !== 'localhost')) {
    throw new TaskioError('ERR_INVALID_LOG_URI', `a log file URI must be file:///absolute/path, got ${url.href}`);
  }
  let file: string;
  try {
    file = fileURLToPath(url);
  } catch (cause) {
    // An escaped slash (`%2F`): Node's own TypeError, not a log URI error naming the URI.
    throw new TaskioError('ERR_INVALID_LOG_URI', `invalid log file URI ${url.href}: ${(cause as Error).message}`, { cause });
  }
  // A NUL (`%00`) would cut the path short at open(2) (Node refuses it only there, at the first write).
  if (file.includes('\0')) {
    throw new TaskioError(nulCode, `a log file URI must not hold a NUL byte, got ${url.href}`);
  }
  if (!path.isAbsolute(file) || file.endsWith('/')) {
    throw new TaskioError('ERR_INVALID_LOG_URI', `a log file URI must name a file by absolute path, got ${url.href}`);
  }
  const out: ParsedLogOptions = { path: file, format: 'raw' };
  const seen = new Set<string>();
  for (const [key, value] of url.searchParams) {
    if (seen.has(key)) throw invalid(key, value, 'given more than once');
    seen.add(key);
    switch (key) {
      case 'format':
        if (value !== 'raw' && value !== 'cri') throw invalid(key, value, 'expected raw or cri');
        out.format = value;
        break;
      case 'maxSize': out.maxSize = parseSize(key, value); break;
      case 'maxFiles': out.maxFiles = parseCount(key, value); break;
      case 'maxLineSize': out.maxLineSize = parseSize(key, value); break;
      default:
        throw new TaskioError('ERR_INVALID_LOG_OPTION',
          `unknown log option ${JSON.stringify(key)} (known: format, maxSize, maxFiles, maxLineSize)`);
    }
  }
  validateLogWriterOptions(out);
  return out;
}
