import type { KeeperRecord } from './outputKeeper.js';
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
  created: string;
  started: string | null;
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
}
