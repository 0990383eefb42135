import { TaskioError } from '../errors.js';
import { StaticIO, type Creator, type IO } from '../attach/index.js';
import { requireAbsolutePath } from './absolutePath.js';

/**
 * Builds a log URI: `<scheme>:///abs/path?k=v` with the path as given (each component escaped)
 * and the query keys sorted and escaped, as containerd's `LogURIGenerator` does. The task host
 * reads it (`file://` appends to a file, `binary://` starts a logging driver with these arguments).
 *
 * Two things a WHATWG `URL` would change are refused instead: a `.` or `..` component (every URL
 * parse resolves them, also escaped, so no reader could see the path as given; containerd resolves
 * them by text (`filepath.Clean`), which names another file than the kernel does when the
 * component before a `..` is a symbolic link), and a scheme a URL needs a host for (`http`,
 * `https`, `ws`, `wss`, `ftp`: the path's first component would become the host).
 * @throws TaskioError `ERR_INVALID_LOG_PATH` when `path` is not absolute or has a `.` or `..`
 *   component; `ERR_INVALID_ARG_VALUE` for a scheme that is no URI scheme or needs a host.
 */
export function logURIGenerator(scheme: string, filePath: string, args: Record<string, string> = {}): URL {
  requireAbsolutePath(filePath);
  if (filePath.split('/').some((c) => c === '.' || c === '..')) {
    throw new TaskioError('ERR_INVALID_LOG_PATH', `log path ${JSON.stringify(filePath)} must have no . or .. component: a URL would resolve it by text`);
  }
  if (!/^[a-z][a-z0-9+.-]*$/i.test(scheme)) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `invalid log URI scheme ${JSON.stringify(scheme)}`);
  }
  const query = new URLSearchParams(Object.keys(args).sort().map((k) => [k, args[k]!])).toString();
  const escaped = filePath.split('/').map(encodeURIComponent).join('/');
  const uri = new URL(`${scheme}://${escaped}${query ? `?${query}` : ''}`);
  if (uri.host !== '' || uri.pathname !== escaped) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `log URI scheme ${JSON.stringify(scheme)} needs a host: a URL of it reads path ${JSON.stringify(filePath)} as ${uri.href}`);
  }
  return uri;
}

/** An IO whose stdout and stderr are one log URI (no stderr for a terminal); nothing to copy. */
function uriIO(uri: URL, terminal: boolean): IO {
  const s = uri.toString();
  return new StaticIO({ terminal, stdin: '', stdout: s, stderr: terminal ? '' : s });
}

/** A {@link Creator} whose task writes to the log URI `uri` (containerd's `LogURI`). */
export function logURI(uri: URL): Creator {
  return async () => uriIO(uri, false);
}

/** Like {@link logURI}, in terminal mode (containerd's `TerminalLogURI`). */
export function terminalLogURI(uri: URL): Creator {
  return async () => uriIO(uri, true);
}

/** A {@link Creator} whose task output is appended to the file at the absolute `path` (`file://`). */
export function logFile(filePath: string): Creator {
  return async () => uriIO(logURIGenerator('file', filePath), false);
}

/** A {@link Creator} whose task output goes to the logging driver `bin`, started with `args` (`binary://`). */
export function binaryIO(bin: string, args: Record<string, string> = {}): Creator {
  return async () => uriIO(logURIGenerator('binary', bin, args), false);
}

/** Like {@link binaryIO}, in terminal mode (containerd's `TerminalBinaryIO`). */
export function terminalBinaryIO(bin: string, args: Record<string, string> = {}): Creator {
  return async () => uriIO(logURIGenerator('binary', bin, args), true);
}
