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
 * - Host backend: `HostRuntime` starts each process inside the container's job from its first
 *   instruction (its `jobFor` hook asks the {@link JobRuntime}); processes of any other inner
 *   runtime are moved in right after they started, with the descendants forked meanwhile (memory
 *   charged before the move stays outside; a process that double-forked away in that gap escapes).
 * - Ids are checked with the one id rule before any path is built from them. The state directory
 *   (`stateDir`) is made by the factory and must not exist (containerd refuses an existing bundle
 *   directory the same way); its parent is made 0700 and must be private. Nothing is ever removed
 *   recursively: destroy removes the pid files and then the empty directory.
 * - Every container is a `Lifecycle` (`src/lifecycle.ts`: transition table + operation queue): calls run one at
 *   a time and a duplicate id is refused by the runtime (`IdInUse`), never by a per-process list.
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
