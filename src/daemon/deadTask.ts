import fs from 'node:fs';
import { TaskioError } from '../errors.js';
import { removeInside } from '../removeInside.js';
import { Runsc } from '../runtime/oci/index.js';
import { leftoverKinds } from './staleJobs.js';
import { OutputKeeper } from './outputKeeper.js';
import { isSameLiveProcess } from './procStat.js';
import type { PidWatch } from './pidWatch.js';
import { goneFromRuntime, jobPrefix, type Runtimes } from './runtimes.js';
import { defaultStopTimeout, type TaskContext, type TaskView } from './task.js';

/**
 * A task whose record the daemon cannot use (docker's `dead` state): JSON that does not parse, a
 * field missing or of the wrong type (`parseTaskRecord`). It is listed (`ps -a`, `inspect`, with
 * the reason) and can only be removed: `rm` once nothing of it runs, `rm -f` always — what of it can
 * be identified without the record goes, found as at adoption, and nothing else is touched.
 */
export class DeadTask {
  readonly id: string;
  /** What is wrong with its record. */
  readonly reason: string;
  /** The record as parsed (an object), or null when it did not parse: its fields are read one by one, each only when of its type. */
  readonly #raw: Record<string, unknown> | null;
  readonly #ctx: TaskContext;

  constructor(ctx: TaskContext, id: string, reason: string, raw: unknown) {
    this.#ctx = ctx;
    this.id = id;
    this.reason = reason;
    this.#raw = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw as Record<string, unknown> : null;
  }

  #field<T>(key: string, ok: (v: unknown) => boolean, fallback: T): T {
    const v = this.#raw?.[key];
    return v !== undefined && ok(v) ? v as T : fallback;
  }

  /** When it was made: the record's, else when its directory last changed (docker's prune `until` needs one). */
  get created(): string {
    const t = fs.statSync(this.#ctx.layout.taskDir(this.id), { throwIfNoEntry: false })?.mtime ?? new Date(0);
    return this.#field('created', (v) => typeof v === 'string', t.toISOString());
  }

  /** Its labels when the record has them right, else none. */
  get labels(): Record<string, string> {
    return this.#field('labels', (v) => typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'string'), {});
  }

  /** The runtime the record names, when it is one taskio knows. */
  get #runtime(): 'runsc' | 'runc' | 'host' | null {
    return this.#field('runtime', (v) => v === 'runsc' || v === 'runc' || v === 'host', null);
  }

  /** The task's process: the record's pid while a live process has it AND the record's start time; else null. */
  liveProcess(): { pid: number; startTime: string } | null {
    const pid = this.#field('pid', (v) => Number.isSafeInteger(v) && (v as number) > 0, 0);
    const startTime = this.#field<string | null>('pidStartTime', (v) => typeof v === 'string', null);
    // Without a start time a pid may be anyone's by now: not the task's to kill.
    return startTime !== null && isSameLiveProcess(pid, startTime) ? { pid, startTime } : null;
  }

  view(): TaskView {
    const str = (v: unknown): boolean => typeof v === 'string';
    const strs = (v: unknown): boolean => Array.isArray(v) && v.every(str);
    const live = this.liveProcess();
    return {
      id: this.id, status: 'dead', reason: this.reason, runtime: this.#runtime ?? 'unknown', image: this.#field('image', str, ''),
      args: this.#field('args', strs, []), cwd: this.#field('cwd', str, ''), terminal: this.#field('terminal', (v) => typeof v === 'boolean', false),
      stdin: false, stdinOpen: false, log: this.#field('log', str, 'none'), logPath: null, logFormat: null,
      stdio: { terminal: false, stdin: '', stdout: '', stderr: '' }, limits: null, mounts: [], user: null, labels: this.labels, init: false,
      ulimits: [], hostname: null, network: 'none', capabilities: null, privileged: false, securityOpt: [], seccomp: null, autoRemove: false,
      healthcheck: null, health: null, restartPolicy: { name: 'no' }, restartCount: 0, stopSignal: 'SIGTERM', stopTimeout: defaultStopTimeout,
      pid: live?.pid ?? 0, created: this.created, started: this.#field('started', str, null), finished: null, adopted: true, exit: null, execs: [],
    };
  }

  /**
   * Removes what of the task can be safely identified without its record: its process (`force`;
   * only when the record's pid and start time still name a live process), its runtime state
   * (`runc`/`runsc delete` by the id its directory gives), its output keepers (those holding its
   * FIFOs), its cgroups by name, then its directory. Without `force` one whose process runs, whose
   * container runs, or whose cgroup still holds processes is refused.
   * @throws TaskioError `ERR_INVALID_STATE` naming the task when it runs and `force` is not given.
   */
  async remove(force: boolean, runtimes: Runtimes, watch: PidWatch): Promise<void> {
    const { layout, logger } = this.#ctx;
    const id = this.id;
    const live = this.liveProcess();
    if (live && !force) throw new TaskioError('ERR_INVALID_STATE', `cannot remove dead task ${id}: its process ${live.pid} still runs (use force)`);
    if (live) await this.#killProcess(live, watch);
    else logger.info({ id }, 'dead task: no live process matches its record\'s pid and start time, none is killed');
    for (const name of ['runc', 'runsc'] as const) {
      const command = runtimes[name];
      if (command === null || (this.#runtime !== null && this.#runtime !== name)) continue;
      const runsc = new Runsc({ command, root: layout.runtimeRoot(name), logPath: layout.runtimeLog(id), dialect: name, network: 'none' });
      await runsc.delete(id, { force }).catch((err: unknown) => {
        if (goneFromRuntime(err)) return;
        if (!force) throw new TaskioError('ERR_INVALID_STATE', `cannot remove dead task ${id}: ${name} refuses its delete (use force): ${(err as Error).message}`, { cause: err });
        logger.warn({ err, id }, 'dead task: runtime delete failed; removed anyway (force)');
      });
    }
    const name = `${jobPrefix(layout.root)}${id}`;
    for (const { field, remove } of leftoverKinds) {
      // One still holding processes is not the task's to kill without its record: `rm` is refused
      // (nothing of a task that may run goes unseen), `rm -f` leaves it, logged.
      await remove(name).catch((err: unknown) => {
        if (!force) throw new TaskioError('ERR_INVALID_STATE', `cannot remove dead task ${id}: ${(err as Error).message} (use force)`, { cause: err });
        logger.warn({ err, id, [field]: name }, `dead task: its ${field} is left as it is`);
      });
    }
    await Promise.all(OutputKeeper.holding(layout.taskDir(id)).map((keeper) => keeper.stop()));
    removeInside(layout.tasks, layout.taskDir(id));
  }

  /** Kills the task's process through a pidfd (never a process that reused its pid) and waits for its end. */
  async #killProcess(live: { pid: number; startTime: string }, watch: PidWatch): Promise<void> {
    if (await watch.kill(live.pid, live.startTime)) this.#ctx.logger.warn({ id: this.id, pid: live.pid }, 'dead task: its process killed (rm -f)');
  }
}
