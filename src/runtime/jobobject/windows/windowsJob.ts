import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { koffi, type IKoffiCType } from './koffi.js';
import { TaskioError } from '../../../errors.js';
import type { JobBackend } from '../backend.js';
import { CPURateControlType } from '../limits.js';
import { PollIntervalMs, notRegistered, type JobNotification } from '../notifications.js';
import type { JobCommand, JobSpawnOptions } from '../spawn.js';
import type { JobMemoryStats, JobProcessorStats, JobStorageStats } from '../stats.js';
import { CompletionPortNotifier } from './completionPort.js';
import { ERROR_MORE_DATA, Win32Error } from './errors.js';
import type { Kernel32 } from './kernel32.js';
import type { BackendFactory } from '../platform.js';
import {
  IO_CONTROL_ENABLE,
  JOBOBJECT_BASIC_ACCOUNTING_INFORMATION,
  JOBOBJECT_BASIC_PROCESS_ID_LIST,
  JOBOBJECT_CPU_RATE_CONTROL_INFORMATION,
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
  JOBOBJECT_IO_ATTRIBUTION_INFORMATION,
  JOBOBJECT_IO_RATE_CONTROL_INFORMATION,
  JOBOBJECT_MEMORY_USAGE_INFORMATION,
  JOB_OBJECT_ALL_ACCESS,
  JOB_OBJECT_CPU_RATE_CONTROL,
  JOB_OBJECT_LIMIT,
  JobObjectInfoClass,
} from './structs.js';

/** The access `assign` asks of a process: what AssignProcessToJobObject needs, no more. */
export const PROCESS_SET_QUOTA_AND_TERMINATE = 0x0100 | 0x0001;

/** What the Windows backend is told at create/open. */
export interface WindowsJobOptions {
  /** Associate a completion port so notifications can be polled. */
  notifications?: boolean;
  /** Set `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE` on the job (create only). */
  terminateOnLastHandleClose?: boolean;
}

// Win32 object names: non-empty, no NUL, at most MAX_PATH characters.
function checkName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 260 || name.includes('\0')) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `job object name \`${String(name)}\` is invalid: use 1..260 characters without NUL`);
  }
}

function isNullHandle(h: unknown): boolean {
  return h === null || h === undefined;
}

function num(v: unknown): number {
  return Number(v as number | bigint);
}

/**
 * The Windows backend of {@link JobObject}: a kernel32 job object through koffi, the calls hcsshim's
 * `internal/jobobject` makes, in the same order. Every call goes through the {@link Kernel32} it is given
 * (the real binding on Windows, a scripted one in the tests), and a failed call throws a
 * {@link Win32Error} carrying GetLastError.
 *
 * NOT VERIFIED ON WINDOWS: written from the SDK and hcsshim and checked against a scripted kernel32 on
 * Linux (call order, arguments, struct bytes); it has never run against the real kernel32.
 */
export class WindowsJob implements JobBackend {
  /** No cgroups on Windows. */
  readonly cgroupPaths: readonly string[] = [];
  // SetIoRateControlInformationJobObject sets both values at once; to keep hcsshim's "0 leaves it as
  // it is", the values last set through this handle are sent again.
  #ioLimits = { maxBandwidth: 0, maxIOPS: 0 };
  readonly name: string;
  readonly #k: Kernel32;
  readonly #handle: unknown;
  readonly #notifier: CompletionPortNotifier | undefined;

  private constructor(name: string, k: Kernel32, handle: unknown, notifier: CompletionPortNotifier | undefined) {
    this.name = name;
    this.#k = k;
    this.#handle = handle;
    this.#notifier = notifier;
  }

  /**
   * CreateJobObjectW (an unnamed job without `name`; with one, an existing job of that name is opened, as
   * Windows does). Then `KILL_ON_JOB_CLOSE` when asked, the completion port when asked, and
   * `afterCreate` (the creation limits); if any of those fails, what was made is closed.
   */
  static async create(
    k: Kernel32,
    name: string | undefined,
    options: WindowsJobOptions,
    afterCreate: (job: WindowsJob) => Promise<void> = async () => undefined,
  ): Promise<WindowsJob> {
    if (name !== undefined) checkName(name);
    const handle = k.CreateJobObjectW(null, name ?? null);
    if (isNullHandle(handle)) throw new Win32Error('CreateJobObjectW', k.GetLastError());
    return WindowsJob.#finish(k, name ?? '', handle, options, afterCreate);
  }

  /** OpenJobObjectW with `JOB_OBJECT_ALL_ACCESS` (a missing job fails `ERROR_FILE_NOT_FOUND`). */
  static async open(k: Kernel32, name: string, options: WindowsJobOptions): Promise<WindowsJob> {
    checkName(name);
    const handle = k.OpenJobObjectW(JOB_OBJECT_ALL_ACCESS, false, name);
    if (isNullHandle(handle)) throw new Win32Error('OpenJobObjectW', k.GetLastError());
    return WindowsJob.#finish(k, name, handle, { notifications: options.notifications }, async () => undefined);
  }

  static async #finish(
    k: Kernel32,
    name: string,
    handle: unknown,
    options: WindowsJobOptions,
    afterCreate: (job: WindowsJob) => Promise<void>,
  ): Promise<WindowsJob> {
    let notifier: CompletionPortNotifier | undefined;
    try {
      if (options.terminateOnLastHandleClose) WindowsJob.#addLimitFlags(k, handle, JOB_OBJECT_LIMIT.KILL_ON_JOB_CLOSE);
      if (options.notifications) notifier = CompletionPortNotifier.attach(k, handle);
      const job = new WindowsJob(name, k, handle, notifier);
      await afterCreate(job);
      return job;
    } catch (err) {
      notifier?.close();
      k.CloseHandle(handle);
      throw err;
    }
  }

  // Read-modify-write of JOBOBJECT_EXTENDED_LIMIT_INFORMATION, as hcsshim does, so other limits stay.
  static #updateExtendedLimits(k: Kernel32, handle: unknown, edit: (info: Record<string, unknown> & { BasicLimitInformation: Record<string, unknown> }) => void): void {
    const cls = JobObjectInfoClass.JobObjectExtendedLimitInformation;
    const buf = Buffer.alloc(koffi.sizeof(JOBOBJECT_EXTENDED_LIMIT_INFORMATION));
    if (!k.QueryInformationJobObject(handle, cls, buf, buf.length, null)) {
      throw new Win32Error('QueryInformationJobObject', k.GetLastError());
    }
    const info = koffi.decode(buf, JOBOBJECT_EXTENDED_LIMIT_INFORMATION) as Record<string, unknown> & {
      BasicLimitInformation: Record<string, unknown>;
    };
    edit(info);
    koffi.encode(buf, 0, JOBOBJECT_EXTENDED_LIMIT_INFORMATION, info);
    if (!k.SetInformationJobObject(handle, cls, buf, buf.length)) {
      throw new Win32Error('SetInformationJobObject', k.GetLastError());
    }
  }

  static #addLimitFlags(k: Kernel32, handle: unknown, flags: number): void {
    WindowsJob.#updateExtendedLimits(k, handle, (info) => {
      info.BasicLimitInformation.LimitFlags = (num(info.BasicLimitInformation.LimitFlags) | flags) >>> 0;
    });
  }

  #fail(syscall: string): never {
    throw new Win32Error(syscall, this.#k.GetLastError());
  }

  /**
   * OpenProcess (`PROCESS_SET_QUOTA | PROCESS_TERMINATE`, the rights AssignProcessToJobObject needs;
   * hcsshim asks for all access) + AssignProcessToJobObject + CloseHandle. Synchronous underneath, so
   * {@link spawn} can assign before returning.
   */
  assignNow(pid: number): void {
    const proc = this.#k.OpenProcess(PROCESS_SET_QUOTA_AND_TERMINATE, false, pid);
    if (isNullHandle(proc)) this.#fail('OpenProcess');
    const ok = this.#k.AssignProcessToJobObject(this.#handle, proc);
    const errno = ok ? 0 : this.#k.GetLastError(); // before CloseHandle, which may overwrite it
    this.#k.CloseHandle(proc);
    if (!ok) throw new Win32Error('AssignProcessToJobObject', errno);
  }

  /** See {@link assignNow}. */
  async assign(pid: number): Promise<void> {
    this.assignNow(pid);
  }

  /**
   * Spawns with `child_process.spawn`, then assigns the child before returning. Node cannot create a
   * process suspended or with `PROC_THREAD_ATTRIBUTE_JOB_LIST`, so the child runs for a moment outside
   * the job: whatever it starts or allocates before the assign is not the job's (charges made earlier
   * are not moved, processes it started stay outside). If the assign fails the child is killed and emits
   * `'error'` with the {@link Win32Error}, so nothing runs unconfined.
   */
  spawn(cmd: string, args: readonly string[], options: JobSpawnOptions): ChildProcess {
    const child = spawnChild(cmd, args, options);
    if (child.pid === undefined) return child; // spawn failed: the child emits 'error' itself
    try {
      this.assignNow(child.pid);
    } catch (err) {
      child.kill('SIGKILL');
      process.nextTick(() => child.emit('error', err));
    }
    return child;
  }

  /** Not available on Windows: no command line can put itself into a job. Use {@link spawn} or `assign`. */
  commandLine(cmd: string, args: readonly string[]): JobCommand {
    void cmd;
    void args;
    throw new TaskioError('ERR_NOT_SUPPORTED', 'a job-entering command line exists only on Linux; on Windows spawn() or assign() the process');
  }

  /**
   * QueryInformationJobObject `JobObjectBasicProcessIdList`: first with room for one pid (as hcsshim);
   * on `ERROR_MORE_DATA` again with room for `NumberOfAssignedProcesses`, growing further while
   * processes keep joining between the two reads.
   */
  async pids(): Promise<number[]> {
    const cls = JobObjectInfoClass.JobObjectBasicProcessIdList;
    const header = koffi.offsetof(JOBOBJECT_BASIC_PROCESS_ID_LIST, 'ProcessIdList');
    const entry = koffi.sizeof('uintptr_t');
    let size = koffi.sizeof(JOBOBJECT_BASIC_PROCESS_ID_LIST);
    for (let attempt = 0; attempt < 16; attempt++) {
      const buf = Buffer.alloc(size);
      if (this.#k.QueryInformationJobObject(this.#handle, cls, buf, size, null)) {
        const n = buf.readUInt32LE(4);
        const pids: number[] = [];
        for (let i = 0; i < n; i++) {
          const at = header + i * entry;
          pids.push(entry === 8 ? Number(buf.readBigUInt64LE(at)) : buf.readUInt32LE(at));
        }
        return pids;
      }
      const errno = this.#k.GetLastError();
      if (errno !== ERROR_MORE_DATA) throw new Win32Error('QueryInformationJobObject', errno);
      const needed = header + entry * buf.readUInt32LE(0);
      size = needed > size ? needed : size * 2;
    }
    throw new Win32Error('QueryInformationJobObject', ERROR_MORE_DATA);
  }

  /** TerminateJobObject: every process ends with `exitCode`, as on Windows. */
  async terminate(exitCode: number): Promise<void> {
    if (!this.#k.TerminateJobObject(this.#handle, exitCode >>> 0)) this.#fail('TerminateJobObject');
  }

  /**
   * Polls `ActiveProcesses` every `PollIntervalMs` until it is 0 or `timeoutMs` passed. A job handle
   * is not signaled when the job empties (only at its end-of-job time limit), and the completion
   * port's ACTIVE_PROCESS_ZERO is {@link pollNotification}'s to deliver: taking it here would lose it.
   */
  async waitEmpty(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.queryProcessorStats()).ActiveProcesses > 0) {
      if (Date.now() >= deadline) throw new TaskioError('ETIMEDOUT', `job ${JSON.stringify(this.name)} still has processes after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, Math.min(PollIntervalMs, deadline - Date.now())));
    }
  }

  #setInfo(cls: number, buf: Buffer): void {
    if (!this.#k.SetInformationJobObject(this.#handle, cls, buf, buf.length)) this.#fail('SetInformationJobObject');
  }

  #query<T>(cls: number, type: IKoffiCType, init?: Record<string, unknown>): T {
    const buf = Buffer.alloc(koffi.sizeof(type));
    if (init !== undefined) koffi.encode(buf, 0, type, init);
    if (!this.#k.QueryInformationJobObject(this.#handle, cls, buf, buf.length, null)) this.#fail('QueryInformationJobObject');
    return koffi.decode(buf, type) as T;
  }

  /** `JOBOBJECT_CPU_RATE_CONTROL_INFORMATION`: ENABLE | HARD_CAP with `CpuRate`, or ENABLE | WEIGHT_BASED with `Weight`. */
  async setCPULimit(type: CPURateControlType, value: number): Promise<void> {
    const mode = type === CPURateControlType.RateBased ? JOB_OBJECT_CPU_RATE_CONTROL.HARD_CAP : JOB_OBJECT_CPU_RATE_CONTROL.WEIGHT_BASED;
    const buf = Buffer.alloc(koffi.sizeof(JOBOBJECT_CPU_RATE_CONTROL_INFORMATION));
    koffi.encode(buf, 0, JOBOBJECT_CPU_RATE_CONTROL_INFORMATION, { ControlFlags: JOB_OBJECT_CPU_RATE_CONTROL.ENABLE | mode, Value: value });
    this.#setInfo(JobObjectInfoClass.JobObjectCpuRateControlInformation, buf);
  }

  /** `JobMemoryLimit` with `JOB_OBJECT_LIMIT_JOB_MEMORY`, other limits kept: allocations beyond it fail. */
  async setMemoryLimit(bytes: bigint): Promise<void> {
    WindowsJob.#updateExtendedLimits(this.#k, this.#handle, (info) => {
      info.BasicLimitInformation.LimitFlags = (num(info.BasicLimitInformation.LimitFlags) | JOB_OBJECT_LIMIT.JOB_MEMORY) >>> 0;
      info.JobMemoryLimit = bytes;
    });
  }

  /**
   * SetIoRateControlInformationJobObject for all volumes (`VolumeName` null) with
   * `JOB_OBJECT_IO_RATE_CONTROL_ENABLE`. A 0 keeps the value last set through this handle (hcsshim's
   * "0 leaves it"); a value set through another handle is not known here and is reset.
   */
  async setIOLimit(maxBandwidth: number, maxIOPS: number): Promise<void> {
    const next = {
      maxBandwidth: maxBandwidth !== 0 ? maxBandwidth : this.#ioLimits.maxBandwidth,
      maxIOPS: maxIOPS !== 0 ? maxIOPS : this.#ioLimits.maxIOPS,
    };
    const buf = Buffer.alloc(koffi.sizeof(JOBOBJECT_IO_RATE_CONTROL_INFORMATION));
    koffi.encode(buf, 0, JOBOBJECT_IO_RATE_CONTROL_INFORMATION, {
      MaxIops: next.maxIOPS,
      MaxBandwidth: next.maxBandwidth,
      ReservationIops: 0,
      VolumeName: null,
      BaseIoSize: 0,
      ControlFlags: IO_CONTROL_ENABLE,
    });
    if (this.#k.SetIoRateControlInformationJobObject(this.#handle, buf) === 0) this.#fail('SetIoRateControlInformationJobObject');
    this.#ioLimits = next;
  }

  /** `JobObjectMemoryUsageInformation`: committed job memory and its peak. */
  async queryMemoryStats(): Promise<JobMemoryStats> {
    const v = this.#query<Record<string, unknown>>(JobObjectInfoClass.JobObjectMemoryUsageInformation, JOBOBJECT_MEMORY_USAGE_INFORMATION);
    return { JobMemory: num(v.JobMemory), PeakJobMemoryUsed: num(v.PeakJobMemoryUsed) };
  }

  /** `JobObjectBasicAccountingInformation`, times in 100 ns units. */
  async queryProcessorStats(): Promise<JobProcessorStats> {
    const v = this.#query<Record<string, unknown>>(JobObjectInfoClass.JobObjectBasicAccountingInformation, JOBOBJECT_BASIC_ACCOUNTING_INFORMATION);
    return {
      TotalUserTime: num(v.TotalUserTime),
      TotalKernelTime: num(v.TotalKernelTime),
      ThisPeriodTotalUserTime: num(v.ThisPeriodTotalUserTime),
      ThisPeriodTotalKernelTime: num(v.ThisPeriodTotalKernelTime),
      TotalPageFaultCount: num(v.TotalPageFaultCount),
      TotalProcesses: num(v.TotalProcesses),
      ActiveProcesses: num(v.ActiveProcesses),
      TotalTerminatedProcesses: num(v.TotalTerminatedProcesses),
    };
  }

  /** `JobObjectIoAttribution`, queried with `ControlFlags` = enable as hcsshim does. */
  async queryStorageStats(): Promise<JobStorageStats> {
    type Stats = Record<'IoCount' | 'TotalNonOverlappedQueueTime' | 'TotalNonOverlappedServiceTime' | 'TotalSize', unknown>;
    const v = this.#query<{ ControlFlags: unknown; ReadStats: Stats; WriteStats: Stats }>(
      JobObjectInfoClass.JobObjectIoAttribution,
      JOBOBJECT_IO_ATTRIBUTION_INFORMATION,
      { ControlFlags: IO_CONTROL_ENABLE },
    );
    const conv = (s: Stats): JobStorageStats['ReadStats'] => ({
      IoCount: num(s.IoCount),
      TotalNonOverlappedQueueTime: num(s.TotalNonOverlappedQueueTime),
      TotalNonOverlappedServiceTime: num(s.TotalNonOverlappedServiceTime),
      TotalSize: num(s.TotalSize),
    });
    return { ControlFlags: num(v.ControlFlags), ReadStats: conv(v.ReadStats), WriteStats: conv(v.WriteStats) };
  }

  /** The next message from the job's completion port; `ERR_NOT_REGISTERED` without notifications. */
  async pollNotification(): Promise<JobNotification> {
    if (this.#notifier === undefined) throw notRegistered();
    return this.#notifier.next();
  }

  /**
   * Closes the completion port and the job handle. The kernel keeps the job while any handle or process
   * holds it; with `KILL_ON_JOB_CLOSE` the last handle (in any process) kills what is left.
   */
  async close(): Promise<void> {
    this.#notifier?.close();
    if (!this.#k.CloseHandle(this.#handle)) this.#fail('CloseHandle');
  }
}

/** The Windows backends of {@link JobObject} over a kernel32 binding (the real one, or a scripted one in tests). */
export function windowsBackends(k: Kernel32): BackendFactory {
  return {
    create: (o, after) => WindowsJob.create(k, o.name, { notifications: o.notifications, terminateOnLastHandleClose: o.terminateOnLastHandleClose }, after),
    open: (name, o) => WindowsJob.open(k, name, { notifications: o.notifications }),
  };
}
