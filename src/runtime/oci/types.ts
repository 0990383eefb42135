/**
 * The shapes the OCI runtime driver exchanges with its callers: options per call, and the typed
 * results of `state`, `list`, `stats`. Field names follow the OCI runtime spec and go-runc.
 */

/** Which command-line language the binary speaks; runsc and runc differ in a few flags and outputs. */
export type Dialect = 'runsc' | 'runc';

/**
 * One of the child's standard fds: a real fd the caller owns (a pipe or FIFO end, never a Node
 * `'pipe'` socketpair — gVisor refuses `/dev/stdout` on a socket), `'ignore'` (`/dev/null`) or
 * `'inherit'` (this process's own, for debugging).
 */
export type StdioFd = number | 'ignore' | 'inherit';

/** The child's fds 0, 1, 2 in order. */
export type Stdio = readonly [StdioFd, StdioFd, StdioFd];

/** What every call accepts. */
export interface CallOptions {
  /** Aborts the runtime command (SIGKILL to its process group); the call rejects with an AbortError. */
  signal?: AbortSignal;
  /**
   * This call's time limit in ms (0 = none), over `RunscOptions.timeouts` and `defaultTimeouts`:
   * the command is then killed (SIGKILL to its process group) and the call rejects with a
   * `RuntimeError` of code `ERR_RUNTIME_TIMEOUT`. `ERR_INVALID_ARG_VALUE` for a value that is not
   * a number ≥ 0.
   */
  timeout?: number;
}

/** Options of `create` (and the shared part of `run` and `restore`). */
export interface CreateOptions extends CallOptions {
  /** Where the runtime writes the container's pid: runsc the sandbox's, runc the init's. */
  pidFile?: string;
  /** AF_UNIX socket that receives the pty master when `process.terminal` is set in the spec. */
  consoleSocket?: string;
  /** The container's fds 0–2 (they pass through the runtime command). Default: all `'ignore'`. */
  stdio?: Stdio;
  /** runc only: do not pivot_root (a rootfs on a ramdisk). Ignored by runsc. */
  noPivot?: boolean;
  /** runc only: do not create a new session keyring. Ignored by runsc. */
  noNewKeyring?: boolean;
  /** Extra fds after 0–2 that the container inherits (runc `--preserve-fds`); runsc ignores it. */
  extraFiles?: readonly number[];
}

/** Options of `run`. */
export interface RunOptions extends CreateOptions {
  /** Return once the container started (`--detach`) instead of when it exits. */
  detach?: boolean;
}

/** An attached `run` ({@link Runsc.runAttached}): the container's start, then its end. */
export interface AttachedRun {
  /** Resolves once the container's process runs; rejects when the runtime failed before. */
  started: Promise<void>;
  /** Resolves with the exit status once the runtime removed the container. */
  exited: Promise<number>;
}

/** A terminal's size in character cells, as OCI's `process.consoleSize` names it. */
export interface ConsoleSize {
  height: number;
  width: number;
}

/**
 * An OCI `process` object (the part of `config.json` that `exec` takes as `--process`). Only the
 * fields taskio uses are typed; the rest passes through unchanged.
 */
export interface ProcessSpec {
  terminal?: boolean;
  /** The terminal's size when the process starts. */
  consoleSize?: ConsoleSize;
  user?: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: Record<string, string[]>;
  rlimits?: Array<{ type: string; hard: number; soft: number }>;
  noNewPrivileges?: boolean;
  [key: string]: unknown;
}

/** Options of `exec`. */
export interface ExecOptions extends CallOptions {
  /**
   * Return once the process started. Only detached exec is supported: the caller learns the exit
   * through the host-side pid (runsc's `runsc exec` helper, runc's process), not through this call.
   */
  detach?: true;
  /** Host-side pid: runsc writes its `exec` helper's (which exits with the process's status), runc the process's. */
  pidFile?: string;
  /** runsc only: the pid inside the sandbox, for `kill --pid`. */
  internalPidFile?: string;
  /** AF_UNIX socket for the pty master when `spec.terminal` is set. */
  consoleSocket?: string;
  /** The process's fds 0–2. Default: all `'ignore'`. */
  stdio?: Stdio;
}

/** Options of `kill`. */
export interface KillOptions extends CallOptions {
  /** Signal every process of the container, not just its init. */
  all?: boolean;
  /** runsc only: signal this pid (as the sandbox sees it) instead of the init. */
  pid?: number;
}

/** Options of `delete`. */
export interface DeleteOptions extends CallOptions {
  /** Kill the container first when it is still running. */
  force?: boolean;
}

/** Options of `checkpoint`. */
export interface CheckpointOptions extends CallOptions {
  /** Directory the image is written to. */
  imagePath: string;
  /** Keep the container running after the checkpoint. */
  leaveRunning?: boolean;
  /** Directory for runc/criu's work files and logs; runsc ignores it. */
  workPath?: string;
}

/** Options of `restore`. */
export interface RestoreOptions extends CreateOptions {
  /** The bundle to restore into (its `config.json` must match the checkpointed one). */
  bundle: string;
  /** Directory holding the checkpoint image. */
  imagePath: string;
  /** Return once the container runs again. */
  detach?: boolean;
  /** Directory for runc/criu's work files; runsc ignores it. */
  workPath?: string;
}

/** The OCI state of a container, as `state` prints it. */
export interface State {
  ociVersion: string;
  id: string;
  /** runsc: the sandbox's pid (−1 once stopped); runc: the init's (0 once stopped). */
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped' | string;
  bundle: string;
  rootfs?: string;
  created?: string;
  owner?: string;
  annotations?: Record<string, string>;
}

/** A container as `list --format json` shows it. */
export interface ContainerInfo {
  id: string;
  pid: number;
  status: string;
  bundle: string;
  rootfs?: string;
  created?: string;
  annotations?: Record<string, string>;
}

/** Resource usage from `events --stats`, reduced to what both runtimes report. */
export interface Stats {
  cpu: {
    /** Total CPU time used, in nanoseconds. */
    usageTotal: number;
    /** Kernel-mode CPU time in nanoseconds, when reported. */
    usageKernel?: number;
    /** User-mode CPU time in nanoseconds, when reported. */
    usageUser?: number;
  };
  memory: {
    /** Current memory usage in bytes. */
    usage: number;
    /** The limit in bytes, when reported. */
    limit?: number;
    /** The peak usage in bytes, when reported. */
    max?: number;
    /**
     * The part of `usage` that is page cache not used lately (the cgroup's `total_inactive_file`,
     * cgroup2's `inactive_file`), which the kernel reclaims first; when reported. `docker stats`
     * shows usage without it.
     */
    inactiveFile?: number;
  };
  pids: {
    /** Number of processes (tasks) now. */
    current: number;
    /** The pids limit, when reported (0 = none). */
    limit?: number;
  };
  /** The whole `data` object the runtime printed, for fields not typed here. */
  raw: Record<string, unknown>;
}

/** Resource limits for `update` (the runc `--resources` format). */
export interface LinuxResources {
  memory?: { limit?: number; reservation?: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit?: number };
  blockIO?: { weight?: number };
  [key: string]: unknown;
}
