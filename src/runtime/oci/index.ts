/** The OCI runtime driver: runsc and runc through one class, plus a busybox bundle builder for tests and demos. */
export { Runsc, newRunsc, type RunscOptions } from './runsc.js';
export { RuntimeError } from './error.js';
export { detectFeatures, type RuntimeFeatures } from './dialect.js';
export { parseStats } from './stats.js';
export { signalNumber } from './signal.js';
export { lastLogError, parseLogEntries } from './log.js';
export { createBusyboxBundle, type BusyboxBundle, type BusyboxBundleOptions, type OciSpec } from './bundle.js';
export type {
  CallOptions, CheckpointOptions, ContainerInfo, CreateOptions, DeleteOptions, Dialect, ExecOptions, KillOptions,
  LinuxResources, ProcessSpec, RestoreOptions, RunOptions, State, Stats, Stdio, StdioFd,
} from './types.js';
