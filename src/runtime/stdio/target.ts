import { TaskioError } from '../../errors.js';
import { parseLogOptions } from '../../logfile/index.js';

/** Where one stdio stream of a task goes, as {@link parseTarget} reads a path or URI. */
export type Target =
  | { kind: 'null' }
  | { kind: 'fifo'; path: string }
  | { kind: 'file'; url: URL }
  | { kind: 'binary'; url: URL; path: string; args: string[]; requireReady: boolean };

const schemes = ['fifo', 'file', 'binary', 'binary-v2'] as const;

/**
 * Reads one stdio entry of a {@link Config}: `''` is `/dev/null`, an absolute path (or
 * `fifo:///path`) a FIFO, `file://` a log file, `binary://` / `binary-v2://` a logging driver. Any
 * other scheme throws `ERR_UNKNOWN_STDIO_SCHEME`, as containerd's shim refuses it, instead of guessing.
 * @throws TaskioError `ERR_INVALID_ARG_TYPE` for a non-string, `ERR_INVALID_ARG_VALUE` naming the
 * value for a relative path, a NUL, a host, a bad escape or a URI that does not parse;
 * `ERR_INVALID_LOG_URI` / `ERR_INVALID_LOG_OPTION` for a `file://` URI that `parseLogOptions` refuses.
 */
export function parseTarget(value: string): Target {
  if (typeof value !== 'string') {
    throw new TaskioError('ERR_INVALID_ARG_TYPE', `a stdio path or URI must be a string, got ${value === null ? 'null' : typeof value}`);
  }
  if (value === '') return { kind: 'null' };
  // A URI has a scheme; an absolute or relative path never starts with `<letters>:`.
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'fifo', path: fifoPath(value, value) };
  if (!(schemes as readonly string[]).includes(scheme)) {
    throw new TaskioError('ERR_UNKNOWN_STDIO_SCHEME', `unknown stdio scheme ${JSON.stringify(scheme)} in ${JSON.stringify(value)} (known: ${schemes.join(', ')})`);
  }
  // `file:relative` would parse as `file:///relative`: a URI here always has its `//`.
  if (!value.startsWith('//', scheme.length + 1)) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `a stdio URI is ${scheme}:///abs/path, got ${JSON.stringify(value)}`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `invalid stdio URI ${JSON.stringify(value)}`, { cause });
  }
  // `binary://usr/bin/logger` (a slash short) would otherwise run `/bin/logger` on host `usr`.
  if (url.host !== '' && (scheme === 'fifo' || scheme === 'binary' || scheme === 'binary-v2')) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `a ${scheme} URI names a local path (${scheme}:///abs/path), got host ${JSON.stringify(url.host)} in ${JSON.stringify(value)}`);
  }
  switch (scheme as (typeof schemes)[number]) {
    case 'fifo':
      return { kind: 'fifo', path: fifoPath(decodePath(url, value), value) };
    case 'file':
      decodePath(url, value); // a bad escape: ERR_INVALID_ARG_VALUE, as under every scheme
      // A NUL (with the code of every scheme's), a bad path or option: refused before anything opens.
      parseLogOptions(url, 'ERR_INVALID_ARG_VALUE');
      return { kind: 'file', url };
    case 'binary':
    case 'binary-v2': {
      // containerd passes the query as `key value` argument pairs, in the order given.
      const args: string[] = [];
      for (const [k, v] of url.searchParams) args.push(k, ...(v === '' ? [] : [v]));
      const path = decodePath(url, value);
      if (!path.startsWith('/')) {
        throw new TaskioError('ERR_INVALID_ARG_VALUE', `a ${scheme} URI must name the logger by absolute path, got ${JSON.stringify(value)}`);
      }
      // exec(2) takes C strings: a NUL would cut an argument short (Node refuses it at spawn).
      refuseNul(scheme, value, [path, ...args]);
      return { kind: 'binary', url, path, args, requireReady: scheme === 'binary-v2' };
    }
  }
}

/**
 * A FIFO path as given: absolute, since the task host may run in another directory than the
 * client that made the set (containerd's sets are always absolute), and free of NUL, which would
 * cut the path short at `open(2)`.
 */
function fifoPath(p: string, value: string): string {
  if (!p.startsWith('/') || p.includes('\0')) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `a FIFO must be named by an absolute path without NUL, got ${JSON.stringify(value)}`);
  }
  return p;
}

/**
 * Refuses a NUL (`%00`) in the decoded `parts` of a URI: the kernel takes paths and arguments as C
 * strings, which a NUL would cut short (Node refuses one only when the file is opened or run).
 */
function refuseNul(scheme: string, value: string, parts: string[]): void {
  if (parts.some((a) => a.includes('\0'))) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `a ${scheme} URI must not hold a NUL byte, got ${JSON.stringify(value)}`);
  }
}

/** The percent-decoded path of `url`; a bad escape (`%ff`, `%zz`) is the caller's error, not a URIError. */
function decodePath(url: URL, value: string): string {
  try {
    return decodeURIComponent(url.pathname);
  } catch (cause) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `invalid percent-encoding in stdio URI ${JSON.stringify(value)}`, { cause });
  }
}
