import fs from 'node:fs';
import crypto from 'node:crypto';
import { TaskioError } from '../../errors.js';
import { validateId } from '../../ids.js';
import { silentLogger, type LogSink } from '../../log.js';
import { JobObject, type JobObjectOptions } from '../jobobject/index.js';
import { removeStaleJob } from '../jobobject/staleJob.js';
import { signalNumber, type CallOptions, type CheckpointOptions, type DeleteOptions, type KillOptions, type ProcessSpec, type State, type Stats } from '../oci/index.js';
import type { Runtime, RuntimeCreateOptions, RuntimeExecOptions, RuntimeRestoreOptions, Terminal } from '../proc/index.js';
import { Freezer } from './freezer.js';
import { jobStats } from './jobStats.js';
import { readPidFile } from '../oci/pidFile.js';

/** Options of a {@link JobRuntime}. */
export interface JobRuntimeOptions {
  /** Prefix of each task's job name (`<prefix><id>`, or `<prefix><sha256 of id>` past 200 characters). Default `container-`. */
  jobPrefix?: string;
  /** Passed to `JobObject.create` (e.g. a `layout`); `name` and `terminateOnLastHandleClose` are set here. */
  job?: Omit<JobObjectOptions, 'name' | 'terminateOnLastHandleClose'>;
  /** Where the removal of a leftover job at create is reported (a warning). Default: nowhere. */
  logger?: LogSink;
}

/** One task's job and where its init's pid will be written. */
interface TaskJob {
  job: JobObject;
  pidFile: string | undefined;
  freezer: Freezer | null;
  paused: boolean;
}

/**
 * A {@link Runtime} that runs another one's processes (the host backend's) grouped in one
 * {@link JobObject} per task, so the task's processes can be listed, frozen, measured and killed
 * as one, as runsc/runc do with a container's cgroup:
 *
 * - `pids(id)` is the job's process list; `stats(id)` its cgroup accounting;
 * - `pause`/`resume` freeze and thaw the job's cgroup (the host runtime's own pause is SIGSTOP,
 *   which a process can observe and its children's `waitpid(WUNTRACED)` reports);
 * - `kill(id, sig, { all })` signals every process in the job (SIGKILL: `terminate()`, which
 *   `cgroup.kill` makes race-free); `delete` removes the job after killing what is left.
 *
 * The host runtime made by {@link hostBackend} spawns each process inside the job from its first
 * instruction (its `jobFor` hook asks {@link jobOf}). Any other inner runtime's processes are moved
 * in right after they started (`assign`), with the descendants forked in between — memory charged
 * before such a move stays charged outside (a Linux cgroup never moves charges), and a process that
 * double-forked away in that gap stays outside.
 */
export class JobRuntime implements Runtime {
  readonly #inner: Runtime;
  readonly #options: JobRuntimeOptions;
  readonly #tasks = new Map<string, TaskJob>();
  /** Tasks being created, with their job once it is made (an OCI-style runtime spawns during create). */
  readonly #creating = new Map<string, JobObject | null>();
  /** Present when the inner runtime makes its own terminals (the host's node-pty). */
  readonly newTerminal?: () => Terminal;

  constructor(inner: Runtime, options: JobRuntimeOptions = {}) {
    this.#inner = inner;
    this.#options = options;
    if (inner.newTerminal) this.newTerminal = () => inner.newTerminal!();
  }

  /** The job name of task `id`. @throws TaskioError `ERR_INVALID_ID`. */
  jobName(id: string): string {
    validateId(id, 'task');
    const prefix = this.#options.jobPrefix ?? 'container-';
    const name = `${prefix}${id}`;
    return name.length <= 200 ? name : `${prefix}${crypto.createHash('sha256').update(id).digest('hex')}`;
  }

  /** Task `id`'s job object, from create to delete (the host runtime's `jobFor` hook). */
  jobOf(id: string): JobObject | undefined {
    return this.#tasks.get(id)?.job ?? this.#creating.get(id) ?? undefined;
  }

  /** The pids of every process in task `id`'s job. */
  async pids(id: string): Promise<number[]> {
    return this.#task(id).job.pids();
  }

  /**
   * Makes the task's job, then creates the task in the inner runtime with its processes born in
   * the job. An id this runtime has (or is creating) fails `ERR_ALREADY_EXISTS` before anything is
   * made; so does one whose job exists and is in use — open in this process (another runtime
   * object's task), or holding processes (a task whose supervisor lost track of it; the message
   * names its pids). A job of that name that holds nothing, left by a supervisor that died or
   * whose state was removed, is removed first (a warning names it), as runc reuses a cgroup path.
   */
  async create(id: string, bundle: string, opts: RuntimeCreateOptions): Promise<void> {
    const name = this.jobName(id);
    if (this.#tasks.has(id) || this.#creating.has(id)) throw new TaskioError('ERR_ALREADY_EXISTS', `task ${JSON.stringify(id)} already exists`);
    // Claimed before the first await; the job is filled in once made.
    this.#creating.set(id, null);
    let job: JobObject | null = null;
    try {
      await this.#removeStaleJob(id, name);
      job = await JobObject.create({ ...this.#options.job, name, terminateOnLastHandleClose: true });
      this.#creating.set(id, job);
      await this.#inner.create(id, bundle, opts);
    } catch (err) {
      await job?.close().catch(() => undefined);
      throw err;
    } finally {
      this.#creating.delete(id);
    }
    const task: TaskJob = { job, pidFile: opts.pidFile, freezer: null, paused: false };
    this.#tasks.set(id, task);
    // Runtimes that spawn at create (as OCI ones do) have written the pid already.
    if (opts.pidFile) await this.#adopt(task, readPidFile(opts.pidFile));
  }

  async start(id: string, opts?: CallOptions): Promise<void> {
    const task = this.#task(id);
    await this.#inner.start(id, opts);
    if (task.pidFile) await this.#adopt(task, readPidFile(task.pidFile));
  }

  async exec(id: string, spec: ProcessSpec, opts: RuntimeExecOptions): Promise<void> {
    const task = this.#task(id);
    await this.#inner.exec(id, spec, opts);
    if (opts.pidFile) await this.#adopt(task, readPidFile(opts.pidFile));
  }

  /** With `all`, every process in the job; otherwise as the inner runtime does (the init, or `opts.pid`). */
  async kill(id: string, signal: number | string, opts: KillOptions = {}): Promise<void> {
    const task = this.#task(id);
    if (!opts.all) return this.#inner.kill(id, signal, opts);
    const sig = signalNumber(signal);
    if (sig === 9) {
      await task.job.terminate();
      return;
    }
    const pids = await task.job.pids();
    if (pids.length === 0) throw new TaskioError('ERR_NOT_FOUND', `task ${id}: no process left`);
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
  }

  /** Deletes the task in the inner runtime, then kills what is left in the job and removes it. */
  async delete(id: string, opts?: DeleteOptions): Promise<void> {
    const task = this.#task(id);
    if (task.paused) await task.freezer?.thaw().catch(() => undefined);
    try {
      await this.#inner.delete(id, opts);
    } catch (err) {
      // Forced, the task goes whatever the inner runtime says (it may have forgotten it already).
      if (!opts?.force) throw err;
    }
    this.#tasks.delete(id);
    await task.job.close(); // terminateOnLastHandleClose: kills the rest, waits for the job to empty, removes it
  }

  /** The inner runtime's state, `paused` while the job is frozen. */
  async state(id: string, opts?: CallOptions): Promise<State> {
    const task = this.#task(id);
    const state = await this.#inner.state(id, opts);
    return task.paused && state.status === 'running' ? { ...state, status: 'paused' } : state;
  }

  async stats(id: string): Promise<Stats> {
    return jobStats(this.#task(id).job);
  }

  /** Freezes the job (every process, children included), returning once the kernel confirmed it. */
  async pause(id: string): Promise<void> {
    const task = this.#task(id);
    task.freezer ??= await Freezer.of(task.job.cgroupPaths);
    await task.freezer.freeze();
    task.paused = true;
  }

  async resume(id: string): Promise<void> {
    const task = this.#task(id);
    task.freezer ??= await Freezer.of(task.job.cgroupPaths);
    await task.freezer.thaw();
    task.paused = false;
  }

  checkpoint(id: string, opts: CheckpointOptions): Promise<void> {
    return this.#inner.checkpoint(id, opts);
  }

  restore(id: string, opts: RuntimeRestoreOptions): Promise<number> {
    return this.#inner.restore(id, opts);
  }

  /** On Linux, clears the way for task `id`'s job (see {@link removeStaleJob}); Windows: not checked. */
  async #removeStaleJob(id: string, name: string): Promise<void> {
    if (process.platform !== 'linux') return;
    let removed: string[];
    try {
      removed = await removeStaleJob(name, this.#options.job?.layout);
    } catch (err) {
      if ((err as TaskioError).code !== 'ERR_ALREADY_EXISTS') throw err;
      throw new TaskioError('ERR_ALREADY_EXISTS', `task ${JSON.stringify(id)}: ${(err as Error).message}`, { cause: err });
    }
    if (removed.length > 0) (this.#options.logger ?? silentLogger).warn({ id, job: name, dirs: removed }, 'removed an empty job left by an earlier supervisor of the task\'s id');
  }

  #task(id: string): TaskJob {
    const task = this.#tasks.get(validateId(id, 'task'));
    if (!task) throw new TaskioError('ERR_NOT_FOUND', `task ${JSON.stringify(id)} does not exist`);
    return task;
  }

  /**
   * Moves `pid` into the task's job, then the descendants it forked before the move (a process
   * already in the job forks into it, so the sweep ends once a pass finds nobody new). A process
   * that exited meanwhile is skipped: its exit still reaches the Init through the reaper.
   */
  async #adopt(task: TaskJob, pid: number): Promise<void> {
    if (pid <= 0) return;
    const inJob = new Set(await task.job.pids());
    let wanted = [pid];
    while (wanted.length > 0) {
      for (const p of wanted) {
        if (inJob.has(p)) continue;
        try {
          await task.job.assign(p);
        } catch (err) {
          if (fs.existsSync(`/proc/${p}`)) throw err;
        }
        inJob.add(p);
      }
      wanted = descendantsOf(inJob).filter((p) => !inJob.has(p));
    }
  }
}

/** Live processes whose parent is in `parents` (one level; the caller repeats), from `/proc`. */
function descendantsOf(parents: ReadonlySet<number>): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && parents.has(Number(fields[1]))) out.push(Number(entry));
  }
  return out;
}
