/**
 * Consoles for terminal tasks: the `--console-socket` that receives a runtime's pty master, the
 * master as streams with resize, and the copy to and from the task's FIFOs.
 */
export type { ConsoleSocket } from './socket.js';
export { newConsoleSocket } from './socket.js';
export { Console } from './console.js';
export { checkWinSize, defaultWinSize, type WinSize } from './winSize.js';
export type { ConsoleCopy, CopyConsoleOptions } from './copy.js';
export { copyConsole } from './copy.js';
