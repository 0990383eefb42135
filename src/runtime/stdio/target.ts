import { TaskioError } from '../../errors.js';

/** Where one stdio stream of a task goes, as {@link parseTarget} reads a path or URI. */
export type Target =
  | { kind: 'null' }
  | { kind: 'fifo'; path: string }
  | { kind: 'file'; url: URL }
  | { kind: 'binary'; url: URL; path: string; args: string[]; requireReady: boolean };

/**
 * Reads one stdio entry of a {@link Config}: `''` is `/dev/null`, a plain path (or `fifo://path`)
 * a FIFO, `file://` a log file, `binary://` / `binary-v2://` a logging driver. Any other scheme
 * throws `ERR_UNKNOWN_STDIO_SCHEME`, as containerd's shim refuses it, instead of guessing.
 */
export function parseTarget(value: string): Target {
  if (value === '') return { kind: 'null' };
  // A URI has a scheme; an absolute or relative path never starts with `<letters>:`.
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'fifo', path: value };
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `invalid stdio URI ${JSON.stringify(value)}`, { cause });
  }
  switch (scheme) {
    case 'fifo':
      return { kind: 'fifo', path: decodeURIComponent(url.pathname) };
    case 'file':
      return { kind: 'file', url };
    case 'binary':
    case 'binary-v2': {
      // containerd passes the query as `key value` argument pairs, in the order given.
      const args: string[] = [];
      for (const [k, v] of url.searchParams) args.push(k, ...(v === '' ? [] : [v]));
      const path = decodeURIComponent(url.pathname);
      if (!path.startsWith('/')) {
        throw new TaskioError('ERR_INVALID_ARG_VALUE', `a ${scheme} URI must name the logger by absolute path, got ${JSON.stringify(value)}`);
      }
      // exec(2) takes C strings: a NUL would cut an argument short (Node refuses it at spawn).
      if ([path, ...args].some((a) => a.includes('\0'))) {
        throw new TaskioError('ERR_INVALID_ARG_VALUE', `a ${scheme} URI must not hold a NUL byte, got ${JSON.stringify(value)}`);
      }
      return { kind: 'binary', url, path, args, requireReady: scheme === 'binary-v2' };
    }
    default:
      throw new TaskioError('ERR_UNKNOWN_STDIO_SCHEME', `unknown stdio scheme ${JSON.stringify(scheme)} in ${JSON.stringify(value)} (known: fifo, file, binary, binary-v2)`);
  }
}

