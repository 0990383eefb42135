import { TaskioError } from '../../errors.js';

/**
 * libcontainer's error codes (its `ErrorCode` names) as the `code` strings a {@link ContainerError}
 * carries. Names are libcontainer's; the strings follow Node's `ERR_*` style so callers can switch on
 * `err.code` the same way as for every other taskio error.
 *
 * - `IdInUse`, `InvalidIdFormat`: the factory's ({@link createContainer}).
 * - `ContainerDestroyed`, `ContainerPaused`, `ConfigInvalid`, `SystemError`: the ones the first
 *   libcontainer `Container` interface documents per call.
 * - `ContainerNotRunning`: from later libcontainer, for calls that need a live init once it exited
 *   (the first interface had no stopped state: its containers ended with their init).
 */
export const ErrorCode = {
  IdInUse: 'ERR_ID_IN_USE',
  InvalidIdFormat: 'ERR_INVALID_ID_FORMAT',
  ContainerDestroyed: 'ERR_CONTAINER_DESTROYED',
  ContainerPaused: 'ERR_CONTAINER_PAUSED',
  ContainerNotRunning: 'ERR_CONTAINER_NOT_RUNNING',
  ConfigInvalid: 'ERR_CONFIG_INVALID',
  SystemError: 'ERR_SYSTEM_ERROR',
} as const;

/** One of the {@link ErrorCode} strings. */
export type ContainerErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * An error of the container facade: `code` is one of {@link ErrorCode}; `cause` is the error of
 * the layer below (a `RuntimeError` with the runtime's logged message, an `ERR_INVALID_STATE` of
 * the Init, an errno) when there is one.
 */
export class ContainerError extends TaskioError {
  constructor(code: ContainerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ContainerError';
  }
}

/**
 * Maps an error of the Init/runtime layer to the facade's vocabulary: id, bundle and stdio problems
 * keep their meaning (`IdInUse`, `InvalidIdFormat`, `ConfigInvalid` — a state directory in a place
 * another user controls, a bad stdio URI or log option and a non-regular file where a log or pid
 * file goes are a bad configuration too), everything else is a `SystemError`
 * whose message names the operation and whose `cause` is the original. A {@link ContainerError} or
 * an errno-style error the facade chose on purpose (`ESRCH`, `ECHILD`) passes through unchanged.
 */
export function toContainerError(err: unknown, what: string): Error {
  if (err instanceof ContainerError) return err as ContainerError;
  const code = (err as { code?: unknown } | null)?.code;
  if ((code === 'ESRCH' || code === 'ECHILD') && err instanceof Error) return err;
  const message = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ERR_ALREADY_EXISTS': return new ContainerError(ErrorCode.IdInUse, `${what}: ${message}`, { cause: err });
    case 'ERR_INVALID_ID': return new ContainerError(ErrorCode.InvalidIdFormat, `${what}: ${message}`, { cause: err });
    case 'ERR_INVALID_BUNDLE': case 'ERR_INVALID_ARG_VALUE': case 'ERR_INVALID_ARG_TYPE': case 'ERR_UNSAFE_DIR':
    // The stdio the caller named: an unknown scheme, a bad `file://` URI or option, a symlink or
    // FIFO planted where a log file goes. Nothing the system did wrong.
    case 'ERR_UNKNOWN_STDIO_SCHEME': case 'ERR_INVALID_LOG_URI': case 'ERR_INVALID_LOG_OPTION': case 'ERR_NOT_REGULAR_FILE':
      return new ContainerError(ErrorCode.ConfigInvalid, `${what}: ${message}`, { cause: err });
    default: return new ContainerError(ErrorCode.SystemError, `${what}: ${message}`, { cause: err });
  }
}
