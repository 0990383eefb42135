import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskioError } from '../errors.js';
import type { CreateTaskRequest, DefaultLogOptions } from '../daemon/createRequest.js';
import { maxMaxFiles } from '../logfile/options.js';
import type { ParsedArgs } from './flags.js';
import { fromHumanSize } from './units.js';
import { parseInteger } from './values.js';

/**
 * docker's and podman's `--log-driver` and `--log-opt`, mapped onto the logs taskio has. taskio's
 * default log is CRI lines in the task directory — podman's `k8s-file` — so where the two differ
 * podman is followed: `json-file` is an alias of `k8s-file` (as podman has it), option keys are
 * read in any case, and `path=` names the log file. The sizes and rules of `max-size` and
 * `max-file` are docker's json-file driver's.
 */

/** The drivers `--log-driver` takes. */
export const logDrivers = ['k8s-file', 'json-file', 'none'] as const;
/** A driver `--log-driver` takes. */
export type LogDriverName = (typeof logDrivers)[number];

/** The options `--log-opt` takes. */
const logOptKeys = ['max-size', 'max-file', 'path'] as const;

/** One `--log-opt KEY=VALUE`, its value read; `text` is the option as given, for messages. */
export type LogOpt =
  | { key: 'max-size'; value: number; text: string }
  | { key: 'max-file'; value: number; text: string }
  | { key: 'path'; value: string; text: string };

function invalid(message: string): TaskioError {
  return new TaskioError('ERR_INVALID_ARG_VALUE', message);
}

/** `--log-driver`: `k8s-file`, `json-file` or `none`; any other (journald, syslog, local…) is refused, naming the ones there are. */
export function parseLogDriver(value: string): LogDriverName {
  if (!(logDrivers as readonly string[]).includes(value)) {
    throw invalid(`log driver ${JSON.stringify(value)} is not supported (supported: ${logDrivers.join(', ')})`);
  }
  return value as LogDriverName;
}

/**
 * `--log-opt KEY=VALUE`: `max-size` (go-units' `FromHumanSize`, as docker and podman read it: `10m`
 * is 10,000,000 bytes; above 0), `max-file` (a whole number, 1 to 1000), `path` (an absolute file
 * path). Any other key — docker's `tag`, `labels`, `env`, `compress`, `mode`… — is refused, naming it.
 */
export function parseLogOpt(text: string): LogOpt {
  const eq = text.indexOf('=');
  if (eq < 1) throw invalid(`expected KEY=VALUE (${logOptKeys.join(', ')})`);
  const key = text.slice(0, eq).toLowerCase(); // podman's reading: MAX-SIZE=1m is max-size
  const value = text.slice(eq + 1);
  switch (key) {
    case 'max-size': {
      const bytes = fromHumanSize(value);
      if (bytes < 1) throw invalid('max-size must be a positive number');
      return { key, value: bytes, text };
    }
    case 'max-file': {
      const count = parseInteger(value);
      if (count < 1) throw invalid('max-file cannot be less than 1');
      if (count > maxMaxFiles) throw invalid(`max-file must be at most ${maxMaxFiles} (each rotation renames every kept file)`);
      return { key, value: count, text };
    }
    case 'path':
      if (!path.isAbsolute(value) || value.endsWith('/') || value.includes('\0')) throw invalid(`path must be an absolute file path, got ${JSON.stringify(value)}`);
      return { key, value, text };
    default:
      throw invalid(`log option ${JSON.stringify(text.slice(0, eq))} is not supported (supported: ${logOptKeys.join(', ')})`);
  }
}

/**
 * The `log` and `logOptions` of a `run` or `create` command line. `--log URI` as it is (the flag
 * parser refused it beside `--log-driver`/`--log-opt`). `--log-driver none` is FIFO mode, which
 * takes no option (docker's and podman's rule). `k8s-file`/`json-file`: without `path`, the
 * default log in the task directory, rotated when `max-size` is given; with `path`, a `file://`
 * log there in the default log's format (CRI lines; the raw bytes for a terminal, whose prompt
 * has no newline to wait for). A repeated option: the last one counts, as docker's. `max-size`
 * alone keeps one file (docker's default `max-file`); `max-file` above 1 without `max-size` is
 * refused, where docker ignores it: files rotate only by size.
 */
export function commandLog(a: ParsedArgs): Pick<CreateTaskRequest, 'log' | 'logOptions'> {
  const uri = a.value('log');
  if (uri !== undefined) return { log: uri };
  const opts = a.list<LogOpt>('log-opt');
  if (a.value<LogDriverName>('log-driver') === 'none') {
    if (opts.length > 0) throw invalid(`invalid logging opts for driver none: ${opts.map((o) => o.text).join(', ')} (FIFO mode keeps no log)`);
    return { log: 'none' };
  }
  const last = <K extends LogOpt['key']>(key: K) => opts.filter((o): o is Extract<LogOpt, { key: K }> => o.key === key).at(-1);
  const maxSize = last('max-size');
  const maxFiles = last('max-file');
  const file = last('path');
  if (maxSize === undefined && maxFiles !== undefined && maxFiles.value > 1) {
    throw invalid(`${maxFiles.text} needs max-size: the log rotates only by size`);
  }
  const rotation: DefaultLogOptions = maxSize === undefined ? {} : { maxFiles: maxFiles?.value ?? 1, maxSize: maxSize.value };
  if (file !== undefined) return { log: fileLogURI(file.value, a.bool('tty') ? 'raw' : 'cri', rotation) };
  return Object.keys(rotation).length > 0 ? { logOptions: rotation } : {};
}

/** `file:///path?format=…&maxFiles=…&maxSize=…`, the path escaped. */
function fileLogURI(file: string, format: 'raw' | 'cri', rotation: DefaultLogOptions): string {
  const url = pathToFileURL(file);
  url.searchParams.set('format', format);
  if (rotation.maxFiles !== undefined) url.searchParams.set('maxFiles', String(rotation.maxFiles));
  if (rotation.maxSize !== undefined) url.searchParams.set('maxSize', String(rotation.maxSize));
  return url.href;
}
