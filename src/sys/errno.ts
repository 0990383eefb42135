import { getSystemErrorMap } from 'node:util';

/** An error from a system call, shaped like Node's own (`code`, `errno`, `syscall`, `path`). */
export interface SysError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

/**
 * Builds an error for a failed libc call the way Node builds its own: `errno` is negative,
 * `code` is the symbolic name, and the message reads `ENXIO: no such device or address, open '/x'`.
 */
export function sysError(syscall: string, errno: number, path?: string): SysError {
  const [code, text] = getSystemErrorMap().get(-errno) ?? [`E${errno}`, 'unknown error'];
  const where = path === undefined ? syscall : `${syscall} '${path}'`;
  const err = new Error(`${code}: ${text}, ${where}`) as SysError;
  err.code = code;
  err.errno = -errno;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  return err;
}

/** Tells whether `err` is a system error with the given code. */
export function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
