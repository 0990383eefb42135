import type { CreateTaskRequest } from '../daemon/createRequest.js';
import type { WinSize } from '../sys/index.js';
import type { TerminalStream } from './checkTty.js';
import { terminalFd, terminalSize } from './terminalSize.js';

/**
 * The `consoleSize` of a create or exec request (docker's `ConsoleSize`): a terminal task or exec
 * (`-t`) starts with `size`, so what it runs first sees it, not the daemon's 80x24 until a resize
 * comes in. Nothing without a terminal or a size.
 */
export function consoleSizeOf(terminal: boolean | undefined, size: WinSize | null): Pick<CreateTaskRequest, 'consoleSize'> {
  return terminal === true && size ? { consoleSize: { height: size.rows, width: size.cols } } : {};
}

/**
 * The `consoleSize` of a task or exec that the command starts without attaching (`run -d -t`,
 * `create -t`, `exec -d -t`): with a terminal, the window size of the command's stdout when it is a
 * terminal, as docker's CLI takes it; nothing otherwise (stdout piped, or a 0x0 pty). Without `-t`
 * the size is not read at all (reading it loads the native binding).
 */
export function detachedConsoleSize(terminal: boolean, stdout: TerminalStream): Pick<CreateTaskRequest, 'consoleSize'> {
  return terminal ? consoleSizeOf(true, terminalSize(terminalFd(stdout))) : {};
}
