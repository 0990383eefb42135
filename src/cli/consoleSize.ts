import type { CreateTaskRequest } from '../daemon/createRequest.js';
import type { WinSize } from '../sys/index.js';

/**
 * The `consoleSize` of a create or exec request (docker's `ConsoleSize`): a terminal task or exec
 * (`-t`) starts with `size`, so what it runs first sees it, not the daemon's 80x24 until a resize
 * comes in. Nothing without a terminal or a size.
 */
export function consoleSizeOf(terminal: boolean | undefined, size: WinSize | null): Pick<CreateTaskRequest, 'consoleSize'> {
  return terminal === true && size ? { consoleSize: { height: size.rows, width: size.cols } } : {};
}

/**
 * The window size of the command's stdout when it is a terminal, as docker's CLI takes it for a
 * task or exec it starts without attaching (`run -d -t`, `create -t`, `exec -d -t`); null otherwise
 * (or a 0x0 pty).
 */
export function stdoutSize(stdout: NodeJS.WriteStream): WinSize | null {
  return stdout.isTTY === true && stdout.rows > 0 && stdout.columns > 0 ? { rows: stdout.rows, cols: stdout.columns } : null;
}
