/**
 * The container facade: libcontainer's first `Container` interface in camelCase (`id`, `runState`,
 * `config`, `processes`, `stats`, `startProcess`, `destroy`, `pause`, `resume`, `signal(pid, sig)`,
 * `wait`, `waitProcess(pid)`) over an {@link Init} on any backend: runsc and runc
 * ({@link ociBackend}) or host processes grouped in a job object ({@link hostBackend}).
 *
 * Decisions recorded here:
 * - Error codes are libcontainer's names mapped to `ERR_*` strings ({@link ErrorCode}); the
 *   runtime's own error is the `cause`. Pids that are not the container's give `ESRCH`/`ECHILD`.
 * - {@link createContainer} is libcontainer's `Factory.Create`: it creates *and starts* the init,
 *   and is atomic (a failure leaves nothing behind).
 * - Pids are in the backend's namespace: host pids for runc and host, sandbox pids for runsc.
 * - The init's exit does not destroy the container: it is `stopped` until {@link Container.destroy}
 *   (later libcontainer), so its status and output stay available.
 * - Exec'd processes keep their stdio until destroy, so `waitProcess(pid)` works at any time and a
 *   late client still reads their output.
 * - Host backend: {@link hostBackend} gives its `HostRuntime` a `jobFor` hook that asks the
 *   {@link JobRuntime} for the container's job, so every process (plain or on a pty) is born inside
 *   it through the job's join-then-exec wrapper and charged there from its first page. An inner
 *   runtime without that hook gets its processes moved in right after they started: memory charged
 *   before the move stays outside the job, and a process that double-forked away in that gap escapes.
 */
export { Container, type ContainerConfig, type ContainerStats } from './container.js';
export { createContainer, type CreateContainerOptions } from './create.js';
export { ContainerError, ErrorCode, type ContainerErrorCode } from './errors.js';
export type { RunState } from './runState.js';
export type { ProcessConfig } from './processConfig.js';
export type { ContainerBackend } from './backend.js';
export { ociBackend } from './ociBackend.js';
export { hostBackend, type HostBackendOptions } from './hostBackend.js';
export { JobRuntime, type JobRuntimeOptions } from './jobRuntime.js';
