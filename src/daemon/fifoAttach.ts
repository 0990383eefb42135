import type { Readable, Writable } from 'node:stream';
import { TaskioError } from '../errors.js';
import { newAttach, withStreams, type IO } from '../attach/index.js';
import { newFIFOSet, type Config } from '../fifo/index.js';
import { OutputKeepAlive, outputPaths } from './keepAlive.js';
import { lockHolders } from './lockHolder.js';

/** What a FIFO-mode attach needs to know of its task. */
export interface FifoTask {
  id: string;
  status: string;
  stdio: Config;
}

/**
 * The cio attach on a FIFO-mode task's set, used by the client (reading the FIFOs itself) and by
 * the daemon's relay: one reader at a time — a second gets `EBUSY` naming the holder's pid.
 */
export async function attachFifoSet(task: FifoTask, stdin: Readable | null, stdout: Writable | null, stderr: Writable | null): Promise<IO> {
  try {
    return await newAttach(withStreams(stdin, stdout, task.stdio.terminal ? null : stderr))(newFIFOSet(task.stdio));
  } catch (err) {
    if ((err as { code?: string }).code !== 'EBUSY') throw err;
    const fifo = task.stdio.stdout || task.stdio.stderr;
    const pid = lockHolders([fifo])[0];
    throw new TaskioError('EBUSY', `task ${task.id} is already attached${pid ? ` by pid ${pid}` : ''}: a FIFO-mode task has one reader at a time`, { cause: err });
  }
}

/**
 * When a FIFO-mode attach has read everything: at EOF (the task exited while attached), or — for a
 * task that had exited already, whose FIFOs may have no writer left to send EOF — once the pipes
 * are empty. A task that exits as the attach opens (the view said running) may also have left no
 * writer that closes after this reader opened, and then no EOF comes either: once `exited`
 * settles, the pipes are drained the same way.
 */
export function fifoOutputEnd(task: FifoTask, io: IO, exited?: Promise<unknown>): Promise<void> {
  const drained = (): Promise<void> => {
    const probe = OutputKeepAlive.open(outputPaths(task.stdio));
    return probe.closeWhenDrained().finally(() => probe.close());
  };
  if (task.status === 'exited') return Promise.race([io.wait(), drained()]);
  if (!exited) return io.wait();
  return Promise.race([io.wait(), exited.then(drained, () => new Promise<void>(() => undefined))]);
}
