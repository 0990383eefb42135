/**
 * The taskio daemon: one process per state root that owns tasks (through `src/runtime`), keeps
 * their state on disk, writes their logs, serves an HTTP API on a unix socket and re-adopts tasks
 * after a restart — and its typed client, {@link connectDaemon}.
 *
 * Decisions recorded here:
 * - Root: `--root` / `$TASKIO_ROOT`, else `/run/taskio` (root) or `$XDG_RUNTIME_DIR/taskio`;
 *   refused unless owned by the uid and not group/other writable. `daemon.lock` (flock) keeps one
 *   daemon per root; a client that finds no daemon starts one (`taskio daemon`, detached, stdio
 *   to `daemon.log`).
 * - A task is a directory `tasks/<id>/`: `task.json` and `exit` (atomic writes), its own bundle,
 *   its FIFO set, its default CRI log. Runtimes: runsc/runc with `--root <root>/runtime/<name>`,
 *   or the host backend (in a job object when it has limits).
 * - Log mode (default): the daemon reads the FIFO set and writes the log; attach follows the log.
 *   FIFO mode (`log: none`): attach is the cio attach on the FIFO set, one reader at a time.
 * - After a restart: running tasks are watched through pidfds; an exit the daemon could not see
 *   (no daemon ran, or a runc/host task was re-parented away from it) has `exitCode: null` and a
 *   reason; an adopted runsc task's status comes from its sandbox (`sandboxExits.ts`).
 *   Every task with a FIFO set has an output keeper (`outputKeeper.ts`: a process holding its
 *   output FIFOs and pty master): what it wrote while no daemon ran is read into its log, and a
 *   terminal task's terminal comes back (`pidfd_getfd`) — log, attach, `-i` input and resize go on.
 *   Without a terminal, a task with stdin has an input keeper too (`OutputKeeper.spawnInput`: it
 *   holds the write end of the task's stdin pipe, taken back with `pidfd_getfd` and fed from the
 *   FIFO again); a `binary://` logger's task has no output keeper, and its terminal goes with the daemon.
 * - Attach and logs streams are Docker's: multiplexed frames for non-terminal tasks, raw for
 *   terminals; attach is an HTTP upgrade.
 */
export { Daemon, type DaemonOptions, runDaemonMain } from './daemon.js';
export {
  type AttachEnd, type AttachOptions, type Attachment, type CallOptions, type ConnectOptions, type CreateAttachOptions, type CreatedAttachment, type DaemonVersion,
  type ExecHandle, type ExecOptions, type ExecView, type LogsOptions, type TaskStats,
  DaemonClient, connectDaemon, copyOutput,
} from './client.js';
export type { CreateTaskRequest } from './createRequest.js';
export type { NetworkMode, TaskNetwork } from './network.js';
export type { SeccompMode } from './security.js';
export type { TaskEvent, TaskEventType } from './events.js';
export type { ErrorBody } from './httpError.js';
export type { InfoRuntime, SystemInfo } from './info.js';
export { DaemonLayout, defaultDaemonRoot } from './layout.js';
export type { ExitRecord, RuntimeName, TaskLimits, TaskRecord } from './records.js';
export { defaultDaemonCommand, spawnDaemon, type SpawnDaemonOptions } from './startDaemon.js';
export { Demultiplexer, StreamType, framedSink } from './stdcopy.js';
export { DetachScanner, defaultDetachKeys, parseDetachKeys } from './detachKeys.js';
export type { TaskState, TaskView } from './task.js';
export type { TaskUpdate } from './taskUpdate.js';
export type { PruneFilters, PruneReport } from './prune.js';
