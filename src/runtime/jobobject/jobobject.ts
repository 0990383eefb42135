import type { ChildProcess } from 'node:child_process';
import { TaskioError } from '../../errors.js';
import { validatePid } from '../../ids.js';
import { maxTimerMs } from '../../maxTimerMs.js';
import type { JobBackend } from './backend.js';
import type { CgroupLayout } from './hierarchy.js';
import {
  CPURateControlType,
  checkCPULimit,
  checkIOLimit,
  checkJobLimits,
  checkMemoryLimit,
  type JobLimits,
} from './limits.js';
import { alreadyClosed, type JobNotification } from './notifications.js';
import { platformBackends } from './platform.js';
import type { JobCommand, JobSpawnOptions } from './spawn.js';
import type { JobMemoryStats, JobProcessorStats, JobStorageStats } from './stats.js';

/** Options of {@link JobObject.create} (hcsshim's `Options`, plus what Linux needs to be told). */
export interface JobObjectOptions {
  /**
   * The job's name; on Linux it becomes the cgroup `<mount>/taskio/<name>` in every hierarchy, so it must
   * be a single path segment of `[A-Za-z0-9_.@:-]`. On Windows it is the kernel object name given to
   * CreateJobObjectW as it is (1..260 characters; `Global\\` for the global namespace, else the session's).
   * Without a name Linux makes up a unique one (`job-<pid>-<random>`), which can be opened; Windows makes
   * an unnamed job, which cannot (its `name` is '').
   */
  name?: string;
  /** Watch the job so {@link JobObject.pollNotification} works; without it that call fails `ERR_NOT_REGISTERED`. */
  notifications?: boolean;
  /**
   * Windows' `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`: when the last handle closes, kill what is left in the
   * job and remove it. Off by default, as in hcsshim. On Windows it is set on the job itself, so the last
   * handle in any process counts, and the kernel acts even if Node dies. Linux difference: a cgroup is
   * not tied to a handle, so if Node dies without `close()` the job and its processes stay (bounded
   * cleanup is the caller's: `open(name)` then `terminate()` and `close()`).
   */
  terminateOnLastHandleClose?: boolean;
  /**
   * Linux only: paths (files, directories or block device nodes) whose disks receive
   * {@link JobObject.setIOLimit} rules. Default: the disks of every mounted block-device filesystem
   * (Windows' "all volumes", which is what Windows always uses).
   */
  ioDevices?: readonly string[];
  /** Limits applied at creation; they are all checked before anything is created. */
  limits?: JobLimits;
  /**
   * Linux only: the cgroup hierarchies to use instead of those found in `/proc/mounts` — e.g. a layout without its
   * cgroup2 mount to run the v1-only paths (polling, freezer) on a hybrid machine. Jobs of one name must
   * always be opened with the same layout.
   */
  layout?: CgroupLayout;
}

/** Options of {@link JobObject.open}. */
export interface JobObjectOpenOptions {
  /** As {@link JobObjectOptions.notifications}. */
  notifications?: boolean;
  /** As {@link JobObjectOptions.ioDevices}. */
  ioDevices?: readonly string[];
  /** As {@link JobObjectOptions.layout}. */
  layout?: CgroupLayout;
}


function checkExitCode(exitCode: number): void {
  if (!Number.isSafeInteger(exitCode) || exitCode < 0 || exitCode > 0xffffffff) {
    throw new TaskioError('ERR_OUT_OF_RANGE', `exit code of \`${String(exitCode)}\` is invalid: must be an integer in 0..4294967295`);
  }
}

/**
 * A job object — hcsshim's `jobobject.JobObject` in camelCase: a group of processes that share limits
 * (CPU, memory, I/O), accounting and a notification when the last one exits. The platform's backend is
 * chosen at run time: Linux cgroups, or kernel32 job objects on Windows (through koffi, loaded only
 * there; **not verified on Windows** — only checked against a scripted kernel32). Every argument is
 * checked here, before any backend call, so a value out of range rejects with `ERR_OUT_OF_RANGE` and
 * changes nothing. A failed kernel32 call rejects with a `Win32Error` whose `code` is the Win32 name
 * (`'ERROR_ACCESS_DENIED'` …) — e.g. `open()` of a missing job is `ENOENT` on Linux and
 * `ERROR_FILE_NOT_FOUND` on Windows.
 *
 * On Linux, cgroups are found at run time from `/proc/mounts`: v1, unified v2 or hybrid (v1 controllers
 * plus a cgroup2 mount). Each concern uses cgroup2 when its root offers the controller, else its v1
 * hierarchy; `cgroup.kill`, `cgroup.freeze`, `cgroup.events` and `cpu.stat` come from cgroup2 whenever it
 * is mounted. A hybrid machine's job joins its v1 freezer as well, for {@link terminate}.
 *
 * Where Linux differs from Windows (each method says more):
 * - names are cgroup paths `<mount>/taskio/<name>` in each hierarchy, visible to every process on the host;
 * - a memory limit makes the kernel's OOM killer SIGKILL a process of the job; Windows fails the allocation;
 * - `terminate(exitCode)` kills with SIGKILL, so processes end with signal 9 (137 from a shell), not `exitCode`;
 * - I/O limits apply per disk and per direction (read and write each get the full limit), and buffered
 *   writes on cgroup v1 escape them;
 * - `assign()` moves a running process but not the memory it already charged elsewhere: use `spawn()`;
 * - handle counting (`terminateOnLastHandleClose`, removal at `close`) is per Node process.
 */
export class JobObject {
  #closed = false;
  readonly #backend: JobBackend;

  private constructor(backend: JobBackend) {
    this.#backend = backend;
  }

  /**
   * Creates a job (hcsshim `Create`). As with Windows' CreateJobObject, an existing job of that name is
   * opened rather than refused. `options.limits` are checked before anything is created, so a value out of
   * range rejects with `ERR_OUT_OF_RANGE` and leaves nothing behind; limits that fail to apply close the
   * new handle (and on Linux remove a cgroup made by this call).
   */
  static async create(options: JobObjectOptions = {}): Promise<JobObject> {
    if (options.limits !== undefined) checkJobLimits(options.limits);
    const backends = await platformBackends();
    let job: JobObject | undefined;
    await backends.create(options, async (backend) => {
      job = new JobObject(backend);
      if (options.limits !== undefined) await job.setResourceLimits(options.limits);
    });
    if (job === undefined) throw new TaskioError('ERR_INTERNAL_ASSERTION', 'the job object backend returned without a job');
    return job;
  }

  /**
   * Opens an existing job by name (hcsshim `Open`), e.g. one another JobObject or another process made.
   * Rejects with `ENOENT` (Linux) or `ERROR_FILE_NOT_FOUND` (Windows) when no such job exists.
   */
  static async open(name: string, options: JobObjectOpenOptions = {}): Promise<JobObject> {
    const backends = await platformBackends();
    return new JobObject(await backends.open(name, options));
  }

  /**
   * The names of the jobs that exist now, of every process on the host (Linux: the directories
   * under `taskio/`). Windows cannot list named job objects: there it is empty.
   */
  static async names(): Promise<string[]> {
    return (await (await platformBackends()).names?.()) ?? [];
  }

  /** The job's name: its cgroup directory under `taskio/` on Linux, the kernel object name on Windows ('' if unnamed). */
  get name(): string {
    return this.#backend.name;
  }

  /** The cgroup directories of this job, one per hierarchy it joined (for diagnostics and tests); empty on Windows. */
  get cgroupPaths(): readonly string[] {
    return this.#backend.cgroupPaths;
  }

  #ensureOpen(): void {
    if (this.#closed) throw alreadyClosed();
  }

  /**
   * Puts a running process into the job (hcsshim `Assign`): OpenProcess + AssignProcessToJobObject on
   * Windows, `cgroup.procs` on Linux. Linux difference: memory the process had already charged stays
   * charged where it was; only later allocations count against this job's limit. Its children started
   * before the move stay outside (on both). Prefer {@link spawn}.
   */
  async assign(pid: number): Promise<void> {
    this.#ensureOpen();
    validatePid(pid, 0xffffffff); // a Windows pid is a DWORD
    await this.#backend.assign(pid);
  }

  /**
   * Starts a process in the job.
   *
   * Linux: the process is born inside the job (what Windows does with `PROC_THREAD_ATTRIBUTE_JOB_LIST`):
   * a `/bin/sh` wrapper joins the cgroups and then `exec`s `cmd`, so the returned child's pid is the
   * command's. A missing command exits 127 rather than emitting `'error'`; a job that cannot be entered
   * exits 125 without running the command. The wrapper joins a moment after this returns; until then
   * {@link pids} of this handle lists the child all the same and {@link terminate} kills it by pid, so
   * a terminate right after a spawn cannot miss it.
   *
   * Windows: Node cannot start a process suspended or with a job attribute, so the child is spawned
   * normally and assigned before this returns; it runs outside the job for that moment, and anything it
   * starts in that moment stays outside. If the assign fails the child is killed and emits `'error'`.
   */
  spawn(cmd: string, args: readonly string[] = [], options: JobSpawnOptions = {}): ChildProcess {
    this.#ensureOpen();
    return this.#backend.spawn(cmd, args, options);
  }

  /**
   * The command line that starts `cmd args` inside this job from its first instruction, for
   * spawners that cannot use {@link spawn} (node-pty): run `file` with `args` instead of the command.
   * The command then has the wrapper's pid, and a missing command exits 127. Linux only: on Windows it
   * throws `ERR_NOT_SUPPORTED` (spawn, then {@link assign}).
   */
  commandLine(cmd: string, args: readonly string[] = []): JobCommand {
    this.#ensureOpen();
    return this.#backend.commandLine(cmd, args);
  }

  /** The pids of every process in the job (hcsshim `Pids`), in no particular order. */
  async pids(): Promise<number[]> {
    this.#ensureOpen();
    return this.#backend.pids();
  }

  /**
   * Kills every process in the job (hcsshim `Terminate`). Windows: TerminateJobObject, every process
   * exits with `exitCode` (an integer in 0..2^32−1, else `ERR_OUT_OF_RANGE`).
   *
   * Linux: every process in any of the job's cgroups — on a hybrid machine also one that another program
   * (systemd) moved out of the job's cgroup2 directory alone. Through `cgroup.kill` (cgroup2, Linux ≥
   * 5.14), and for what that cannot reach by freezing the job (cgroup2's and the v1 freezer), sending
   * SIGKILL to each process and thawing it, so none can fork away. `exitCode` cannot be imposed; processes die of
   * SIGKILL (status 137 from a shell, `signal === 'SIGKILL'` in Node). The call returns once the kill is
   * issued; the job is empty shortly after, which `MsgAllProcessesExited` reports and {@link waitEmpty}
   * waits for.
   */
  async terminate(exitCode = 1): Promise<void> {
    this.#ensureOpen();
    checkExitCode(exitCode);
    await this.#backend.terminate(exitCode);
  }

  /**
   * Waits until the job has no process left (not in hcsshim: the end of a {@link terminate}, which only
   * issues the kill, or of a job left to run out). Resolves at once for an empty job; rejects
   * `ETIMEDOUT` naming the job after `timeoutMs` (an integer in 0..2147483647 ms, else
   * `ERR_OUT_OF_RANGE`), when the processes are still there.
   *
   * Linux: no process in any of the job's cgroups. An event where the kernel gives one — cgroup2's
   * `cgroup.events` (`populated 0`), watched with inotify, on v2 and hybrid machines — and a poll of
   * `cgroup.procs` every `PollIntervalMs` only where it does not (v1 alone, or a process left in a hybrid
   * machine's v1 cgroups after it left the cgroup2 one). A child of {@link spawn} still on its
   * way in counts as in the job until it exits. Windows: the process list is polled every
   * `PollIntervalMs` (a job handle is not signaled when it empties, and its completion port's
   * message is {@link pollNotification}'s).
   */
  async waitEmpty(timeoutMs = 10_000): Promise<void> {
    this.#ensureOpen();
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > maxTimerMs) {
      throw new TaskioError('ERR_OUT_OF_RANGE', `timeout of \`${String(timeoutMs)}\` is invalid: must be an integer in 0..${maxTimerMs} ms`);
    }
    await this.#backend.waitEmpty(timeoutMs);
  }

  /**
   * Sets a CPU limit (hcsshim `SetCPULimit`); like Windows the last call decides the mode, so a rate removes
   * a weight and the other way round. Windows: `JOBOBJECT_CPU_RATE_CONTROL_INFORMATION` with
   * ENABLE | HARD_CAP (rate) or ENABLE | WEIGHT_BASED (weight).
   *
   * Linux:
   * - `RateBased`, 1..10000 (1/100 % of the whole machine): a CFS hard cap of rate·nCPU/10000 CPUs, i.e.
   *   `cpu.max` / `cpu.cfs_quota_us` of rate·nCPU·100 ms/10000 per 100 ms period (nCPU = `os.cpus().length`).
   *   Quotas under the kernel's 1 ms minimum stretch the period up to 1 s.
   * - `WeightBased`, 1..9 (Windows default 5): proportional to the kernel default, `cpu.weight` = 20·w
   *   (5 → 100) on cgroup2, `cpu.shares` = round(1024·w/5) (5 → 1024) on v1. Like Windows weights, they
   *   only matter when CPUs are contended.
   *
   * A value out of range rejects with `ERR_OUT_OF_RANGE` and changes nothing.
   */
  async setCPULimit(type: CPURateControlType, value: number): Promise<void> {
    this.#ensureOpen();
    checkCPULimit(type, value);
    await this.#backend.setCPULimit(type, value);
  }

  /**
   * Limits the memory of the whole job (hcsshim `SetMemoryLimit`). Windows: `JobMemoryLimit` with
   * `JOB_OBJECT_LIMIT_JOB_MEMORY` (other extended limits kept); an allocation beyond it fails.
   *
   * Linux: `memory.max` (cgroup2) or `memory.limit_in_bytes` (v1). Swap is held to the same total
   * (`memory.swap.max` 0 / `memory.memsw.limit_in_bytes` = limit) so the limit is on all the job's memory,
   * as a Windows commit limit is. Linux difference: instead of failing the allocation, the kernel reclaims
   * and then has the OOM killer SIGKILL a process of the job (the child exits with `signal === 'SIGKILL'`).
   * A value that is not an integer in 1..2^63−1 rejects with `ERR_OUT_OF_RANGE`.
   */
  async setMemoryLimit(bytes: bigint | number): Promise<void> {
    this.#ensureOpen();
    const limit = checkMemoryLimit(bytes);
    await this.#backend.setMemoryLimit(limit);
  }

  /**
   * Limits I/O (hcsshim `SetIOLimit`): `maxBandwidth` bytes/s and `maxIOPS` operations/s; 0 leaves that one
   * as it is (as in hcsshim). Windows: SetIoRateControlInformationJobObject for all volumes (a 0 keeps the
   * value this handle last set).
   *
   * Linux: written as `io.max` (`rbps/wbps/riops/wiops`) on cgroup2 or
   * `blkio.throttle.{read,write}_{bps,iops}_device` on v1 for each disk of {@link JobObjectOptions.ioDevices}
   * (default: every mounted disk). Linux differences: Windows limits the job's I/O as a whole; Linux
   * limits each disk separately and reads and writes separately, so reads and writes may each reach the
   * limit. On v1, buffered writes are flushed by kernel threads outside the job and are not throttled.
   */
  async setIOLimit(maxBandwidth: number, maxIOPS: number): Promise<void> {
    this.#ensureOpen();
    checkIOLimit('maxBandwidth', maxBandwidth);
    checkIOLimit('maxIOPS', maxIOPS);
    await this.#backend.setIOLimit(maxBandwidth, maxIOPS);
  }

  /**
   * Applies several limits (hcsshim `SetResourceLimits`): memory, then CPU (`cpuLimit` wins over
   * `cpuWeight`), then I/O; absent or 0 fields are left alone. Every value is checked first, so one out of
   * range rejects with `ERR_OUT_OF_RANGE` and nothing is changed.
   */
  async setResourceLimits(limits: JobLimits): Promise<void> {
    this.#ensureOpen();
    checkJobLimits(limits);
    const mem = limits.memoryLimitInBytes;
    if (mem !== undefined && mem !== 0 && mem !== 0n) await this.setMemoryLimit(mem);
    if (limits.cpuLimit) await this.setCPULimit(CPURateControlType.RateBased, limits.cpuLimit);
    else if (limits.cpuWeight) await this.setCPULimit(CPURateControlType.WeightBased, limits.cpuWeight);
    if (limits.maxBandwidth || limits.maxIOPS) await this.setIOLimit(limits.maxBandwidth ?? 0, limits.maxIOPS ?? 0);
  }

  /** Memory use of the job (hcsshim `QueryMemoryStats`); see {@link JobMemoryStats} for what Linux counts. */
  async queryMemoryStats(): Promise<JobMemoryStats> {
    this.#ensureOpen();
    return this.#backend.queryMemoryStats();
  }

  /** CPU accounting of the job in 100 ns units (hcsshim `QueryProcessorStats`); see {@link JobProcessorStats}. */
  async queryProcessorStats(): Promise<JobProcessorStats> {
    this.#ensureOpen();
    return this.#backend.queryProcessorStats();
  }

  /** Storage I/O of the job (hcsshim `QueryStorageStats`); see {@link JobStorageStats} for what Linux counts. */
  async queryStorageStats(): Promise<JobStorageStats> {
    this.#ensureOpen();
    return this.#backend.queryStorageStats();
  }

  /**
   * Waits for the next notification (hcsshim `PollNotification`); messages are queued, none is lost.
   * {@link MsgAllProcessesExited} is sent when the job becomes empty after it held a process, whatever
   * emptied it (exits, `terminate()`, a kill from outside); {@link MsgJobMemoryLimit} once for each time
   * a process of the job hit the job's memory limit (Windows fails that allocation, Linux's OOM killer
   * kills a process of the job: the limit message comes before the exit message of a kill that emptied
   * the job). Windows also sends {@link MsgUnimplemented} for its other job messages (a process started
   * or exited, another limit hit); Linux sends no other message.
   * Rejects `ERR_NOT_REGISTERED` when the job was made without `notifications`, `ERR_ALREADY_CLOSED` once
   * closed (pending calls too).
   */
  async pollNotification(): Promise<JobNotification> {
    this.#ensureOpen();
    return this.#backend.pollNotification();
  }

  /**
   * Closes this handle (hcsshim `Close`).
   *
   * Windows: CloseHandle on the completion port and the job; the kernel keeps the job while a handle or a
   * process holds it, and with `terminateOnLastHandleClose` the last handle kills what is left.
   *
   * Linux, when it is the last handle in this Node process: with `terminateOnLastHandleClose` the
   * remaining processes are killed first and waited for (5 s at most: after that the close rejects
   * `ETIMEDOUT` and leaves the job); then, if the job is empty, its cgroup directories (and empty
   * `taskio` parents) are removed. A job that still has processes — in any of its cgroups — is left as
   * it is, like a Windows job kept alive by its processes, and `open(name)` finds it again.
   *
   * Unlike hcsshim, a second `close()` resolves instead of failing, so teardown code may always call it.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#backend.close();
  }
}

/** Codes of a job object that cannot be made here (no cgroups, no rights to them), as opposed to a failure. */
const unavailableCodes = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOENT', 'ERR_NOT_SUPPORTED', 'ERR_PLATFORM_NOT_SUPPORTED']);

/**
 * Whether `err`, thrown by {@link JobObject.create}, means this machine cannot make job objects for
 * this user (no cgroup hierarchy, no rights to it) rather than that this one job failed: a caller
 * that can run without one (a task with no limits) goes on without it.
 */
export function isJobUnavailable(err: unknown): boolean {
  return unavailableCodes.has((err as { code?: string } | null)?.code ?? '');
}
