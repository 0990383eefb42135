import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { TaskioError } from '../errors.js';
import { openFifoFd } from '../fifo/index.js';
import { pidfdGetFd, pidfdOpen } from '../sys/index.js';
import { OutputKeepAlive } from './keepAlive.js';
import { killPidfd, openPidfd, pidfdExited, processStartTime } from './procStat.js';
import { processesByArgv } from '../procArgv.js';

/** What a task record keeps of its output keeper, to find it again (and only it) after a restart. */
export interface KeeperRecord {
  pid: number;
  /** `/proc/<pid>/stat` field 22: a process that reused the pid is not the keeper. */
  startTime: string;
  /** The keeper's fd number of the pty master; absent: it holds none (a task without a terminal). */
  masterFd?: number;
  /** An input keeper's fd number of the write end of the task's stdin pipe ({@link OutputKeeper.spawnInput}). */
  stdinFd?: number;
}

/** The keeper's first fd of its own (0–2 are /dev/null). */
const firstFd = 3;
const sleepPaths = ['/usr/bin/sleep', '/bin/sleep'];
/** A keeper's name (its argv[0]): without a terminal, and with one (the name it had before it held FIFOs too). */
const outputKeeperName = 'taskio-output-keeper', consoleKeeperName = 'taskio-console-keeper';
/** The name of a keeper of a task's stdin ({@link OutputKeeper.spawnInput}). */
const inputKeeperName = 'taskio-input-keeper';
const keeperNames = new Set([outputKeeperName, consoleKeeperName, inputKeeperName]);
/**
 * How long {@link OutputKeeper.stop} waits for a killed keeper to be gone. A SIGKILLed `sleep` dies
 * within a few ms, on a busy machine within tens; the bound only keeps a `rm` from hanging on one the
 * kernel cannot end (it would be stuck in an uninterruptible sleep).
 */
const goneMs = 5000;

/**
 * A task's output keeper (conmon's, containerd shim's part that outlives the manager): a
 * `sleep infinity` outside the task and the daemon that only holds the task's output FIFOs open
 * (`O_RDWR`) and, for a terminal, its pty master. Without it, while no daemon runs, the task is the
 * last holder of its FIFOs, and when it exits what the dead daemon had not read goes with the pipes
 * (a pipe's data is freed with its last fd); a terminal's master is held by the daemon alone (runc
 * and runsc send it over the console socket), so a daemon that died closed it and the task's
 * session got SIGHUP. With the keeper the task runs on (blocked once a pipe or the pty buffer is
 * full) and what it wrote waits: the next daemon takes the master back with `pidfd_getfd(2)` and
 * reads the FIFOs again. The keeper goes once the task's output is drained after its exit, or at
 * the task's removal. A task with stdin and no terminal has a second one, its input keeper
 * ({@link OutputKeeper.spawnInput}).
 */
export class OutputKeeper {
  readonly record: KeeperRecord;
  #pidfd: number | null;
  /** Set by {@link stop}: settles once the keeper is gone. */
  #gone: Promise<void> | null = null;
  /** Run by {@link stop} once the keeper is gone, before it settles (never rejects). */
  readonly #afterStop: (() => Promise<void>) | null;

  private constructor(record: KeeperRecord, pidfd: number, afterStop: (() => Promise<void>) | null = null) {
    this.record = record;
    this.#pidfd = pidfd;
    this.#afterStop = afterStop;
  }

  /**
   * Starts a keeper of the FIFOs at `fifos` and of pty master `master` (null: none). The daemon's
   * fds stay its own. On failure nothing is left (no process, no fd).
   */
  static spawn(fifos: readonly string[], master: number | null): OutputKeeper {
    // Named for what it holds: a terminal's keeper keeps the name it had before it held FIFOs too.
    return OutputKeeper.#start(master === null ? outputKeeperName : consoleKeeperName, fifos, 'rw', master === null ? [] : [master],
      master === null ? {} : { masterFd: firstFd });
  }

  /**
   * Starts a keeper of a task's stdin (containerd's shim holds it so): the write end `pipeWrite` of
   * the pipe that is the task's fd 0, so the task does not read EOF when the daemon that feeds it
   * dies; the next daemon takes it back ({@link takeStdin}) and feeds it from the stdin FIFO again.
   * It also holds the stdin FIFO at `fifo` for reading (it never reads; a FIFO's end of input counts
   * writers only), so that {@link holding} finds it by the task's directory. A process of its own, not
   * the output keeper's: containerd's `CloseIO` ends the task's stdin, and a `sleep` cannot be told
   * to close one fd — this one is stopped instead. The daemon's `pipeWrite` stays its own.
   */
  static spawnInput(fifo: string, pipeWrite: number): OutputKeeper {
    return OutputKeeper.#start(inputKeeperName, [fifo], 'r', [pipeWrite], { stdinFd: firstFd });
  }

  /**
   * Spawns `sleep infinity` named `name` holding `own` (the daemon's fds, at {@link firstFd} on)
   * and then the FIFOs at `fifos` opened with `mode`; `fds` says where it holds what. On failure
   * nothing is left (no process, no fd).
   */
  static #start(name: string, fifos: readonly string[], mode: 'r' | 'rw', own: readonly number[], fds: Omit<KeeperRecord, 'pid' | 'startTime'>): OutputKeeper {
    const sleep = sleepPaths.find((p) => fs.existsSync(p));
    if (sleep === undefined) throw new TaskioError('ERR_NOT_FOUND', `no sleep command for the ${name} (looked at ${sleepPaths.join(', ')})`);
    const opened: number[] = [];
    let pidfd = -1;
    try {
      for (const p of fifos) opened.push(openFifoFd(p, mode));
      // Its own session (detached): no terminal's hangup or the daemon's process group reaches it.
      const child = spawn(sleep, ['infinity'], {
        argv0: name, stdio: ['ignore', 'ignore', 'ignore', ...own, ...opened], detached: true, env: {},
      });
      child.on('error', () => undefined); // a failed spawn has no pid: thrown below
      child.unref();
      const pid = child.pid;
      if (pid === undefined) throw new TaskioError('ERR_INVALID_STATE', `cannot start the ${name} ${sleep}`);
      pidfd = pidfdOpen(pid);
      const startTime = processStartTime(pid);
      if (startTime === null) throw new TaskioError('ERR_INVALID_STATE', `the ${name} ${pid} went as it started`);
      return new OutputKeeper({ pid, startTime, ...fds }, pidfd);
    } catch (err) {
      if (pidfd >= 0) {
        killPidfd(pidfd);
        fs.closeSync(pidfd);
      }
      throw err;
    } finally {
      for (const fd of opened) fs.closeSync(fd);
    }
  }

  /**
   * The keeper of `record` when it still runs — the same process, not one that reused its pid — or
   * null. Holds a pidfd of it until {@link stop} or {@link close}. `afterStop` (which must not
   * reject) runs once a {@link stop} saw it gone, before the stop settles: a keeper found again is
   * not this daemon's child, and its exit is recorded where it went (the exit recorder's record).
   */
  static find(record: KeeperRecord, afterStop?: () => Promise<void>): OutputKeeper | null {
    const pidfd = openPidfd(record.pid, record.startTime);
    return pidfd === null ? null : new OutputKeeper(record, pidfd, afterStop);
  }

  /**
   * The keepers holding a FIFO of directory `dir` (a task's): processes named as keepers are
   * named, with an fd on a file directly in `dir`, each found by pid and start time. For a task whose
   * record (which names its keeper) cannot be used.
   */
  static holding(dir: string): OutputKeeper[] {
    const out: OutputKeeper[] = [];
    for (const pid of processesByArgv((argv) => keeperNames.has(argv[0] ?? ''))) {
      try {
        const startTime = processStartTime(pid);
        const fds = fs.readdirSync(`/proc/${pid}/fd`);
        if (startTime === null || !fds.some((fd) => path.dirname(fs.readlinkSync(`/proc/${pid}/fd/${fd}`)) === dir)) continue;
        const keeper = OutputKeeper.find({ pid, startTime });
        if (keeper) out.push(keeper);
      } catch {
        // gone meanwhile, or not ours to read
      }
    }
    return out;
  }

  /** Whether it holds a pty master ({@link takeMaster}). */
  get holdsMaster(): boolean {
    return this.record.masterFd !== undefined;
  }

  /** A new fd of the pty master the keeper holds (close-on-exec); the caller owns it. */
  takeMaster(): number {
    return this.#take(this.record.masterFd, 'pty master');
  }

  /** A new fd of the write end of the task's stdin pipe an input keeper holds (close-on-exec); the caller owns it. */
  takeStdin(): number {
    return this.#take(this.record.stdinFd, 'stdin pipe');
  }

  /** A new fd (`pidfd_getfd(2)`: ptrace rights over the keeper) of the keeper's fd `fd` holding `what`. */
  #take(fd: number | undefined, what: string): number {
    if (this.#pidfd === null) throw new TaskioError('ERR_INVALID_STATE', `keeper ${this.record.pid} was stopped`);
    if (fd === undefined) throw new TaskioError('ERR_INVALID_STATE', `keeper ${this.record.pid} holds no ${what}`);
    return pidfdGetFd(this.#pidfd, fd);
  }

  /**
   * After the task's exit: stops the keeper once the output FIFOs at `fifos` are empty (read by the
   * daemon's log copy, or a client), waiting at most `ms`. What is still there then stays in the
   * pipes as long as the daemon's own fds hold them.
   */
  async stopWhenDrained(fifos: readonly string[], ms: number): Promise<void> {
    let watch: OutputKeepAlive | null = null;
    try {
      watch = OutputKeepAlive.open(fifos);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([watch.closeWhenDrained(), new Promise<void>((r) => { timer = setTimeout(r, ms); })]);
      clearTimeout(timer);
    } catch {
      // the FIFOs are gone (the task was removed meanwhile): nothing is left to wait for
    } finally {
      watch?.close();
      await this.stop();
    }
  }

  /**
   * Kills the keeper (through its pidfd: never a process that reused its pid) and settles once it is
   * gone (at most {@link goneMs}), the pidfd closed then. A `rm` answers after this, as docker's
   * `rm -f` returns once the container is gone: a keeper killed but not dead yet would still hold the
   * task's FIFOs for a moment. Idempotent: every call after the first settles with the first; after
   * {@link close} it settles at once (the keeper is not this daemon's to stop any more).
   */
  stop(): Promise<void> {
    if (this.#gone !== null) return this.#gone;
    const fd = this.#pidfd;
    if (fd === null) return Promise.resolve();
    killPidfd(fd);
    this.#pidfd = null;
    // A poll that failed (not on a pidfd of its own) waits no longer, as no stop waited before.
    this.#gone = pidfdExited(fd, goneMs).catch(() => false).then(() => fs.closeSync(fd)).then(() => this.#afterStop?.());
    return this.#gone;
  }

  /** Lets go of the keeper without stopping it (the daemon shuts down; the next one takes it). Idempotent. */
  close(): void {
    if (this.#pidfd === null) return;
    fs.closeSync(this.#pidfd);
    this.#pidfd = null;
  }
}
