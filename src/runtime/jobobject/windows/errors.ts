import { TaskioError } from '../../../errors.js';

// Win32 error numbers (winerror.h) that job object calls return, by the names Windows gives them.
const names = new Map<number, string>([
  [1, 'ERROR_INVALID_FUNCTION'],
  [2, 'ERROR_FILE_NOT_FOUND'],
  [3, 'ERROR_PATH_NOT_FOUND'],
  [5, 'ERROR_ACCESS_DENIED'],
  [6, 'ERROR_INVALID_HANDLE'],
  [8, 'ERROR_NOT_ENOUGH_MEMORY'],
  [50, 'ERROR_NOT_SUPPORTED'],
  [87, 'ERROR_INVALID_PARAMETER'],
  [122, 'ERROR_INSUFFICIENT_BUFFER'],
  [123, 'ERROR_INVALID_NAME'],
  [161, 'ERROR_BAD_PATHNAME'],
  [183, 'ERROR_ALREADY_EXISTS'],
  [234, 'ERROR_MORE_DATA'],
  [258, 'WAIT_TIMEOUT'],
  [735, 'ERROR_ABANDONED_WAIT_0'],
  [1450, 'ERROR_NO_SYSTEM_RESOURCES'],
  [1455, 'ERROR_COMMITMENT_LIMIT'],
]);

/** `ERROR_MORE_DATA`: the buffer given to QueryInformationJobObject was too small for the pid list. */
export const ERROR_MORE_DATA = 234;
/** `WAIT_TIMEOUT`: GetQueuedCompletionStatus with a 0 timeout found no message. */
export const WAIT_TIMEOUT = 258;
/** `ERROR_ABANDONED_WAIT_0`: the completion port was closed while being read. */
export const ERROR_ABANDONED_WAIT_0 = 735;

/**
 * A failed kernel32 call, shaped like Node's system errors: `code` is the Win32 name
 * (`'ERROR_ACCESS_DENIED'`, or `'ERROR_<n>'` for a number not in the table), `errno` the GetLastError
 * value and `syscall` the function that failed.
 */
export class Win32Error extends TaskioError {
  /** The GetLastError value. */
  readonly errno: number;
  /** The kernel32 function that failed. */
  readonly syscall: string;

  constructor(syscall: string, errno: number) {
    const code = names.get(errno) ?? `ERROR_${errno}`;
    super(code, `${syscall} failed: ${code} (${errno})`);
    this.name = 'Win32Error';
    this.errno = errno;
    this.syscall = syscall;
  }
}

/** The Win32 name of an error number, as {@link Win32Error} puts it in `code`. */
export function win32ErrorName(errno: number): string {
  return names.get(errno) ?? `ERROR_${errno}`;
}
