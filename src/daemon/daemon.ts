import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { TaskioError } from '../errors.js';
import { packageVersion } from '../packageFiles.js';
import { ensurePrivateDir } from '../privateDir.js';
import { closeInheritedFds } from '../sys/index.js';
import { enableCgroupWarmup } from '../runtime/jobobject/index.js';
import { defaultMonitor } from '../runtime/reaper/index.js';
import { apiRouter } from './api.js';
import { DaemonLock } from './daemonLock.js';
import { ownExitRecorder } from './exitRecords.js';
import type { ProcessIdentity } from './recordedExits.js';
import { clientErrorResponse } from './httpError.js';
import { EventBus } from './events.js';
import { ExecFifoSweeper } from './execFifoSweeper.js';
import { DaemonLayout, defaultDaemonRoot } from './layout.js';
import { findRuntimes } from './runtimes.js';
import { TaskManager } from './tasks.js';
import { sweepStaleJobs } from './staleJobs.js';

/** Options of {@link startDaemon}. */
export interface DaemonOptions {
  /** The state root (default: {@link defaultDaemonRoot}). */
  root?: string;
  /** Where the daemon logs (default: pino JSON on stderr, level `$TASKIO_LOG_LEVEL` or info). */
  logger?: Logger;
  /**
   * Closes the fds this process inherited (not close-on-exec, above 2) before anything starts —
   * what `taskio daemon` does: whatever started it (a client, a CI step, an ssh session) may have
   * left pipes that would otherwise stay open as long as the daemon and its tasks live. Not for a
   * daemon inside a process that opened such fds itself (default false).
   */
  closeInheritedFds?: boolean;
  /**
   * The exit recorder above the daemon (`taskio daemon` finds it: `ownExitRecorder`), recorded with
   * each run, so a later daemon knows whose record to wait for. Absent: none.
   */
  exitRecorder?: ProcessIdentity | null;
}

/**
 * A running taskio daemon: the task host as a process of its own, one per state root. It holds
 * `<root>/daemon.lock`, is the child subreaper of its tasks, took over the tasks an earlier daemon
 * left, and serves the HTTP API on `<root>/taskio.sock`.
 */
export class Daemon {
  readonly layout: DaemonLayout;
  readonly #server: http.Server;
  readonly #lock: DaemonLock;
  readonly #tasks: TaskManager;
  readonly #execFifos: ExecFifoSweeper;
  readonly #logger: Logger;
  readonly #upgraded = new Set<Duplex>();
  #closing: Promise<void> | null = null;

  private constructor(layout: DaemonLayout, server: http.Server, lock: DaemonLock, tasks: TaskManager, execFifos: ExecFifoSweeper, logger: Logger) {
    this.layout = layout;
    this.#server = server;
    this.#lock = lock;
    this.#tasks = tasks;
    this.#execFifos = execFifos;
    this.#logger = logger;
  }

  /**
   * Starts a daemon on `opts.root`: checks the root (ours, not group/other writable), takes the
   * lock, becomes the subreaper, adopts the tasks found, then listens.
   * @throws TaskioError `ERR_UNSAFE_DIR` (a root that is not ours), `ERR_DAEMON_RUNNING` (naming its pid).
   */
  static async start(opts: DaemonOptions = {}): Promise<Daemon> {
    const inherited = opts.closeInheritedFds === true ? closeInheritedFds() : [];
    const logger = opts.logger ?? await defaultLogger();
    const layout = new DaemonLayout(path.resolve(opts.root ?? defaultDaemonRoot())); // a root too long is refused before it is made
    const root = ensurePrivateDir(layout.root);
    const lock = DaemonLock.acquire(layout.lock);
    const execFifos = new ExecFifoSweeper(layout.fifo, logger);
    try {
      // Where clients make their exec FIFO sets: made here, once, so that an exec the daemon
      // refuses leaves the root as it was (the client removes its set, and made no directory).
      // Not fatal: the daemon itself never uses it, and a client checks it before use.
      try {
        fs.mkdirSync(layout.fifo, { recursive: true, mode: 0o700 });
      } catch (err) {
        logger.warn({ err, dir: layout.fifo }, 'cannot make the directory for exec FIFO sets');
      }
      // Orphans of the tasks (runsc's sandbox, runc's init) are re-parented here from now on.
      defaultMonitor.start();
      const runtimes = findRuntimes();
      const events = new EventBus();
      const tasks = new TaskManager({ layout, events, logger, execFifos, exitRecorder: opts.exitRecorder ?? null }, runtimes);
      await tasks.adoptAll();
      // After the records are read, before any create: the jobs a lost state left behind.
      await sweepStaleJobs(layout, logger);
      // The FIFO sets killed clients left (the execs of an earlier daemon are not known to this one).
      execFifos.start();
      const router = apiRouter({ version: packageVersion(), layout, runtimes, tasks, events, logger });
      // A request must be read within a minute (its head within 30 s): the largest body is 1 MiB on a
      // local socket, and a client that stalls mid-request would otherwise hold its connection for
      // ever. Only reading the request is timed: an answer may stream for as long as it lasts.
      const server = http.createServer({ headersTimeout: 30_000, requestTimeout: 60_000, keepAliveTimeout: 65_000 });
      const daemon = new Daemon(layout, server, lock, tasks, execFifos, logger);
      server.on('request', router.onRequest);
      server.on('checkContinue', router.onCheckContinue);
      server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        daemon.#upgraded.add(socket);
        socket.once('close', () => daemon.#upgraded.delete(socket));
        router.onUpgrade(req, socket, head);
      });
      server.on('connect', router.onConnect);
      server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
        logger.debug({ err }, 'bad request');
        if (err.code === 'ECONNRESET' || !socket.writable) socket.destroy();
        else socket.end(clientErrorResponse(err));
      });
      await daemon.#listen();
      logger.info({ root, socket: layout.socket, tasks: tasks.size, runtimes, ...(opts.exitRecorder ? { exitRecorder: opts.exitRecorder.pid } : {}), ...(inherited.length > 0 ? { closedInheritedFds: inherited } : {}) }, 'taskio daemon ready');
      return daemon;
    } catch (err) {
      execFifos.close();
      lock.release();
      throw err;
    }
  }

  async #listen(): Promise<void> {
    const sock = this.layout.socket;
    // We hold the lock: a socket left there is a dead daemon's. Anything else is not ours to remove.
    const st = fs.lstatSync(sock, { throwIfNoEntry: false });
    if (st?.isSocket()) fs.unlinkSync(sock);
    else if (st) throw new TaskioError('ERR_UNSAFE_DIR', `${sock} exists and is not a socket: refusing to replace it`);
    // 0600 from its first moment (the root is 0700 anyway).
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        this.#server.once('error', reject);
        this.#server.listen(sock, () => {
          this.#server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(old);
    }
    fs.chmodSync(sock, 0o600);
  }

  /**
   * Stops the daemon and leaves every task running (containerd's live restore): the API closes,
   * log copies stop (unread output waits in the pipes for the next daemon), the lock is released.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#logger.info('taskio daemon stopping; tasks keep running');
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#server.closeAllConnections();
      for (const s of this.#upgraded) s.destroy();
      await closed;
      this.#execFifos.close();
      await this.#tasks.shutdown();
      fs.rmSync(this.layout.socket, { force: true });
      this.#lock.release();
    })();
    return this.#closing;
  }
}

/** `taskio daemon`: runs a daemon in the foreground until SIGTERM/SIGINT. */
export async function runDaemonMain(root: string | undefined): Promise<void> {
  let daemon: Daemon;
  // This process never moves itself between cgroups: runtime starts may warm the kernel's cgroup
  // migration lock with its own pid.
  enableCgroupWarmup();
  try {
    daemon = await Daemon.start({ ...(root !== undefined ? { root: path.resolve(root) } : {}), closeInheritedFds: true, exitRecorder: ownExitRecorder() });
  } catch (err) {
    process.stderr.write(`taskio daemon: ${(err as Error).message}\n`);
    process.exit((err as { code?: string }).code === 'ERR_DAEMON_RUNNING' ? 3 : 1);
  }
  // One stop often comes as two signals: whoever signals every `taskio daemon` process (pkill,
  // systemd's stop of the unit's cgroup) reaches this one and the exit recorder above it, which
  // passes the signal on. The daemon stops once; as dockerd, it gives up its clean stop at the third
  // (128 + n), its tasks left running all the same. Before, the second ended it by the signal's
  // default action, mid-stop or before it began.
  let stops = 0;
  const stop = (signal: NodeJS.Signals): void => {
    stops += 1;
    if (stops === 1) void daemon.close().finally(() => process.exit(0));
    else if (stops >= forceStopAt) process.exit(128 + os.constants.signals[signal]);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A hang-up (the terminal of a foreground `taskio daemon` closed; the recorder passes it on) is a
  // stop too, and a clean one: by its default action the daemon died mid-request, its socket left.
  // The daemon has no configuration to reload, which is what dockerd does on SIGHUP.
  process.on('SIGHUP', stop);
}

/** The stop signal that ends the daemon without its clean stop (dockerd's third). */
const forceStopAt = 3;

/**
 * The daemon's log when it is given none: pino JSON on stderr, written synchronously, at
 * `$TASKIO_LOG_LEVEL` or info. pino is loaded here, not with the module: importing taskio does
 * not start a daemon.
 */
async function defaultLogger(): Promise<Logger> {
  const { pino } = await import('pino');
  return pino({ level: process.env.TASKIO_LOG_LEVEL ?? 'info', base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
}
