import { execa } from 'execa';
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
 * Runs a runtime command with an argument array (never a shell) and turns a failure into a
 * {@link RuntimeError} carrying the runtime's own last logged error, its exit code and arguments.
 */
export async function invoke(inv: Invocation): Promise<Outcome> {
  const offset = inv.logPath ? await logOffset(inv.logPath) : 0;
  const handsOff = inv.stdio !== undefined || (inv.extraFiles?.length ?? 0) > 0;
  const std = inv.stdio ?? (['ignore', 'ignore', 'ignore'] as const);
  const stdio = handsOff ? [...std, ...(inv.extraFiles ?? [])] : ([inv.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] as const);
  const r = await execa(inv.command, inv.args, {
    reject: false,
    shell: false,
    stdio: stdio as never,
    ...(inv.input !== undefined && !handsOff ? { input: inv.input } : {}),
    ...(inv.signal ? { cancelSignal: inv.signal } : {}),
    stripFinalNewline: false,
    // The runtime's children (sandbox, gofer, container init) must outlive this call.
    cleanup: false,
  });
  if (r.code === 'ENOENT' || r.code === 'EACCES') throw missingBinaryError(inv.command, r.code, r);
  if (r.isCanceled) throw abortError(inv.signal);
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
