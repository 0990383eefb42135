import { TaskioError } from '../../errors.js';

/**
 * A runtime command that failed. `message` is the runtime's own words (the last `"level":"error"`
 * entry it appended to its JSON log during the call, else its stderr), so callers can show it as is.
 * Code `ERR_RUNTIME` for a command that failed, `ERR_RUNTIME_TIMEOUT` for one killed at its time
 * limit ({@link timeout}; the message names the command and the limit), `ERR_NOT_FOUND` for a call
 * on a container the runtime does not have (the message names the caller's id; `cause` is the
 * runtime's own error).
 */
export class RuntimeError extends TaskioError {
  /** The runtime's exit code (runsc exits 128 on its own failures, runc 1); null when a signal ended it. */
  readonly exitCode: number | null;
  /** The binary that ran. */
  readonly command: string;
  /** Its full argument list, global flags included. */
  readonly args: readonly string[];
  /** The runtime's message alone (without the command prefix), or '' when it said nothing. */
  readonly runtimeMessage: string;
  /** What the runtime wrote to stderr, when it was captured (never for create/run/exec/restore). */
  readonly stderr: string;
  /** For `ERR_RUNTIME_TIMEOUT`: the limit in ms the command outlived (it was then killed); else null. */
  readonly timeout: number | null;

  constructor(init: {
    code?: string;
    command: string;
    args: readonly string[];
    /** The subcommand (`create`, `kill` …), for the message. */
    subcommand?: string;
    exitCode: number | null;
    runtimeMessage: string;
    stderr?: string;
    signal?: string;
    /** Set when the command was killed for outliving this many ms. */
    timeout?: number;
    cause?: unknown;
  }) {
    const sub = init.subcommand ?? '';
    const how = init.exitCode !== null ? `exit status ${init.exitCode}` : `signal ${init.signal ?? '?'}`;
    const said = init.runtimeMessage || init.stderr?.trim() || '';
    const what = init.timeout !== undefined
      ? `timed out after ${init.timeout} ms and was killed${said ? `; it had logged: ${said}` : ''}`
      : said || 'no message';
    super(init.code ?? 'ERR_RUNTIME', `${init.command}${sub ? ` ${sub}` : ''}: ${what} (${how})`, { cause: init.cause });
    this.name = 'RuntimeError';
    this.exitCode = init.exitCode;
    this.command = init.command;
    this.args = init.args;
    this.runtimeMessage = init.runtimeMessage;
    this.stderr = init.stderr ?? '';
    this.timeout = init.timeout ?? null;
  }
}
