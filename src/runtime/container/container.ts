import fs from 'node:fs';
import { TaskioError } from '../../errors.js';
import { Lifecycle } from '../../lifecycle.js';
import { isAlive } from '../../pidAlive.js';
import { signalNumber, type OciSpec, type Stats } from '../oci/index.js';
import type { Init, Process, Stdio } from '../proc/index.js';
import { isStopSignal } from '../proc/errors.js';
import type { ContainerBackend } from './backend.js';
import { ContainerError, ErrorCode, toContainerError, type ContainerErrorCode } from './errors.js';
import { processSpecOf, type ProcessConfig } from './processConfig.js';
import { containerTable, type ContainerOp, type ContainerState, type RunState } from './runState.js';

/** Resource usage of a container: `events --stats` for runsc/runc, the job's cgroup for the host. */
export type ContainerStats = Stats;

/** What {@link Container.config} returns: the container's definition, as it was created. */
export interface ContainerConfig {
  readonly id: string;
  /** The bundle directory (absolute). */
  readonly bundle: string;
  /** The bundle's `config.json` as read at creation. */
  readonly spec: Readonly<OciSpec>;
  /** The init's stdio paths/URIs. */
  readonly stdio: Readonly<Stdio>;
}

/** What the factory hands a {@link Container}. @internal */
export interface ContainerParts {
  init: Init;
  backend: ContainerBackend;
  config: ContainerConfig;
  /** Directory of the exec'd processes' pid files, made by the factory; removed by destroy once empty. */
  stateDir: string;
  /** How long destroy waits for the killed init's exit before giving up, ms. */
  killTimeout: number;
}

/**
 * A container, libcontainer's first `Container` interface in camelCase, over any backend (runsc,
 * runc, host processes in a job object). Made by {@link createContainer}, which starts its init.
 *
 * Errors carry libcontainer's codes ({@link ErrorCode}): a call after {@link destroy} fails with
 * `ContainerDestroyed`; `startProcess` and `signal` on a paused container with `ContainerPaused`;
 * a bad {@link ProcessConfig} with `ConfigInvalid`; what the runtime or the system refused with
 * `SystemError` (its `cause` is the runtime's error). Calls that need a live init once it exited
 * fail with `ContainerNotRunning` — also when they race that exit (the runtime refused in the
 * moment before the reaper recorded it). A pid that is not the container's fails `signal` with
 * `ESRCH` and `waitProcess` with `ECHILD`, as `kill(2)`/`waitpid(2)` would.
 *
 * Its calls run one at a time in call order, each checked against the state the one before left
 * (a `signal` made while a `pause` runs fails `ContainerPaused`; anything made while `destroy`
 * runs fails `ContainerDestroyed`); {@link wait} and {@link waitProcess} only watch and never queue.
 *
 * Pids are in the backend's namespace (see {@link ContainerBackend}): host pids for runc and the
 * host, sandbox pids for runsc.
 */
export class Container {
  readonly #init: Init;
  readonly #backend: ContainerBackend;
  readonly #config: ContainerConfig;
  readonly #parts: ContainerParts;
  readonly #lifecycle: Lifecycle<ContainerState, ContainerOp>;
  /** Exec'd processes by pid (in the backend's namespace), kept until destroy for waitProcess. */
  readonly #execs = new Map<number, Process>();
  #execSeq = 0;
  /** Pause calls not finished yet: the run state is `pausing` meanwhile. */
  #pausing = 0;

  /**
   * Made by {@link createContainer} once the init runs (through `fromParts`). Private, so the published declarations refuse `new Container()`: a
   * constructor marked internal would vanish from them and leave TypeScript's implicit public one.
   */
  private constructor(parts: ContainerParts) {
    this.#init = parts.init;
    this.#backend = parts.backend;
    this.#config = parts.config;
    this.#parts = parts;
    this.#lifecycle = new Lifecycle<ContainerState, ContainerOp>(parts.init.exitedAt() ? 'stopped' : 'running', containerTable(parts.config.id), 'container', {
      error: (code, message) => new ContainerError(code as ContainerErrorCode, message),
    });
    void parts.init.wait().then(() => this.#lifecycle.apply('exit'));
  }

  /** @internal the container of an init that runs. */
  static fromParts(parts: ContainerParts): Container {
    return new Container(parts);
  }


  /** The container id. */
  id(): string {
    return this.#config.id;
  }

  /** The backend's name (`runsc`, `runc`, `host`). */
  backend(): string {
    return this.#backend.name;
  }

  /**
   * The init's pid in the backend's namespace (libcontainer's `State.InitPid`): what
   * {@link processes} lists for it and what {@link signal}/{@link waitProcess} take.
   */
  initPid(): number {
    return this.#backend.initPid(this.#init);
  }

  /** The run state (see {@link RunState}); `destroyed` once {@link destroy} finished, never an error. */
  async runState(): Promise<RunState> {
    const state = this.#lifecycle.state;
    return state === 'running' && this.#pausing > 0 ? 'pausing' : state;
  }

  /** The container's definition (a frozen copy: changing the bundle afterwards changes nothing here). */
  config(): ContainerConfig {
    return this.#config;
  }

  /**
   * The pids of the container's processes (libcontainer's `Processes`), in no particular order.
   * As libcontainer warns, some may have exited by the time the caller looks, unless the container
   * is paused. Once the init exited runsc and runc have nothing to list (their pid namespace died
   * with it) and the result is empty; the host backend lists what is left in the job.
   */
  processes(): Promise<number[]> {
    return this.#lifecycle.run('processes', (from) => this.#processes(from === 'stopped'));
  }

  /** One sample of resource usage (libcontainer's `Stats`): CPU time, memory, number of processes. */
  stats(): Promise<ContainerStats> {
    return this.#lifecycle.run('stats', async () => {
      try {
        return await this.#init.stats();
      } catch (err) {
        throw await this.#initError(err, 'stat', `stats of container ${this.id()}`);
      }
    });
  }

  /**
   * Starts another process in the running container (libcontainer's `StartProcess`) and returns
   * its pid, which {@link waitProcess} and {@link signal} take. Its stdio is released by
   * {@link destroy}.
   */
  startProcess(cfg: ProcessConfig): Promise<number> {
    return this.#lifecycle.run('startProcess', async () => {
      const spec = processSpecOf(cfg, this.#config.spec);
      let p: Process | null = null;
      try {
        p = await this.#init.exec(this.#parts.stateDir, {
          id: `exec-${++this.#execSeq}`, terminal: spec.terminal === true, spec,
          stdin: cfg.stdin ?? '', stdout: cfg.stdout ?? '', stderr: cfg.stderr ?? '',
        });
        await p.start();
      } catch (err) {
        if (p !== null && (await p.status()) === 'created') await p.delete().catch(() => undefined);
        throw await this.#initError(err, 'start a process in', `start a process in container ${this.id()}`);
      }
      const pid = this.#backend.execPid(p);
      if (pid <= 0) {
        await p.kill('KILL').catch(() => undefined);
        throw new ContainerError(ErrorCode.SystemError, `start a process in container ${this.id()}: the runtime reported no pid for it`);
      }
      this.#execs.set(pid, p);
      return pid;
    });
  }

  /**
   * Sends `signal` (a number or a name like `'TERM'`/`'SIGTERM'`) to the container's process `pid`
   * (libcontainer's `Signal(pid, signal)`). Once the target exited, SIGTERM/SIGKILL are a no-op
   * (the process is already what they ask for) and other signals fail with `ESRCH`.
   */
  signal(pid: number, signal: number | string): Promise<void> {
    return this.#lifecycle.run('signal', async (from) => {
      signalNumber(signal); // an unknown signal fails here (ERR_INVALID_SIGNAL), before any process is touched
      const target = pid === this.initPid() ? this.#init : this.#execs.get(pid);
      try {
        if (target !== undefined) {
          await target.kill(signal);
          return;
        }
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_INVALID_STATE') throw esrch(pid, this.id(), err);
        // The runtime found the init gone before the reaper told us: as once it has.
        if (target === this.#init && (await this.#initExited())) {
          if (isStopSignal(signal)) return;
          throw esrch(pid, this.id(), err);
        }
        throw toContainerError(err, `signal ${String(signal)} to ${pid} in container ${this.id()}`);
      }
      // Not one of ours: only a pid the container lists may be signalled (never an unrelated host process).
      if (!Number.isInteger(pid) || pid <= 0 || !(await this.#processes(from === 'stopped')).includes(pid)) throw esrch(pid, this.id());
      try {
        await this.#backend.signalPid(this.id(), pid, signal);
      } catch (err) {
        throw toContainerError(err, `signal ${String(signal)} to ${pid} in container ${this.id()}`);
      }
    });
  }

  /**
   * Freezes every process of the container (libcontainer's `Pause`): runsc/runc `pause`, the
   * job's freezer for the host. The state is `pausing` until that is confirmed; pausing a paused
   * container does nothing.
   */
  pause(): Promise<void> {
    // Counted before the call queues, so runState() says `pausing` from the moment pause() is called.
    this.#pausing++;
    return this.#lifecycle.run('pause', async (from) => {
      if (from === 'paused') return;
      try {
        await this.#init.pause();
      } catch (err) {
        throw await this.#initError(err, 'pause', `pause container ${this.id()}`);
      }
    }).finally(() => { this.#pausing--; });
  }

  /** Thaws a paused container (libcontainer's `Resume`); resuming a running one does nothing. */
  resume(): Promise<void> {
    return this.#lifecycle.run('resume', async (from) => {
      if (from === 'running') return;
      try {
        await this.#init.resume();
      } catch (err) {
        throw await this.#initError(err, 'resume', `resume container ${this.id()}`);
      }
    });
  }

  /** Waits for the init to exit and returns its status: the exit code, or 128 + signal. */
  async wait(): Promise<number> {
    if (this.#lifecycle.state === 'destroyed') throw this.#destroyedError('wait for');
    await this.#init.wait();
    return this.#init.exitStatus();
  }

  /**
   * Waits for process `pid` (the init, or one {@link startProcess} returned) and returns its status.
   * Processes the container started on its own cannot be waited for (`ECHILD`), as with `waitpid(2)`
   * for a process that is not one's child.
   */
  async waitProcess(pid: number): Promise<number> {
    if (this.#lifecycle.state === 'destroyed') throw this.#destroyedError('wait for a process of');
    if (pid === this.initPid()) return this.wait();
    const p = this.#execs.get(pid);
    if (p === undefined) {
      throw Object.assign(new TaskioError('ECHILD', `process ${pid} was not started by container ${this.id()}`), { errno: -10, syscall: 'waitProcess' });
    }
    await p.wait();
    return p.exitStatus();
  }

  /**
   * Destroys the container (libcontainer's `Destroy`): a paused one is thawed, every process is
   * killed, the init's exit awaited, its output delivered (bounded by the Init's `drainTimeout`),
   * then the runtime's state, the job, the stdio and the pid files are removed. Destroying a
   * destroyed container does nothing; a failed destroy can be tried again. Pending {@link wait}s
   * resolve with the killed init's status (137).
   */
  destroy(): Promise<void> {
    return this.#lifecycle.run('destroy', async (from) => {
      if (from === 'destroyed') return;
      try {
        await this.#destroy();
      } catch (err) {
        throw toContainerError(err, `destroy container ${this.id()}`);
      }
    });
  }

  async #destroy(): Promise<void> {
    // runsc cannot kill a paused sandbox and a frozen task dies only once thawed: thaw first.
    if ((await this.#init.status()) === 'paused') await this.#init.resume().catch(() => undefined);
    const status = await this.#init.status();
    if (status === 'running' || status === 'created') {
      await this.#init.killAll();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        this.#init.wait().then(() => false),
        new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), this.#parts.killTimeout); }),
      ]).finally(() => clearTimeout(timer));
      if (timedOut && (await this.#init.status()) !== 'created') {
        throw new ContainerError(ErrorCode.SystemError, `destroy container ${this.id()}: its init did not exit within ${this.#parts.killTimeout} ms of SIGKILL`);
      }
    }
    if ((await this.#init.status()) !== 'deleted') await this.#init.delete();
    this.#execs.clear();
    removeStateDir(this.#parts.stateDir);
  }

  /** The backend's process list; once the init exited, a list the runtime cannot give is empty. */
  async #processes(stopped: boolean): Promise<number[]> {
    try {
      return await this.#backend.processes(this.id());
    } catch (err) {
      if (stopped || (await this.#initExited())) return [];
      throw toContainerError(err, `processes of container ${this.id()}`);
    }
  }

  /**
   * An Init that refuses a call for its state has exited (its exit reaches this container's
   * lifecycle a moment later), and so has one the runtime refused for being gone:
   * `ContainerNotRunning`, not a system error. The caller's own mistakes keep their code.
   */
  async #initError(err: unknown, what: string, context: string): Promise<Error> {
    const mapped = toContainerError(err, context);
    if ((mapped as { code?: string }).code !== ErrorCode.SystemError) return mapped;
    if ((err as { code?: string } | null)?.code === 'ERR_INVALID_STATE' || (await this.#initExited())) {
      return new ContainerError(ErrorCode.ContainerNotRunning, `cannot ${what} container ${this.id()}: its init has exited`, { cause: err });
    }
    return mapped;
  }

  /**
   * Whether the init has exited, asked once a runtime call failed: the reaper records an exit a
   * moment after it happens (an init killed from outside, by the OOM killer or a user), and runsc
   * or runc refuse what reaches them in between (`container not running`, `in state stopped`).
   * Yes when the exit is recorded, when the pid whose exit is the container's no longer runs (a
   * zombie not reaped yet), or when the runtime's state says `stopped`.
   */
  async #initExited(): Promise<boolean> {
    if (this.#init.exitedAt() !== null) return true;
    const pid = this.#init.pid();
    if (pid > 0 && !isAlive(pid)) return true;
    const state = await this.#backend.runtime.state(this.id()).catch(() => null);
    return state?.status === 'stopped';
  }

  #destroyedError(what: string): ContainerError {
    return new ContainerError(ErrorCode.ContainerDestroyed, `cannot ${what} container ${this.id()}: it is destroyed`);
  }
}

/**
 * Removes the pid-file directory the factory made, once the processes' own files are gone (each
 * Process removes its own). Never recursive: a file taskio did not write there keeps the directory.
 * @internal
 */
export function removeStateDir(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTEMPTY') throw err;
  }
}

/** `ESRCH` like `kill(2)`'s, for a pid that is not (or no longer) a process of the container. */
function esrch(pid: number, id: string, cause?: unknown): TaskioError {
  return Object.assign(new TaskioError('ESRCH', `no process ${pid} in container ${id}`, { cause }), { errno: -3, syscall: 'kill' });
}
