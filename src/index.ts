/**
 * taskio: the stdio of long-running tasks — FIFO sets, attach and reattach, task logs, and the
 * process side that hands a runsc/runc container or host process its stdio.
 *
 * The root holds the client side (containerd's `cio`: FIFO sets, {@link newCreator}, {@link newAttach},
 * {@link DirectIO}) and re-exports the parts that also have a subpath of their own: `taskio/logs`,
 * `taskio/runtime`, `taskio/jobobject` and `taskio/hcs` (as the `hcs` namespace here).
 *
 * Importing taskio loads no native code, so it works on every platform Node runs on. koffi (libc) loads
 * on the first call that needs a Linux system call — elsewhere that call throws
 * `ERR_PLATFORM_NOT_SUPPORTED` — and node-pty on the first host terminal; a native module that cannot be
 * loaded gives `ERR_NATIVE_MODULE`, naming it and why.
 * @packageDocumentation
 */
export { TaskioError, abortError } from './errors.js';
export { type PrivateDirOptions, ensurePrivateDir, runtimeDir } from './privateDir.js';
export type { SysError } from './sys/index.js';
export {
  type Config, type FifoMode, type FifoStream, type OpenFifoOptions,
  FIFOSet, FifoWriter, isFifo, newFIFOSet, newFIFOSetInDir, openFifo, pipeSize, validateId,
} from './fifo/index.js';
export {
  type Attach, type Creator, type IO, type Opt, type Streams,
  defaultFIFODir, kNonRetaining, load, newAttach, newCreator, nonRetaining, nullIO,
  withCoalescing, withFIFODir, withStdinClose, withStdio, withStreams, withTerminal,
} from './attach/index.js';
export { DirectIO, newDirectIO } from './direct/index.js';
export * from './logs.js';
export * from './runtime.js';
export * from './jobobject.js';
/** HCS compute systems (hcsshim's `hcs` package), also published as `taskio/hcs`; the Windows binding is not verified on Windows. */
export * as hcs from './hcs.js';
/** The taskio daemon and its client (also the `taskio/daemon` subpath). */
export {
  type AttachEnd, type AttachOptions as DaemonAttachOptions, type Attachment, type ConnectOptions, type CreateAttachOptions, type CreatedAttachment, type CreateTaskRequest,
  type DaemonVersion, type ExecHandle, type ExitRecord, type LogsOptions, type SystemInfo, type TaskEvent, type TaskLimits, type TaskStats,
  type TaskState, type TaskView,
  Daemon, DaemonClient, connectDaemon, defaultDaemonRoot,
} from './daemon/index.js';
