import { TaskioError } from '../../errors.js';

/**
 * One entry of the `ErrorEvents` array that HCS puts in a result document: the detail behind a
 * failed call. Kept as HCS sends it so a caller can log or match on `eventId`/`provider`.
 */
export interface ErrorEvent {
  /** The fully formatted message. */
  message?: string;
  /** A stack trace as text, when HCS provides one. */
  stackTrace?: string;
  /** The ETW provider GUID that raised the event. */
  provider?: string;
  /** The event id within that provider. */
  eventId?: number;
  /** Provider-specific flags. */
  flags?: number;
  /** The component that raised the event. */
  source?: string;
}

/** Renders one error event the way hcsshim appends events to an error message. */
export function formatErrorEvent(ev: ErrorEvent): string {
  let s = '[Event Detail: ' + (ev.message ?? '');
  if (ev.stackTrace) s += ' Stack Trace: ' + ev.stackTrace;
  if (ev.provider) s += ' Provider: ' + ev.provider;
  if (ev.eventId) s += ` EventID: ${ev.eventId}`;
  if (ev.flags) s += ` flags: ${ev.flags}`;
  if (ev.source) s += ' Source: ' + ev.source;
  return s + ']';
}

/**
 * Reads the `ErrorEvents` out of an HCS result document (`{"Error":…,"ErrorMessage":…,"ErrorEvents":[…]}`).
 * A missing, empty or unparsable document yields no events: the HRESULT alone still carries the failure,
 * and a garbled detail document must not hide it.
 */
export function processHcsResult(resultJSON: string | undefined): ErrorEvent[] {
  if (!resultJSON) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(resultJSON);
  } catch {
    return [];
  }
  const raw = (doc as { ErrorEvents?: unknown } | null)?.ErrorEvents;
  if (!Array.isArray(raw)) return [];
  return raw.map((e: Record<string, unknown>) => {
    const ev: ErrorEvent = {};
    if (typeof e['Message'] === 'string') ev.message = e['Message'];
    if (typeof e['StackTrace'] === 'string') ev.stackTrace = e['StackTrace'];
    if (typeof e['Provider'] === 'string') ev.provider = e['Provider'];
    if (typeof e['EventId'] === 'number') ev.eventId = e['EventId'];
    if (typeof e['Flags'] === 'number') ev.flags = e['Flags'];
    if (typeof e['Source'] === 'string') ev.source = e['Source'];
    return ev;
  });
}

/**
 * A numeric Windows error (Win32 code or HRESULT), hcsshim's `syscall.Errno` values. Two instances with
 * the same `errno` are the same error for the classifiers, so an error decoded from a fresh HRESULT
 * matches the exported constant.
 */
export class HcsErrno extends TaskioError {
  /** The unsigned 32-bit value (a Win32 code such as 0x490, or an HRESULT such as 0xc037010e). */
  readonly errno: number;

  constructor(errno: number, code: string, message: string) {
    super(code, message);
    this.name = 'HcsErrno';
    this.errno = errno >>> 0;
  }
}

/**
 * A fixed error that is not a Windows number (hcsshim's `errors.New` values). Matched by identity or,
 * across duplicated module instances, by `code`.
 */
export class HcsSentinel extends TaskioError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'HcsSentinel';
  }
}

const hex = (n: number): string => '0x' + (n >>> 0).toString(16);

/** The compute system being operated on no longer exists (HCS_E_SYSTEM_NOT_FOUND, NTSTATUS form). */
export const ErrComputeSystemDoesNotExist = new HcsErrno(0xc037010e, 'HCS_E_SYSTEM_NOT_FOUND', 'A virtual machine or container with the specified identifier does not exist.');
/** The referenced object does not exist (ERROR_NOT_FOUND); for a process this also means it already exited. */
export const ErrElementNotFound = new HcsErrno(0x490, 'ERROR_NOT_FOUND', 'Element not found.');
/** The request is not supported (ERROR_NOT_SUPPORTED). */
export const ErrNotSupported = new HcsErrno(0x32, 'ERROR_NOT_SUPPORTED', 'The request is not supported.');
/** The request sent to HCS is invalid or unsupported (ERROR_INVALID_DATA; as an HRESULT 0x8007000d). */
export const ErrInvalidData = new HcsErrno(0xd, 'ERROR_INVALID_DATA', 'The data is invalid.');
/** The handle generating the notification being waited on was closed. */
export const ErrHandleClose = new HcsSentinel('ERR_HCS_HANDLE_CLOSE', 'hcs: the handle generating this notification has been closed');
/** A handle was used after `close()`. */
export const ErrAlreadyClosed = new HcsSentinel('ERR_HCS_ALREADY_CLOSED', 'hcs: the handle has already been closed');
/** A wait was asked for a notification type the handle does not deliver. */
export const ErrInvalidNotificationType = new HcsSentinel('ERR_HCS_INVALID_NOTIFICATION_TYPE', 'hcs: invalid notification type');
/** The process is not in a valid state for the requested operation (e.g. `exitCode()` before it exited). */
export const ErrInvalidProcessState = new HcsSentinel('ERR_HCS_INVALID_PROCESS_STATE', 'the process is in an invalid state for the attempted operation');
/** Waiting for a notification timed out. */
export const ErrTimeout = new HcsSentinel('ERR_HCS_TIMEOUT', 'hcs: timeout waiting for notification');
/** The compute system exited while a different notification was awaited. */
export const ErrUnexpectedContainerExit = new HcsSentinel('ERR_HCS_UNEXPECTED_CONTAINER_EXIT', 'unexpected container exit');
/** Communication with the compute service was lost while a notification was awaited. */
export const ErrUnexpectedProcessAbort = new HcsSentinel('ERR_HCS_UNEXPECTED_PROCESS_ABORT', 'lost communication with compute service');
/** HCS returned an empty or invalid value. */
export const ErrUnexpectedValue = new HcsSentinel('ERR_HCS_UNEXPECTED_VALUE', 'unexpected value returned from hcs');
/** HCS explicitly denied the operation. */
export const ErrOperationDenied = new HcsSentinel('ERR_HCS_OPERATION_DENIED', 'operation denied');
/** A shutdown or terminate was asked of a stopped compute system. */
export const ErrVmcomputeAlreadyStopped = new HcsErrno(0xc0370110, 'HCS_E_SYSTEM_ALREADY_STOPPED', 'The operation could not be started because the compute system is already stopped.');
/** The operation is being completed asynchronously: wait for its completion notification. */
export const ErrVmcomputeOperationPending = new HcsErrno(0xc0370103, 'HCS_E_OPERATION_PENDING', 'The operation is pending and will complete asynchronously.');
/** The compute system is not in a valid state for the requested operation. */
export const ErrVmcomputeOperationInvalidState = new HcsErrno(0xc0370105, 'HCS_E_INVALID_STATE', 'The requested compute system operation is not valid in the current state.');
/** A procedure lookup failed (ERROR_PROC_NOT_FOUND): the HCS DLL lacks the entry point. */
export const ErrProcNotFound = new HcsErrno(0x7f, 'ERROR_PROC_NOT_FOUND', 'The specified procedure could not be found.');
/** Access denied (ERROR_ACCESS_DENIED); seen when enumerating while a silo terminates, and from terminating an exited process. */
export const ErrVmcomputeOperationAccessIsDenied = new HcsErrno(0x5, 'ERROR_ACCESS_DENIED', 'Access is denied.');
/** The compute system does not understand the JSON it was sent. */
export const ErrVmcomputeInvalidJSON = new HcsErrno(0xc037010d, 'HCS_E_INVALID_JSON', 'The supplied JSON document is invalid or not supported.');
/** The guest compute system does not support the message. */
export const ErrVmcomputeUnknownMessage = new HcsErrno(0xc037010b, 'HCS_E_UNKNOWN_MESSAGE', 'The guest does not support the message.');
/** The compute system terminated unexpectedly (reported through `exitError()`, not `wait()`). */
export const ErrVmcomputeUnexpectedExit = new HcsErrno(0xc0370106, 'HCS_E_UNEXPECTED_EXIT', 'The compute system exited unexpectedly.');
/**
 * The request is not supported by the platform. taskio also raises it (wrapped, with a message naming
 * `process.platform`) from every call of the HCS transport on a machine that is not Windows.
 */
export const ErrPlatformNotSupported = new HcsSentinel('ERR_PLATFORM_NOT_SUPPORTED', 'unsupported platform request');
/** The process to kill has already stopped. */
export const ErrProcessAlreadyStopped = new HcsErrno(0x8037011f, 'HCS_E_PROCESS_ALREADY_STOPPED', 'The process has already stopped.');
/** The handle is invalid (ERROR_INVALID_HANDLE), e.g. querying a compute system whose handle was closed. */
export const ErrInvalidHandle = new HcsErrno(0x6, 'ERROR_INVALID_HANDLE', 'The handle is invalid.');
/**
 * HCS_E_OPERATION_TIMEOUT: an operation wait elapsed while HCS still tracks it. Not an hcsshim export;
 * taskio classifies it with `isTimeout` so a timeout reported by HCS itself reads like one noticed here.
 */
export const ErrOperationTimeout = new HcsErrno(0x80370118, 'HCS_E_OPERATION_TIMEOUT', 'The operation timed out.');

/** Every named Windows number above, for decoding an HRESULT into the matching constant. */
const knownErrnos: readonly HcsErrno[] = [
  ErrComputeSystemDoesNotExist, ErrElementNotFound, ErrNotSupported, ErrInvalidData, ErrVmcomputeAlreadyStopped,
  ErrVmcomputeOperationPending, ErrVmcomputeOperationInvalidState, ErrProcNotFound, ErrVmcomputeOperationAccessIsDenied,
  ErrVmcomputeInvalidJSON, ErrVmcomputeUnknownMessage, ErrVmcomputeUnexpectedExit, ErrProcessAlreadyStopped,
  ErrInvalidHandle, ErrOperationTimeout,
];

/**
 * Turns an HRESULT into the errno hcsshim compares against: an `HRESULT_FROM_WIN32` value
 * (facility 7, e.g. 0x80070490) becomes its Win32 code (0x490), anything else stays as it is. Without
 * this, `ErrElementNotFound` would never match what the DLL returns.
 */
export function win32FromHresult(hr: number): number {
  const u = hr >>> 0;
  return (u & 0x1fff0000) === 0x00070000 ? u & 0xffff : u;
}

/** True when an HRESULT reports failure (the sign bit set). */
export function failedHresult(hr: number): boolean {
  return (hr | 0) < 0;
}

/**
 * The error for a failed HRESULT: the exported constant when the value is a known one, else a fresh
 * `HcsErrno` carrying the number (so it still classifies and prints its value). Returns `null` for success.
 */
export function errnoFromHresult(hr: number): HcsErrno | null {
  if (!failedHresult(hr)) return null;
  const n = win32FromHresult(hr);
  return knownErrnos.find((e) => e.errno === n) ?? new HcsErrno(n, 'HCS_E_' + hex(n).toUpperCase().slice(2), `HCS call failed with ${hex(n)}`);
}

/** The best code for a wrapper: its cause's own code when it has one, so `err.code` names the real failure. */
function codeOf(err: unknown): string {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : 'ERR_HCS';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * An error from an HCS call: the operation (`op`, hcsshim's `hcs::System::Start` style names), the
 * underlying error (`err`, also the `cause`) and the HCS error events. `code` is the cause's code.
 */
export class HcsError extends TaskioError {
  /** The operation that failed, e.g. `hcs::System::Start`. */
  readonly op: string;
  /** The underlying error: an `HcsErrno`, an `HcsSentinel` or anything the transport threw. */
  readonly err: unknown;
  /** The error events HCS attached to the failure (may be empty). */
  readonly events: readonly ErrorEvent[];

  constructor(op: string, err: unknown, events: readonly ErrorEvent[] = [], prefix?: string) {
    let message = (prefix ?? op) + ': ' + messageOf(err);
    for (const ev of events) message += '\n' + formatErrorEvent(ev);
    super(codeOf(err), message, { cause: err });
    this.name = 'HcsError';
    this.op = op;
    this.err = err;
    this.events = events;
  }
}

/** An `HcsError` from an operation on a compute system; `id` names the system. */
export class SystemError extends HcsError {
  /** The compute system id. */
  readonly id: string;

  constructor(id: string, op: string, err: unknown, events: readonly ErrorEvent[] = []) {
    super(op, err, events, `${op} ${id}`);
    this.name = 'SystemError';
    this.id = id;
  }
}

/** An `HcsError` from an operation on a process; `systemId` and `pid` name it. */
export class ProcessError extends HcsError {
  /** The id of the compute system the process runs in. */
  readonly systemId: string;
  /** The process id inside the compute system. */
  readonly pid: number;

  constructor(systemId: string, pid: number, op: string, err: unknown, events: readonly ErrorEvent[] = []) {
    super(op, err, events, `${op} ${systemId}:${pid}`);
    this.name = 'ProcessError';
    this.systemId = systemId;
    this.pid = pid;
  }
}

/** Wraps `err` in a `SystemError` unless it already is one (hcsshim never double-wraps). */
export function makeSystemError(id: string, op: string, err: unknown, events: readonly ErrorEvent[] = []): SystemError {
  return findInChain(err, (e): e is SystemError => e instanceof SystemError) ?? new SystemError(id, op, err, events);
}

/** Wraps `err` in a `ProcessError` unless it already is one. */
export function makeProcessError(systemId: string, pid: number, op: string, err: unknown, events: readonly ErrorEvent[] = []): ProcessError {
  return findInChain(err, (e): e is ProcessError => e instanceof ProcessError) ?? new ProcessError(systemId, pid, op, err, events);
}

/** Walks `err`, its `HcsError.err` and its `cause` links (Go's `errors.Unwrap` chain), stopping on cycles. */
function findInChain<T>(err: unknown, pred: (e: unknown) => e is T): T | undefined {
  const seen = new Set<unknown>();
  let cur: unknown = err;
  while (cur !== undefined && cur !== null && !seen.has(cur)) {
    if (pred(cur)) return cur;
    seen.add(cur);
    cur = cur instanceof HcsError ? cur.err : (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Go's `errors.Is` for these values: a matching errno number, the same sentinel, or the same sentinel code. */
function matches(e: unknown, target: HcsErrno | HcsSentinel): boolean {
  if (e === target) return true;
  if (target instanceof HcsErrno) return e instanceof HcsErrno && e.errno === target.errno;
  return e instanceof HcsSentinel && e.code === target.code;
}

/** True when `err` or anything it wraps is one of `targets` (hcsshim's vectorised `hcserror.Is`). */
export function isHcsError(err: unknown, ...targets: (HcsErrno | HcsSentinel)[]): boolean {
  return findInChain(err, (e): e is unknown => targets.some((t) => matches(e, t))) !== undefined;
}

/**
 * The compute system or process does not exist. `ErrElementNotFound` also means a process already
 * exited, so `isAlreadyStopped` is true for it as well.
 */
export function isNotExist(err: unknown): boolean {
  return isHcsError(err, ErrComputeSystemDoesNotExist, ErrElementNotFound);
}

/** The handle was invalid or already closed at the HCS level (ERROR_INVALID_HANDLE). */
export function isErrorInvalidHandle(err: unknown): boolean {
  return isHcsError(err, ErrInvalidHandle);
}

/** The System or Process was used after its own `close()`. */
export function isAlreadyClosed(err: unknown): boolean {
  return isHcsError(err, ErrAlreadyClosed);
}

/** The operation is completing in the background. */
export function isPending(err: unknown): boolean {
  return isHcsError(err, ErrVmcomputeOperationPending);
}

/**
 * Waiting for the operation timed out: `ErrTimeout`, HCS's own HCS_E_OPERATION_TIMEOUT, or any wrapped
 * error that says it is a timeout (`timeout === true` or `code === 'ETIMEDOUT'`, Node's counterpart of
 * Go's `net.Error.Timeout()`).
 */
export function isTimeout(err: unknown): boolean {
  if (isHcsError(err, ErrTimeout, ErrOperationTimeout)) return true;
  return findInChain(err, (e): e is unknown => {
    const o = e as { timeout?: unknown; code?: unknown } | null;
    return typeof o === 'object' && o !== null && (o.timeout === true || o.code === 'ETIMEDOUT');
  }) !== undefined;
}

/** The compute system or process has already stopped (or, for `ErrElementNotFound`, does not exist). */
export function isAlreadyStopped(err: unknown): boolean {
  return isHcsError(err, ErrVmcomputeAlreadyStopped, ErrProcessAlreadyStopped, ErrElementNotFound);
}

/**
 * HCS did not recognise or support the request: any of `ErrVmcomputeInvalidJSON`, `ErrInvalidData`,
 * `ErrNotSupported`, `ErrVmcomputeUnknownMessage`. `ErrPlatformNotSupported` is deliberately not included,
 * as in hcsshim: test it with `isPlatformNotSupported`.
 */
export function isNotSupported(err: unknown): boolean {
  return isHcsError(err, ErrVmcomputeInvalidJSON, ErrInvalidData, ErrNotSupported, ErrVmcomputeUnknownMessage);
}

/** The compute system is not in a valid state for the operation. */
export function isOperationInvalidState(err: unknown): boolean {
  return isHcsError(err, ErrVmcomputeOperationInvalidState);
}

/** Access denied (see `ErrVmcomputeOperationAccessIsDenied`). */
export function isAccessIsDenied(err: unknown): boolean {
  return isHcsError(err, ErrVmcomputeOperationAccessIsDenied);
}

/** HCS is not available here (taskio's transport on a non-Windows machine) or refused the request as unsupported. */
export function isPlatformNotSupported(err: unknown): boolean {
  return isHcsError(err, ErrPlatformNotSupported);
}
