import fs from 'node:fs';
import { TaskioError } from '../../errors.js';
import { signalNumber, type OciSpec, type Stats } from '../oci/index.js';
import type { Init, Process, Stdio } from '../proc/index.js';
import type { ContainerBackend } from './backend.js';
import { ContainerError, ErrorCode, toContainerError } from './errors.js';
import { processSpecOf, type ProcessConfig } from './processConfig.js';
import { runStateOf, type RunState } from './runState.js';

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
  /** Directory of the exec'd processes' pid files; removed by destroy. */
  stateDir: string;
  /** How long destroy waits for the killed init's exit before giving up, ms. */
  killTimeout: number;
  /** Called once the container is destroyed (the factory forgets its id). */
  onDestroyed(): void;
}

/**
 * A container, libcontainer's first `Container` interface in camelCase, over any backend (runsc,
 * runc, host processes in a job object). Made by {@link createContainer}, which starts its init.
 *
 * Errors carry libcontainer's codes ({@link ErrorCode}): a call after {@link destroy} fails with
 * `ContainerDestroyed`; `startProcess` and `signal` on a paused container with `ContainerPaused`;
 * a bad {@link ProcessConfig} with `ConfigInvalid`; what the runtime or the system refused with
 * `SystemError` (its `cause` is the runtime's error). Calls that need a live init once it exited
 * fail with `ContainerNotRunning`. A pid that is not the container's fails `signal` with `ESRCH`
 * and `waitProcess` with `ECHILD`, as `kill(2)`/`waitpid(2)` would.
 *
 * Pids are in the backend's namespace (see {@link ContainerBackend}): host pids for runc and the
 * host, sandbox pids for runsc.
 */
export class Container {
  readonly #init: Init;
  readonly #backend: ContainerBackend;
  readonly #config: ContainerConfig;
  readonly #parts: ContainerParts;
  /** Exec'd processes by pid (in the backend's namespace), kept until destroy for waitProcess. */
  readonly #execs = new Map<number, Process>();
  #execSeq = 0;
  #pausing: Promise<void> | null = null;
  #destroying: Promise<void> | null = null;
  #destroyed = false;

  /** Made by {@link createContainer} once the init runs. @internal */
  constructor(parts: ContainerParts) {
    this.#init = parts.init;
    this.#backend = parts.backend;
    this.#config = parts.config;
    this.#parts = parts;
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
    if (this.#destroyed) return 'destroyed';
    return runStateOf(await this.#init.status(), this.#pausing !== null);
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
  async processes(): Promise<number[]> {
    await this.#live();
    const stopped = (await this.#init.status()) === 'stopped';
    try {
      return await this.#backend.processes(this.id());
    } catch (err) {
      if (stopped) return [];
      throw toContainerError(err, `processes of container ${this.id()}`);
    }
  }

  /** One sample of resource usage (libcontainer's `Stats`): CPU time, memory, number of processes. */
  async stats(): Promise<ContainerStats> {
    await this.#live();
    await this.#needInit('stat');
    try {
      return await this.#init.stats();
    } catch (err) {
      throw toContainerError(err, `stats of container ${this.id()}`);
    }
  }

  /**
   * Starts another process in the running container (libcontainer's `StartProcess`) and returns
   * its pid, which {@link waitProcess} and {@link signal} take. Its stdio is released by
   * {@link destroy}.
   */
  async startProcess(cfg: ProcessConfig): Promise<number> {
    await this.#live();
    if (await this.#paused()) throw this.#pausedError('start a process in');
    await this.#needInit('start a process in');
    const spec = processSpecOf(cfg, this.#config.spec);
    fs.mkdirSync(this.#parts.stateDir, { recursive: true, mode: 0o711 });
    let p: Process | null = null;
    try {
      p = await this.#init.exec(this.#parts.stateDir, {
        id: `exec-${++this.#execSeq}`, terminal: spec.terminal === true, spec,
        stdin: cfg.stdin ?? '', stdout: cfg.stdout ?? '', stderr: cfg.stderr ?? '',
      });
      await p.start();
    } catch (err) {
      if (p !== null && (await p.status()) === 'created') await p.delete().catch(() => undefined);
      throw toContainerError(err, `start a process in container ${this.id()}`);
    }
    const pid = this.#backend.execPid(p);
    if (pid <= 0) {
      await p.kill('KILL').catch(() => undefined);
      throw new ContainerError(ErrorCode.SystemError, `start a process in container ${this.id()}: the runtime reported no pid for it`);
    }
    this.#execs.set(pid, p);
    return pid;
  }

  /**
   * Sends `signal` (a number or a name like `'TERM'`/`'SIGTERM'`) to the container's process `pid`
   * (libcontainer's `Signal(pid, signal)`). Once the target exited, SIGTERM/SIGKILL are a no-op
   * (the process is already what they ask for) and other signals fail with `ESRCH`.
   */
  async signal(pid: number, signal: number | string): Promise<void> {
    await this.#live();
    if (await this.#paused()) throw this.#pausedError('signal a process of');
    signalNumber(signal); // an unknown signal fails here (ERR_INVALID_SIGNAL), before any process is touched
    const target = pid === this.initPid() ? this.#init : this.#execs.get(pid);
    try {
      if (target !== undefined) {
        await target.kill(signal);
        return;
      }
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_INVALID_STATE') throw esrch(pid, this.id(), err);
      throw toContainerError(err, `signal ${String(signal)} to ${pid} in container ${this.id()}`);
    }
    // Not one of ours: only a pid the container lists may be signalled (never an unrelated host process).
    if (!Number.isInteger(pid) || pid <= 0 || !(await this.processes()).includes(pid)) throw esrch(pid, this.id());
    try {
      await this.#backend.signalPid(this.id(), pid, signal);
    } catch (err) {
      throw toContainerError(err, `signal ${String(signal)} to ${pid} in container ${this.id()}`);
    }
  }

  /**
   * Freezes every process of the container (libcontainer's `Pause`): runsc/runc `pause`, the
   * job's freezer for the host. The state is `pausing` until that is confirmed; pausing a paused
   * container does nothing.
   */
  pause(): Promise<void> {
    // Set before the first await, so runState() says `pausing` from the moment pause() is called.
    this.#pausing ??= this.#pause().finally(() => { this.#pausing = null; });
    return this.#pausing;
  }

  async #pause(): Promise<void> {
    await this.#live();
    const status = await this.#init.status();
    if (status === 'paused') return;
    if (status !== 'running' && status !== 'created') throw this.#notRunning('pause', status);
    try {
      await this.#init.pause();
    } catch (err) {
      throw toContainerError(err, `pause container ${this.id()}`);
    }
  }

  /** Thaws a paused container (libcontainer's `Resume`); resuming a running one does nothing. */
  async resume(): Promise<void> {
    await this.#live();
    if (this.#pausing) await this.#pausing.catch(() => undefined);
    const status = await this.#init.status();
    if (status === 'running' || status === 'created') return;
    if (status !== 'paused') throw this.#notRunning('resume', status);
    try {
      await this.#init.resume();
    } catch (err) {
      throw toContainerError(err, `resume container ${this.id()}`);
    }
  }

  /** Waits for the init to exit and returns its status: the exit code, or 128 + signal. */
  async wait(): Promise<number> {
    if (this.#destroyed) throw this.#destroyedError('wait for');
    await this.#init.wait();
    return this.#init.exitStatus();
  }

  /**
   * Waits for process `pid` (the init, or one {@link startProcess} returned) and returns its status.
   * Processes the container started on its own cannot be waited for (`ECHILD`), as with `waitpid(2)`
   * for a process that is not one's child.
   */
  async waitProcess(pid: number): Promise<number> {
    if (this.#destroyed) throw this.#destroyedError('wait for a process of');
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
   * destroyed container does nothing; concurrent calls share one destroy. Pending {@link wait}s
   * resolve with the killed init's status (137).
   */
  destroy(): Promise<void> {
    if (this.#destroyed) return Promise.resolve();
    this.#destroying ??= this.#destroy().then(
      () => { this.#destroyed = true; this.#parts.onDestroyed(); },
      (err: unknown) => { this.#destroying = null; throw toContainerError(err, `destroy container ${this.id()}`); },
    );
    return this.#destroying;
  }

  async #destroy(): Promise<void> {
    await this.#pausing?.catch(() => undefined);
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
    fs.rmSync(this.#parts.stateDir, { recursive: true, force: true });
  }

  /** Fails with `ContainerDestroyed` once destroy started. */
  async #live(): Promise<void> {
    if (this.#destroyed || this.#destroying !== null) throw this.#destroyedError('use');
  }

  async #paused(): Promise<boolean> {
    return this.#pausing !== null || (await this.#init.status()) === 'paused';
  }

  /** Fails with `ContainerNotRunning` unless the init is still there. */
  async #needInit(what: string): Promise<void> {
    const status = await this.#init.status();
    if (status !== 'running' && status !== 'created' && status !== 'paused') throw this.#notRunning(what, status);
  }

  #destroyedError(what: string): ContainerError {
    return new ContainerError(ErrorCode.ContainerDestroyed, `cannot ${what} container ${this.id()}: it is destroyed`);
  }

  #pausedError(what: string): ContainerError {
    return new ContainerError(ErrorCode.ContainerPaused, `cannot ${what} container ${this.id()}: it is paused`);
  }

  #notRunning(what: string, status: string): ContainerError {
    return new ContainerError(ErrorCode.ContainerNotRunning, `cannot ${what} container ${this.id()}: it is ${status}`);
  }
}

/** `ESRCH` like `kill(2)`'s, for a pid that is not (or no longer) a process of the container. */
function esrch(pid: number, id: string, cause?: unknown): TaskioError {
  return Object.assign(new TaskioError('ESRCH', `no process ${pid} in container ${id}`, { cause }), { errno: -3, syscall: 'kill' });
}
