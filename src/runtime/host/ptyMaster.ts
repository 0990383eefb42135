import fs from 'node:fs';
import { TaskioError, showValue } from '../../errors.js';
import { dupFd } from '../../sys/index.js';
import type { IPty } from './pty.js';

/**
 * A duplicate (close-on-exec) of the pty master of node-pty's `pty`, for a process that must hold
 * the terminal beyond this one (the daemon's output keeper inherits it). node-pty 1.x keeps the
 * master in its UnixTerminal as `_fd`, which its typings do not name (`keepLastOutput` reads it
 * too). A build that keeps it elsewhere, or whose `_fd` is no pty master, is refused here — never
 * another fd handed on — and its test fails on such an upgrade.
 * @throws TaskioError `ERR_NOT_SUPPORTED` naming what `_fd` held.
 */
export function dupPtyMaster(pty: IPty): number {
  const fd = (pty as unknown as { _fd?: unknown })._fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new TaskioError('ERR_NOT_SUPPORTED', `this node-pty keeps its pty master where taskio does not look (its UnixTerminal's _fd is ${showValue(fd)})`);
  }
  let target: string;
  try {
    target = fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch (err) {
    target = `not open: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
  // /dev/ptmx, or /dev/pts/ptmx in a devpts instance of its own.
  if (!/(^|\/)ptmx$/.test(target)) throw new TaskioError('ERR_NOT_SUPPORTED', `node-pty's UnixTerminal _fd ${fd} is no pty master (${target})`);
  return dupFd(fd);
}
