import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { Lifecycle, refuse, type Transitions } from '../../lifecycle.js';
import { signalNumber } from '../oci/index.js';
import { checkWinSize } from '../console/index.js';
import type { ExitSubscription } from '../reaper/index.js';
import { invalidState, isStopSignal } from './errors.js';
import { readPidFile } from '../oci/pidFile.js';
import { ExitRecord } from './exitRecord.js';
import { Plumbing } from './plumbing.js';
import type { Runtime, WinSize } from './runtime.js';
import type { ExecConfig, ExecStatus, Stdio } from './types.js';

type ExecOp = 'start' | 'kill' | 'delete' | 'release' | 'resize' | 'exit';

/**
 * gVisor shim's exec states as one table; an unlisted state refuses with `cannot <op> a <state>
 * process`. `exit` is the reaper's event, `release` the end a container's delete gives its processes.
 */
const table: Transitions<ExecStatus, ExecOp> = {
  start: { created: 'running' },
  // Stopped and deleted: a stop signal is a no-op, another one `process not found` (decided by the call).
  kill: { created: refuse('process not created'), running: null, stopped: null, deleted: null },
  delete: { created: 'deleted', stopped: 'deleted' },
  release: { created: 'deleted', running: 'deleted', stopped: 'deleted', deleted: null },
  resize: { created: null, running: null },
  exit: { created: 'stopped', running: 'stopped' },
};

/** What an exec'd {@link Process} gets from its {@link Init}. @internal */
export interface ProcessContext {
  runtime: Runtime;
  /** The Init's exit subscription (made before the container, so no exec exit can be missed). */
  subscription(): ExitSubscription | null;
  namespace: string;
  drainTimeout: number;
  consoleTimeout: number;
  /** Removes the process from its Init once deleted. */
  forget(): void;
}

/** Structural view of an Init, to avoid an import cycle. */
interface Parent {
  id(): string;
}

/**
 * A process exec'd in a container (gVisor shim's `execProcess`): created by {@link Init.exec},
 * run by {@link start}, then running → stopped → deleted, with gVisor's messages
 * (`cannot start a running process` …, code `ERR_INVALID_STATE`). Its calls run one at a time in
 * call order, as the {@link Init}'s do.
 *
 * Its exit status is that of the host pid the runtime wrote: runsc's `runsc exec` helper (which
 * exits with the process's status), runc's or the host's process itself. Signals go through
 * `kill --pid <sandbox pid>` for runsc, straight to the host pid otherwise.
 */
export class Process {
  readonly #parent: Parent;
  readonly #config: ExecConfig;
  readonly #dir: string;
  readonly #ctx: ProcessContext;
  readonly #lifecycle = new Lifecycle<ExecStatus, ExecOp>('created', table, 'process');
  #plumbing: Plumbing | null = null;
  #pid = 0;
  #internalPid = 0;
  readonly #exit = new ExitRecord();
  #size: WinSize | null = null;

  /**
   * Made by {@link Init.exec} (through `forExec`). Private, so the published declarations refuse `new Process()`: a
   * constructor marked internal would vanish from them and leave TypeScript's implicit public one.
   */
  private constructor(parent: Parent, config: ExecConfig, dir: string, ctx: ProcessContext) {
    this.#parent = parent;
    this.#config = { ...config };
    this.#dir = dir;
    this.#ctx = ctx;
  }

  /** @internal the exec `config` of `parent`, its pid files in `dir`. */
  static forExec(parent: Parent, config: ExecConfig, dir: string, ctx: ProcessContext): Process {
    return new Process(parent, config, dir, ctx);
  }

  /** The exec id. */
  id(): string {
    return this.#config.id;
  }

  /** The host pid whose exit is this process's (runsc: its `exec` helper); 0 before start. */
  pid(): number {
    return this.#pid;
  }

  /**
   * The pid inside the sandbox that runsc reported for this process (what `ps` and `kill --pid`
   * use under gVisor, where the process has no host pid of its own); 0 before start and on runtimes
   * without one (runc, host).
   */
  internalPid(): number {
    return this.#internalPid;
  }

  /** The stdio paths/URIs. */
  stdio(): Stdio {
    const c = this.#config;
    return { stdin: c.stdin, stdout: c.stdout, stderr: c.stderr, terminal: c.terminal };
  }

  /** Its stdin as a stream, or null. */
  stdin(): Writable | null {
    return this.#plumbing?.io.stdin() ?? null;
  }

  /** Sends EOF on stdin. */
  async closeStdin(): Promise<void> {
    await this.#plumbing?.io.closeStdin();
  }

  /** created, running, stopped or deleted. */
  async status(): Promise<ExecStatus> {
    return this.#lifecycle.state;
  }

  /** The exit status (code, or 128 + signal); -1 until it exited. */
  exitStatus(): number {
    return this.#exit.status;
  }

  /** When it exited, or null. */
  exitedAt(): Date | null {
    return this.#exit.at;
  }

  /** Resolves once it exited. */
  wait(): Promise<void> {
    return this.#exit.done;
  }

  /** Runs the process (`exec --detach`) with its own stdio. */
  start(): Promise<void> {
    return this.#lifecycle.run('start', async () => {
      const sub = this.#ctx.subscription();
      if (sub === null) throw invalidState('cannot start a process in a deleted container');
      fs.mkdirSync(this.#dir, { recursive: true, mode: 0o711 });
      const pidFile = this.#pidFile(), internalPidFile = this.#pidFile('internal');
      fs.rmSync(pidFile, { force: true });
      fs.rmSync(internalPidFile, { force: true });
      // Not kept open: a client that left (or broke its stdout) must not leave the process blocked
      // for ever on a pipe nobody reads; it gets EPIPE/SIGPIPE, as docker's exec'd process does
      // (SIGHUP with a terminal: the copy from its pty ends there).
      const hangUp = (): void => { void this.kill('SIGHUP').catch(() => undefined); };
      const plumbing = await Plumbing.open(this.stdio(), this.#ctx.runtime, { id: this.#parent.id(), namespace: this.#ctx.namespace, keepOpen: false, hangUp });
      this.#plumbing = plumbing;
      if (this.#size) plumbing.resize(this.#size);
      try {
        const spec = { ...this.#config.spec, terminal: this.#config.terminal };
        await this.#ctx.runtime.exec(this.#parent.id(), spec, { ...plumbing.runtimeOptions(), pidFile, internalPidFile });
        await plumbing.attached(this.#ctx.consoleTimeout);
      } catch (err) {
        this.#plumbing = null;
        await plumbing.close();
        throw err;
      }
      plumbing.io.closeChildFds(); // the process runs with copies of its own
      this.#pid = readPidFile(pidFile);
      this.#internalPid = readPidFile(internalPidFile);
      if (this.#pid > 0) sub.wait(this.#pid).then((e) => this.#setExited(e.status), () => undefined);
    });
  }

  /**
   * Signals the process. Before start it fails; once stopped or deleted SIGTERM/SIGKILL are a
   * no-op and other signals fail with `process not found`.
   * @throws TaskioError `ERR_INVALID_SIGNAL` for a value that is no signal, in any state.
   */
  async kill(signal: number | string): Promise<void> {
    signalNumber(signal); // a bad signal is refused as such, whatever the state
    return this.#lifecycle.run('kill', async (from) => {
      if (from !== 'running') {
        if (isStopSignal(signal)) return;
        throw invalidState('process not found');
      }
      if (this.#internalPid > 0) {
        await this.#ctx.runtime.kill(this.#parent.id(), signal, { pid: this.#internalPid });
      } else {
        // runc and the host: the pid file names the process itself; it is ours until reaped.
        process.kill(this.#pid, signalNumber(signal));
      }
    });
  }

  /**
   * Sets the terminal's window size (no-op without one).
   * @throws TaskioError `ERR_INVALID_STATE` once the process stopped (or was deleted).
   */
  async resize(ws: WinSize): Promise<void> {
    const size = checkWinSize(ws);
    this.#lifecycle.check('resize');
    this.#size = size;
    this.#plumbing?.resize(size);
  }

  /** Deletes a created or stopped process: its output delivered (bounded), its stdio released. */
  delete(): Promise<void> {
    return this.#lifecycle.run('delete', async (from) => {
      if (from === 'stopped') await this.#plumbing?.finishOutputWithin(this.#ctx.drainTimeout);
      await this.#releaseResources();
      this.#ctx.forget();
    });
  }

  /** True while started and not exited. @internal */
  running(): boolean {
    return this.#lifecycle.state === 'running';
  }

  /** True until deleted. @internal */
  live(): boolean {
    return this.#lifecycle.state !== 'deleted';
  }

  /** Releases stdio and pid files (the container is being deleted). @internal */
  release(): Promise<void> {
    return this.#lifecycle.run('release', (from) => (from === 'deleted' ? undefined : this.#releaseResources()));
  }

  /** Records the exit; the first status wins. */
  #setExited(status: number): void {
    if (!this.#lifecycle.apply('exit')) return;
    this.#exit.record(status);
    void this.#plumbing?.finishOutput();
  }

  async #releaseResources(): Promise<void> {
    this.#exit.record(128 + 9); // never exited on its own: the container's delete (or this one, before start) is its end
    await this.#plumbing?.close();
    fs.rmSync(this.#pidFile(), { force: true });
    fs.rmSync(this.#pidFile('internal'), { force: true });
  }

  #pidFile(kind = ''): string {
    return path.join(this.#dir, `${this.#config.id}${kind ? `-${kind}` : ''}.pid`);
  }
}
