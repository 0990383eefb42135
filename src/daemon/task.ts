import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { TaskioError } from '../errors.js';
import { abortable } from '../abortable.js';
import { Lifecycle, refuse, type Transitions } from '../lifecycle.js';
import { notRunning } from './notRunning.js';
import { removeInside } from '../removeInside.js';
import type { Stats } from '../runtime/oci/index.js';
import type { ExecConfig, WinSize } from '../runtime/proc/index.js';
import type { TaskControl } from './control.js';
import type { EventBus, TaskEvent } from './events.js';
import type { ExecFifoSweeper } from './execFifoSweeper.js';
import { ExecRecords, type DaemonExec } from './execRecords.js';
import { exitFromStatus, unknownExit } from './exitStatus.js';
import { writeExitFile } from './exitFile.js';
import type { ProcessIdentity } from './recordedExits.js';
import type { OutputKeepAlive } from './keepAlive.js';
import type { DaemonLayout } from './layout.js';
import type { LogCopy } from './logCopy.js';
import type { TaskMount } from './mounts.js';
import { recordNetwork, type TaskNetwork } from './network.js';
import type { ProcessInfo } from './procStat.js';
import type { RestartPolicy } from './restartPolicy.js';
import type { TaskUlimit } from './ulimits.js';
import type { SeccompMode } from './security.js';
import { OomCounter } from './oom.js';
import type { ExitRecord, TaskRecord } from './records.js';
import { readSpec } from './bundle.js';
import { startCopyHelper } from './copyHelper.js';
import { containerCgroup, removeStaleContainerCgroup } from './containerCgroup.js';
import { jobPrefix } from './runtimes.js';
import type { HealthConfig } from './healthcheck.js';
import { HealthMonitor } from './healthMonitor.js';
import type { HealthView } from './healthState.js';

/** The states of a daemon task. */
export type TaskState = 'created' | 'running' | 'paused' | 'exited' | 'deleted';
type TaskOp = 'start' | 'kill' | 'end' | 'pause' | 'resume' | 'exec' | 'copy' | 'copiesQueued' | 'io' | 'stats' | 'update' | 'delete' | 'exit' | 'retire';

const notStarted = (what: string) => refuse(`cannot ${what} a created task: it was never started (start it first)`);
/**
 * A request that waited in the task's queue behind its removal finds no task, as one sent a moment
 * later does: 404, so a client's "delete unless gone" (containerd's `IsNotFound`) holds.
 */
const removed = refuse('no such task: it was removed', 'ERR_NOT_FOUND');

/**
 * What each operation does in each state of task `id` (gVisor shim's table, with the daemon's
 * words); an operation that needs the task running is refused in one wording once it exited.
 */
function transitionsOf(id: string): Transitions<TaskState, TaskOp> {
  const exited = refuse(notRunning(id));
  // docker's answer to an unpause of a container that is not paused, running or not.
  const notPaused = refuse(`task ${id} is not paused`);
  return {
    start: { created: 'running', deleted: removed },
    kill: { created: notStarted('kill'), running: null, paused: null, exited, deleted: removed },
    // A signal meant to end the task (stop, rm -f, kill with its stop signal or KILL): a paused one is resumed to act on it.
    end: { created: notStarted('kill'), running: null, paused: 'running', exited, deleted: removed },
    pause: { created: notStarted('pause'), running: 'paused', paused: refuse('cannot pause a paused task'), exited, deleted: removed },
    resume: { created: notStarted('resume'), paused: 'running', running: notPaused, exited: notPaused, deleted: removed },
    exec: { created: notStarted('exec in'), running: null, paused: refuse('cannot exec in a paused task'), exited, deleted: removed },
    // A copy helper (`copyHelper.ts`) stands in for an exec where none can run; a paused task's root is frozen with its processes.
    copy: {
      created: null, exited: null, running: refuse(`task ${id} is running: exec in it without "helper"`),
      paused: refuse('cannot exec in a paused task'), deleted: removed,
    },
    // Only a barrier: every copy queued before it has started or been refused.
    copiesQueued: { created: null, running: null, paused: null, exited: null, deleted: null },
    io: { created: notStarted('attach to'), running: null, paused: null, exited, deleted: removed },
    stats: { created: notStarted('stat'), running: null, paused: null, exited, deleted: removed },
    update: { created: null, running: null, paused: null, exited: null, deleted: removed },
    delete: {
      created: 'deleted', exited: 'deleted',
      running: refuse('cannot delete a running task: kill it first, or use force=1'),
      paused: refuse('cannot delete a paused task: kill it first, or use force=1'),
      deleted: removed,
    },
    exit: { created: 'exited', running: 'exited', paused: 'exited' },
    retire: {
      exited: null, deleted: removed, created: null,
      running: refuse('cannot start a running task again'), paused: refuse('cannot start a paused task again'),
    },
  };
}

/** Seconds `stop` waits after its signal before it kills, unless the task says otherwise (docker's 10). */
export const defaultStopTimeout = 10;

/** How long after an exit a wait or a remove waits for the output to be complete. */
export const outputGraceMs = 2000;
/**
 * How long a copy helper runs without a client waiting for it before it is ended as abandoned
 * ({@link DaemonTask.copyWaiting}); `taskio cp` waits for it within milliseconds.
 */
export const copyWaitGraceMs = 5000;

export type { DaemonExec } from './execRecords.js';

/** What `GET /tasks/:id` shows. */
export interface TaskView {
  id: string;
  /**
   * Its state; `restarting` while it waits to be started again by its restart policy; `dead` when
   * its record cannot be used (docker's: only rm removes it, see {@link reason}).
   */
  status: TaskState | 'restarting' | 'dead';
  /** A `dead` task: what is wrong with its record. Absent otherwise. */
  reason?: string;
  /** `unknown`: a dead task whose record does not say. */
  runtime: TaskRecord['runtime'] | 'unknown';
  image: string;
  args: string[];
  cwd: string;
  terminal: boolean;
  /** The task was given a stdin, and it can still be written. */
  stdin: boolean;
  stdinOpen: boolean;
  /** `none` (FIFO mode) or the log URI. */
  log: string;
  logPath: string | null;
  logFormat: TaskRecord['logFormat'];
  /** The task's FIFO set (FIFO mode clients attach to it). */
  stdio: TaskRecord['stdio'];
  limits: TaskRecord['limits'];
  /** Host paths and memory filesystems mounted into it (`run -v`, `--mount`, `--tmpfs`). */
  mounts: TaskMount[];
  /** The user its process runs as (`run --user`, else the bundle's); null: the daemon's own (a host task without `--user`). */
  user: TaskRecord['user'] | null;
  /** Its labels (`run --label`). */
  labels: Record<string, string>;
  /** Its command runs under a small init as pid 1 (`run --init`; `args` then begins with it). */
  init: boolean;
  /** The resource limits asked for it (`run --ulimit`; -1 unlimited). */
  ulimits: TaskUlimit[];
  /** Its hostname (runsc, runc; null for a host task, which has the host's, or a bundle without a UTS namespace). */
  hostname: string | null;
  /** Its network (`run --network`): `none` (its own namespace, only a loopback), `host`, or `ns:PATH` (a runc bundle's own namespace). */
  network: TaskNetwork;
  /** The capabilities its process may hold (`--cap-add`, `--cap-drop` on docker's default set); null for a host task. */
  capabilities: string[] | null;
  /** Made with `run --privileged` (runsc, runc). */
  privileged: boolean;
  /** Its `run --security-opt` options as given (a seccomp profile as its JSON). */
  securityOpt: string[];
  /**
   * The seccomp filter it runs under (runsc, runc; {@link SeccompMode}): `builtin`, `profile`,
   * `bundle`, or `unconfined` for none. Null: a host task (taskio sets no filter; it has the
   * daemon's), or one made by a taskio that did not record it.
   */
  seccomp: SeccompMode | null;
  /** Removed by the daemon once it exited (`run --rm`). */
  autoRemove: boolean;
  /** Its health check (`run --health-cmd`, docker's `Config.Healthcheck`); null without one. */
  healthcheck: HealthConfig | null;
  /**
   * Its health (docker's `State.Health`): status, failing streak and the last 5 results; null
   * without a check, or before its first run. A run that ended is `unhealthy`, as docker's.
   */
  health: HealthView | null;
  /** When the daemon starts it again after an exit (`run --restart`), and how often it did. */
  restartPolicy: RestartPolicy;
  restartCount: number;
  /** What `stop` sends first, and how long it waits before KILL (`run --stop-signal`, `--stop-timeout`). */
  stopSignal: string;
  stopTimeout: number;
  pid: number;
  created: string;
  started: string | null;
  /**
   * When its last run ended: its exit's `exitedAt` once it exited, the previous run's while it runs
   * again (docker's `FinishedAt`). Null: no run ended yet, or when is unknown.
   */
  finished: string | null;
  /** Taken over from an earlier daemon: no exit status, and no stdin unless its terminal came back from its output keeper. */
  adopted: boolean;
  exit: ExitRecord | null;
  execs: string[];
}

/** Everything a {@link DaemonTask} needs from its daemon. */
export interface TaskContext {
  layout: DaemonLayout;
  events: EventBus;
  logger: Logger;
  /** Told of each exec's start and end: the set a killed client left goes once the exec ended. */
  execFifos: ExecFifoSweeper;
  /** The exit recorder above this daemon (`ownExitRecorder`), recorded with each run it starts; absent: none. */
  exitRecorder?: ProcessIdentity | null;
}

/**
 * One task of the daemon: its record on disk, its state machine and operation queue
 * ({@link Lifecycle}: concurrent requests never interleave), the control it runs through, and in
 * log mode the copy that writes its log. The exit is written to `<dir>/exit` the moment it is known.
 */
export class DaemonTask {
  readonly record: TaskRecord;
  readonly lifecycle: Lifecycle<TaskState, TaskOp>;
  readonly adopted: boolean;
  /** Its execs' records: kept after their end while it runs (bounded), gone with its exit. */
  readonly execs: ExecRecords;
  /** Its copy helpers' records (execs while it does not run, `copyHelper.ts`): until their clients delete them (bounded). */
  readonly #copies: ExecRecords;
  /** The grace timers of copy helpers no client waits for yet ({@link copyWaiting}). */
  readonly #unwaitedCopies = new Map<string, NodeJS.Timeout>();
  /** Retired for a new run (its manager resets it when that run cannot start): a copy helper would run beside it. */
  retired = false;
  /** Its restart policy's restart is due and waits for the copies to end ({@link copiesEnded}): no new copy starts. Reset by its manager. */
  restartDue = false;
  /** Resolves with the exit once it is on disk. */
  readonly exited: Promise<ExitRecord>;
  /** Resolves once the task's output is complete (log mode: all in the log; else at the exit). */
  readonly outputDone: Promise<void>;
  readonly #ctx: TaskContext;
  readonly #control: TaskControl | null;
  readonly #stdinWriters = new Map<Writable, () => boolean>();
  readonly #logCopy: LogCopy | null;
  readonly #keepAlive: OutputKeepAlive | null;
  /** A task that exited while no daemon ran: its `outputKept` until that settled (then null), see {@link #keptOutputRead}. */
  #outputKept: Promise<void> | null = null;
  #exit: ExitRecord | null;
  #oom: OomCounter | null = null;
  /** Its health checks (docker's health monitor): a run of a task with a check has one. */
  #health: HealthMonitor | null = null;
  /** A created task: settles what it is waited for with its first run (null: removed before). */
  #ran: ((run: DaemonTask | null) => void) | null = null;
  /** Exited, and its restart policy starts it again after a wait (docker's `restarting`). Set by its manager. */
  restarting = false;

  constructor(ctx: TaskContext, init: {
    record: TaskRecord; state: TaskState; control: TaskControl | null; logCopy: LogCopy | null;
    keepAlive?: OutputKeepAlive | null; exit?: ExitRecord | null; adopted: boolean;
    /** Its OOM counter, taken before it ran; without one, found through its pid now. */
    oom?: OomCounter | null;
    /**
     * A task that exited while no daemon ran: settles once what its output keeper kept is out of it
     * (in the pipes the log copy reads, or the daemon's keep-alive holds). Until then the log is not ended.
     */
    outputKept?: Promise<void>;
  }) {
    this.#ctx = ctx;
    this.record = init.record;
    this.execs = new ExecRecords(init.record.id, ctx.logger);
    this.#copies = new ExecRecords(init.record.id, ctx.logger);
    this.adopted = init.adopted;
    this.lifecycle = new Lifecycle<TaskState, TaskOp>(init.state, transitionsOf(init.record.id), 'task');
    this.#control = init.control;
    this.#logCopy = init.logCopy;
    this.#keepAlive = init.keepAlive ?? null;
    this.#exit = init.exit ?? null;
    if (this.#exit) {
      this.exited = Promise.resolve(this.#exit);
      // Its exit came before this daemon: the log ends (FIFO mode: the keep-alive goes once read) after the rest is read.
      this.#outputKept = init.outputKept?.then(() => {
        this.#outputKept = null;
        this.#logCopy?.taskExited();
        void this.#keepAlive?.closeWhenDrained();
      }) ?? null;
    } else if (init.control) {
      this.exited = init.control.exited.then((e) => this.#onExit(e));
    } else if (init.state === 'created') {
      // Never started: what it is waited for is its first run, or its removal before that (and
      // there is no process whose OOM kills to count).
      let ran!: (run: DaemonTask | null) => void;
      const firstRun = new Promise<DaemonTask | null>((resolve) => { ran = resolve; });
      this.#ran = ran;
      this.exited = firstRun.then((run) => run?.exited ?? unknownExit('the task was removed before it was started'));
      this.outputDone = firstRun.then((run) => run?.outputDone);
      return;
    } else {
      this.exited = new Promise(() => undefined);
    }
    this.outputDone = this.#logCopy ? this.#logCopy.done : this.exited.then(() => undefined);
    if (init.record.healthcheck) this.#health = this.#healthMonitor(init.record.healthcheck, init.state === 'running' || init.state === 'paused');
    // Docker's `oom` event and `State.OOMKilled`: counted in the task's own memory cgroup, with a
    // limit or not (one set later by `update`, a kill for the machine's lack of memory). A host task
    // without a job runs in the daemon's cgroup: that count is not its own.
    if (this.#exit === null && (init.record.runtime !== 'host' || init.record.job !== null)) this.#oom = init.oom !== undefined ? init.oom : OomCounter.of(init.record.pid);
  }

  get id(): string {
    return this.record.id;
  }

  /** Publishes an event of this task; its labels go with it, as in docker's events. */
  publish(e: Omit<TaskEvent, 'id' | 'time' | 'labels'>): void {
    const labels = this.record.labels;
    this.#ctx.events.publish({ ...e, id: this.id, ...(labels && Object.keys(labels).length > 0 ? { labels } : {}) });
  }

  get state(): TaskState {
    return this.lifecycle.state;
  }

  get exit(): ExitRecord | null {
    return this.#exit;
  }

  /** Whether the log file this run writes was removed under it (by hand, a logrotate without copytruncate). */
  get logRemoved(): boolean {
    return this.#logCopy?.logRemoved ?? false;
  }

  /** Where the log file this run writes was renamed to outside taskio (a logrotate without copytruncate), else null. */
  get logMovedTo(): string | null {
    return this.#logCopy?.logMovedTo ?? null;
  }

  /** Records the exit: in memory at once, on disk (atomically) before it is reported. */
  async #onExit(seen: ExitRecord): Promise<ExitRecord> {
    if (this.#exit) return this.#exit;
    // Read now: the runtime's delete, which removes the cgroup, comes after the exit.
    const exit: ExitRecord = { ...seen, oomKilled: (this.#oom?.kills() ?? 0) > 0 };
    this.#exit = exit;
    this.lifecycle.apply('exit');
    void this.#health?.stop();
    // Docker drops a container's execs once it stopped: each record goes once its exit is told.
    this.execs.runEnded();
    if (writeExitFile(this.#ctx.layout, this.id, exit, this.#ctx.logger)) this.#control?.exitWritten?.();
    this.#logCopy?.taskExited();
    // FIFO mode after a restart: what the task wrote last stays readable until a client reads it or rm.
    void this.#keepAlive?.closeWhenDrained();
    if (exit.oomKilled) {
      this.#ctx.logger.warn({ id: this.id }, 'task killed for lack of memory (OOM)');
      this.publish({ type: 'oom' });
    }
    this.#ctx.logger.info({ id: this.id, exitCode: exit.exitCode, reason: exit.reason }, 'task exited');
    this.publish({ type: 'exit', exitCode: exit.exitCode });
    return exit;
  }

  #needControl(): TaskControl {
    if (!this.#control) throw new TaskioError('ERR_INVALID_STATE', `task ${this.id} has no process`);
    return this.#control;
  }

  /**
   * Sends `signal` to the init, or with `all` to every process of the task. A paused task's processes
   * act on a signal only once they run again (a frozen cgroup holds even KILL), and runsc refuses to
   * signal a paused sandbox at all. With `end` — a signal meant to end the task: `stop`'s, `rm -f`'s
   * KILL, a `kill` of its stop signal or KILL (docker's rule, moby#34027) — a paused task is resumed
   * to act on it: after the signal, or before it on runsc. Without, a paused runsc task refuses it.
   */
  kill(signal: number, all: boolean, end = false): Promise<void> {
    return this.lifecycle.run(end ? 'end' : 'kill', async (from) => {
      const control = this.#needControl();
      if (from !== 'paused') return control.kill(signal, all);
      const runsc = this.record.runtime === 'runsc';
      if (!end) {
        if (runsc) throw new TaskioError('ERR_INVALID_STATE', `cannot send signal ${signal} to paused task ${this.id}: runsc signals only a running sandbox (unpause it first)`);
        return control.kill(signal, all);
      }
      if (runsc) {
        await control.resume();
        this.publish({ type: 'resume' });
        return control.kill(signal, all);
      }
      await control.kill(signal, all);
      // runc thaws a frozen container itself for KILL: it may have stopped already, and its resume fail.
      await control.resume().catch((err: unknown) => { if (signal !== 9) throw err; });
      this.publish({ type: 'resume' });
    });
  }

  pause(): Promise<void> {
    return this.lifecycle.run('pause', async () => {
      await this.#needControl().pause();
      this.publish({ type: 'pause' });
    });
  }

  resume(): Promise<void> {
    return this.lifecycle.run('resume', async () => {
      await this.#needControl().resume();
      this.publish({ type: 'resume' });
    });
  }

  /**
   * A sample of the task's usage. Its memory limit is the task's own when the sample has none or a
   * larger one: runsc reports 0 (the sandbox's view), though its cgroup holds the task's limit.
   */
  stats(): Promise<Stats> {
    return this.lifecycle.run('stats', async () => {
      const s = await this.#needControl().stats();
      const own = this.record.limits?.memory, reported = s.memory.limit ?? 0;
      if (own !== undefined && (reported <= 0 || reported > own)) s.memory.limit = own;
      return s;
    });
  }

  processes(): Promise<ProcessInfo[]> {
    return this.lifecycle.run('stats', () => this.#needControl().processes());
  }

  resize(ws: WinSize): Promise<void> {
    if (!this.record.terminal) return Promise.reject(new TaskioError('ERR_INVALID_STATE', `task ${this.id} has no terminal to resize`));
    return this.lifecycle.run('io', () => this.#needControl().resize(ws));
  }

  /**
   * Sends EOF to the task's stdin once it read what was written (containerd's `CloseIO`): the
   * keep-alive writer is closed, and the daemon's own writers into the stdin FIFO (log-mode
   * attaches forwarding their client's input) let go too, else the FIFO would keep a writer and the
   * task would never see the EOF it was promised. An attach whose client has already ended its
   * input (half-closed: the rest of it is in the connection) writes all of it first and then lets
   * go by itself — `run -i` ends its attach and asks for this on another connection, which may
   * arrive before the input does; one whose client still sends is cut here, after what it gave.
   * Returns without waiting for the task to read.
   */
  closeStdin(): Promise<void> {
    return this.lifecycle.run('io', async () => {
      const control = this.#needControl();
      for (const [w, inputShut] of this.#stdinWriters) if (!w.writableEnded && !inputShut()) w.end();
      await control.closeStdin();
    });
  }

  /**
   * Registers a writer of the daemon into the task's stdin FIFO (an attach's input), so that
   * {@link closeStdin} ends it unless `inputShut()` says its client has already ended the input;
   * returns the function that unregisters it.
   */
  addStdinWriter(w: Writable, inputShut: () => boolean): () => void {
    this.#stdinWriters.set(w, inputShut);
    return () => this.#stdinWriters.delete(w);
  }

  /**
   * Starts an exec'd process (through the queue, so it never interleaves with a delete); its stdio
   * is the FIFO set its client made.
   */
  exec(config: ExecConfig): Promise<DaemonExec> {
    return this.lifecycle.run('exec', async () => {
      if (this.execs.has(config.id)) throw new TaskioError('ERR_ALREADY_EXISTS', `exec ${config.id} already exists in task ${this.id}`);
      const process = await this.#needControl().exec(this.#ctx.layout.execDir(this.id), config);
      const e: DaemonExec = { id: config.id, process, args: config.spec.args, terminal: config.terminal, exit: null, exited: Promise.resolve(null as never) };
      this.execs.add(e);
      this.#ctx.execFifos.started(config);
      this.publish({ type: 'exec-start', execId: e.id });
      e.exited = process.wait().then(() => {
        e.exit = exitFromStatus(process.exitStatus(), process.exitedAt());
        // Before the event: whoever saw the exec end sees its set gone too (unless a client reads it).
        const clientReads = this.#ctx.execFifos.ended(config);
        this.publish({ type: 'exec-exit', execId: e.id, exitCode: e.exit.exitCode });
        // A waiter holds the record itself: it gets the exit whether or not the record is kept; a
        // client still reading will ask for it, so its record is kept for that wait.
        this.execs.ended(e, clientReads);
        return e.exit;
      });
      return e;
    });
  }

  /**
   * Runs an exec's process in a transient helper, for a created or exited task (`taskio cp`, see
   * {@link startCopyHelper}): through the queue as {@link exec}, and told as no exec event (nothing
   * ran in the task). Until it ended, the task is not started ({@link retire} refuses) and a
   * removal ends it first.
   */
  execHelper(config: ExecConfig): Promise<DaemonExec> {
    return this.lifecycle.run('copy', async () => {
      if (this.retired || this.restartDue) throw new TaskioError('ERR_INVALID_STATE', `task ${this.id} is starting: exec in it once it runs`);
      if (this.execs.has(config.id) || this.#copies.has(config.id)) throw new TaskioError('ERR_ALREADY_EXISTS', `exec ${config.id} already exists in task ${this.id}`);
      const e = await startCopyHelper(this.#ctx.layout, this.record, config, this.#ctx.logger);
      this.#copies.add(e);
      this.#ctx.execFifos.started(config);
      // Ended unless a client waits for it soon (see copyWaiting).
      const unwaited = setTimeout(() => this.copyAbandoned(e.id), copyWaitGraceMs).unref();
      this.#unwaitedCopies.set(e.id, unwaited);
      void e.exited.then(() => {
        this.copyWaiting(e.id);
        this.#ctx.execFifos.ended(config);
        this.#copies.ended(e);
      });
      return e;
    });
  }

  /**
   * For a restart its policy made due: from now on no copy starts ({@link restartDue}), and this
   * resolves once none runs, each deleted — those queued before included, which start or are refused
   * first. A copy is not cut for a restart (its client would lose it); a removal ends them ({@link remove}).
   */
  async copiesEnded(): Promise<void> {
    this.restartDue = true;
    await this.lifecycle.run('copiesQueued', () => undefined);
    // One whose cleanup failed (logged) ended all the same.
    await Promise.allSettled(this.#copies.running().map((e) => e.exited));
  }

  /** A copy helper of the task runs. */
  copying(): boolean {
    return this.#copies.running().length > 0;
  }

  /**
   * Refuses a client's start while a copy helper runs: the task would run beside it, and the client
   * hears why (a restart of its policy waits instead, {@link copiesEnded}).
   * @throws TaskioError `ERR_INVALID_STATE`.
   */
  refuseStartWhileCopying(): void {
    if (this.copying()) throw new TaskioError('ERR_INVALID_STATE', `cannot start task ${this.id}: a copy into or out of it runs (taskio cp); start it once that is done`);
  }

  /**
   * The client that waited for copy helper `execId` went away before it ended (a `taskio cp`
   * ctrl-C'd, killed, or whose own output closed): the helper is ended, as docker's archive request
   * ends with its connection. Nobody reads its output any more, so its `tar -c` would block for
   * ever on the full FIFO, and the task could not be started while it ran. An exec in a running
   * task (not a helper) is left running, as docker leaves one.
   */
  copyAbandoned(execId: string): void {
    const e = this.#copies.get(execId);
    if (e && e.exit === null) void e.process.kill(9).catch(() => undefined);
  }

  /**
   * A client waits for copy helper `execId`. Until one does, the helper counts as abandoned after
   * {@link copyWaitGraceMs}: `taskio cp` asks for the wait right after the helper started, and the
   * wait's end is how the daemon learns that its client went away ({@link copyAbandoned}) — a client
   * killed before its wait arrived (the helper's output already flowing) would otherwise leave the
   * helper's tar blocked for ever on the full FIFO, and the task unable to start.
   */
  copyWaiting(execId: string): void {
    clearTimeout(this.#unwaitedCopies.get(execId));
    this.#unwaitedCopies.delete(execId);
  }

  /** Ends the copy helpers still running and waits until each is deleted. */
  async #endCopies(): Promise<void> {
    await Promise.all(this.#copies.running().map(async (e) => {
      await e.process.kill(9).catch(() => undefined);
      await e.exited;
    }));
  }

  /** The exec `execId`, or `ERR_NOT_FOUND`. */
  getExec(execId: string): DaemonExec {
    const e = this.execs.get(execId) ?? this.#copies.get(execId);
    if (!e) throw new TaskioError('ERR_NOT_FOUND', `task ${this.id} has no exec ${JSON.stringify(execId)}`);
    return e;
  }

  /** A wait got exec `execId`'s exit: a record kept for it once the run ended goes now. */
  execWaited(execId: string): void {
    this.execs.waited(execId);
    this.#copies.waited(execId);
  }

  /** Removes a finished exec (its stdio and pid files released). */
  async deleteExec(execId: string): Promise<void> {
    const e = this.getExec(execId);
    if (e.exit === null) throw new TaskioError('ERR_INVALID_STATE', `cannot delete exec ${execId}: it is running`);
    await (this.execs.has(execId) ? this.execs : this.#copies).drop(execId);
  }

  /**
   * Resolves with the exit once the task exited and its output is complete (in the log, bounded
   * by {@link outputGraceMs}, as docker waits for its log copy), so what `logs` shows after a wait is
   * all of it. Rejects with an `AbortError` when `signal` aborts first (a long poll whose client left).
   */
  wait(signal?: AbortSignal): Promise<ExitRecord> {
    // One promise for every wait (abortable's waiters leave it at their abort): a reaction per
    // call on `exited` stayed until the task exited, for every client that gave up meanwhile.
    this.#waited ??= this.exited.then(async (e) => {
      await Promise.race([this.outputDone, new Promise((r) => setTimeout(r, outputGraceMs).unref())]);
      return e;
    });
    return abortable(this.#waited, signal);
  }

  /** {@link wait}'s promise, made at the first wait. */
  #waited: Promise<ExitRecord> | null = null;

  /**
   * Removes the task: with `force` a running one is killed first. The runtime forgets it, the log
   * is finished (bounded), and `<root>/tasks/<id>` is removed — a log the user put elsewhere stays.
   */
  async remove(force: boolean): Promise<void> {
    if (force && this.#exit === null && this.#control) {
      await this.kill(9, true, true).catch((err: unknown) => this.#ctx.logger.warn({ err, id: this.id }, 'kill before rm failed'));
      await this.exited;
    }
    await this.lifecycle.run('delete', async () => {
      await this.#endCopies();
      await this.#letGo(force);
      removeInside(this.#ctx.layout.tasks, this.#ctx.layout.taskDir(this.id));
    });
    this.#ran?.(null);
    this.publish({ type: 'delete' });
  }

  /**
   * Before the task runs again (a restart): what its ended run holds goes — runtime state, log
   * copy (once the log is complete, bounded), exec'd processes — and its directory, record and log
   * stay for the next run. The task stays `exited` until the next run replaces it.
   */
  retire(): Promise<void> {
    return this.lifecycle.run('retire', async () => {
      this.refuseStartWhileCopying();
      this.retired = true;
      await this.#letGo(false);
    });
  }

  /**
   * A created task was started: `run` is its first run, which its waiters now wait for (the
   * manager's table holds `run` from now on).
   */
  startedAs(run: DaemonTask): void {
    this.#ran?.(run);
  }

  /** After the exit: runtime state deleted (`force`: a failure is only logged), output complete (bounded), copies and execs released. */
  async #letGo(force: boolean): Promise<void> {
    if (this.state === 'created') return; // nothing ran: no runtime state, no output
    // The exit file may still be on its way to disk.
    if (this.#exit) await this.exited;
    try {
      await this.#deleteOnce();
    } catch (err) {
      if (!force) throw err;
      this.#ctx.logger.warn({ err, id: this.id }, 'runtime delete failed; removed anyway (force)');
      await this.#removeEmptyCgroup();
    }
    await Promise.race([this.outputDone, new Promise((r) => setTimeout(r, outputGraceMs).unref())]);
    await this.#logCopy?.close();
    this.#keepAlive?.close();
    await this.execs.releaseAll();
  }

  #runtimeDeleted: Promise<void> | null = null;

  /**
   * After a forced removal whose runtime delete failed: the task's cgroup (`containerCgroup`),
   * which the runtime removes only at a delete that succeeds, once it holds no process — as the
   * removal of a dead task does, and as containerd's shim and docker leave no cgroup of a
   * container they removed. One that still holds processes is left, logged: they are no longer
   * the task's to kill.
   */
  async #removeEmptyCgroup(): Promise<void> {
    if (this.record.runtime === 'host') return;
    const name = `${jobPrefix(this.#ctx.layout.root)}${this.id}`;
    await removeStaleContainerCgroup(name).then(
      (dirs) => { if (dirs.length > 0) this.#ctx.logger.info({ id: this.id, cgroup: containerCgroup(name) }, 'removed the task\'s cgroup its runtime delete left'); },
      (err: unknown) => this.#ctx.logger.warn({ err, id: this.id, cgroup: containerCgroup(name) }, 'the task\'s cgroup is left as it is'),
    );
  }

  /** The runtime's delete, once what the task's keeper kept is read ({@link #keptOutputRead}). */
  async #deleteControl(): Promise<void> {
    await this.#keptOutputRead();
    await this.#control?.delete();
  }

  /**
   * Settles once what the output keeper of a task that exited while no daemon ran kept is read
   * (bounded: `AdoptedControl.finishKeptOutput`): the runtime's delete closes the console and
   * stops the keeper, and a `rm`, `start` or restart sent as this daemon came up would otherwise
   * cut that read — a terminal's unread rest goes with the pty master (docker's rm too waits for the
   * log copy, bounded).
   */
  async #keptOutputRead(): Promise<void> {
    if (this.#outputKept === null) return;
    this.#ctx.logger.info({ id: this.id }, 'waiting for the output the task\'s keeper kept to be read before its delete');
    await this.#outputKept;
  }

  /**
   * After the exit, removes what the runtime keeps for the task (its state, cgroups, job) and
   * leaves the task itself — record, log, exit — in place; {@link remove} then only finishes.
   * For a task that will be removed anyway (`autoRemove`): the runtime's `delete` runs while its
   * client still reads the output. A delete that fails is tried again by `remove`.
   */
  deleteRuntime(): Promise<void> {
    if (this.#exit === null || !this.#control) return Promise.resolve();
    return this.#deleteOnce();
  }

  /**
   * The runtime's delete of this run, once: a later call gets the first one's promise, a failed
   * one is tried again. A `start` that failed after its `retire` had deleted the run (a runsc -w
   * or bind source refused) left the task exited, and its `rm` deleted again: refused, `cannot
   * delete a deleted container`, the task kept for good.
   */
  #deleteOnce(): Promise<void> {
    if (this.#runtimeDeleted !== null) return this.#runtimeDeleted;
    const deleting = this.#deleteControl();
    this.#runtimeDeleted = deleting;
    deleting.catch(() => { if (this.#runtimeDeleted === deleting) this.#runtimeDeleted = null; });
    return deleting;
  }

  /**
   * The health checks of this run (see {@link HealthMonitor}): through the exec path, as `exec`
   * (refused while paused, never beside a delete), but not among the task's execs and without exec
   * events — docker lists its checks' execs and logs their starts, a check every few seconds that
   * would drown the real ones. The start period counts from the run's start, also after a daemon
   * restart: an adopted task's checks go on at once, its status `starting` again.
   */
  #healthMonitor(config: HealthConfig, running: boolean): HealthMonitor {
    const dir = this.#ctx.layout.taskDir(this.id);
    let spec: ExecConfig['spec'] | null = null;
    return new HealthMonitor(config, Date.parse(this.record.started ?? '') || Date.now(), {
      dir,
      spec: () => (spec ??= readSpec(this.record.bundle).process),
      paused: () => this.state === 'paused',
      exec: (config) => this.lifecycle.run('exec', () => this.#needControl().exec(this.#ctx.layout.execDir(this.id), config)),
      processes: () => this.#needControl().processes(),
      signalProcess: (pid, signal) => this.#needControl().signalProcess(pid, signal),
      changed: (status) => {
        this.#ctx.logger.info({ id: this.id, status }, 'health status');
        this.publish({ type: `health_status: ${status}` });
      },
      logger: this.#ctx.logger.child({ id: this.id }),
    }, running);
  }

  /** Daemon shutdown: stops copying (the rest stays in the pipes) and leaves the task running. */
  async release(): Promise<void> {
    await this.#endCopies();
    await this.#health?.stop();
    await this.#logCopy?.close();
    this.#keepAlive?.close();
  }

  view(): TaskView {
    const r = this.record;
    return {
      id: r.id, status: this.restarting && this.state === 'exited' ? 'restarting' : this.state, runtime: r.runtime, image: r.image, args: r.args, cwd: r.cwd, terminal: r.terminal,
      stdin: r.stdio.stdin !== '', stdinOpen: this.#exit === null && (this.#control?.stdinOpen ?? false),
      log: r.log, logPath: r.logPath, logFormat: r.logFormat, stdio: r.stdio, limits: r.limits, mounts: r.mounts ?? [], user: r.user ?? null, capabilities: r.capabilities ?? null, privileged: r.privileged === true, securityOpt: r.securityOpt ?? [], seccomp: r.seccompMode ?? null, labels: r.labels ?? {}, ulimits: r.ulimits ?? [], init: r.init === true,
      hostname: r.hostname ?? null, network: recordNetwork(r), autoRemove: r.autoRemove === true, pid: r.pid,
      healthcheck: r.healthcheck ?? null, health: this.#health?.view() ?? null,
      restartPolicy: r.restartPolicy ?? { name: 'no' }, restartCount: r.restartCount ?? 0,
      stopSignal: r.stopSignal ?? 'SIGTERM', stopTimeout: r.stopTimeout ?? defaultStopTimeout,
      created: r.created, started: r.started, finished: this.#exit ? this.#exit.exitedAt : r.finished ?? null, adopted: this.adopted, exit: this.#exit, execs: this.execs.ids(),
    };
  }
}
