/**
 * `taskio/runtime`: the process side of a task, what a containerd shim or conmon does, in-process —
 * the OCI runtime driver for runsc and runc ({@link Runsc}), the host-process backend
 * ({@link HostRuntime}), gVisor's shim state machines ({@link Init}, {@link Process}), process-side
 * stdio ({@link createIO}), consoles, the child-subreaper exit monitor ({@link defaultMonitor}) and
 * libcontainer's {@link Container} over all of them.
 *
 * Importing it loads no native code. The calls that need Linux system calls load koffi on first use
 * and throw `ERR_PLATFORM_NOT_SUPPORTED` elsewhere (`ERR_NATIVE_MODULE` when koffi itself cannot be
 * loaded); a host terminal loads node-pty the same way.
 * @packageDocumentation
 */
export {
  type CallOptions as OciCallOptions, type CheckpointOptions as OciCheckpointOptions, type ContainerInfo,
  type CreateOptions as OciCreateOptions, type DeleteOptions as OciDeleteOptions, type Dialect,
  type ExecOptions as OciExecOptions, type KillOptions as OciKillOptions, type LinuxResources, type ProcessSpec,
  type RestoreOptions as OciRestoreOptions, type RunOptions as OciRunOptions, type RunscOptions, type RuntimeFeatures,
  type RuntimeCommand, type RuntimeTimeouts, defaultTimeouts,
  type State as OciState, type Stats as OciStats, type Stdio as OciStdio, type StdioFd,
  type BusyboxBundle, type BusyboxBundleOptions, type OciSpec,
  Runsc, RuntimeError, createBusyboxBundle, newRunsc,
} from './runtime/oci/index.js';
export {
  type Exit, type ExitSubscriptionEvents, type MonitorOptions, type ProcessMonitor,
  ExitSubscription, Monitor, defaultMonitor, statusFromCodeSignal,
} from './runtime/reaper/index.js';
export {
  type ConsoleCopy, type ConsoleSocket, type CopyConsoleOptions,
  Console, copyConsole, newConsoleSocket,
} from './runtime/console/index.js';
export { type CreateIOOptions, type ProcessIOEvents, type Target, ProcessIO, createIO, parseTarget } from './runtime/stdio/index.js';
export {
  type CheckpointConfig, type CreateConfig, type ExecConfig, type ExecStatus, type InitOptions, type InitStatus, type Mount, type ProcessStatus,
  type RestoreConfig, type Runtime, type RuntimeCreateOptions, type RuntimeExecOptions, type RuntimeRestoreOptions,
  type Stdio, type Terminal, type WinSize, Init, Process,
} from './runtime/proc/index.js';
export { type HostRuntimeOptions, HostRuntime, HostTerminal, groupStats } from './runtime/host/index.js';
export {
  type ContainerBackend, type ContainerConfig, type ContainerErrorCode, type ContainerStats, type CreateContainerOptions,
  type HostBackendOptions, type JobRuntimeOptions, type ProcessConfig, type RunState,
  Container, ContainerError, ErrorCode, JobRuntime, createContainer, hostBackend, ociBackend,
} from './runtime/container/index.js';
