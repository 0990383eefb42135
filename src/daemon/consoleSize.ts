import { defaultWinSize, type WinSize } from '../runtime/console/index.js';
import type { ConsoleSize, ProcessSpec } from '../runtime/oci/index.js';
import { checkCells } from './check.js';

/**
 * Checks a request's `consoleSize` (a task's create, an exec): `height` and `width`, 1 to 65535.
 * @throws TaskioError `ERR_INVALID_FIELD` / `ERR_UNKNOWN_FIELD` naming the field and value.
 */
export function checkConsoleSize(value: unknown): ConsoleSize {
  return checkCells(value, ['height', 'width'], 'consoleSize', 'consoleSize.');
}

/**
 * The `process.consoleSize` a terminal process (a task's or an exec's) starts with: `size`, else
 * 80x24 (the host runtime's): a pty runc makes would start at 0x0, where busybox's `stty size`
 * fails and full-screen programs break.
 */
export function startConsoleSize(size: ConsoleSize | undefined): ConsoleSize {
  const s = size ?? { height: defaultWinSize.rows, width: defaultWinSize.cols };
  return { height: s.height, width: s.width };
}

/**
 * Sizes the terminal of a process not yet started from its spec's `consoleSize`: runc sizes its
 * pty from the spec, but runsc 2022-12 ignores the field, so its pty's master is sized as it
 * arrives (before the start of a task, before the exec's process is spawned); a host terminal
 * exists before its process. Nothing without a terminal or a size.
 */
export async function sizeBeforeStart(target: { resize(ws: WinSize): Promise<void> }, terminal: boolean, spec: ProcessSpec): Promise<void> {
  const size = spec.consoleSize;
  if (terminal && size) await target.resize({ cols: size.width, rows: size.height });
}
