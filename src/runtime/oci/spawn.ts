import type { Options, Result } from 'execa';
import { TaskioError, abortError } from '../../errors.js';
import { RuntimeError } from './error.js';
import { runningMonitor } from '../reaper/monitor.js';
import { limitCommand, type CommandBounds, type Cut } from './limits.js';
import { lastLogError, logOffset } from './log.js';
import { cannotRunCodes, runMonitored, type Ran } from './monitoredRun.js';
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

/**
 * Runs `command` (never through a shell) with execa, in a session of its own, within `bounds`
 * ({@link limitCommand}). A session of its own also keeps a terminal's Ctrl-C, meant for the
 * supervisor, away from the runtime in the middle of a call.
 */
export async function runBounded(command: string, args: readonly string[], options: Options, bounds: CommandBounds): Promise<{ result: Result; cut: Cut }> {
  if (bounds.signal?.aborted) throw abortError(bounds.signal);
  const { execa } = await loadExeca();
  if (bounds.signal?.aborted) throw abortError(bounds.signal);
  const sub = execa(command, args, { ...options, reject: false, shell: false, detached: true, cleanup: false });
  const limit = limitCommand(sub.pid, bounds);
  try {
    return { result: await sub, cut: limit.cut() };
  } finally {
    limit.done();
  }
}

let execaModule: Promise<typeof import('execa')> | undefined;

/**
 * execa, loaded by the first command that needs it: it is most of what importing taskio would
 * otherwise load (≈ 2.7 MB of heap), and a supervisor that reaps its children (the daemon) never
 * runs it ({@link runCommand}).
 */
function loadExeca(): Promise<typeof import('execa')> {
  return (execaModule ??= import('execa'));
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
  const r = await runCommand(inv);
  if (r.spawnError !== undefined) throw missingBinaryError(inv.command, r.spawnError, r);
  if (r.cut === 'abort') throw abortError(inv.signal);
  if (r.cut === 'timeout') throw timeoutError(inv, inv.timeout!, r, inv.logPath ? await lastLogError(inv.logPath, offset) : '');
  if (r.failed) {
    const runtimeMessage = inv.logPath ? await lastLogError(inv.logPath, offset) : '';
    throw new RuntimeError({
      command: inv.command,
      args: inv.args,
      ...(inv.subcommand ? { subcommand: inv.subcommand } : {}),
      exitCode: r.exitCode,
      runtimeMessage: runtimeMessage || lastStderrLine(r.stderr),
      stderr: r.stderr,
      ...(r.signal ? { signal: r.signal } : {}),
      cause: r,
    });
  }
  return { stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs the command of `inv` to its end, never through a shell. Where an exit monitor reaps in this
 * process (a supervisor: the daemon, a shim), through `posix_spawn` and that monitor
 * ({@link runMonitored}), which spares the fork of the whole process that libuv makes for every
 * command; elsewhere through execa. Any command a supervisor runs goes through here (the daemon's
 * `ps` too): a Node `child_process` there would race the monitor's reaping.
 */
export async function runCommand(inv: Invocation): Promise<Ran> {
  const handsOff = inv.stdio !== undefined || (inv.extraFiles?.length ?? 0) > 0;
  const std = inv.stdio ?? (['ignore', 'ignore', 'ignore'] as const);
  const bounds = { ...(inv.timeout ? { timeout: inv.timeout } : {}), ...(inv.signal ? { signal: inv.signal } : {}) };
  const monitor = runningMonitor();
  if (monitor !== null) {
    const fds = [...std.map((fd, i) => (fd === 'inherit' ? i : fd)), ...(inv.extraFiles ?? [])];
    return runMonitored(monitor, inv.command, inv.args, handsOff ? { fds } : inv.input === undefined ? {} : { input: inv.input }, bounds);
  }
  const stdio = handsOff ? [...std, ...(inv.extraFiles ?? [])] : ([inv.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] as const);
  const { result: r, cut } = await runBounded(inv.command, inv.args, {
    stdio: stdio as never,
    ...(inv.input !== undefined && !handsOff ? { input: inv.input } : {}),
    stripFinalNewline: false,
  }, bounds);
  return {
    exitCode: r.exitCode ?? null, signal: r.signal ?? null,
    stdout: typeof r.stdout === 'string' ? r.stdout : '', stderr: typeof r.stderr === 'string' ? r.stderr : '',
    failed: r.failed, cut,
    ...(r.code !== undefined && cannotRunCodes.includes(r.code) ? { spawnError: r.code } : {}),
  };
}

/** The last non-empty stderr line: where both runtimes repeat their error when no log has it. */
function lastStderrLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}
