import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { TaskioError } from '../errors.js';
import { openFifoFd } from '../fifo/index.js';
import { isCode, pidfdGetFd, pidfdOpen, pidfdSendSignal } from '../sys/index.js';
import { isSameLiveProcess, processStartTime } from './procStat.js';

/** What a task record keeps of its console keeper, to find it again (and only it) after a restart. */
export interface KeeperRecord {
  pid: number;
  /** `/proc/<pid>/stat` field 22: a process that reused the pid is not the keeper. */
  startTime: string;
  /** The keeper's fd number of the pty master. */
  masterFd: number;
}

/** The keeper's fds: the pty master, and an `O_RDWR` fd on the stdout FIFO. */
const masterFd = 3, stdoutFd = 4;
const sleepPaths = ['/usr/bin/sleep', '/bin/sleep'];
const SIGKILL = 9;

/**
 * A terminal task's console keeper: a `sleep infinity` that only holds the task's pty master (and
 * its stdout FIFO) open, outside the task and the daemon. The master is otherwise held by the daemon
 * alone (runc/runsc send it over the console socket), so a daemon that died closed it and the
 * task's session got SIGHUP; conmon and containerd's shim keep it in a process of their own for that
 * reason. While no daemon runs the task blocks once the pty buffer is full, and what the daemon had
 * copied into the stdout FIFO stays in the pipe. The next daemon takes the same master back with
 * `pidfd_getfd(2)`. The keeper goes once the task's output is drained after its exit, or at its removal.
 */
export class ConsoleKeeper {
  readonly record: KeeperRecord;
  #pidfd: number | null;

  private constructor(record: KeeperRecord, pidfd: number) {
    this.record = record;
    this.#pidfd = pidfd;
  }

  /**
   * Starts a keeper of pty master `master` and of the FIFO at `stdoutFifo`. The daemon's fds stay
   * its own. On failure nothing is left (no process, no fd).
   */
  static spawn(master: number, stdoutFifo: string): ConsoleKeeper {
    const sleep = sleepPaths.find((p) => fs.existsSync(p));
    if (sleep === undefined) throw new TaskioError('ERR_NOT_FOUND', `no sleep command for the console keeper (looked at ${sleepPaths.join(', ')})`);
    const fifo = openFifoFd(stdoutFifo, 'rw');
    let pidfd = -1;
    try {
      // Its own session (detached): no terminal's hangup or the daemon's process group reaches it.
      const child = spawn(sleep, ['infinity'], { argv0: 'taskio-console-keeper', stdio: ['ignore', 'ignore', 'ignore', master, fifo], detached: true, env: {} });
      child.on('error', () => undefined); // a failed spawn has no pid: thrown below
      child.unref();
      const pid = child.pid;
      if (pid === undefined) throw new TaskioError('ERR_INVALID_STATE', `cannot start the console keeper ${sleep}`);
      pidfd = pidfdOpen(pid);
      const startTime = processStartTime(pid);
      if (startTime === null) throw new TaskioError('ERR_INVALID_STATE', `the console keeper ${pid} went as it started`);
      return new ConsoleKeeper({ pid, startTime, masterFd, }, pidfd);
    } catch (err) {
      if (pidfd >= 0) {
        kill(pidfd);
        fs.closeSync(pidfd);
      }
      throw err;
    } finally {
      fs.closeSync(fifo);
    }
  }

  /**
   * The keeper of `record` when it still runs — the same process, not one that reused its pid — or
   * null. Holds a pidfd of it until {@link stop} or {@link close}.
   */
  static find(record: KeeperRecord): ConsoleKeeper | null {
    let pidfd: number;
    try {
      pidfd = pidfdOpen(record.pid);
    } catch (err) {
      if (isCode(err, 'ESRCH')) return null;
      throw err;
    }
    // Checked after the pidfd is open: had the pid been reused before, the start time differs; a
    // keeper that dies after the check stays the process the pidfd names.
    if (!isSameLiveProcess(record.pid, record.startTime)) {
      fs.closeSync(pidfd);
      return null;
    }
    return new ConsoleKeeper(record, pidfd);
  }

  /** A new fd of the pty master the keeper holds (close-on-exec); the caller owns it. */
  takeMaster(): number {
    if (this.#pidfd === null) throw new TaskioError('ERR_INVALID_STATE', `console keeper ${this.record.pid} was stopped`);
    return pidfdGetFd(this.#pidfd, this.record.masterFd);
  }

  /** Kills the keeper (through its pidfd: never a process that reused its pid) and closes the pidfd. Idempotent. */
  stop(): void {
    if (this.#pidfd === null) return;
    kill(this.#pidfd);
    this.close();
  }

  /** Lets go of the keeper without stopping it (the daemon shuts down; the next one takes it). Idempotent. */
  close(): void {
    if (this.#pidfd === null) return;
    fs.closeSync(this.#pidfd);
    this.#pidfd = null;
  }
}

function kill(pidfd: number): void {
  try {
    pidfdSendSignal(pidfd, SIGKILL);
  } catch (err) {
    if (!isCode(err, 'ESRCH')) throw err; // gone already
  }
}
