import { execa, type Options, type Result } from 'execa';
import { TaskioError, abortError } from '../../errors.js';
import { RuntimeError } from './error.js';
import { lastLogError, logOffset } from './log.js';
import type { Stdio } from './types.js';

/** One runtime command to run. */
export interface Invocation {
  command: string;
  /** The full argument array: global flags, subcommand, its flags, positional arguments. */
  args: string[];
  /** The subcommand within `args`, named in error messages. */
  subcommand?: string;
  /** The JSON log the runtime appends to; its new error entries become the error message. */
  logPath?: string;
  /**
   * The child's fds 0–2 when it hands them on to a container (create, run, exec, restore). Nothing
   * is captured then: the container keeps those fds open, so waiting for their EOF would hang until
   * it exits; the call ends on the runtime's exit.
   */
  stdio?: Stdio;
  /** More fds for the child after 0–2 (runc `--preserve-fds`). */
  extraFiles?: readonly number[];
  /** Text written to the child's stdin (only when `stdio` is not given). */
  input?: string;
  signal?: AbortSignal;
  /** ms before the command is killed and the call fails with `ERR_RUNTIME_TIMEOUT`; 0 or absent = none. */
  timeout?: number;
}

/** What a successful command printed (empty when its stdio went to a container). */
export interface Outcome {
  stdout: string;
  stderr: string;
}

/** The error for a runtime binary that cannot be run; its message names the binary. */
export function missingBinaryError(command: string, code: string, cause?: unknown): TaskioError {
  const why = code === 'ENOENT' ? 'not found' : 'not executable';
  return new TaskioError(code, `${code}: OCI runtime binary ${why}: ${command}`, { cause });
}

/** How a {@link runBounded} command ended when it did not end by itself. */
export type Cut = 'timeout' | 'abort' | null;

/**
 * Runs `command` (never through a shell) in a process group of its own, and SIGKILLs that group
 * when `timeout` ms pass or `signal` aborts: the runtime CLI and whatever it started that is still
 * in its group (a wrapper script's children, a half-made container's helpers). The runtime's
 * children that should outlive a call — runsc's sandbox and gofer, runc's init — are only touched
 * when the call that starts them is cut off, and then the container is not usable anyway.
 * A group of its own also keeps a terminal's Ctrl-C, meant for the supervisor, away from the
 * runtime in the middle of a call.
 */
export async function runBounded(command: string, args: readonly string[], options: Options, bounds: { timeout?: number; signal?: AbortSignal }): Promise<{ result: Result; cut: Cut }> {
  if (bounds.signal?.aborted) throw abortError(bounds.signal);
  const sub = execa(command, args, { ...options, reject: false, shell: false, detached: true, cleanup: false });
  let cut: Cut = null;
  const kill = (why: Exclude<Cut, null>): void => {
    if (cut !== null || sub.pid === undefined) return;
    cut = why;
    killGroup(sub.pid);
  };
  const timer = bounds.timeout ? setTimeout(() => kill('timeout'), bounds.timeout) : undefined;
  const onAbort = (): void => kill('abort');
  bounds.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return { result: await sub, cut };
  } finally {
    clearTimeout(timer);
    bounds.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * SIGKILL to the process group led by `pid` (the command is not reaped yet, so the id is still
 * its own), or to the process alone if it has not made its group yet.
 */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already: it ended as the limit came.
    }
  }
}

/** The error of a command cut off at its time limit. */
export function timeoutError(inv: { command: string; args: readonly string[]; subcommand?: string }, timeout: number, result: unknown, runtimeMessage = ''): RuntimeError {
  return new RuntimeError({
    code: 'ERR_RUNTIME_TIMEOUT', command: inv.command, args: inv.args,
    ...(inv.subcommand ? { subcommand: inv.subcommand } : {}),
    exitCode: null, signal: 'SIGKILL', runtimeMessage, timeout, cause: result,
  });
}

/**
 * Runs a runtime command with an argument array (never a shell) and turns a failure into a
 * {@link RuntimeError} carrying the runtime's own last logged error, its exit code and arguments;
 * a command that outlives `timeout` is killed and fails with `ERR_RUNTIME_TIMEOUT`.
 */
export async function invoke(inv: Invocation): Promise<Outcome> {
  const offset = inv.logPath ? await logOffset(inv.logPath) : 0;
  const handsOff = inv.stdio !== undefined || (inv.extraFiles?.length ?? 0) > 0;
  const std = inv.stdio ?? (['ignore', 'ignore', 'ignore'] as const);
  const stdio = handsOff ? [...std, ...(inv.extraFiles ?? [])] : ([inv.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] as const);
  const { result: r, cut } = await runBounded(inv.command, inv.args, {
    stdio: stdio as never,
    ...(inv.input !== undefined && !handsOff ? { input: inv.input } : {}),
    stripFinalNewline: false,
  }, { ...(inv.timeout ? { timeout: inv.timeout } : {}), ...(inv.signal ? { signal: inv.signal } : {}) });
  if (r.code === 'ENOENT' || r.code === 'EACCES') throw missingBinaryError(inv.command, r.code, r);
  if (cut === 'abort') throw abortError(inv.signal);
  if (cut === 'timeout') throw timeoutError(inv, inv.timeout!, r, inv.logPath ? await lastLogError(inv.logPath, offset) : '');
  const stdout = typeof r.stdout === 'string' ? r.stdout : '';
  const stderr = typeof r.stderr === 'string' ? r.stderr : '';
  if (r.failed) {
    const runtimeMessage = inv.logPath ? await lastLogError(inv.logPath, offset) : '';
    throw new RuntimeError({
      command: inv.command,
      args: inv.args,
      ...(inv.subcommand ? { subcommand: inv.subcommand } : {}),
      exitCode: r.exitCode ?? null,
      runtimeMessage: runtimeMessage || lastStderrLine(stderr),
      stderr,
      ...(r.signal ? { signal: r.signal } : {}),
      cause: r,
    });
  }
  return { stdout, stderr };
}

/** The last non-empty stderr line: where both runtimes repeat their error when no log has it. */
function lastStderrLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}
