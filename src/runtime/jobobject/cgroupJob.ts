import fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { TaskioError, showValue } from '../../errors.js';
import type { JobBackend } from './backend.js';
import { CgroupSet, jobCgroupPath, readOptional, readProcFile } from './cgroup.js';
import { killAll, waitEmpty } from './terminate.js';
import type { CgroupLayout } from './hierarchy.js';
import { devicesOf, mountedDisks, type DeviceNumber } from './devices.js';
import { CPURateControlType, rateToCFS, weightToCgroupWeight, weightToShares } from './limits.js';
import { JobNotifier, notRegistered, type JobNotification } from './notifications.js';
import { enteringCommand, spawnInto, type JobCommand, type JobSpawnOptions } from './spawn.js';
import { warmCgroupMigration } from './migrationWarmup.js';
import {
  readCPUTimes,
  readMemory,
  readPageFaults,
  readStorage,
  startStorageAccounting,
  type JobMemoryStats,
  type JobProcessorStats,
  type JobStorageStats,
} from './stats.js';

/** What the cgroup backend is told at create/open (the Linux-only parts of the public options). */
export interface CgroupJobOptions {
  notifications?: boolean;
  terminateOnLastHandleClose?: boolean;
  ioDevices?: readonly string[];
  layout?: CgroupLayout;
}

/**
 * Job object names are not task ids (`validateId`): they are kernel object names on Windows, and
 * callers build them from a prefix and an id (`container-<id>`), so they get a rule of their own —
 * longer (200) and with `@` and `:` — that is just as safe as a cgroup path component: one segment,
 * never `.` or `..` (no leading dot), no `/`, NUL or newline.
 */
const namePattern = /^[A-Za-z0-9_@:-][A-Za-z0-9_.@:-]{0,199}$/;
// Handles open in this Node process per job name, for terminate-on-last-handle-close and removal.
const openHandles = new Map<string, number>();

/** Checks a job name against {@link namePattern}. @throws TaskioError `ERR_INVALID_ARG_VALUE` naming it. */
export function checkName(name: string): void {
  if (typeof name !== 'string' || !namePattern.test(name)) {
    throw new TaskioError(
      'ERR_INVALID_ARG_VALUE',
      `job object name ${showValue(name)} is invalid: use 1..200 characters of [A-Za-z0-9_.@:-], not starting with '.'`,
    );
  }
}

/** Whether this Node process holds a handle of job `name` (another job object's, not a leftover). */
export function openHere(name: string): boolean {
  return openHandles.has(name);
}

function notSupported(what: string): TaskioError {
  return new TaskioError('ERR_NOT_SUPPORTED', `${what}: no cgroup hierarchy on this machine offers it`);
}

/**
 * v1 refuses a memory limit below what the cgroup holds and cannot reclaim (`EBUSY`, a bare "resource
 * busy or locked, write"): said as runc says it, with the usage, so the caller sees why (cgroup2
 * takes such a limit and reclaims, OOM-killing if it must).
 */
async function limitBelowUsage(limit: bigint, usage: Promise<JobMemoryStats>, cause: Error): Promise<TaskioError> {
  const u = await usage.catch(() => null);
  const now = u === null ? '' : ` (current usage: ${u.JobMemory}, peak usage: ${u.PeakJobMemoryUsed})`;
  return new TaskioError('EBUSY', `unable to set memory limit to ${limit}${now}`, { cause });
}

/**
 * The Linux backend of {@link JobObject}: a job is the cgroup `<mount>/taskio/<name>` in each hierarchy
 * it uses (v1, v2 or hybrid, found at run time). Arguments arrive checked by the facade; the Linux
 * differences from Windows are documented on the facade's methods.
 */
export class CgroupJob implements JobBackend {
  readonly name: string;
  #totalProcesses = 0;
  #totalTerminated = 0;
  readonly #cgroup: CgroupSet;
  readonly #notifier: JobNotifier | undefined;
  readonly #opts: { terminateOnLastHandleClose: boolean; ioDevices?: readonly string[] };
  /**
   * Children of {@link spawn} whose wrapper shell may not have joined the cgroups yet: it does so a
   * moment after the fork, and until then a listing of the job misses it. They count as in the job
   * (the facade promises a child born inside it) until a listing shows them or they exit.
   */
  readonly #entering = new Map<ChildProcess, string>();

  private constructor(
    name: string,
    cgroup: CgroupSet,
    notifier: JobNotifier | undefined,
    opts: { terminateOnLastHandleClose: boolean; ioDevices?: readonly string[] },
  ) {
    this.name = name;
    this.#cgroup = cgroup;
    this.#notifier = notifier;
    this.#opts = opts;
    openHandles.set(name, (openHandles.get(name) ?? 0) + 1);
  }

  /**
   * Creates (or, like CreateJobObject, opens) the job's cgroups; `afterCreate` (the creation limits) runs
   * on the new backend, and if it fails the job is closed and a cgroup made here is removed.
   */
  static async create(
    name: string | undefined,
    options: CgroupJobOptions,
    afterCreate: (job: CgroupJob) => Promise<void>,
  ): Promise<CgroupJob> {
    const n = name ?? `job-${process.pid}-${randomBytes(6).toString('hex')}`;
    checkName(n);
    if (options.ioDevices !== undefined) await devicesOf(options.ioDevices); // fail before creating
    const cgroup = new CgroupSet(n, options.layout);
    const existed = await cgroup.exists();
    await cgroup.create(); // a failure removes what it made
    let job: CgroupJob | undefined;
    try {
      job = await CgroupJob.#make(n, cgroup, options);
      // Before the creation limits: the rule it writes on a v1 hierarchy is "no limit".
      if (!existed) await startStorageAccounting(cgroup.io, await job.ioDevices());
      await afterCreate(job);
      return job;
    } catch (err) {
      if (job !== undefined) await job.close().catch(() => undefined);
      else if (!existed) await cgroup.remove().catch(() => undefined);
      throw err;
    }
  }

  /** The jobs that exist: the directories under `taskio/` of the hierarchy that lists processes. */
  static async names(layout?: CgroupLayout): Promise<string[]> {
    const parent = path.dirname(new CgroupSet('probe', layout).listDir);
    try {
      return (await fs.readdir(parent, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []; // no job was ever made here
      throw err;
    }
  }

  /** Opens an existing job's cgroups; `ENOENT` when there is none. */
  static async open(name: string, options: CgroupJobOptions): Promise<CgroupJob> {
    checkName(name);
    const cgroup = new CgroupSet(name, options.layout);
    if (!(await cgroup.exists())) {
      throw new TaskioError('ENOENT', `job object \`${name}\` does not exist (no ${cgroup.listDir})`);
    }
    await cgroup.fillIn();
    return CgroupJob.#make(name, cgroup, options);
  }

  static async #make(name: string, cgroup: CgroupSet, options: CgroupJobOptions): Promise<CgroupJob> {
    const notifier = options.notifications ? new JobNotifier(cgroup) : undefined;
    const job = new CgroupJob(name, cgroup, notifier, {
      terminateOnLastHandleClose: options.terminateOnLastHandleClose ?? false,
      ioDevices: options.ioDevices,
    });
    await notifier?.start();
    return job;
  }

  /** The cgroup directories of this job, one per hierarchy it joined. */
  get cgroupPaths(): readonly string[] {
    return this.#cgroup.dirs;
  }

  /** Writes the pid into every `cgroup.procs`; memory charged before stays where it was. */
  async assign(pid: number): Promise<void> {
    await this.#cgroup.assign(pid);
    this.#totalProcesses++;
    this.#notifier?.arm();
  }

  /** Spawns through the `/bin/sh` wrapper that enters the cgroups and then `exec`s the command. */
  spawn(cmd: string, args: readonly string[], options: JobSpawnOptions): ChildProcess {
    void warmCgroupMigration(); // the wrapper joins the cgroups as soon as it runs
    const child = spawnInto(this.#cgroup.procsFiles(), cmd, args, options);
    this.#totalProcesses++;
    this.#notifier?.track(child);
    if (child.pid !== undefined) {
      this.#entering.set(child, readFileSync('/proc/self/cgroup', 'utf8'));
      // Node clears the child's handle when it reaps it, before 'exit': kill() can never hit a reused pid.
      child.once('exit', () => this.#entering.delete(child));
    }
    return child;
  }

  /**
   * The children of {@link spawn} not in `listed` that are still on their way in (see `#entering`);
   * the others are forgotten.
   */
  async #stillEntering(listed: readonly number[]): Promise<ChildProcess[]> {
    const entering: ChildProcess[] = [];
    for (const [child, spawner] of this.#entering) {
      const alive = child.exitCode === null && child.signalCode === null;
      if (alive && !listed.includes(child.pid!) && this.#onItsWayIn(await readProcFile(`/proc/${child.pid}/cgroup`), spawner)) entering.push(child);
      else this.#entering.delete(child);
    }
    return entering;
  }

  /**
   * Whether a process whose `/proc/<pid>/cgroup` reads `own` is between the fork and its last join:
   * in every hierarchy it is still where its spawner was, or already in this job (the wrapper joins
   * one hierarchy after the other).
   */
  #onItsWayIn(own: string | undefined, spawner: string): boolean {
    const was = spawner.split('\n'), jobPath = jobCgroupPath(this.name);
    return own !== undefined && own.split('\n').every((line, i) => line === was[i] || line.endsWith(jobPath));
  }

  /** The wrapper's command line (see {@link enteringCommand}). */
  commandLine(cmd: string, args: readonly string[]): JobCommand {
    void warmCgroupMigration(); // the caller spawns the wrapper next
    this.#totalProcesses++;
    return enteringCommand(this.#cgroup.procsFiles(), cmd, args);
  }

  /** Reads `cgroup.procs`, plus the children of {@link spawn} that have not joined yet. */
  async pids(): Promise<number[]> {
    const listed = await this.#cgroup.pids();
    return [...listed, ...(await this.#stillEntering(listed)).map((c) => c.pid!)];
  }

  /**
   * Kills every process in any of the job's cgroups (see {@link killAll}: `cgroup.kill`, and freeze +
   * SIGKILL + thaw for what it cannot reach); `exitCode` cannot be imposed on Linux. A child of
   * {@link spawn} still on its way in is killed by pid first: the kill of the cgroup would miss it,
   * and its command would run on. Its pid is the command's (the wrapper `exec`s), so whichever of
   * the two runs dies.
   */
  async terminate(exitCode: number): Promise<void> {
    void exitCode; // Linux has no way to choose the status of a killed process
    let early = 0;
    for (const child of await this.#stillEntering(await this.#cgroup.pids())) if (child.kill('SIGKILL')) early++;
    this.#totalTerminated += (await killAll(this.#cgroup)) + early;
  }

  /**
   * Resolves once the job has no process — none in its cgroup and no child of {@link spawn} still on
   * its way in — and rejects `ETIMEDOUT` naming the job after `timeoutMs`. The cgroup is waited on
   * through `cgroup.events` (see {@link waitEmpty}), such a child through its `'exit'`.
   */
  async waitEmpty(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const timedOut = (): TaskioError => new TaskioError('ETIMEDOUT', `job ${this.name} still has processes after ${timeoutMs} ms`);
    for (;;) {
      // A child on its way in is in the job until it exits, whether it joins the cgroup first or not.
      const entering = await this.#stillEntering(await this.#cgroup.pids().catch(() => []));
      if (!(await exitedBy(entering, deadline))) throw timedOut();
      await waitEmpty(this.#cgroup, Math.max(0, deadline - Date.now())).catch((err: TaskioError) => {
        throw err.code === 'ETIMEDOUT' ? timedOut() : err;
      });
      // A child that spawn() started meanwhile is in the job too.
      if ((await this.#stillEntering([])).length === 0) return;
    }
  }

  /** CFS bandwidth for a rate, `cpu.weight`/`cpu.shares` for a weight; the last call decides the mode. */
  async setCPULimit(type: CPURateControlType, value: number): Promise<void> {
    const p = this.#cgroup.cpu;
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

  /** `memory.max` / `memory.limit_in_bytes`, swap held to the same total. */
  async setMemoryLimit(bytes: bigint): Promise<void> {
    const limit = bytes;
    const p = this.#cgroup.memory;
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
    await fs.writeFile(j('memory.limit_in_bytes'), String(limit)).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EBUSY') throw err;
      throw await limitBelowUsage(limit, readMemory(p), err);
    });
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
    const p = this.#cgroup.io;
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

  /** The disks of {@link JobObjectOptions.ioDevices}, or every mounted disk. */
  async ioDevices(): Promise<DeviceNumber[]> {
    return this.#opts.ioDevices === undefined ? mountedDisks() : devicesOf(this.#opts.ioDevices);
  }

  /** Memory use of the job (hcsshim `QueryMemoryStats`); see {@link JobMemoryStats} for what Linux counts. */
  async queryMemoryStats(): Promise<JobMemoryStats> {
    if (this.#cgroup.memory === undefined) throw notSupported('memory accounting');
    return readMemory(this.#cgroup.memory);
  }

  /** CPU accounting of the job in 100 ns units (hcsshim `QueryProcessorStats`); see {@link JobProcessorStats}. */
  async queryProcessorStats(): Promise<JobProcessorStats> {
    if (this.#cgroup.cpuStat === undefined) throw notSupported('CPU accounting');
    const { user, kernel } = await readCPUTimes(this.#cgroup.cpuStat);
    const active = (await this.#cgroup.pids()).length;
    return {
      TotalUserTime: user,
      TotalKernelTime: kernel,
      ThisPeriodTotalUserTime: user,
      ThisPeriodTotalKernelTime: kernel,
      TotalPageFaultCount: await readPageFaults(this.#cgroup.memory),
      TotalProcesses: Math.max(this.#totalProcesses, active),
      ActiveProcesses: active,
      TotalTerminatedProcesses: this.#totalTerminated,
    };
  }

  /** Block I/O of the job (hcsshim `QueryStorageStats`); see {@link JobStorageStats} for what Linux counts. */
  async queryStorageStats(): Promise<JobStorageStats> {
    return readStorage(this.#cgroup.io);
  }

  /**
   * Waits for the next notification (hcsshim `PollNotification`); messages are queued, none is lost. On
   * Linux they are {@link MsgAllProcessesExited}, sent when the job becomes empty after it held a process,
   * whatever emptied it (exits, `terminate()`, a kill from outside), and {@link MsgJobMemoryLimit}, once
   * for each time a process of the job hit its memory limit (see {@link JobNotifier}). Rejects
   * `ERR_NOT_REGISTERED` when the job was made without `notifications`, `ERR_ALREADY_CLOSED` once closed
   * (pending calls too).
   */
  async pollNotification(): Promise<JobNotification> {
    if (this.#notifier === undefined) throw notRegistered();
    return this.#notifier.next();
  }

  /**
   * Stops watching; the last handle in this Node process removes an empty job (killing first if asked).
   * A job that still has a process in any of its cgroups is left as it is, and so is one another
   * process removes meanwhile. Rejects only when the kill of `terminateOnLastHandleClose` did not
   * empty the job within {@link closeKillTimeoutMs} (`ETIMEDOUT`; the job is left).
   */
  async close(): Promise<void> {
    this.#notifier?.close();
    const left = (openHandles.get(this.name) ?? 1) - 1;
    if (left > 0) {
      openHandles.set(this.name, left);
      return;
    }
    openHandles.delete(this.name);
    if (!(await this.#cgroup.exists())) return;
    if (this.#opts.terminateOnLastHandleClose && (await this.pids().catch(() => [])).length > 0) {
      await this.terminate(1);
      await this.waitEmpty(closeKillTimeoutMs);
    }
    if (await this.#cgroup.anyProcess()) return;
    await removeWhenReleased(this.#cgroup);
  }
}

/** Whether every one of `children` exits before `deadline` (ms since the epoch); true at once for none. */
async function exitedBy(children: readonly ChildProcess[], deadline: number): Promise<boolean> {
  const ac = new AbortController();
  const exits = children.map((c) => (c.exitCode === null && c.signalCode === null ? once(c, 'exit', { signal: ac.signal }) : undefined));
  const timer = setTimeout(() => ac.abort(), Math.max(0, deadline - Date.now()));
  try {
    await Promise.all(exits);
    return true;
  } catch (err) {
    if (ac.signal.aborted) return false;
    throw err;
  } finally {
    clearTimeout(timer);
    ac.abort(); // takes the 'exit' listeners off
  }
}

/** How long the last close of a `terminateOnLastHandleClose` job waits for the killed processes to go. */
const closeKillTimeoutMs = 5000;

/**
 * Removes an empty job. rmdir can race the kernel's bookkeeping of a process that has just exited
 * (EBUSY), and there is no event for the end of it, so it is retried a little (bounded). An EBUSY that
 * outlasts that means something joined the job after all: it is left, as close leaves a job with processes.
 */
async function removeWhenReleased(cgroup: CgroupSet): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await cgroup.remove();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
      if (i >= 50 || (await cgroup.anyProcess())) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
