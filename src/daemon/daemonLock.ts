import fs from 'node:fs';
import { TaskioError } from '../errors.js';
import { tryLockExclusive } from '../sys/index.js';
import { lockHolders } from './lockHolder.js';
import { readRegularFileSync } from '../readRegularFile.js';

const { O_RDWR, O_CREAT, O_NOFOLLOW } = fs.constants;

/**
 * The daemon's exclusive `flock` on `<root>/daemon.lock`: one daemon per state root. The kernel
 * drops it when the daemon dies, however it dies, so a crash never wedges the root. The file holds
 * the winner's pid for people; the loser's message takes it from `/proc/locks`, which cannot be stale.
 */
export class DaemonLock {
  private constructor(private fd: number) {}

  /**
   * Takes the lock without waiting.
   * @throws TaskioError `ERR_DAEMON_RUNNING` naming the running daemon's pid.
   */
  static acquire(file: string): DaemonLock {
    const fd = fs.openSync(file, O_RDWR | O_CREAT | O_NOFOLLOW, 0o600);
    let locked = false;
    try {
      locked = tryLockExclusive(fd);
      if (locked) {
        fs.ftruncateSync(fd, 0);
        fs.writeSync(fd, `${process.pid}\n`, 0);
      }
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    if (!locked) {
      fs.closeSync(fd);
      const holder = lockHolders([file])[0] ?? readPid(file);
      throw new TaskioError('ERR_DAEMON_RUNNING', `a taskio daemon${holder ? ` (pid ${holder})` : ''} already runs on ${file.replace(/\/daemon\.lock$/, '')}`);
    }
    return new DaemonLock(fd);
  }

  /** Releases the lock (exit does too). */
  release(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}

function readPid(file: string): number {
  try {
    return Number.parseInt(readRegularFileSync(file) ?? '', 10) || 0;
  } catch {
    return 0;
  }
}
