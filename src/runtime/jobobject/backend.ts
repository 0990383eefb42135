import type { ChildProcess } from 'node:child_process';
import type { CPURateControlType } from './limits.js';
import type { JobNotification } from './notifications.js';
import type { JobCommand, JobSpawnOptions } from './spawn.js';
import type { JobMemoryStats, JobProcessorStats, JobStorageStats } from './stats.js';

/**
 * What a platform provides under {@link JobObject}: the cgroup backend on Linux, kernel32 job objects on
 * Windows. The facade has already checked every argument (ranges, pids) and that the handle is open, so
 * a backend only does the platform's work; it is chosen once, at run time, from `process.platform`.
 */
export interface JobBackend {
  /** The job's name: the cgroup directory on Linux, the kernel object name on Windows ('' when unnamed). */
  readonly name: string;
  /** The cgroup directories of the job; empty where there are no cgroups (Windows). */
  readonly cgroupPaths: readonly string[];
  /** Puts a running process into the job. */
  assign(pid: number): Promise<void>;
  /** Starts a process in the job; how soon it is inside depends on the platform (see each backend). */
  spawn(cmd: string, args: readonly string[], options: JobSpawnOptions): ChildProcess;
  /** A command line that enters the job before running `cmd`, for spawners other than `child_process`. */
  commandLine(cmd: string, args: readonly string[]): JobCommand;
  /** The pids of the job's processes. */
  pids(): Promise<number[]>;
  /** Kills every process of the job. */
  terminate(exitCode: number): Promise<void>;
  /** Resolves once the job has no process; rejects `ETIMEDOUT` after `timeoutMs` (checked). */
  waitEmpty(timeoutMs: number): Promise<void>;
  /** Sets a checked CPU rate or weight. */
  setCPULimit(type: CPURateControlType, value: number): Promise<void>;
  /** Sets a checked job memory limit in bytes. */
  setMemoryLimit(bytes: bigint): Promise<void>;
  /** Sets checked I/O limits (0 = leave that one as it is). */
  setIOLimit(maxBandwidth: number, maxIOPS: number): Promise<void>;
  /** Memory use of the job. */
  queryMemoryStats(): Promise<JobMemoryStats>;
  /** CPU accounting of the job in 100 ns units. */
  queryProcessorStats(): Promise<JobProcessorStats>;
  /** Storage I/O of the job. */
  queryStorageStats(): Promise<JobStorageStats>;
  /** The next notification; rejects `ERR_NOT_REGISTERED` without notifications. */
  pollNotification(): Promise<JobNotification>;
  /** Releases the handle (and, per backend, what goes with the last one). Called at most once. */
  close(): Promise<void>;
}
