import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { TaskioError } from '../errors.js';
import { Runsc } from '../runtime/oci/index.js';
import { HostRuntime } from '../runtime/host/index.js';
import { JobRuntime } from '../runtime/container/index.js';
import { CPULimitMax, type JobLimits, type JobObject } from '../runtime/jobobject/index.js';
import type { Runtime } from '../runtime/proc/index.js';
import type { Logger } from '../log.js';
import type { DaemonLayout } from './layout.js';
import { recordNetwork } from './network.js';
import type { RuntimeName, TaskLimits, TaskRecord } from './records.js';

const searchPath = (): string[] => [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The absolute path of `name` found in `PATH` (and the sbin directories), or null. */
export function findBinary(name: string): string | null {
  for (const dir of searchPath()) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** The container runtimes installed here (their paths), found once per daemon. */
export interface Runtimes {
  runsc: string | null;
  runc: string | null;
  /** runsc when installed and root, else runc (root), else the host backend. */
  default: RuntimeName;
}

/** `$TASKIO_RUNSC` / `$TASKIO_RUNC` name the binary to use (empty: none), else it is looked up. */
function runtimeBinary(name: 'runsc' | 'runc'): string | null {
  const override = process.env[`TASKIO_${name.toUpperCase()}`];
  if (override === undefined) return findBinary(name);
  if (override === '') return null;
  const p = path.resolve(override);
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return p;
  } catch {
    return null;
  }
}

/** Looks for runsc and runc (`$TASKIO_RUNSC`, `$TASKIO_RUNC` override) and picks the default runtime. */
export function findRuntimes(): Runtimes {
  const runsc = runtimeBinary('runsc'), runc = runtimeBinary('runc');
  const root = process.getuid?.() === 0;
  return { runsc, runc, default: root && runsc ? 'runsc' : root && runc ? 'runc' : 'host' };
}

/**
 * Checks that runtime `name` can run here.
 * @throws TaskioError `ERR_RUNTIME_UNAVAILABLE` naming what is missing.
 */
export function requireRuntime(runtimes: Runtimes, name: RuntimeName): string | null {
  if (name === 'host') return null;
  const bin = runtimes[name];
  if (bin === null) throw new TaskioError('ERR_RUNTIME_UNAVAILABLE', `runtime ${name} is not installed (not found in PATH)`);
  if (process.getuid?.() !== 0) throw new TaskioError('ERR_RUNTIME_UNAVAILABLE', `runtime ${name} needs root; use runtime "host"`);
  return bin;
}

/** The job name prefix of one daemon root: job (cgroup) names are host-wide, roots are not. */
export function jobPrefix(root: string): string {
  return `taskio-${crypto.createHash('sha256').update(root).digest('hex').slice(0, 8)}-`;
}

/**
 * Refuses the limits a host task's job object does not have: a process count (`pids`), a cpuset
 * (`cpusetCpus`: a job holds the cpu, memory, blkio and freezer controllers, not cpuset) and
 * docker's CPU shares (a job's weight is Windows' 1 to 9, used only without a CPU rate), a memory
 * reservation (a job has a hard memory limit only) and a swap limit (a job holds memory and swap
 * together at its memory limit).
 * @throws TaskioError `ERR_NOT_SUPPORTED` naming the limit.
 */
export function refuseJobLimits(limits: TaskLimits | undefined): void {
  for (const [limit, lacks] of jobLacks) {
    if (limits?.[limit] !== undefined) throw new TaskioError('ERR_NOT_SUPPORTED', `limit ${limit} needs runtime runsc or runc: the host backend's job objects ${lacks}`);
  }
}

/** The limits {@link refuseJobLimits} refuses, each with what a job object lacks for it, in the order they are checked. */
const jobLacks: ReadonlyArray<[keyof TaskLimits, string]> = [
  ['pids', 'have no process-count limit'],
  ['cpusetCpus', 'have no cpuset'],
  ['memoryReservation', 'have no soft memory limit'],
  ['memorySwap', 'hold memory and swap together at the memory limit'],
  ['cpuShares', 'weigh CPU 1 to 9, and not beside a CPU rate'],
];

/** The job object limits for a host task (memory and CPU; a job object has no process-count limit). */
export function jobLimits(limits: TaskLimits, cpus: number): JobLimits {
  const out: JobLimits = {};
  if (limits.memory !== undefined) out.memoryLimitInBytes = limits.memory;
  if (limits.cpus !== undefined) out.cpuLimit = Math.max(1, Math.min(CPULimitMax, Math.round((limits.cpus / cpus) * CPULimitMax)));
  return out;
}

/**
 * Whether a runtime's delete failed because it has no such container any more (it cleaned up after
 * the exit, or never made it): for a caller that removes a task, nothing is left to delete.
 */
export function goneFromRuntime(err: unknown): boolean {
  return /does not exist|not exist|no such/i.test((err as Error).message);
}

/**
 * The `Runsc` driving a runsc/runc task's record: the daemon's private `--root`, the task's own JSON
 * log, its network as runsc's `--network` and, when its spec has a seccomp filter, runsc's
 * `--oci-seccomp` (on every call: runsc remembers no global flag, and a later daemon reads them
 * from the record too).
 */
export function runscFor(record: TaskRecord, logPath: string, logger?: Logger): Runsc {
  return new Runsc({
    command: record.runtimeCommand!, root: record.runtimeRoot!, logPath, dialect: record.runtime as 'runsc' | 'runc',
    network: recordNetwork(record) === 'host' ? 'host' : 'none', ociSeccomp: record.seccomp === true, ...(logger ? { logger } : {}),
  });
}

/** The namespace a daemon's task and its execs carry in the runtime layer (the Init's, the pid files' names). */
export const taskNamespace = 'taskio';

/**
 * How long the delete of a task (or of one of its execs) waits for its output to be read, ms: in
 * FIFO mode (`log` none) nobody may ever read it, so not at all.
 */
export function drainTimeoutOf(record: TaskRecord): number {
  return record.log === 'none' ? 0 : 2000;
}

/**
 * The {@link Runtime} a task runs on: a `Runsc` for runsc/runc with the daemon's private `--root`
 * and a JSON log of the task's own (so concurrent failures never mix their messages), or the host
 * backend — inside the job object (cgroup) its record names, its processes born in it, with the
 * task's limits if it has any. A host task without a job (none can be made here) leads a session
 * of its own.
 */
export function taskRuntime(layout: DaemonLayout, record: TaskRecord, cpus: number, logger: Logger): { runtime: Runtime; jobRuntime: JobRuntime | null } {
  if (record.runtime !== 'host') return { runtime: runscFor(record, layout.runtimeLog(record.id), logger), jobRuntime: null };
  if (record.job === null) return { runtime: new HostRuntime({ jobs: false }), jobRuntime: null };
  const jr: JobRuntime = new JobRuntime(new HostRuntime({ jobFor: (id) => jr.jobOf(id) }), {
    jobPrefix: jobPrefix(layout.root), job: record.limits ? { limits: jobLimits(record.limits, cpus) } : {}, logger,
  });
  return { runtime: jr, jobRuntime: jr };
}

/**
 * The host runtime of a host task adopted after a daemon restart: it takes the task over by its
 * init's pid (and start time) and its job (`job`, opened from `record.job`; null for a task without
 * one), so an exec is spawned as the daemon that started the task spawned its processes — born in
 * the job, or leading a session of its own that the task's `kill --all` and delete reach.
 */
export function adoptedHostRuntime(record: TaskRecord, job: JobObject | null): HostRuntime {
  const rt = new HostRuntime({ jobs: false });
  const startTime = record.pidStartTime === null ? undefined : Number(record.pidStartTime);
  rt.adopt(record.id, record.bundle, { pid: record.pid, startTime }, job);
  return rt;
}
