import { TaskioError } from '../errors.js';
import { describe, matches, typeNames, type FieldType } from './check.js';
import type { KeeperRecord } from './outputKeeper.js';
import type { ProcessIdentity } from './recordedExits.js';
import type { Config } from '../fifo/index.js';
import type { TaskMount } from './mounts.js';
import type { TaskNetwork } from './network.js';
import type { RestartPolicy } from './restartPolicy.js';
import type { TaskUlimit } from './ulimits.js';
import type { SeccompMode } from './security.js';
import type { HealthConfig } from './healthcheck.js';

/** The runtimes a daemon task can run on. */
export type RuntimeName = 'runsc' | 'runc' | 'host';

/** Resource limits of a task (the API's `limits`). */
export interface TaskLimits {
  /** Memory limit in bytes. */
  memory?: number;
  /** CPUs, e.g. 0.5 (half of one CPU) — docker's `--cpus`. */
  cpus?: number;
  /** Most processes (threads) at once — docker's `--pids-limit` (runsc and runc only). */
  pids?: number;
  /** The CPUs the task may run on, `0-1,3` — docker's `--cpuset-cpus` (runsc and runc only). */
  cpusetCpus?: string;
  /** The task's CPU weight against others, 2 to 262144 (1024: the kernel's default) — docker's `--cpu-shares` (runsc and runc only). */
  cpuShares?: number;
  /** A soft memory limit in bytes, at most `memory` — docker's `--memory-reservation` (runsc and runc only). */
  memoryReservation?: number;
  /** Memory and swap together in bytes, at least `memory` (which it needs), or -1 for unlimited swap — docker's `--memory-swap` (runsc and runc only). */
  memorySwap?: number;
}

/**
 * A run's OOM counter as its task's record keeps it (`OomCounter.saved`): the memory cgroup (from
 * the hierarchy's root: a runsc/runc spec's absolute `linux.cgroupsPath`, a host task's job's) and
 * its OOM kill count before the run.
 */
export interface OomCounterRecord {
  cgroup: string;
  base: number;
}

/**
 * `<root>/tasks/<id>/task.json`: everything the daemon knows about a task, so a daemon started
 * later can take it over. Written atomically before the runtime is called (`status: 'creating'`)
 * and again once the task runs (`status: 'started'`, with its pid); a task made but not started
 * (docker's create) is `created`.
 */
export interface TaskRecord {
  version: 1;
  id: string;
  runtime: RuntimeName;
  /** runsc/runc: the binary and its `--root`. */
  runtimeCommand: string | null;
  runtimeRoot: string | null;
  /** The task's own bundle (`<dir>/bundle`, its config.json written by the daemon). */
  bundle: string;
  /** The process, for people (`ps`): argv, env, working directory. */
  args: string[];
  env: string[];
  cwd: string;
  /** Where the rootfs came from: `default` (the embedded busybox), a rootfs path or a bundle path. */
  image: string;
  terminal: boolean;
  /** The task's FIFO set (paths in its directory). */
  stdio: Config;
  /** The log URI (`file://…`, `binary://…`) or `none` (FIFO mode). */
  log: string;
  /** The file the daemon writes the log into, and its format; null when it does not (none, binary://). */
  logPath: string | null;
  logFormat: 'cri' | 'raw' | null;
  limits: TaskLimits | null;
  /** Its mounts as asked (sources resolved). Absent: none. */
  mounts?: TaskMount[];
  /** The user its process runs as (`--user` resolved, else the bundle's). Absent: the daemon's own (a host task without `--user`). */
  user?: { uid: number; gid: number; additionalGids?: number[] };
  /** runsc, runc: its hostname (in its own UTS namespace). */
  hostname?: string;
  /**
   * Its network (`none`, `host`; `ns:PATH` for a runc bundle's own): runsc gets `--network=host`
   * or `none` on every call from it, as it remembers no global flag. Absent: written by a taskio
   * without it (see `recordNetwork`).
   */
  network?: TaskNetwork;
  /**
   * runsc, runc: its spec has a seccomp filter (`linux.seccomp`): runsc gets `--oci-seccomp` on
   * every call from it, as for `network`. Absent: none — or written by a taskio without it, whose
   * runsc ran the task unfiltered (a new create of it from its bundle passes the flag anyway).
   */
  seccomp?: true;
  /** runsc, runc: where its seccomp filter comes from, or `unconfined` ({@link SeccompMode}). Absent: a host task, or written by a taskio without it. */
  seccompMode?: SeccompMode;
  /** Its command runs under taskio's init (`--init`: `args` begins with it). Absent: false. */
  init?: boolean;
  /** Its resource limits as asked (`--ulimit`). Absent: the spec's. */
  ulimits?: TaskUlimit[];
  /** Its labels (docker's). Absent: none. */
  labels?: Record<string, string>;
  /** runsc, runc: the capabilities its process may hold (the bounding set). Absent: a host task's (the daemon's). */
  capabilities?: string[];
  /** runsc, runc: made with `privileged` (docker's `--privileged`). Absent: false. */
  privileged?: true;
  /** runsc, runc: its `securityOpt` as given (a seccomp profile as its JSON, as docker keeps it). Absent: none. */
  securityOpt?: string[];
  /** The job object (cgroup) a host task runs in, named after the root and the id; null for runsc/runc, or where no job can be made. */
  job: string | null;
  /** The host pid whose exit is the task's (runsc: the sandbox; runc: the init; host: the process). */
  pid: number;
  /** Its start time (`/proc/<pid>/stat` field 22), to tell it from a later process with the same pid. */
  pidStartTime: string | null;
  /**
   * Its output keeper ({@link OutputKeeper}): the process that holds its output FIFOs (and a
   * terminal's pty master) across daemon restarts. Absent: none (a `binary://` log, a keeper that
   * could not start, or a record from before keepers).
   */
  outputKeeper?: KeeperRecord;
  /** Written by a taskio whose keepers held terminals only: read as {@link outputKeeper} (it has the same fds), never written. */
  consoleKeeper?: KeeperRecord;
  /**
   * Its input keeper (`OutputKeeper.spawnInput`, with `stdinFd`): the process that holds the write
   * end of its stdin pipe across daemon restarts. Absent: none (a terminal, no stdin, stdin closed,
   * a keeper that could not start, or a record from before input keepers).
   */
  inputKeeper?: KeeperRecord;
  /**
   * The exit recorder above the daemon that started this run (`exitRecorder.ts`): the process its
   * pid and keepers are re-parented to if that daemon dies, which records their exits for the next
   * daemon. Absent: none (a daemon without one, or a record from before recorders): such an exit
   * after a restart is unknown.
   */
  exitRecorder?: ProcessIdentity;
  /**
   * This run's OOM counter, taken before it ran: a daemon that adopts the task counts its kills
   * from there (docker's `State.OOMKilled` of a run that a daemon restart cut), also for a task
   * found exited. Absent: none (a bundle's relative cgroup, no memory hierarchy, a host task
   * without a job, a task not started, or a record from before the field): an adopting daemon
   * counts from its adoption, and one found exited has no OOM kill.
   */
  oomCounter?: OomCounterRecord;
  created: string;
  started: string | null;
  /**
   * When its previous run ended (that exit's `exitedAt`), kept while a run started again goes on:
   * docker's `FinishedAt` changes only at an exit (moby's `SetRunning` leaves it). Absent: no run
   * ended before this one, or its end is unknown.
   */
  finished?: string;
  status: 'creating' | 'created' | 'started';
  /** Remove the task once it exited (a daemon that adopts it does it too). Absent: false. */
  autoRemove?: boolean;
  /** Start it again after an exit (absent: never), how often that happened, and whether a client stopped or killed it since it was last started by hand. */
  restartPolicy?: RestartPolicy;
  restartCount?: number;
  manuallyStopped?: boolean;
  /** `stop`'s first signal (a name, `SIGTERM` when absent) and its wait in seconds before KILL (10; -1: for ever). */
  stopSignal?: string;
  stopTimeout?: number;
  /** Its health check (`CMD` or `CMD-SHELL`), as asked. Absent: none. */
  healthcheck?: HealthConfig;
}

/**
 * The shape of a field: its JSON type, `?` when it may be absent, `|null` when it may be null; a
 * nested object's own fields (checked when it is there), or the values it may take.
 */
type FieldShape = `${FieldType}${'' | '|null'}${'' | '?'}` | { shape: Shape; optional?: true; nullable?: true } | { oneOf: readonly unknown[]; optional?: true };
type Shape = Record<string, FieldShape>;

const keeperShape: Shape = { pid: 'integer', startTime: 'string', masterFd: 'integer?', stdinFd: 'integer?' };

/**
 * What {@link parseTaskRecord} requires of a record: every field a daemon reads as it adopts,
 * lists, restarts or removes the task (absent ones only where taskio has always let them be —
 * a record of an older taskio stays usable), and the type of each optional one that is there.
 */
const recordShape: Shape = {
  version: { oneOf: [1] }, id: 'string', runtime: { oneOf: ['runsc', 'runc', 'host'] },
  runtimeCommand: 'string|null', runtimeRoot: 'string|null', bundle: 'string', args: 'string[]', env: 'string[]', cwd: 'string',
  image: 'string', terminal: 'boolean', stdio: { shape: { terminal: 'boolean', stdin: 'string', stdout: 'string', stderr: 'string' } },
  log: 'string', logPath: 'string|null', logFormat: { oneOf: ['cri', 'raw', null] },
  limits: { shape: { memory: 'number?', cpus: 'number?', pids: 'integer?' }, nullable: true },
  mounts: 'object[]?', user: { shape: { uid: 'integer', gid: 'integer' }, optional: true }, hostname: 'string?', network: 'string?',
  seccomp: 'boolean?', seccompMode: 'string?', init: 'boolean?', ulimits: 'object[]?', labels: 'object?', capabilities: 'string[]?',
  privileged: 'boolean?', securityOpt: 'string[]?', job: 'string|null', pid: 'integer', pidStartTime: 'string|null',
  outputKeeper: { shape: keeperShape, optional: true }, consoleKeeper: { shape: keeperShape, optional: true }, inputKeeper: { shape: keeperShape, optional: true },
  exitRecorder: { shape: { pid: 'integer', startTime: 'string' }, optional: true },
  oomCounter: { shape: { cgroup: 'string', base: 'integer' }, optional: true },
  created: 'string', started: 'string|null', finished: 'string?', status: { oneOf: ['creating', 'created', 'started'] },
  autoRemove: 'boolean?', restartPolicy: { shape: { name: 'string', maximumRetryCount: 'integer?' }, optional: true },
  restartCount: 'integer?', manuallyStopped: 'boolean?', stopSignal: 'string?', stopTimeout: 'integer?',
  healthcheck: { shape: { test: 'string[]', interval: 'number?', timeout: 'number?', startPeriod: 'number?', startInterval: 'number?', retries: 'integer?' }, optional: true },
};

function badRecord(message: string): TaskioError {
  return new TaskioError('ERR_CORRUPT_STATE', `task record: ${message}`);
}

/** Checks the fields of `shape` in object `value`; `at` prefixes the field names (`healthcheck.`). */
function checkShape(value: Record<string, unknown>, shape: Shape, at: string): void {
  for (const [key, spec] of Object.entries(shape)) {
    const name = `${at}${key}`, v = value[key];
    const optional = typeof spec === 'string' ? spec.endsWith('?') : spec.optional === true;
    if (v === undefined) {
      if (optional) continue;
      throw badRecord(`missing field ${name}`);
    }
    if (typeof spec === 'object' && 'oneOf' in spec) {
      if (!spec.oneOf.includes(v)) throw badRecord(`field ${name} must be one of ${spec.oneOf.map((x) => JSON.stringify(x)).join(', ')}, got ${describe(v)}`);
      continue;
    }
    const nullable = typeof spec === 'string' ? spec.includes('|null') : spec.nullable === true;
    if (v === null && nullable) continue;
    const type = typeof spec === 'string' ? spec.replace(/\|null|\?/g, '') as FieldType : 'object';
    if (!matches(type, v)) throw badRecord(`field ${name} must be ${typeNames[type]}${nullable ? ' or null' : ''}, got ${describe(v)}`);
    if (typeof spec === 'object') checkShape(v as Record<string, unknown>, spec.shape, `${name}.`);
  }
}

/**
 * `<root>/tasks/<id>/task.json` as read (parsed JSON), checked before a daemon uses it: an object
 * with every field {@link recordShape} requires, each of its type, and `id` the directory's. A
 * record written by another taskio or edited by hand that fails is never half used.
 * @throws TaskioError `ERR_CORRUPT_STATE` naming the field, what it must be and what it is.
 */
export function parseTaskRecord(value: unknown, id: string): TaskRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRecord(`must be a JSON object, got ${describe(value)}`);
  checkShape(value as Record<string, unknown>, recordShape, '');
  const record = value as TaskRecord;
  if (record.id !== id) throw badRecord(`field id is ${describe(record.id)}, not the directory's ${JSON.stringify(id)}`);
  if (record.labels && !Object.values(record.labels).every((v) => typeof v === 'string')) throw badRecord(`field labels must map names to strings, got ${describe(record.labels)}`);
  // Joined to the memory hierarchy's mount to be read: a path that climbs out of it is no cgroup.
  const oom = record.oomCounter;
  if (oom && !isCgroupPath(oom.cgroup)) throw badRecord(`field oomCounter.cgroup must be an absolute cgroup path without . or .., got ${describe(oom.cgroup)}`);
  if (oom && oom.base < 0) throw badRecord(`field oomCounter.base must be a count (0 or more), got ${describe(oom.base)}`);
  return record;
}

/** Whether `p` is a cgroup below a hierarchy's root: absolute, and no `.` or `..` part. */
function isCgroupPath(p: string): boolean {
  const parts = p.split('/').slice(1);
  return p.startsWith('/') && parts.length > 0 && parts.every((x) => x !== '' && x !== '.' && x !== '..');
}

/**
 * `<root>/tasks/<id>/exit`, written atomically the moment the exit is known — conmon's exit file.
 * `exitCode` is null when nobody could see it (the exit happened while no daemon ran, or after a
 * restart, when the task was no longer this daemon's child); `reason` says why.
 */
export interface ExitRecord {
  /** The code, or 128 + n for signal n (as docker and shells report it); null when unknown. */
  exitCode: number | null;
  /** The signal's name when `exitCode` > 128 (the shell convention), else null. */
  signal: string | null;
  exitedAt: string | null;
  reason?: string;
  /**
   * A task's exit: whether its memory cgroup (runsc: its sandbox's; host: its job's) had an OOM
   * kill during this run — docker's `State.OOMKilled`, true even when the process killed was not
   * the task's init (under runsc it is the sentry, the whole sandbox goes). Counted from the run's
   * start — also by a daemon that adopted the task, running or found exited, from the count its
   * record kept (`TaskRecord.oomCounter`), else from the adoption; false for a host task without a
   * job (it runs in the daemon's cgroup), for an exit nobody saw of a task whose record kept no
   * count, and for a runsc/runc `--rm` task without a memory limit (it runs attached: the runtime
   * removes its cgroup at the exit, before the count is read). Absent: an exec's exit, or one written by a taskio before it (read as false).
   */
  oomKilled?: boolean;
}
