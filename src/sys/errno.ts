import { constants } from 'node:os';
import { libc } from './libc.js';

// libuv's error map lacks some errnos (ECHILD, ESRCH on some builds): name them from os.constants.
// Where two names share a number (EAGAIN, EWOULDBLOCK) the first, Node's choice, wins.
const names = new Map<number, string>();
for (const [name, n] of Object.entries(constants.errno)) if (!names.has(n)) names.set(n, name);

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
  const code = names.get(errno) ?? `E${errno}`;
  const text = libc.strerror(errno).toLowerCase();
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
