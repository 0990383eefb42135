/**
 * HCS (Windows Host Compute Service) compute systems and processes — hcsshim's `internal/hcs` API in
 * camelCase, published as `taskio/hcs` (and as the `hcs` namespace of the root). The System/Process
 * state machine, its errors and classifiers are pure TypeScript and run anywhere over a `Transport`;
 * the computecore.dll binding loads only on Windows and is **not verified on Windows**; elsewhere every
 * call fails with `ErrPlatformNotSupported`.
 *
 * The notification watcher and the helpers that turn HRESULTs into errors are the state machine's
 * own parts and stay inside (`watcher.ts`, `errors.ts`).
 */
export { System } from './system.js';
export { Process, type ProcessStdio } from './process.js';
export {
  HcsError, SystemError, ProcessError, HcsErrno, HcsSentinel, type ErrorEvent,
  ErrComputeSystemDoesNotExist, ErrElementNotFound, ErrNotSupported, ErrInvalidData, ErrHandleClose, ErrAlreadyClosed,
  ErrInvalidNotificationType, ErrInvalidProcessState, ErrTimeout, ErrUnexpectedContainerExit, ErrUnexpectedProcessAbort,
  ErrUnexpectedValue, ErrOperationDenied, ErrVmcomputeAlreadyStopped, ErrVmcomputeOperationPending,
  ErrVmcomputeOperationInvalidState, ErrProcNotFound, ErrVmcomputeOperationAccessIsDenied, ErrVmcomputeInvalidJSON,
  ErrVmcomputeUnknownMessage, ErrVmcomputeUnexpectedExit, ErrPlatformNotSupported, ErrProcessAlreadyStopped,
  ErrInvalidHandle, ErrOperationTimeout,
  isNotExist, isAlreadyStopped, isAlreadyClosed, isPending, isTimeout, isNotSupported, isOperationInvalidState,
  isErrorInvalidHandle, isAccessIsDenied, isPlatformNotSupported, isHcsError,
  errnoFromHresult, win32FromHresult, failedHresult,
} from './errors.js';
export { NotificationType, notificationName, type Notification } from './notification.js';
export {
  transportMethods, type Transport, type TransportResult, type ProcessInformation, type NotificationCallback,
  type SystemHandle, type ProcessHandle, type CallbackHandle,
} from './transport.js';
export { unsupportedTransport } from './unsupported.js';
export { defaultTransport } from './default-transport.js';
export { systemClock, type Clock } from './clock.js';
export { defaultTimeouts, defaultTimeoutMs, defaultLostExitDelayMs, type HcsTimeouts } from './timeouts.js';
export type { SystemOptions } from './options.js';
export {
  ModifyProcessConsoleSize, CloseProcessHandle, STDInHandle,
  type ComputeSystemQuery, type ContainerProperties, type PropertiesV2, type ProcessStatus, type ProcessModifyRequest,
} from './schema.js';
