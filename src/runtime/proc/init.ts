import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { TaskioError } from '../../errors.js';
import type { Stats } from '../oci/index.js';
import { defaultMonitor, type ExitSubscription, type ProcessMonitor } from '../reaper/index.js';
import { invalidState, isStopSignal } from './errors.js';
import { Process } from './exec.js';
import { readPidFile } from './pidFile.js';
import { Plumbing } from './plumbing.js';
import type { Runtime, WinSize } from './runtime.js';
import type { CheckpointConfig, CreateConfig, ExecConfig, InitOptions, ProcessStatus, RestoreConfig, Stdio } from './types.js';

/** Ids a runtime takes as one path component and one positional argument. */
const validId = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,1023}$/;

type InitState = 'new' | ProcessStatus;

/**
 * A container's init process, gVisor shim's `proc.Init` in camelCase: created → running →
 * (paused) → stopped → deleted, each call a state forbids failing with gVisor's words and code
 * `ERR_INVALID_STATE`.
 *
 * The exit status comes from the reaper, never from `runsc wait` (which loses fast exits): the
 * Init subscribes before the runtime creates anything, reads the pid the runtime wrote to
 * `<bundle>/init.pid` — the sandbox for runsc, the init for runc, the process for the host
 * backend — and takes that pid's exit. The first status wins.
 */
export class Init {
  readonly #id: string;
  readonly #runtime: Runtime;
  readonly #stdio: Stdio;
  readonly #monitor: ProcessMonitor;
  readonly #options: Required<Omit<InitOptions, 'monitor'>>;
  #state: InitState = 'new';
  #bundle = '';
  #pid = 0;
  #sub: ExitSubscription | null = null;
  #plumbing: Plumbing | null = null;
  #status = -1;
  #exitedAt: Date | null = null;
  readonly #exited: Promise<void>;
  #resolveExited!: () => void;
  readonly #execs = new Map<string, Process>();
  #pendingSize: WinSize | null = null;

  constructor(id: string, runtime: Runtime, stdio: Stdio, options: InitOptions = {}) {
    this.#id = id;
    this.#runtime = runtime;
    this.#stdio = { stdin: stdio.stdin, stdout: stdio.stdout, stderr: stdio.stderr, terminal: stdio.terminal };
    this.#monitor = options.monitor ?? defaultMonitor;
    this.#options = {
      namespace: options.namespace ?? 'default',
      drainTimeout: options.drainTimeout ?? 2000,
      consoleTimeout: options.consoleTimeout ?? 10_000,
    };
    this.#exited = new Promise((resolve) => { this.#resolveExited = resolve; });
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
    return this.#status;
  }

  /** When it exited, or null. */
  exitedAt(): Date | null {
    return this.#exitedAt;
  }

  /** The state: created, running, paused, stopped or deleted. */
  async status(): Promise<string> {
    return this.#state === 'new' ? 'unknown' : this.#state;
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
    return this.#exited;
  }

  /**
   * Records the exit: the first status wins, later ones (and any after delete) are ignored. Then
   * the output is finished in the background (FIFO readers get EOF once they read it all).
   */
  setExited(status: number): void {
    if (this.#state !== 'new' && this.#state !== 'created' && this.#state !== 'running' && this.#state !== 'paused') return;
    this.#state = 'stopped';
    this.#status = status;
    this.#exitedAt = new Date();
    void this.#plumbing?.finishOutput();
    this.#resolveExited();
  }

  /** Creates the container (`create`) with its stdio; it runs nothing until {@link start}. */
  async create(c: CreateConfig): Promise<void> {
    if (this.#state !== 'new') throw invalidState(`container ${this.#id} is already created`);
    await this.#launch(c, async (opts) => {
      await this.#runtime.create(this.#id, c.bundle, { ...opts, pidFile: this.#pidFile(c.bundle) });
    });
    this.#state = 'created';
  }

  /** Starts the created container. */
  async start(): Promise<void> {
    switch (this.#state) {
      case 'created': break;
      case 'new': throw invalidState('cannot start a container that was not created');
      default: throw invalidState(`cannot start a ${this.#state} container`);
    }
    await this.#runtime.start(this.#id);
    if (this.#pid === 0) this.#watch(readPidFile(this.#pidFile(this.#bundle)));
    // An exit seen during the call already made it stopped.
    if (this.#state === 'created') this.#state = 'running';
  }

  /**
   * Starts the container from a checkpoint image (`restore --detach`), as a new run: before
   * {@link create}, or in place of {@link start} (the created container is removed first).
   */
  async restore(c: RestoreConfig): Promise<void> {
    if (this.#state === 'created') {
      await this.#runtime.delete(this.#id, { force: true });
      await this.#plumbing?.close();
      this.#plumbing = null;
      this.#pid = 0;
      this.#state = 'new';
    } else if (this.#state !== 'new') {
      throw invalidState(`cannot start a ${this.#state} container`);
    }
    await this.#launch(c, async (opts) => {
      await this.#runtime.restore(this.#id, {
        ...opts, bundle: c.bundle, imagePath: c.imagePath, detach: true, pidFile: this.#pidFile(c.bundle),
        ...(c.workPath ? { workPath: c.workPath } : {}),
      });
    });
    if (this.#state === 'new') this.#state = 'running';
  }

  /** Saves the running container to `c.imagePath`; it stops (its exit follows) unless `leaveRunning`. */
  async checkpoint(c: CheckpointConfig): Promise<void> {
    if (this.#state !== 'running') throw invalidState(`cannot checkpoint a ${this.#state === 'new' ? 'not created' : this.#state} container`);
    await this.#runtime.checkpoint(this.#id, { imagePath: c.imagePath, ...(c.leaveRunning ? { leaveRunning: true } : {}), ...(c.workPath ? { workPath: c.workPath } : {}) });
  }

  /**
   * Deletes the container: what is left is killed, its output delivered (bounded by
   * `drainTimeout`), then the runtime's `delete`. Allowed when created or stopped.
   */
  async delete(): Promise<void> {
    switch (this.#state) {
      case 'created': case 'stopped': break;
      case 'new': throw invalidState('cannot delete a container that was not created');
      default: throw invalidState(`cannot delete a ${this.#state} container`);
    }
    const wasCreated = this.#state === 'created';
    if ([...this.#execs.values()].some((p) => p.running())) await this.killAll();
    if (!wasCreated) await this.#plumbing?.finishOutputWithin(this.#options.drainTimeout);
    await this.#runtime.delete(this.#id, { force: true });
    this.#state = 'deleted';
    await Promise.all([...this.#execs.values()].map((p) => p.release()));
    await this.#release();
    if (this.#status < 0) {
      // A created container never ran: deleting it is its end.
      this.#status = 128 + 9;
      this.#exitedAt = new Date();
      this.#resolveExited();
    }
  }

  /**
   * Signals the init (or, with `all`, every process of the container). On a stopped or deleted
   * container SIGTERM/SIGKILL are a no-op and other signals fail with `process not found`.
   */
  async kill(signal: number | string, all = false): Promise<void> {
    switch (this.#state) {
      case 'created': case 'running': case 'paused': break;
      case 'new': throw invalidState('process not found');
      default:
        if (isStopSignal(signal)) return;
        throw invalidState('process not found');
    }
    await this.#runtime.kill(this.#id, signal, { all });
  }

  /** `kill --all <id> KILL`, errors ignored (a stopped container refuses it). */
  async killAll(): Promise<void> {
    if (this.#state === 'new' || this.#state === 'deleted') return;
    await this.#runtime.kill(this.#id, 'KILL', { all: true }).catch(() => undefined);
  }

  /** Freezes every process (`pause`). */
  async pause(): Promise<void> {
    if (this.#state !== 'running') throw invalidState(`cannot pause a ${this.#state === 'new' ? 'not created' : this.#state} container`);
    await this.#runtime.pause(this.#id);
    if (this.#state === 'running') this.#state = 'paused';
  }

  /** Thaws a paused container (`resume`). */
  async resume(): Promise<void> {
    if (this.#state !== 'paused') throw invalidState(`cannot resume a ${this.#state === 'new' ? 'not created' : this.#state} container`);
    await this.#runtime.resume(this.#id);
    if (this.#state === 'paused') this.#state = 'running';
  }

  /** Sets the terminal's window size (no-op without a terminal); before start it is the size the process starts with. */
  async resize(ws: WinSize): Promise<void> {
    this.#pendingSize = ws;
    this.#plumbing?.resize(ws);
  }

  /** One sample of resource usage (cpu, memory, pids). */
  async stats(): Promise<Stats> {
    switch (this.#state) {
      case 'created': case 'running': case 'paused': break;
      case 'new': throw invalidState('cannot stat a container that was not created');
      default: throw invalidState(`cannot stat a ${this.#state} container`);
    }
    return this.#runtime.stats(this.#id);
  }

  /**
   * Makes an exec'd process in the container (state created); {@link Process.start} runs it.
   * `dir` holds its pid files (created when missing).
   */
  async exec(dir: string, c: ExecConfig): Promise<Process> {
    switch (this.#state) {
      case 'created': case 'running': break;
      case 'new': throw invalidState('cannot exec in a container that was not created');
      default: throw invalidState(`cannot exec in a ${this.#state} state`);
    }
    if (this.#execs.get(c.id)?.live()) throw new TaskioError('ERR_ALREADY_EXISTS', `exec ${JSON.stringify(c.id)} already exists in container ${this.#id}`);
    if (!validId.test(c.id)) throw new TaskioError('ERR_INVALID_ID', `invalid exec id ${JSON.stringify(c.id)}`);
    const p = new Process(this, c, dir, {
      runtime: this.#runtime, subscription: () => this.#sub, namespace: this.#options.namespace,
      drainTimeout: this.#options.drainTimeout, consoleTimeout: this.#options.consoleTimeout,
      forget: () => this.#execs.delete(c.id),
    });
    this.#execs.set(c.id, p);
    return p;
  }

  /** Every exec'd process not yet deleted. */
  processes(): Process[] {
    return [...this.#execs.values()];
  }

  #pidFile(bundle: string): string {
    return path.join(bundle, 'init.pid');
  }

  /**
   * Subscribes to exits, opens the stdio and console, runs the runtime call, then reads the pid and
   * hands the console over. On failure everything it made is released, the runtime's leftovers
   * deleted, and the state stays `new`.
   */
  async #launch(c: CreateConfig, call: (opts: ReturnType<Plumbing['runtimeOptions']>) => Promise<void>): Promise<void> {
    if (!validId.test(this.#id)) throw new TaskioError('ERR_INVALID_ID', `invalid container id ${JSON.stringify(this.#id)}: it must match ${validId.source}`);
    if (c.id !== this.#id) throw new TaskioError('ERR_INVALID_ARG_VALUE', `create config is for ${JSON.stringify(c.id)}, this is ${JSON.stringify(this.#id)}`);
    const bundle = path.resolve(c.bundle);
    if (!fs.existsSync(path.join(bundle, 'config.json'))) {
      throw new TaskioError('ERR_INVALID_BUNDLE', `bundle ${bundle} has no config.json`);
    }
    this.#bundle = bundle;
    fs.rmSync(this.#pidFile(bundle), { force: true });
    // Before anything starts: no exit can be missed, however fast.
    this.#sub ??= this.#monitor.subscribe();
    let plumbing: Plumbing | null = null;
    let called = false;
    try {
      plumbing = await Plumbing.open({ ...this.#stdio, terminal: c.terminal || this.#stdio.terminal }, this.#runtime, { id: this.#id, namespace: this.#options.namespace });
      this.#plumbing = plumbing;
      if (this.#pendingSize) plumbing.resize(this.#pendingSize);
      called = true;
      await call(plumbing.runtimeOptions());
      await plumbing.attached(this.#options.consoleTimeout);
      const pid = readPidFile(this.#pidFile(bundle));
      if (pid > 0) this.#watch(pid);
    } catch (err) {
      // The runtime may have made state or a sandbox before failing; never touch another's id.
      const code = (err as { code?: string }).code;
      if (called && code !== 'ERR_ALREADY_EXISTS' && code !== 'ERR_INVALID_ID' && code !== 'ENOENT') {
        await this.#runtime.delete(this.#id, { force: true }).catch(() => undefined);
      }
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
    this.#sub.wait(pid).then((e) => this.setExited(e.status), () => undefined);
  }

  async #release(): Promise<void> {
    await this.#plumbing?.close();
    if (this.#sub) this.#monitor.unsubscribe(this.#sub);
    this.#sub = null;
    if (this.#bundle) fs.rmSync(this.#pidFile(this.#bundle), { force: true });
  }
}

