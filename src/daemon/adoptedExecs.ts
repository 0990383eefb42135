import { TaskioError } from '../errors.js';
import { validateId } from '../ids.js';
import { Process, type ExecConfig, type Runtime } from '../runtime/proc/index.js';
import { defaultMonitor, type ExitSubscription } from '../runtime/reaper/index.js';
import { taskNamespace } from './runtimes.js';

/**
 * The exec'd processes of a task adopted after a daemon restart: what its {@link Init} holds for
 * them in the daemon that started it — the runtime, an exit subscription and the live execs —
 * without the Init, which went with that daemon.
 *
 * An exec'd process is this daemon's descendant whoever started the task (runc's process, runsc's
 * `exec` helper), so the reaper of this daemon (a child subreaper) has its exit and its real status,
 * as conmon has an exec's after podman restarted. The subscription is made before the first exec
 * starts, so no exit is missed however fast, and ended once no exec is left.
 */
export class AdoptedExecs {
  readonly #taskId: string;
  readonly #runtime: Runtime;
  readonly #drainTimeout: number;
  readonly #execs = new Map<string, Process>();
  #sub: ExitSubscription | null = null;

  /** @param drainTimeout - how long an exec's delete waits for its client to read its output, ms (as the task's Init had it). */
  constructor(taskId: string, runtime: Runtime, drainTimeout: number) {
    this.#taskId = taskId;
    this.#runtime = runtime;
    this.#drainTimeout = drainTimeout;
  }

  /** The task id (the exec's runtime calls name it). */
  id(): string {
    return this.#taskId;
  }

  /**
   * Makes an exec'd process (state created), as {@link Init.exec} does; `dir` holds its pid files.
   * @throws TaskioError `ERR_INVALID_ID`, `ERR_ALREADY_EXISTS` for the id of a process not yet deleted.
   */
  exec(dir: string, c: ExecConfig): Process {
    const id = validateId(c?.id, 'exec');
    if (this.#execs.get(id)?.live()) throw new TaskioError('ERR_ALREADY_EXISTS', `exec ${JSON.stringify(id)} already exists in container ${this.#taskId}`);
    this.#sub ??= defaultMonitor.subscribe();
    const p = Process.forExec(this, c, dir, {
      runtime: this.#runtime, subscription: () => this.#sub, namespace: taskNamespace,
      drainTimeout: this.#drainTimeout, consoleTimeout: 10_000,
      forget: () => this.#forget(id, p),
    });
    this.#execs.set(id, p);
    return p;
  }

  /** The task is being deleted: every exec's stdio and pid files are released, the subscription ended. */
  async release(): Promise<void> {
    await Promise.all([...this.#execs.values()].map((p) => p.release()));
    this.#execs.clear();
    this.#unsubscribe();
  }

  #forget(id: string, p: Process): void {
    if (this.#execs.get(id) === p) this.#execs.delete(id);
    if (this.#execs.size === 0) this.#unsubscribe();
  }

  #unsubscribe(): void {
    if (this.#sub) defaultMonitor.unsubscribe(this.#sub);
    this.#sub = null;
  }
}
