import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { TaskioError } from '../../errors.js';
import { CgroupSet, readOptional } from './cgroup.js';
import { killAll, waitEmpty } from './terminate.js';
import type { CgroupLayout } from './hierarchy.js';
import { devicesOf, mountedDisks, type DeviceNumber } from './devices.js';
import {
  CPURateControlType,
  checkCPULimit,
  checkIOLimit,
  checkJobLimits,
  checkMemoryLimit,
  rateToCFS,
  weightToCgroupWeight,
  weightToShares,
  type JobLimits,
} from './limits.js';
import { ExitNotifier, alreadyClosed, notRegistered, type JobNotification } from './notifications.js';
import { enteringCommand, spawnInto, type JobCommand, type JobSpawnOptions } from './spawn.js';
import {
  readCPUTimes,
  readMemory,
  readPageFaults,
  readStorage,
  type JobMemoryStats,
  type JobProcessorStats,
  type JobStorageStats,
} from './stats.js';

/** Options of {@link JobObject.create} (hcsshim's `Options`, plus what Linux needs to be told). */
export interface JobObjectOptions {
  /**
   * The job's name; on Linux it becomes the cgroup `<mount>/taskio/<name>` in every hierarchy, so it must
   * be a single path segment of `[A-Za-z0-9_.@:-]` (Windows allows any string). Without a name a unique
   * one is made up (`job-<pid>-<random>`): Windows' unnamed jobs cannot be opened, these can.
   */
  name?: string;
  /** Watch the job so {@link JobObject.pollNotification} works; without it that call fails `ERR_NOT_REGISTERED`. */
  notifications?: boolean;
  /**
   * Windows' `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`: when the last handle in this Node process closes, kill
   * what is left in the job and remove it. Off by default, as in hcsshim. Linux difference: a cgroup is
   * not tied to a handle, so if Node dies without `close()` the job and its processes stay (bounded
   * cleanup is the caller's: `open(name)` then `terminate()` and `close()`).
   */
  terminateOnLastHandleClose?: boolean;
  /**
   * Paths (files, directories or block device nodes) whose disks receive {@link JobObject.setIOLimit}
   * rules. Default: the disks of every mounted block-device filesystem (Windows' "all volumes").
   */
  ioDevices?: readonly string[];
  /** Limits applied at creation; they are all checked before anything is created. */
  limits?: JobLimits;
  /**
   * The cgroup hierarchies to use instead of those found in `/proc/mounts` — e.g. a layout without its
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

const namePattern = /^[A-Za-z0-9_@:-][A-Za-z0-9_.@:-]{0,199}$/;
// Handles open in this Node process per job name, for terminate-on-last-handle-close and removal.
const openHandles = new Map<string, number>();

function checkName(name: string): void {
  if (typeof name !== 'string' || !namePattern.test(name)) {
    throw new TaskioError(
      'ERR_INVALID_ARG_VALUE',
      `job object name \`${String(name)}\` is invalid: use 1..200 characters of [A-Za-z0-9_.@:-], not starting with '.'`,
    );
  }
}

// Only the cgroup backend exists; the kernel32 binding (windows/) is declared but not wired or verified.
function checkPlatform(): void {
  if (process.platform !== 'linux') {
    throw new TaskioError(
      'ERR_PLATFORM_NOT_SUPPORTED',
      `job objects on ${process.platform}: only the Linux cgroup backend exists (the kernel32 binding is not verified on Windows)`,
    );
  }
}

function notSupported(what: string): TaskioError {
  return new TaskioError('ERR_NOT_SUPPORTED', `${what}: no cgroup hierarchy on this machine offers it`);
}

/**
 * A job object — hcsshim's `jobobject.JobObject` in camelCase — on Linux cgroups: a group of processes
 * that share limits (CPU, memory, I/O), accounting and a notification when the last one exits.
 *
 * cgroups are found at run time from `/proc/mounts`: v1, unified v2 or hybrid (v1 controllers plus a
 * cgroup2 mount). Each concern uses cgroup2 when its root offers the controller, else its v1 hierarchy;
 * `cgroup.kill`, `cgroup.freeze`, `cgroup.events` and `cpu.stat` come from cgroup2 whenever it is mounted.
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
  private closed = false;
  private totalProcesses = 0;
  private totalTerminated = 0;

  private constructor(
    /** The job's name (its cgroup directory under `taskio/`). */
    readonly name: string,
    private readonly cgroup: CgroupSet,
    private readonly notifier: ExitNotifier | undefined,
    private readonly opts: { terminateOnLastHandleClose: boolean; ioDevices?: readonly string[] },
  ) {
    openHandles.set(name, (openHandles.get(name) ?? 0) + 1);
  }

  /**
   * Creates a job (hcsshim `Create`). As with Windows' CreateJobObject, an existing job of that name is
   * opened rather than refused. `options.limits` are checked before anything is created, so a value out of
   * range rejects with `ERR_OUT_OF_RANGE` and leaves no cgroup behind.
   */
  static async create(options: JobObjectOptions = {}): Promise<JobObject> {
    checkPlatform();
    const name = options.name ?? `job-${process.pid}-${randomBytes(6).toString('hex')}`;
    checkName(name);
    if (options.limits !== undefined) checkJobLimits(options.limits);
    if (options.ioDevices !== undefined) await devicesOf(options.ioDevices); // fail before creating
    const cgroup = new CgroupSet(name, options.layout);
    const existed = await cgroup.exists();
    await cgroup.create();
    let job: JobObject | undefined;
    try {
      job = await JobObject.make(name, cgroup, options);
      if (options.limits !== undefined) await job.setResourceLimits(options.limits);
      return job;
    } catch (err) {
      if (job !== undefined) await job.close().catch(() => undefined);
      else if (!existed) await cgroup.remove().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Opens an existing job by name (hcsshim `Open`), e.g. one another JobObject or another process made.
   * Rejects with `ENOENT` when no such job exists.
   */
  static async open(name: string, options: JobObjectOpenOptions = {}): Promise<JobObject> {
    checkPlatform();
    checkName(name);
    const cgroup = new CgroupSet(name, options.layout);
    if (!(await cgroup.exists())) {
      throw new TaskioError('ENOENT', `job object \`${name}\` does not exist (no ${cgroup.listDir})`);
    }
    return JobObject.make(name, cgroup, options);
  }

  private static async make(
    name: string,
    cgroup: CgroupSet,
    options: { notifications?: boolean; terminateOnLastHandleClose?: boolean; ioDevices?: readonly string[] },
  ): Promise<JobObject> {
    const notifier = options.notifications ? new ExitNotifier(cgroup) : undefined;
    const job = new JobObject(name, cgroup, notifier, {
      terminateOnLastHandleClose: options.terminateOnLastHandleClose ?? false,
      ioDevices: options.ioDevices,
    });
    await notifier?.start();
    return job;
  }

  /** The cgroup directories of this job, one per hierarchy it joined (for diagnostics and tests). */
  get cgroupPaths(): readonly string[] {
    return this.cgroup.dirs;
  }

  private ensureOpen(): void {
    if (this.closed) throw alreadyClosed();
  }

  /**
   * Moves a running process into the job (hcsshim `Assign`). Linux difference: memory the process had
   * already charged stays charged where it was; only later allocations count against this job's limit.
   * Its children started before the move stay outside. Prefer {@link spawn}.
   */
  async assign(pid: number): Promise<void> {
    this.ensureOpen();
    if (!Number.isSafeInteger(pid) || pid <= 0) {
      throw new TaskioError('ERR_INVALID_ARG_VALUE', `invalid pid: ${String(pid)}`);
    }
    await this.cgroup.assign(pid);
    this.totalProcesses++;
    this.notifier?.arm();
  }

  /**
   * Starts a process that is born inside the job (what Windows does with `PROC_THREAD_ATTRIBUTE_JOB_LIST`):
   * a `/bin/sh` wrapper joins the cgroups and then `exec`s `cmd`, so the returned child's pid is the
   * command's. A missing command exits 127 rather than emitting `'error'`; a job that cannot be entered
   * exits 125 without running the command.
   */
  spawn(cmd: string, args: readonly string[] = [], options: JobSpawnOptions = {}): ChildProcess {
    this.ensureOpen();
    const child = spawnInto(this.cgroup.procsFiles(), cmd, args, options);
    this.totalProcesses++;
    this.notifier?.track(child);
    return child;
  }

  /**
   * The command line that starts `cmd args` inside this job from its first instruction, for
   * spawners that cannot use {@link spawn} (node-pty): run `file` with `args` instead of the command.
   * The command then has the wrapper's pid, and a missing command exits 127.
   */
  commandLine(cmd: string, args: readonly string[] = []): JobCommand {
    this.ensureOpen();
    this.totalProcesses++;
    return enteringCommand(this.cgroup.procsFiles(), cmd, args);
  }

  /** The pids of every process in the job (hcsshim `Pids`), in no particular order. */
  async pids(): Promise<number[]> {
    this.ensureOpen();
    return this.cgroup.pids();
  }

  /**
   * Kills every process in the job (hcsshim `Terminate`) through `cgroup.kill` (cgroup2, Linux ≥ 5.14), or
   * else by freezing the job, sending SIGKILL to each process and thawing it, so none can fork away.
   *
   * Linux difference: `exitCode` cannot be imposed; processes die of SIGKILL (status 137 from a shell,
   * `signal === 'SIGKILL'` in Node). The call returns once the kill is issued; the job is empty shortly
   * after, which `MsgAllProcessesExited` reports.
   */
  async terminate(exitCode = 1): Promise<void> {
    this.ensureOpen();
    void exitCode; // documented above: Linux has no way to choose the status of a killed process
    this.totalTerminated += await killAll(this.cgroup);
  }

  /**
   * Sets a CPU limit (hcsshim `SetCPULimit`); like Windows the last call decides the mode, so a rate removes
   * a weight and the other way round.
   *
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
    this.ensureOpen();
    checkCPULimit(type, value);
    const p = this.cgroup.cpu;
    if (p === undefined) throw notSupported('a CPU limit');
    const j = (f: string): string => path.join(p.dir, f);
    if (type === CPURateControlType.RateBased) {
      const { quotaMicros, periodMicros } = rateToCFS(value, os.cpus().length);
      if (p.version === 2) {
        await fs.writeFile(j('cpu.max'), `${quotaMicros} ${periodMicros}`);
        await fs.writeFile(j('cpu.weight'), '100');
      } else {
        // Lift the quota first: the kernel checks each write against the other value.
        await fs.writeFile(j('cpu.cfs_quota_us'), '-1');
        await fs.writeFile(j('cpu.cfs_period_us'), String(periodMicros));
        await fs.writeFile(j('cpu.cfs_quota_us'), String(quotaMicros));
        await fs.writeFile(j('cpu.shares'), '1024');
      }
    } else if (p.version === 2) {
      await fs.writeFile(j('cpu.max'), 'max');
      await fs.writeFile(j('cpu.weight'), String(weightToCgroupWeight(value)));
    } else {
      await fs.writeFile(j('cpu.cfs_quota_us'), '-1');
      await fs.writeFile(j('cpu.shares'), String(weightToShares(value)));
    }
  }

  /**
   * Limits the memory of the whole job (hcsshim `SetMemoryLimit`): `memory.max` (cgroup2) or
   * `memory.limit_in_bytes` (v1). Swap is held to the same total (`memory.swap.max` 0 /
   * `memory.memsw.limit_in_bytes` = limit) so the limit is on all the job's memory, as a Windows commit
   * limit is.
   *
   * Linux difference: Windows fails the allocation that would exceed the limit; Linux reclaims and then
   * has the OOM killer SIGKILL a process of the job (the child exits with `signal === 'SIGKILL'`).
   * A value that is not an integer in 1..2^63−1 rejects with `ERR_OUT_OF_RANGE`.
   */
  async setMemoryLimit(bytes: bigint | number): Promise<void> {
    this.ensureOpen();
    const limit = checkMemoryLimit(bytes);
    const p = this.cgroup.memory;
    if (p === undefined) throw notSupported('a memory limit');
    const j = (f: string): string => path.join(p.dir, f);
    if (p.version === 2) {
      await fs.writeFile(j('memory.max'), String(limit));
      if ((await readOptional(j('memory.swap.max'))) !== undefined) await fs.writeFile(j('memory.swap.max'), '0');
      return;
    }
    const memsw = j('memory.memsw.limit_in_bytes');
    const hasMemsw = (await readOptional(memsw)) !== undefined;
    const current = BigInt((await fs.readFile(j('memory.limit_in_bytes'), 'utf8')).trim());
    // memsw must never be below the memory limit, so the order of the two writes depends on the direction.
    if (hasMemsw && limit > current) await fs.writeFile(memsw, String(limit));
    await fs.writeFile(j('memory.limit_in_bytes'), String(limit));
    if (hasMemsw && limit <= current) await fs.writeFile(memsw, String(limit));
  }

  /**
   * Limits block I/O (hcsshim `SetIOLimit`): `maxBandwidth` bytes/s and `maxIOPS` operations/s; 0 leaves
   * that one as it is (as in hcsshim). Written as `io.max` (`rbps/wbps/riops/wiops`) on cgroup2 or
   * `blkio.throttle.{read,write}_{bps,iops}_device` on v1 for each disk of {@link JobObjectOptions.ioDevices}
   * (default: every mounted disk).
   *
   * Linux differences: Windows limits the job's I/O as a whole (per volume if asked); Linux limits each
   * disk separately and reads and writes separately, so reads and writes may each reach the limit. On v1,
   * buffered writes are flushed by kernel threads outside the job and are not throttled.
   */
  async setIOLimit(maxBandwidth: number, maxIOPS: number): Promise<void> {
    this.ensureOpen();
    checkIOLimit('maxBandwidth', maxBandwidth);
    checkIOLimit('maxIOPS', maxIOPS);
    const p = this.cgroup.io;
    if (p === undefined) throw notSupported('an I/O limit');
    const devices = await this.ioDevices();
    for (const dev of devices) {
      if (p.version === 2) {
        const parts: string[] = [];
        if (maxBandwidth !== 0) parts.push(`rbps=${maxBandwidth}`, `wbps=${maxBandwidth}`);
        if (maxIOPS !== 0) parts.push(`riops=${maxIOPS}`, `wiops=${maxIOPS}`);
        if (parts.length > 0) await fs.writeFile(path.join(p.dir, 'io.max'), `${dev} ${parts.join(' ')}`);
      } else {
        const set = async (file: string, v: number): Promise<void> => {
          if (v !== 0) await fs.writeFile(path.join(p.dir, file), `${dev} ${v}`);
        };
        await set('blkio.throttle.read_bps_device', maxBandwidth);
        await set('blkio.throttle.write_bps_device', maxBandwidth);
        await set('blkio.throttle.read_iops_device', maxIOPS);
        await set('blkio.throttle.write_iops_device', maxIOPS);
      }
    }
  }

  private async ioDevices(): Promise<DeviceNumber[]> {
    return this.opts.ioDevices === undefined ? mountedDisks() : devicesOf(this.opts.ioDevices);
  }

  /**
   * Applies several limits (hcsshim `SetResourceLimits`): memory, then CPU (`cpuLimit` wins over
   * `cpuWeight`), then I/O; absent or 0 fields are left alone. Every value is checked first, so one out of
   * range rejects with `ERR_OUT_OF_RANGE` and nothing is changed.
   */
  async setResourceLimits(limits: JobLimits): Promise<void> {
    this.ensureOpen();
    checkJobLimits(limits);
    const mem = limits.memoryLimitInBytes;
    if (mem !== undefined && mem !== 0 && mem !== 0n) await this.setMemoryLimit(mem);
    if (limits.cpuLimit) await this.setCPULimit(CPURateControlType.RateBased, limits.cpuLimit);
    else if (limits.cpuWeight) await this.setCPULimit(CPURateControlType.WeightBased, limits.cpuWeight);
    if (limits.maxBandwidth || limits.maxIOPS) await this.setIOLimit(limits.maxBandwidth ?? 0, limits.maxIOPS ?? 0);
  }

  /** Memory use of the job (hcsshim `QueryMemoryStats`); see {@link JobMemoryStats} for what Linux counts. */
  async queryMemoryStats(): Promise<JobMemoryStats> {
    this.ensureOpen();
    if (this.cgroup.memory === undefined) throw notSupported('memory accounting');
    return readMemory(this.cgroup.memory);
  }

  /** CPU accounting of the job in 100 ns units (hcsshim `QueryProcessorStats`); see {@link JobProcessorStats}. */
  async queryProcessorStats(): Promise<JobProcessorStats> {
    this.ensureOpen();
    if (this.cgroup.cpuStat === undefined) throw notSupported('CPU accounting');
    const { user, kernel } = await readCPUTimes(this.cgroup.cpuStat);
    const active = (await this.cgroup.pids()).length;
    return {
      TotalUserTime: user,
      TotalKernelTime: kernel,
      ThisPeriodTotalUserTime: user,
      ThisPeriodTotalKernelTime: kernel,
      TotalPageFaultCount: await readPageFaults(this.cgroup.memory),
      TotalProcesses: Math.max(this.totalProcesses, active),
      ActiveProcesses: active,
      TotalTerminatedProcesses: this.totalTerminated,
    };
  }

  /** Block I/O of the job (hcsshim `QueryStorageStats`); see {@link JobStorageStats} for what Linux counts. */
  async queryStorageStats(): Promise<JobStorageStats> {
    this.ensureOpen();
    return readStorage(this.cgroup.io);
  }

  /**
   * Waits for the next notification (hcsshim `PollNotification`); messages are queued, none is lost. On
   * Linux the only one is {@link MsgAllProcessesExited}: sent when the job becomes empty after it held a
   * process, whatever emptied it (exits, `terminate()`, a kill from outside). Rejects `ERR_NOT_REGISTERED`
   * when the job was made without `notifications`, `ERR_ALREADY_CLOSED` once closed (pending calls too).
   */
  async pollNotification(): Promise<JobNotification> {
    this.ensureOpen();
    if (this.notifier === undefined) throw notRegistered();
    return this.notifier.next();
  }

  /**
   * Closes this handle (hcsshim `Close`). When it is the last handle in this Node process:
   * with `terminateOnLastHandleClose` the remaining processes are killed first; then, if the job is empty,
   * its cgroup directories (and empty `taskio` parents) are removed. A job that still has processes is
   * left as it is — like a Windows job kept alive by its processes — and `open(name)` finds it again.
   * Unlike hcsshim, a second `close()` resolves instead of failing, so teardown code may always call it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.notifier?.close();
    const left = (openHandles.get(this.name) ?? 1) - 1;
    if (left > 0) {
      openHandles.set(this.name, left);
      return;
    }
    openHandles.delete(this.name);
    if (!(await this.cgroup.exists())) return;
    if (this.opts.terminateOnLastHandleClose && (await this.cgroup.pids()).length > 0) {
      this.closed = false; // terminate() checks the handle
      try {
        await this.terminate();
      } finally {
        this.closed = true;
      }
      await waitEmpty(this.cgroup, 5000);
    }
    if ((await this.cgroup.pids()).length > 0) return;
    await removeWhenReleased(this.cgroup);
  }
}

// rmdir can race the kernel's bookkeeping of a process that has just exited (EBUSY); retry a little.
async function removeWhenReleased(cgroup: CgroupSet): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await cgroup.remove();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || i >= 50) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
