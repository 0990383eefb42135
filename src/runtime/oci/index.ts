/**
 * The OCI runtime driver: runsc and runc through one class ({@link Runsc}), plus a busybox bundle
 * builder for tests and demos.
 *
 * Decisions recorded here:
 * - Container stdio is given as fds (`stdio: [fd | 'ignore' | 'inherit', …]`); create/run/exec/restore
 *   never capture the runtime's output (the container holds it) and finish on the runtime's exit.
 * - Errors: {@link RuntimeError} (`ERR_RUNTIME`) with the last error entry the call appended to the
 *   JSON log, the exit code, the command and its args; a missing binary is `ENOENT` naming the path.
 * - Attached `run`/`restore` return the task's exit status; only a logged error makes them throw.
 *   `runAttached` also says when the container started (runc's pid file, runsc's state file).
 * - Every method that takes a container id checks it with the one id rule (`validateId`,
 *   `ERR_INVALID_ID`) before any argument is built.
 * - A duplicate id is refused before the runtime runs, in both dialects (`ERR_ALREADY_EXISTS`):
 *   runsc 2022 removes the state of an existing container when `create`/`run`/`restore` reuse its
 *   id (and leaks its sandbox), and runc's refusal is a generic error after which a cleaning caller
 *   would delete the live container. `create`/`run`/`restore` check the root's state and claim the
 *   id for the call in this process; the runtime's own duplicate refusal maps to the same code.
 * - The runtime binary knows a container by the caller's id behind a prefix made from `--root`
 *   and before `++` (`Runsc.runtimeId`): runsc names its sandbox's control socket after the id
 *   host-wide, and both runtimes default a container's cgroup to the id (runsc `/<id>`, runc
 *   `<caller's cgroup>/<id>`), so two roots could not each run one id; runsc takes an id for the
 *   beginning of any container's, so without the end `box` was ambiguous beside `box2`.
 *   Every method takes and returns the caller's id; a container made under an older id (the bare
 *   id, the prefixed one without the end) is still found by it.
 * - `update` only where the binary's help lists it (`ERR_NOT_SUPPORTED` otherwise); `kill --pid` and
 *   `internalPidFile` are runsc-only (runc: `ERR_NOT_SUPPORTED` / ignored).
 * - Every command has a time limit ({@link defaultTimeouts}: 60 s create/run, 5 min
 *   checkpoint/restore, 30 s start/exec/delete, 10 s for the rest and the `--version` probe; an
 *   attached run/restore has none), set per runtime (`timeouts`) or per call (`timeout`). A command
 *   that outlives it is SIGKILLed with its process group (each command runs in a group of its own)
 *   and the call fails with `ERR_RUNTIME_TIMEOUT` naming the command and the limit.
 * - Without a child subreaper, runsc's sandbox and gofer go to pid 1, and `runsc delete` waits until
 *   it reaps them (1–2 s on this machine kind): the host must be a subreaper that reaps promptly.
 */
export { Runsc, newRunsc, type RunscOptions } from './runsc.js';
export { RuntimeError } from './error.js';
export { detectFeatures, type RuntimeFeatures } from './dialect.js';
export { parseStats } from './stats.js';
export { signalNumber } from './signal.js';
export { defaultTimeouts, type RuntimeCommand, type RuntimeTimeouts } from './timeouts.js';
export { lastLogError, parseLogEntries } from './log.js';
export { checkBundle, readBundleConfig } from './bundleConfig.js';
export { createBusyboxBundle, type BusyboxBundle, type BusyboxBundleOptions, type OciSpec } from './bundle.js';
export type {
  AttachedRun, CallOptions, CheckpointOptions, ConsoleSize, ContainerInfo, CreateOptions, DeleteOptions, Dialect, ExecOptions, KillOptions,
  LinuxResources, ProcessSpec, RestoreOptions, RunOptions, State, Stats, Stdio, StdioFd,
} from './types.js';
export { RLIM_INFINITY, isUnlimited, ociJson, type OciRlimit } from './ociJson.js';
