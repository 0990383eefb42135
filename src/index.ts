/**
 * taskio: the stdio of long-running tasks — FIFO sets, attach and reattach, task logs, and the
 * process side that hands a runsc/runc container or host process its stdio.
 * @packageDocumentation
 */
export { TaskioError, abortError } from './errors.js';
export type { SysError } from './sys/index.js';
export {
  type Config, type FifoMode, type FifoStream, type OpenFifoOptions,
  FIFOSet, FifoWriter, isFifo, newFIFOSet, newFIFOSetInDir, openFifo, pipeSize, validateId,
} from './fifo/index.js';
export {
  type Attach, type Creator, type IO, type Opt, type Streams,
  defaultFIFODir, kNonRetaining, load, newAttach, newCreator, nonRetaining, nullIO,
  withFIFODir, withStdio, withStreams, withTerminal,
} from './attach/index.js';
export { DirectIO, newDirectIO } from './direct/index.js';
export {
  type CopyFromOptions, type FollowLogOptions, type LogEntry, type LogFormat, type LoggingDriverConfig,
  type LoggingDriverFn, type LogStreamName, type LogWriterOptions, type ParsedLogOptions,
  LogWriter, binaryIO, followLog, logFile, logURI, logURIGenerator, loggingDriverFds, openLogWriter,
  parseLogOptions, runLoggingDriver, terminalBinaryIO, terminalLogURI,
} from './logfile/index.js';
export {
  type CreateOptions as OciCreateOptions, type ExecOptions as OciExecOptions, type ProcessSpec,
  type RunscOptions, type RuntimeFeatures, type State as OciState, type Stats as OciStats,
  Runsc, RuntimeError, createBusyboxBundle, newRunsc,
} from './runtime/oci/index.js';
/** HCS compute systems (hcsshim's `hcs` package); the Windows binding is not verified on Windows. */
export * as hcs from './runtime/hcs/index.js';
/** Job objects (hcsshim's `jobobject` API) on Linux cgroups v1, v2 and hybrid. */
export * from './runtime/jobobject/index.js';
export {
  type Exit, type MonitorOptions, type ProcessMonitor,
  ExitSubscription, Monitor, defaultMonitor, statusFromCodeSignal,
} from './runtime/reaper/index.js';
export { type ConsoleCopy, type ConsoleSocket, type CopyConsoleOptions, Console, copyConsole, newConsoleSocket } from './runtime/console/index.js';
export { type CreateIOOptions, type Target, ProcessIO, createIO, parseTarget } from './runtime/stdio/index.js';
export {
  type CheckpointConfig, type CreateConfig, type ExecConfig, type InitOptions, type Mount, type ProcessStatus,
  type RestoreConfig, type Runtime, type RuntimeCreateOptions, type RuntimeExecOptions, type RuntimeRestoreOptions,
  type Stdio, type Terminal, type WinSize, Init, Process, invalidState,
} from './runtime/proc/index.js';
export { type HostRuntimeOptions, HostRuntime, HostTerminal, groupStats } from './runtime/host/index.js';
/** libcontainer's `Container` over the runsc, runc and host backends. */
export {
  type ContainerBackend, type ContainerConfig, type ContainerErrorCode, type ContainerStats, type CreateContainerOptions,
  type HostBackendOptions, type JobRuntimeOptions, type ProcessConfig, type RunState,
  Container, ContainerError, ErrorCode, JobRuntime, createContainer, hostBackend, ociBackend,
} from './runtime/container/index.js';
/** The taskio daemon and its client (also the `taskio/daemon` subpath). */
export {
  type AttachEnd, type AttachOptions as DaemonAttachOptions, type Attachment, type ConnectOptions, type CreateTaskRequest,
  type DaemonVersion, type ExecHandle, type ExitRecord, type LogsOptions, type TaskEvent, type TaskLimits, type TaskStats,
  type TaskState, type TaskView,
  Daemon, DaemonClient, connectDaemon, defaultDaemonRoot,
} from './daemon/index.js';
