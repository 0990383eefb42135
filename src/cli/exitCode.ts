import { signalNumber } from '../runtime/oci/signal.js';

/** The exit status of a task or exec as the daemon reports it (the `exit` file). */
export interface ExitStatus {
  /** The exit code, or `null` when a signal ended the process or nobody saw the exit. */
  exitCode: number | null;
  /** The signal that ended the process (`'SIGKILL'`, `'KILL'` or `9`), if one did. */
  signal?: string | number | null;
}

/** taskio's own error: bad usage, bad value, unknown task, daemon or runtime failure. */
export const exitOwnError = 125;
/** The task's command exists but cannot be run (not executable, a directory). */
export const exitCannotInvoke = 126;
/** The task's command was not found. */
export const exitNotFound = 127;
/**
 * An exit nobody saw (the task ended while no daemon watched it): containerd's
 * `UnknownExitStatus`. The daemon reports such an exit as `exitCode: null`, never as a guess.
 */
export const exitUnknown = 255;

/** Error codes that mean the task's command cannot be invoked (126) or was not found (127). */
const codeExits: Record<string, number> = {
  ERR_COMMAND_NOT_EXECUTABLE: exitCannotInvoke,
  ERR_COMMAND_NOT_FOUND: exitNotFound,
};

/**
 * docker's reading of a failed start (`runStartContainerErr`): the runtime's message says the
 * command was not found (127) or cannot be run (126). Only for errors of starting a task: another
 * verb's "no such file or directory" is taskio's own error.
 */
function startFailureExit(message: string): number {
  if (/executable file not found|no such file or directory/.test(message)) return exitNotFound;
  if (/permission denied|is a directory/.test(message)) return exitCannotInvoke;
  return exitOwnError;
}

/**
 * The exit code of the `taskio` command for how a verb ended, by docker's rules: a number is the
 * code itself (a task's or exec's code, 0 for success); an {@link ExitStatus} gives its code,
 * 128 + n for a signal, or 255 when nobody saw the exit; an error is 125 (taskio's own error),
 * unless its `code` is `ERR_COMMAND_NOT_FOUND` (127) or `ERR_COMMAND_NOT_EXECUTABLE` (126) — or,
 * with `starting` (the error came from starting the task's command), unless its message is the
 * runtime's "executable file not found" / "no such file or directory" (127) or "permission denied" /
 * "is a directory" (126), as docker reads a failed start.
 */
export function exitCodeOf(outcome: unknown, opts: { starting?: boolean } = {}): number {
  if (typeof outcome === 'number') return Number.isInteger(outcome) && outcome >= 0 && outcome <= 255 ? outcome : exitOwnError;
  if (outcome instanceof Error) {
    const byCode = codeExits[String((outcome as { code?: unknown }).code)];
    if (byCode !== undefined) return byCode;
    return opts.starting ? startFailureExit(outcome.message) : exitOwnError;
  }
  if (typeof outcome === 'object' && outcome !== null && 'exitCode' in outcome) {
    const { exitCode, signal } = outcome as ExitStatus;
    if (exitCode !== null) return exitCodeOf(exitCode);
    if (signal === undefined || signal === null) return exitUnknown;
    try {
      return 128 + signalNumber(signal);
    } catch {
      return exitUnknown;
    }
  }
  return exitOwnError;
}
