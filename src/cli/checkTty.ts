import { TaskioError } from '../errors.js';

/*
 * Kept out of terminal.ts: every attaching verb checks its flags here, but only a `-t` session
 * needs the terminal code, which loads the native binding (for the window size).
 */

/** The streams a terminal session uses; `isTTY` and `fd` say whether each is a terminal. */
export interface TerminalStream {
  isTTY?: boolean;
  fd?: number;
}

/**
 * docker's `CheckTty`: attaching the task's terminal to this process's stdin needs a terminal on
 * stdin — piping or redirecting it is incompatible with `-it`. (`-t` alone, with stdin not
 * attached, is fine, as in docker: `taskio run -dt …` from a script.) `stdin` is looked at only
 * then: making `process.stdin` costs a stream (and its module) a command without `-it` never uses.
 * @throws TaskioError `ERR_NOT_A_TTY`: `the input device is not a TTY`.
 */
export function checkTty(attachStdin: boolean, tty: boolean, stdin: () => TerminalStream = () => process.stdin): void {
  if (tty && attachStdin && stdin().isTTY !== true) {
    throw new TaskioError('ERR_NOT_A_TTY', 'the input device is not a TTY');
  }
}
