import { closeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { StdioFd } from '../oci/index.js';

/** The two output streams of a task. */
export type OutputName = 'stdout' | 'stderr';

/**
 * Where a task's output goes, seen from the task host: an fd per stream for the runtime (each its
 * own file description), or a Node `Writable` when taskio copies itself (a console's output).
 * @internal
 */
export interface OutputSink {
  /** The fd the runtime hands the task as `name`; opened for the child alone. */
  childFd(name: OutputName): StdioFd;
  /** A `Writable` taskio copies into (terminal mode); made on first call. */
  writable(): Writable;
  /** Closes this process's copies of the fds given to the runtime (it holds its own now). */
  closeChildFds(): void;
  /** Resolves once everything the task wrote reached its destination; the task has exited. */
  drain(): Promise<void>;
  /** Releases everything now; what was not delivered is dropped. Idempotent. */
  close(): Promise<void>;
}

/** Closes an fd, ignoring one already closed. */
export function closeQuietly(fd: number | null | undefined): void {
  if (fd === null || fd === undefined || fd < 0) return;
  try {
    closeSync(fd);
  } catch {
    // EBADF: already closed.
  }
}
