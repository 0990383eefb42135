import fs from 'node:fs';
import { isAlive } from '../../pidAlive.js';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { TaskioError } from '../../errors.js';
import { validateContainerId, validateId } from '../../ids.js';
import { Lifecycle, refuse, type Transitions } from '../../lifecycle.js';
import { RuntimeError, checkBundle, signalNumber, type Stats } from '../oci/index.js';
import { checkWinSize } from '../console/index.js';
import { defaultMonitor, type ExitSubscription, type ProcessMonitor } from '../reaper/index.js';
import { invalidState, isStopSignal } from './errors.js';
import { Process } from './exec.js';
import { readPidFile } from '../oci/pidFile.js';
import { ExitRecord } from './exitRecord.js';
import { Plumbing } from './plumbing.js';
import type { Runtime, WinSize } from './runtime.js';
import type { CheckpointConfig, CreateConfig, ExecConfig, InitOptions, InitStatus, ProcessStatus, RestoreConfig, Stdio } from './types.js';

type InitState = 'new' | ProcessStatus;
type InitOp = 'create' | 'run' | 'restore' | 'start' | 'delete' | 'kill' | 'killAll' | 'pause' | 'resume' | 'checkpoint' | 'stats' | 'exec' | 'resize' | 'exit' | 'reset';

const any = <R>(rule: R) => ({ new: rule, created: rule, running: rule, paused: rule, stopped: rule, deleted: rule });

/**
 * gVisor shim's Init states (its `init_state.go`) as one table. A state an operation does not
 * list refuses it with `cannot <op> a <state> container`; the rest of gVisor's words are here.
 * `exit` is the reaper's event, `reset` the step back to `new` of a restore in place of start.
 */
const table: Transitions<InitState, InitOp> = {
  create: { new: 'created' },
  run: { new: 'running' },
  start: { new: refuse('cannot start a container that was not created'), created: 'running' },
  restore: {
    new: 'running', created: 'running', running: refuse('cannot start a running container'), paused: refuse('cannot start a paused container'),
    stopped: refuse('cannot start a stopped container'), deleted: refuse('cannot start a deleted container'),
  },
  delete: { new: refuse('cannot delete a container that was not created'), created: 'deleted', stopped: 'deleted' },
  // Stopped and deleted: a stop signal is a no-op, another one `process not found` (decided by the call).
  kill: { ...any(null), new: refuse('process not found') },
  killAll: any(null),
  pause: { new: refuse('cannot pause a not created container'), running: 'paused' },
  resume: { new: refuse('cannot resume a not created container'), paused: 'running' },
  checkpoint: { new: refuse('cannot checkpoint a not created container'), running: null },
  stats: {
    new: refuse('cannot stat a container that was not created'), created: null, running: null, paused: null,
    stopped: refuse('cannot stat a stopped container'), deleted: refuse('cannot stat a deleted container'),
  },
  exec: {
    new: refuse('cannot exec in a container that was not created'), created: null, running: null,
    paused: refuse('cannot exec in a paused state'), stopped: refuse('cannot exec in a stopped state'), deleted: refuse('cannot exec in a deleted state'),
  },
  // Before start it is the size the process starts with; once it exited there is no terminal to size.
  resize: { ...any(null), stopped: refuse('cannot resize a stopped container'), deleted: refuse('cannot resize a deleted container') },
  exit: { new: 'stopped', created: 'stopped', running: 'stopped', paused: 'stopped' },
  reset: { created: 'new' },
};

/** How long a failed `start`, or an attached run whose runtime died, waits for the reaper to report an init already seen dead. */
const EXIT_GRACE_MS = 2000;

/**
 * The internal way to feed an exit status to an Init, as its reaper subscription does: for tests of
 * the first-status-wins rule. Not exported from the package.
 * @internal
 */
export let recordExit: (init: Init, status: number) => void;

/**
 * A container's init process, gVisor shim's `proc.Init` in camelCase: created → running →
 * (paused) → stopped → deleted, each call a state forbids failing with gVisor's words and code
 * `ERR_INVALID_STATE`. Calls run one at a time in call order (gVisor's `p.mu`): one made while
 * another runs waits for it, then is checked against the state that one left.
 *
 * The exit status comes from the reaper, never from `runsc wait` (which loses fast exits): the
 * Init subscribes before the runtime creates anything, reads the pid the runtime wrote to
 * `<bundle>/init.pid` — the sandbox for runsc, the init for runc, the process for the host
 * backend — and takes that pid's exit. The first status wins.
 */
export class Init {
  static {
    recordExit = (init, status) => init.#setExited(status);
  }

  readonly #id: string;
  readonly #runtime: Runtime;
  readonly #stdio: Stdio;
  readonly #monitor: ProcessMonitor;
  readonly #options: Required<Omit<InitOptions, 'monitor'>>;
  readonly #lifecycle = new Lifecycle<InitState, InitOp>('new', table, 'container');
  #bundle = '';
  #pid = 0;
  #sub: ExitSubscription | null = null;
  #plumbing: Plumbing | null = null;
  readonly #exit = new ExitRecord();
  readonly #execs = new Map<string, Process>();
  #pendingSize: WinSize | null = null;
  /** The runtime removed the container itself: an attached run returned its exit status. */
  #runtimeRemoved = false;

  /**
   * @param id - the container id, checked here (`ERR_INVALID_ID`) before any path or command is built from it.
   * @throws TaskioError `ERR_INVALID_ID`.
   */
  constructor(id: string, runtime: Runtime, stdio: Stdio, options: InitOptions = {}) {
    this.#id = validateContainerId(id);
    this.#runtime = runtime;
    this.#stdio = { stdin: stdio.stdin, stdout: stdio.stdout, stderr: stdio.stderr, terminal: stdio.terminal };
    this.#monitor = options.monitor ?? defaultMonitor;
    this.#options = {
      namespace: options.namespace ?? 'default',
      drainTimeout: options.drainTimeout ?? 2000,
      consoleTimeout: options.consoleTimeout ?? 10_000,
    };
  }

  /** The container id. */
  id(): string {
    return this.#id;
  }

  /** The runtime that runs it. */
  runtime(): Runtime {
    return this.#runtime;
  }

  /** The stdio paths/URIs it was made with. */
  stdio(): Stdio {
    return { ...this.#stdio };
  }

  /** The host pid whose exit is the container's (runsc: the sandbox; runc: the init); 0 before create. */
  pid(): number {
    return this.#pid;
  }

  /** The exit status (code, or 128 + signal); -1 while it has not exited. */
  exitStatus(): number {
    return this.#exit.status;
  }

  /** When it exited, or null. */
  exitedAt(): Date | null {
    return this.#exit.at;
  }

  /** The state: `unknown` before create, then created, running, paused, stopped or deleted. */
  async status(): Promise<InitStatus> {
    const state = this.#lifecycle.state;
    return state === 'new' ? 'unknown' : state;
  }

  /** The task's stdin as a stream (null without stdin or in terminal mode). */
  stdin(): Writable | null {
    return this.#plumbing?.io.stdin() ?? null;
  }

  /** Sends the task EOF on stdin (containerd's `CloseIO`); the only way a FIFO stdin ends. */
  async closeStdin(): Promise<void> {
    await this.#plumbing?.io.closeStdin();
  }

  /** Resolves once the container exited. */
  wait(): Promise<void> {
    return this.#exit.done;
  }

  /** Creates the container (`create`) with its stdio; it runs nothing until {@link start}. */
  create(c: CreateConfig): Promise<void> {
    return this.#lifecycle.run('create', () => this.#launch(c, async (opts) => {
      await this.#runtime.create(this.#id, c.bundle, { ...opts, pidFile: this.#pidFile(c.bundle) });
    }));
  }

  /**
   * Creates and starts the container in one runtime call (`run --detach`), where the runtime has
   * one ({@link canRun}): what {@link create} then {@link start} do, with one runtime process
   * instead of two — for a short task, the runtime's start-up is much of its life.
   * @throws TaskioError `ERR_NOT_SUPPORTED` when the runtime has no such call.
   */
  run(c: CreateConfig): Promise<void> {
    const runtime = this.#runtime;
    if (!runtime.run) return Promise.reject(new TaskioError('ERR_NOT_SUPPORTED', `the runtime of container ${this.#id} cannot create and start in one call`));
    return this.#lifecycle.run('run', async () => {
      await this.#launch(c, async (opts) => {
        await runtime.run!(this.#id, c.bundle, { ...opts, detach: true, pidFile: this.#pidFile(c.bundle) });
      });
      this.#plumbing?.io.closeChildFds(); // running: as after start
    });
  }

  /**
   * Creates and starts the container in one runtime call that stays attached (`run` without
   * `--detach`), as `runc run` typed in a shell: the runtime process stays beside the container,
   * waits for its init, and removes the container itself when the init exits. For a container that
   * goes at its exit (docker's `--rm`): the exit then needs no runtime `delete` — one runtime
   * start-up instead of two, and none between the exit and the removal — at the price of a runtime
   * process for the container's life (as conmon beside a podman container).
   *
   * Resolves once the container runs (runc: its pid file; runsc: its state says running). The exit
   * status is then the runtime's (the init's, 128 + n after a signal), and {@link delete} only
   * releases what taskio holds. Should the runtime itself die first, the container stays: the
   * init's own exit counts, as after {@link run} (runsc's sandbox dies with its runtime), and
   * delete runs the runtime's.
   * @throws TaskioError `ERR_NOT_SUPPORTED` for a runtime without an attached run,
   * `ERR_INVALID_ARG_VALUE` for a terminal (an attached runtime would make its own); the runtime's
   * errors as {@link run}.
   */
  runAttached(c: CreateConfig): Promise<void> {
    const runtime = this.#runtime;
    if (!runtime.runAttached) return Promise.reject(new TaskioError('ERR_NOT_SUPPORTED', `the runtime of container ${this.#id} has no attached run`));
    if (c?.terminal || this.#stdio.terminal) {
      return Promise.reject(new TaskioError('ERR_INVALID_ARG_VALUE', `container ${this.#id} has a terminal: an attached run has none`));
    }
    return this.#lifecycle.run('run', async () => {
      await this.#launch(c, async (opts) => {
        const { started, exited } = runtime.runAttached!(this.#id, c.bundle, { ...opts, pidFile: this.#pidFile(c.bundle) });
        exited.catch(() => undefined); // settled below
        try {
          await started;
        } catch (err) {
          // Not the runtime's own failure (#launch deletes after those): a forced delete also ends
          // an attached runtime that still runs the container.
          if (!(err instanceof RuntimeError)) await runtime.delete(this.#id, { force: true }).catch(() => undefined);
          await exited.catch(() => undefined);
          throw err;
        }
        exited.then((status) => {
          this.#runtimeRemoved = true;
          this.#setExited(status);
        }, async () => {
          // The runtime died, or failed, after the start: the container stays for delete, and the
          // init, re-parented here (a subreaper), has its exit from the reaper. One the runtime
          // reaped itself before failing left no status anywhere: unknown, 255 as containerd says.
          // Only an init dead at this one look can be such a one, after the grace: one alive now has
          // its exit still to come, even should it die the next instant (a kill under way) — a
          // second look after the wait would read that death as a status lost.
          if (this.#pid > 0 && !isAlive(this.#pid) && !(await this.#diedWithin(EXIT_GRACE_MS))) this.#setExited(255);
        });
      });
      this.#plumbing?.io.closeChildFds(); // running: as after start
    });
  }

  /** Whether {@link run} is available: the runtime creates and starts in one call. */
  canRun(): boolean {
    return this.#runtime.run !== undefined;
  }

  /** Starts the created container. */
  start(): Promise<void> {
    return this.#lifecycle.run('start', async () => {
      try {
        await this.#runtime.start(this.#id);
      } catch (err) {
        // The init died after create (a kill of the created container): the reaper has its exit or
        // is about to; the call is then refused as the table refuses a stopped container.
        if (await this.#diedWithin(EXIT_GRACE_MS)) throw invalidState('cannot start a stopped container');
        throw err;
      }
      // The process has its own copies now: ours would only hold a pipe end and two FIFO fds per task.
      this.#plumbing?.io.closeChildFds();
      if (this.#pid === 0) this.#watch(readPidFile(this.#pidFile(this.#bundle)));
    });
  }

  /**
   * Starts the container from a checkpoint image (`restore --detach`), as a new run: before
   * {@link create}, or in place of {@link start} (the created container is removed first).
   */
  restore(c: RestoreConfig): Promise<void> {
    return this.#lifecycle.run('restore', async (from) => {
      if (from === 'created') {
        this.#pid = 0; // the removed container's exit is not this run's
        await this.#runtime.delete(this.#id, { force: true });
        await this.#plumbing?.close();
        this.#plumbing = null;
        this.#lifecycle.apply('reset');
      }
      await this.#launch(c, async (opts) => {
        await this.#runtime.restore(this.#id, {
          ...opts, bundle: c.bundle, imagePath: c.imagePath, detach: true, pidFile: this.#pidFile(c.bundle),
          ...(c.workPath ? { workPath: c.workPath } : {}),
        });
      });
      this.#plumbing?.io.closeChildFds(); // restored and running: as after start
    });
  }

  /** Saves the running container to `c.imagePath`; it stops (its exit follows) unless `leaveRunning`. */
  checkpoint(c: CheckpointConfig): Promise<void> {
    return this.#lifecycle.run('checkpoint', async () => {
      await this.#runtime.checkpoint(this.#id, { imagePath: c.imagePath, ...(c.leaveRunning ? { leaveRunning: true } : {}), ...(c.workPath ? { workPath: c.workPath } : {}) });
    });
  }

  /**
   * Deletes the container: what is left is killed, its output delivered (bounded by
   * `drainTimeout`), then the runtime's `delete`. Allowed when created or stopped.
   */
  delete(): Promise<void> {
    return this.#lifecycle.run('delete', async (from) => {
      if ([...this.#execs.values()].some((p) => p.running())) await this.#killAll();
      if (from === 'stopped') await this.#plumbing?.finishOutputWithin(this.#options.drainTimeout);
      // After an attached run the runtime removed the container itself (runAttached).
      if (!this.#runtimeRemoved) await this.#runtime.delete(this.#id, { force: true });
      await Promise.all([...this.#execs.values()].map((p) => p.release()));
      await this.#release();
      this.#exit.record(128 + 9); // a created container never ran: deleting it is its end
    });
  }

  /**
   * Signals the init (or, with `all`, every process of the container). On a stopped or deleted
   * container SIGTERM/SIGKILL are a no-op and other signals fail with `process not found`.
   * @throws TaskioError `ERR_INVALID_SIGNAL` for a value that is no signal, in any state.
   */
  async kill(signal: number | string, all = false): Promise<void> {
    signalNumber(signal); // a bad signal is refused as such, whatever the state
    return this.#lifecycle.run('kill', async (from) => {
      if (from === 'stopped' || from === 'deleted') {
        if (isStopSignal(signal)) return;
        throw invalidState('process not found');
      }
      await this.#runtime.kill(this.#id, signal, { all });
    });
  }

  /** `kill --all <id> KILL`, errors ignored (a stopped container refuses it); nothing before create or once deleted. */
  killAll(): Promise<void> {
    return this.#lifecycle.run('killAll', (from) => (from === 'new' || from === 'deleted' ? undefined : this.#killAll()));
  }

  /** Freezes every process (`pause`). */
  pause(): Promise<void> {
    return this.#lifecycle.run('pause', () => this.#runtime.pause(this.#id));
  }

  /** Thaws a paused container (`resume`). */
  resume(): Promise<void> {
    return this.#lifecycle.run('resume', () => this.#runtime.resume(this.#id));
  }

  /**
   * The fd of the pty master of the init's terminal: the one runc/runsc sent, while open, or the host
   * runtime's node-pty's while the process runs; null otherwise. The fd stays the Init's: a caller may
   * only share it (a process it spawns inherits it).
   * @throws TaskioError `ERR_NOT_SUPPORTED` for a node-pty that keeps its master where taskio does not look.
   */
  consoleFd(): number | null {
    return this.#plumbing?.consoleFd() ?? null;
  }

  /**
   * The write end of the process's stdin pipe (no terminal, stdin given), or null: the plumbing's
   * own, to share only (a process spawned with it keeps the process's stdin open: the daemon's input keeper).
   */
  stdinPipeFd(): number | null {
    return this.#plumbing?.io.stdinPipeFd() ?? null;
  }

  /** Resolves once the init's output is delivered after its exit (its console read to the end), or after `ms`. */
  outputFinished(ms: number): Promise<void> {
    return this.#plumbing?.finishOutputWithin(ms) ?? Promise.resolve();
  }

  /**
   * Sets the terminal's window size (no-op without a terminal); before start it is the size the
   * process starts with. Not queued behind other calls: a window resize is the client's now.
   * @throws TaskioError `ERR_INVALID_STATE` once the process stopped (or was deleted).
   */
  async resize(ws: WinSize): Promise<void> {
    const size = checkWinSize(ws);
    this.#lifecycle.check('resize');
    this.#pendingSize = size;
    this.#plumbing?.resize(size);
  }

  /** One sample of resource usage (cpu, memory, pids). */
  stats(): Promise<Stats> {
    return this.#lifecycle.run('stats', () => this.#runtime.stats(this.#id));
  }

  /**
   * Makes an exec'd process in the container (state created); {@link Process.start} runs it.
   * `dir` holds its pid files (created when missing).
   * @throws TaskioError `ERR_INVALID_ID` for a bad exec id (before anything else),
   * `ERR_ALREADY_EXISTS` for the id of a process not yet deleted, `ERR_INVALID_STATE`.
   */
  async exec(dir: string, c: ExecConfig): Promise<Process> {
    const id = validateId(c?.id, 'exec');
    return this.#lifecycle.run('exec', () => {
      if (this.#execs.get(id)?.live()) throw new TaskioError('ERR_ALREADY_EXISTS', `exec ${JSON.stringify(id)} already exists in container ${this.#id}`);
      const p = Process.forExec(this, c, dir, {
        runtime: this.#runtime, subscription: () => this.#sub, namespace: this.#options.namespace,
        drainTimeout: this.#options.drainTimeout, consoleTimeout: this.#options.consoleTimeout,
        forget: () => this.#execs.delete(id),
      });
      this.#execs.set(id, p);
      return p;
    });
  }

  /** Every exec'd process not yet deleted. */
  processes(): Process[] {
    return [...this.#execs.values()];
  }

  /**
   * Records the exit: the first status wins, later ones (and any after delete) are ignored. Then
   * the output is finished in the background (FIFO readers get EOF once they read it all).
   */
  #setExited(status: number): void {
    if (!this.#lifecycle.apply('exit')) return;
    this.#exit.record(status);
    void this.#plumbing?.finishOutput();
  }

  async #killAll(): Promise<void> {
    await this.#runtime.kill(this.#id, 'KILL', { all: true }).catch(() => undefined);
  }

  #pidFile(bundle: string): string {
    return path.join(bundle, 'init.pid');
  }

  /**
   * Subscribes to exits, opens the stdio and console, runs the runtime call, then reads the pid and
   * hands the console over. On failure everything it made is released and the state stays `new`;
   * the runtime's leftovers are deleted only when this call made them (the runtime call returned,
   * or the runtime itself failed part-way) — never an id the runtime refused as existing.
   */
  async #launch(c: CreateConfig, call: (opts: ReturnType<Plumbing['runtimeOptions']>) => Promise<void>): Promise<void> {
    if (c?.id !== this.#id) throw new TaskioError('ERR_INVALID_ARG_VALUE', `create config is for ${JSON.stringify(c?.id)}, this is ${JSON.stringify(this.#id)}`);
    const bundle = checkBundle(c.bundle);
    this.#bundle = bundle;
    fs.rmSync(this.#pidFile(bundle), { force: true });
    // Before anything starts: no exit can be missed, however fast.
    this.#sub ??= this.#monitor.subscribe();
    let plumbing: Plumbing | null = null;
    let made = false;
    try {
      plumbing = await Plumbing.open({ ...this.#stdio, terminal: c.terminal || this.#stdio.terminal }, this.#runtime, { id: this.#id, namespace: this.#options.namespace });
      this.#plumbing = plumbing;
      if (this.#pendingSize) plumbing.resize(this.#pendingSize);
      try {
        await call(plumbing.runtimeOptions());
      } catch (err) {
        made = err instanceof RuntimeError && err.code !== 'ERR_ALREADY_EXISTS';
        throw err;
      }
      made = true;
      await plumbing.attached(this.#options.consoleTimeout);
      const pid = readPidFile(this.#pidFile(bundle));
      if (pid > 0) this.#watch(pid);
    } catch (err) {
      if (made) await this.#runtime.delete(this.#id, { force: true }).catch(() => undefined);
      this.#plumbing = null;
      await plumbing?.close();
      this.#pid = 0;
      await this.#release();
      throw err;
    }
  }

  /** Takes `pid`'s exit (seen since subscribing, or when it comes) as the container's. */
  #watch(pid: number): void {
    if (pid <= 0 || this.#sub === null) return;
    this.#pid = pid;
    // An exit of a pid this Init no longer watches (a created container a restore replaced) is not its own.
    this.#sub.wait(pid).then((e) => { if (this.#pid === pid) this.#setExited(e.status); }, () => undefined);
  }

  /** True once the init is known to have exited, waiting up to `ms` for the reaper when the pid is already dead. */
  async #diedWithin(ms: number): Promise<boolean> {
    if (this.#exit.at !== null) return true;
    if (this.#pid <= 0 || isAlive(this.#pid)) return false;
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      this.#exit.done.then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); }),
    ]).finally(() => clearTimeout(timer));
  }

  async #release(): Promise<void> {
    await this.#plumbing?.close();
    if (this.#sub) this.#monitor.unsubscribe(this.#sub);
    this.#sub = null;
    if (this.#bundle) fs.rmSync(this.#pidFile(this.#bundle), { force: true });
  }
}

