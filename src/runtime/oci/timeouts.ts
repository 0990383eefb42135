/**
 * How long each runtime command may run before the driver gives up on it. A runtime CLI that hangs
 * (a stuck mount, a wedged sandbox, a lock another runtime process holds) must not hang the
 * supervisor with it: each call is bounded, and on expiry the command and everything in its process
 * group is sent SIGKILL and the call fails with `ERR_RUNTIME_TIMEOUT`.
 */
import { TaskioError } from '../../errors.js';

/** A runtime subcommand as the driver runs it; `version` is the `--version` / `help` probe. */
export type RuntimeCommand =
  | 'create' | 'start' | 'run' | 'exec' | 'kill' | 'delete' | 'state' | 'list' | 'ps' | 'events'
  | 'pause' | 'resume' | 'checkpoint' | 'restore' | 'update' | 'wait' | 'version';

/**
 * The default limit per command, in ms. The measured medians here are runsc create 128 ms, start
 * 42, delete 24 and runc ≈ 42 ms for a whole lifecycle; the limits leave two orders of magnitude
 * for a loaded machine and a large rootfs, and are far below the point where a supervisor should
 * have noticed:
 *
 * | command | limit | why |
 * |---|---|---|
 * | `create`, `run --detach` | 60 s | boots a sandbox (runsc) or sets up namespaces, mounts and cgroups |
 * | `checkpoint`, `restore --detach` | 5 min | write or read a memory image that may be gigabytes |
 * | `start`, `exec --detach`, `delete` | 30 s | runsc `delete` may wait 5 s for a gofer; exec starts a process in a sandbox |
 * | `kill`, `pause`, `resume`, `update`, `state`, `list`, `ps`, `events --stats` | 10 s | bookkeeping calls |
 * | `--version` / `help` probe | 10 s | |
 *
 * An attached `run` or `restore` (not `detach`), and runsc's `wait`, last as long as the task and
 * have no default limit.
 */
export const defaultTimeouts: Readonly<Record<RuntimeCommand, number>> = Object.freeze({
  create: 60_000,
  run: 60_000,
  checkpoint: 300_000,
  restore: 300_000,
  start: 30_000,
  exec: 30_000,
  delete: 30_000,
  kill: 10_000,
  pause: 10_000,
  resume: 10_000,
  update: 10_000,
  state: 10_000,
  list: 10_000,
  ps: 10_000,
  events: 10_000,
  wait: 0,
  version: 10_000,
});

/** Per-command limits in ms, as `RunscOptions.timeouts` takes them (0 = none). */
export type RuntimeTimeouts = Partial<Record<RuntimeCommand, number>>;

/**
 * The limit for one call: the call's own `timeout`, else the runtime's per-command setting, else
 * the default. 0 means none.
 * @throws TaskioError `ERR_INVALID_ARG_VALUE` for a limit that is not a finite number ≥ 0.
 */
export function timeoutFor(command: RuntimeCommand, call: number | undefined, configured: RuntimeTimeouts | undefined): number {
  return checkTimeout(call ?? configured?.[command] ?? defaultTimeouts[command], command);
}

/**
 * Checks one limit (a call's, or an entry of `RunscOptions.timeouts`).
 * @throws TaskioError `ERR_INVALID_ARG_VALUE` naming the command and the value.
 */
export function checkTimeout(ms: unknown, command: string): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `the timeout of ${command} must be a number of ms ≥ 0 (0 = none), got ${String(ms)}`);
  }
  return ms;
}

/** Checks a whole `timeouts` option: known commands, usable limits. */
export function checkTimeouts(timeouts: unknown): RuntimeTimeouts | undefined {
  if (timeouts === undefined) return undefined;
  if (timeouts === null || typeof timeouts !== 'object') {
    throw new TaskioError('ERR_INVALID_ARG_TYPE', `timeouts must be an object of ms per command, got ${String(timeouts)}`);
  }
  for (const [command, ms] of Object.entries(timeouts)) {
    if (!Object.hasOwn(defaultTimeouts, command)) {
      throw new TaskioError('ERR_INVALID_ARG_VALUE', `timeouts: unknown runtime command ${JSON.stringify(command)} (known: ${Object.keys(defaultTimeouts).join(', ')})`);
    }
    checkTimeout(ms, command);
  }
  return { ...(timeouts as RuntimeTimeouts) };
}
