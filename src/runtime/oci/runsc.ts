import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { TaskioError } from '../../errors.js';
import { validateContainerId, validateId, validatePid } from '../../ids.js';
import { notPrivate } from '../../privateDir.js';
import { removeInside } from '../../removeInside.js';
import { holdCgroupWarmup, warmCgroupMigration } from '../jobobject/migrationWarmup.js';
import { detectFeatures, type RuntimeFeatures } from './dialect.js';
import { RuntimeError } from './error.js';
import { checkBundle, readBundleConfig } from './bundleConfig.js';
import { ociJson } from './ociJson.js';
import { signalNumber } from './signal.js';
import { cleanKilledCreate } from './strays.js';
import { cgroupDirs, containerCgroups, removeNewCgroups, type HierarchyCgroup } from './containerCgroups.js';
import { invoke, timeoutError, type Outcome } from './spawn.js';
import { containerStarted } from './started.js';
import { isRunscStateOf, runscStateName } from './runscState.js';
import { runtimeIdEnd, runtimeIdPrefix } from './runtimeId.js';
import { parseStats } from './stats.js';
import { checkTimeouts, timeoutFor, type RuntimeCommand, type RuntimeTimeouts } from './timeouts.js';
import type {
  AttachedRun, CallOptions, CheckpointOptions, ContainerInfo, CreateOptions, DeleteOptions, Dialect, ExecOptions,
  KillOptions, LinuxResources, ProcessSpec, RestoreOptions, RunOptions, State, Stats, Stdio,
} from './types.js';

/** Options of {@link Runsc}. */
export interface RunscOptions {
  /** The runtime binary, a name looked up in `PATH` or a path. Default `'runsc'`. */
  command?: string;
  /** `--root`: the runtime's state directory. Default: the dialect's own (`/var/run/runsc`, `/run/runc`). */
  root?: string;
  /** The command-line language; detected from `<command> --version` when not given (cached per binary). */
  dialect?: Dialect;
  /** More global flags, passed on every call after the built-in ones (e.g. `--platform=ptrace`). */
  globalFlags?: readonly string[];
  /** `--log`: the JSON log errors are read from. Default `<root>/log.json` (both runtimes skip files there). */
  logPath?: string;
  /** runsc `--network`; default `'none'` (the default `sandbox` fails in the root network namespace). Ignored for runc. */
  network?: string;
  /**
   * runsc `--oci-seccomp` on every call: the container's spec has a seccomp filter (`linux.seccomp`),
   * which runsc ignores without the flag. `create`, `run` and `restore` pass it anyway when the
   * bundle's `config.json` has one (runsc 2022-12 reads it only there); later calls know no bundle,
   * so the caller that made the container says it here (a runsc that filters exec'd processes
   * reads it at `exec`). Ignored for runc, which always applies the spec's filter.
   */
  ociSeccomp?: boolean;
  /** Where each command is logged at debug level. Default: silent. */
  logger?: Logger;
  /**
   * Time limits in ms per command (0 = none), over {@link defaultTimeouts}: a command still running
   * then is killed with its process group and the call fails with `ERR_RUNTIME_TIMEOUT`. A call's
   * own `timeout` option wins over both.
   */
  timeouts?: RuntimeTimeouts;
}

const IGNORE: Stdio = ['ignore', 'ignore', 'ignore'];

/**
 * Drives an OCI runtime binary — runsc, or runc through the same methods in its dialect — the way
 * gVisor's shim does: every call carries the same global flags (runsc remembers none of them), long
 * flag names before positional arguments, an argument array, and failures that carry the runtime's
 * own last logged error and exit code ({@link RuntimeError}).
 *
 * The binary knows each container by {@link runtimeId}, the caller's id behind a prefix made from
 * the root, so that roots never share a container's host-wide names; the methods speak the
 * caller's id.
 *
 * Calls that start container processes (`create`, `run`, `exec`, `restore`) hand the caller's fds
 * to them as fds 0–2 and finish on the runtime command's exit, never on EOF of its output.
 *
 * Every command has a time limit ({@link defaultTimeouts}, `timeouts`, or a call's `timeout`): a
 * runtime that hangs is killed (SIGKILL to its process group) and the call fails with a
 * {@link RuntimeError} of code `ERR_RUNTIME_TIMEOUT` naming the command and the limit.
 */
export class Runsc {
  /** The binary run. */
  readonly command: string;
  /** The JSON log every call appends to. */
  readonly logPath: string;
  readonly #options: RunscOptions;
  #rootReady: Promise<void> | undefined;
  #idPrefix: string | undefined;

  /**
   * @throws TaskioError `ERR_INVALID_ARG_VALUE` / `ERR_INVALID_ARG_TYPE` for a `timeouts` entry that
   * names no command or is not a number of ms ≥ 0.
   */
  constructor(options: RunscOptions = {}) {
    const timeouts = checkTimeouts(options.timeouts);
    this.#options = { ...options, ...(timeouts ? { timeouts } : {}) };
    this.command = options.command ?? 'runsc';
    this.logPath = options.logPath ?? path.join(options.root ?? defaultRoot(options.dialect ?? guessDialect(this.command)), 'log.json');
  }

  /** The `--root` state directory. */
  get root(): string {
    return this.#options.root ?? defaultRoot(this.#options.dialect ?? guessDialect(this.command));
  }

  /**
   * The id the runtime binary knows container `id` by under this root: `id` behind a prefix made
   * from the root ({@link runtimeIdPrefix}), so that two roots can each run a container `id` at
   * once, and before {@link runtimeIdEnd}, so that runsc never takes it for the beginning of
   * another container's id. The methods take and return the caller's id; this one is for reading
   * what the runtime itself shows: its state files, its processes' command lines, the default
   * cgroup (see `containerCgroups`).
   * @throws TaskioError `ERR_INVALID_ID`.
   */
  runtimeId(id: string): string {
    return this.#runtimeIdPrefix() + validateContainerId(id) + runtimeIdEnd;
  }

  /**
   * The ids an older taskio made container `id` under, newest first: behind the prefix without the
   * end (before {@link runtimeIdEnd}), and the bare id (before the prefix).
   */
  #olderIds(id: string): string[] {
    return [this.#runtimeIdPrefix() + validateContainerId(id), id];
  }

  #runtimeIdPrefix(): string {
    this.#idPrefix ??= runtimeIdPrefix(this.root);
    return this.#idPrefix;
  }

  /**
   * The id the runtime knows existing container `id` by: {@link runtimeId}, or one of its
   * {@link #olderIds} for a container an older taskio made under this root (a daemon adopting an
   * older one's tasks) while no container of the new id exists. A root that cannot be read is
   * left to the runtime to report.
   */
  async #known(id: string): Promise<string> {
    const runtimeId = this.runtimeId(id);
    const dialect = await this.dialect();
    const root = path.resolve(this.root);
    const has = (name: string): Promise<boolean> => hasState(dialect, root, name).catch(() => false);
    if (await has(runtimeId)) return runtimeId;
    for (const older of this.#olderIds(id)) if (await has(older)) return older;
    return runtimeId;
  }

  /** What the binary is and which subcommands it has (probed once per binary). */
  features(): Promise<RuntimeFeatures> {
    return detectFeatures(this.command, { timeout: timeoutFor('version', undefined, this.#options.timeouts) });
  }

  /** The dialect in use: the one given, else the one the binary reports. */
  async dialect(): Promise<Dialect> {
    return this.#options.dialect ?? (await this.features()).dialect;
  }

  /**
   * The global flags every call starts with.
   *
   * No `--platform`, `--file-access*`, `--overlay2` or `--buffer-pooling`: runsc's own defaults
   * were the fastest correct choice measured here (`BENCH_ONLY=runsc-io npm run bench`, runsc
   * 2022-12-19, README "runsc write path"). The time of a write in runsc goes to the ptrace
   * platform's syscall trap (≈ 100 µs a syscall on this loaded VM: `dd bs=4K` to `/dev/null` at
   * 19 MB/s against 382 on the host), and kvm needs `/dev/kvm`, which a VM rarely has; a runsc
   * new enough to have systrap makes it its default, so naming a platform would only pin an older
   * one. `--overlay2=root:memory` was slower (new sandbox memory pages cost more than the gofer's
   * host file) and keeps rootfs writes out of the bundle; `--file-access-mounts=exclusive` gave no
   * steady win and is wrong for a volume that the host or another task also writes.
   */
  async globalArgs(): Promise<string[]> {
    return this.#globalArgs(this.#options.ociSeccomp === true);
  }

  /** {@link globalArgs}, with `--oci-seccomp` when `ociSeccomp` (runsc, unless the global flags name it). */
  async #globalArgs(ociSeccomp: boolean): Promise<string[]> {
    const dialect = await this.dialect();
    const args = ['--root', this.root, '--log', this.logPath, '--log-format=json'];
    const given = (flag: string) => this.#options.globalFlags?.some((f) => new RegExp(`^--?${flag}(=|$)`).test(f)) === true;
    if (dialect === 'runsc' && !given('network')) args.push(`--network=${this.#options.network ?? 'none'}`);
    if (dialect === 'runsc' && ociSeccomp && !given('oci-seccomp')) args.push('--oci-seccomp');
    args.push(...(this.#options.globalFlags ?? []));
    return args;
  }

  /**
   * Creates the container from `bundle` without starting its process (`create`). An id that
   * exists under the root, or that another call of this process is creating, fails with
   * `ERR_ALREADY_EXISTS` before the runtime runs.
   */
  async create(id: string, bundle: string, opts: CreateOptions = {}): Promise<void> {
    validateContainerId(id);
    checkBundle(bundle);
    await this.#creating(id, bundle, null, async (dialect, runtimeId, sandbox) => {
      await this.#exec(['create', '--bundle', bundle, ...this.#createFlags(dialect, opts), runtimeId], { ...opts, ...sandbox }, opts.stdio ?? IGNORE, opts.extraFiles);
    });
  }

  /** Starts the process of a created container (`start`). */
  async start(id: string, opts: CallOptions = {}): Promise<void> {
    await this.#execOn(id, (rid) => ['start', rid], opts);
  }

  /**
   * Creates and starts in one step (`run`). Detached, it resolves once the container runs and
   * returns 0; attached, it returns the container's exit status (a runtime failure still throws —
   * told apart from a task exiting 128 by the error the runtime logged).
   */
  async run(id: string, bundle: string, opts: RunOptions = {}): Promise<number> {
    return this.#run(id, bundle, opts, null);
  }

  /** {@link run}; `started` (an attached run's) ends runsc's cgroup warm-up before the call returns at the exit. */
  async #run(id: string, bundle: string, opts: RunOptions, started: Promise<unknown> | null): Promise<number> {
    validateContainerId(id);
    checkBundle(bundle);
    return this.#creating(id, bundle, started, (dialect, runtimeId, sandbox) => {
      const args = ['run', '--bundle', bundle, ...(opts.detach ? ['--detach'] : []), ...this.#createFlags(dialect, opts), runtimeId];
      return this.#attached(args, { ...untilExit(opts), ...sandbox }, opts.detach === true, opts.stdio ?? IGNORE, opts.extraFiles);
    });
  }

  /**
   * Creates and starts in one call that stays attached (`run` without `--detach`), as `runc run` or
   * `runsc run` typed in a shell: the runtime waits for the container's init, removes the container
   * when it exits and exits with its status. `started` resolves once the process runs (see
   * {@link containerStarted}), within the `run` time limit (`ERR_RUNTIME_TIMEOUT`, the runtime
   * killed), and rejects with the runtime's error when it failed before. `exited` resolves with the
   * status (128 + n after a signal) once the runtime removed the container, and rejects with the
   * runtime's error, or `ERR_RUNTIME_EXITED` when the runtime was killed before it removed it.
   */
  runAttached(id: string, bundle: string, opts: CreateOptions & { pidFile: string }): AttachedRun {
    const stop = new AbortController(); // ends the watch
    const cut = new AbortController(); // kills the runtime: only before the start, at the time limit
    // The root made first: runsc's state file is watched there.
    const setup = Promise.all([this.dialect(), this.#ensureRoot()]).then(([dialect]) => {
      const limit = timeoutFor('run', opts.timeout, this.#options.timeouts);
      // Watching before the runtime starts: nothing it writes can be missed.
      const running = containerStarted(dialect, { root: this.root, id: this.runtimeId(id), pidFile: opts.pidFile }, stop.signal);
      running.catch(() => undefined); // raced below
      const exited = this.#run(id, bundle, { ...opts, detach: false, timeout: 0, signal: cut.signal }, running);
      return { dialect, limit, running, exited };
    });
    const exited = setup.then(async (s) => {
      const status = await s.exited;
      // Ending by itself, the runtime removed the container first. Killed by a signal, it "exits"
      // 128 + n as well, and leaves the container (runsc: the dead sandbox's state) to a delete.
      if (await hasState(s.dialect, path.resolve(this.root), this.runtimeId(id))) {
        throw new TaskioError('ERR_RUNTIME_EXITED', `${this.command} run ended (status ${status}) without removing container ${id}: it was killed`);
      }
      return status;
    });
    const started = setup.then(async ({ limit, running, exited }) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        if (limit > 0) timer = setTimeout(() => {
          cut.abort();
          reject(timeoutError({ command: this.command, args: ['run', '--bundle', bundle, id], subcommand: 'run' }, limit, null));
        }, limit);
      });
      try {
        // A status before the start was seen is a container that ran and exited already: a runtime
        // that failed before the start rejects instead (with its logged error).
        await Promise.race([running, exited.then(() => undefined), late]);
      } finally {
        clearTimeout(timer);
        stop.abort();
      }
    });
    return { started, exited };
  }

  /**
   * Starts another process in a running container, detached (`exec --detach --process <spec>`).
   * The pid file gets the host-side pid: runsc's `exec` helper, which exits with the process's
   * status, or runc's process itself. `internalPidFile` (runsc) gets the pid `kill --pid` wants.
   */
  async exec(id: string, spec: ProcessSpec, opts: ExecOptions = {}): Promise<void> {
    validateContainerId(id);
    const dialect = await this.dialect();
    if (spec.terminal && !opts.consoleSocket) {
      throw new TaskioError('ERR_INVALID_ARG_VALUE', 'exec of a terminal process needs a consoleSocket');
    }
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'taskio-exec-'));
    try {
      const processFile = path.join(dir, 'process.json');
      await fs.writeFile(processFile, ociJson(dialect === 'runsc' ? asDirectoryCwd(spec) : spec), { mode: 0o600 });
      const args = ['exec', '--detach', '--process', processFile];
      // runsc 2022 re-executes itself for --detach and, given no --pid-file, appends one of its own
      // after the container id, where its flag parser takes it for a second id: it always gets one.
      const pidFile = opts.pidFile ?? (dialect === 'runsc' ? path.join(dir, 'exec.pid') : undefined);
      if (pidFile) args.push('--pid-file', pidFile);
      // runc has no container-internal pid: its pid file already names the process.
      if (opts.internalPidFile && dialect === 'runsc') args.push('--internal-pid-file', opts.internalPidFile);
      if (opts.consoleSocket) args.push('--console-socket', opts.consoleSocket);
      await this.#execOn(id, (rid) => [...args, rid], opts, opts.stdio ?? IGNORE);
    } finally {
      removeInside(os.tmpdir(), dir); // made above, in this call
    }
  }

  /** Sends a signal (name like `'TERM'`/`'SIGTERM'` or number) to the init, all processes, or a pid (runsc). */
  async kill(id: string, signal: number | string, opts: KillOptions = {}): Promise<void> {
    validateContainerId(id);
    const sig = signalNumber(signal);
    const args = ['kill'];
    if (opts.all) args.push('--all');
    if (opts.pid !== undefined) {
      validatePid(opts.pid);
      if ((await this.dialect()) !== 'runsc') throw notSupported(this.command, 'kill --pid');
      args.push('--pid', String(opts.pid));
    }
    await this.#execOn(id, (rid) => [...args, rid, String(sig)], opts);
  }

  /**
   * Waits for the container's init to exit and returns its status (runsc's `wait`: the exit code,
   * or 128 + the signal that killed it). The sandbox keeps the status for any process that asks,
   * not only for the init's parent: a supervisor that did not start the container (a daemon that
   * adopted it after a restart) learns it this way. No time limit unless `opts.timeout`; end it
   * early with `opts.signal`. runc has no such command.
   * @throws TaskioError `ERR_NOT_SUPPORTED` on runc; RuntimeError when the container is gone.
   */
  async wait(id: string, opts: CallOptions = {}): Promise<number> {
    validateContainerId(id);
    if ((await this.dialect()) !== 'runsc') throw notSupported(this.command, 'wait');
    const { stdout } = await this.#execOn(id, (rid) => ['wait', rid], opts);
    const status = parseJson<{ exitStatus?: unknown }>(stdout, this.command, 'wait').exitStatus;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 0) {
      throw new TaskioError('ERR_RUNTIME_OUTPUT', `${this.command} wait: no exit status in ${JSON.stringify(stdout.trim())}`);
    }
    return status;
  }

  /** Deletes the container's resources (`delete`); `force` kills a running one first. */
  async delete(id: string, opts: DeleteOptions = {}): Promise<void> {
    await this.#execOn(id, (rid) => ['delete', ...(opts.force ? ['--force'] : []), rid], opts);
  }

  /** The container's OCI state (`state`), under the caller's id. */
  async state(id: string, opts: CallOptions = {}): Promise<State> {
    const { stdout } = await this.#execOn(id, (rid) => ['state', rid], opts);
    return { ...parseJson<State>(stdout, this.command, 'state'), id };
  }

  /**
   * Every container under the root (`list --format json`), each under the caller's id: the one
   * it was created by (see {@link runtimeId}).
   */
  async list(opts: CallOptions = {}): Promise<ContainerInfo[]> {
    const { stdout } = await this.#exec(['list', '--format', 'json'], opts);
    // runc prints `null` for an empty root.
    const list = parseJson<ContainerInfo[] | null>(stdout, this.command, 'list') ?? [];
    const prefix = this.#runtimeIdPrefix();
    return list.map((c) => {
      if (typeof c.id !== 'string' || !c.id.startsWith(prefix)) return c;
      const id = c.id.slice(prefix.length);
      return { ...c, id: id.endsWith(runtimeIdEnd) ? id.slice(0, -runtimeIdEnd.length) : id };
    });
  }

  /**
   * The pids of the container's processes (`ps --format json`): runsc gives sandbox-internal pids,
   * runc host pids.
   */
  async ps(id: string, opts: CallOptions = {}): Promise<number[]> {
    const { stdout } = await this.#execOn(id, (rid) => ['ps', '--format', 'json', rid], opts);
    const list = parseJson<Array<number | { PID?: number; pid?: number }> | null>(stdout, this.command, 'ps') ?? [];
    return list.map((p) => (typeof p === 'number' ? p : (p.PID ?? p.pid ?? -1))).filter((p) => p >= 0);
  }

  /**
   * The processes of a runsc container as `runsc ps` lists them (`UID PID PPID C TTY STIME TIME CMD`):
   * the sandbox's own pids, their parents and command names — what `top` shows, since there is no
   * host process to read them from. (runc's table is the host's `ps`: use {@link ps} and `/proc`.)
   */
  async processTable(id: string, opts: CallOptions = {}): Promise<Array<{ pid: number; ppid: number; command: string }>> {
    const { stdout } = await this.#execOn(id, (rid) => ['ps', rid], opts);
    const [header = '', ...rows] = stdout.split('\n').filter((l) => l.trim() !== '');
    const titles = header.trim().split(/\s+/);
    const pid = titles.indexOf('PID'), ppid = titles.indexOf('PPID'), cmd = titles.indexOf('CMD');
    if (pid < 0 || ppid < 0 || cmd !== titles.length - 1) {
      throw new TaskioError('ERR_RUNTIME_OUTPUT', `${this.command} ps printed no process table: ${stdout.slice(0, 200)}`);
    }
    return rows.map((row) => {
      const f = row.trim().split(/\s+/);
      return { pid: Number(f[pid]), ppid: Number(f[ppid]), command: f.slice(cmd).join(' ') };
    });
  }

  /** One sample of resource usage (`events --stats`). */
  async stats(id: string, opts: CallOptions = {}): Promise<Stats> {
    const { stdout } = await this.#execOn(id, (rid) => ['events', '--stats', rid], opts);
    try {
      return parseStats(stdout);
    } catch (cause) {
      throw new TaskioError('ERR_RUNTIME_OUTPUT', `${this.command} events --stats printed no stats: ${stdout.slice(0, 200)}`, { cause });
    }
  }

  /** Freezes every process of the container (`pause`). */
  async pause(id: string, opts: CallOptions = {}): Promise<void> {
    await this.#execOn(id, (rid) => ['pause', rid], opts);
  }

  /** Thaws a paused container (`resume`). */
  async resume(id: string, opts: CallOptions = {}): Promise<void> {
    await this.#execOn(id, (rid) => ['resume', rid], opts);
  }

  /** Saves the container's state to `imagePath` (`checkpoint`); it stops unless `leaveRunning`. */
  async checkpoint(id: string, opts: CheckpointOptions): Promise<void> {
    const args = ['checkpoint', '--image-path', opts.imagePath];
    if (opts.leaveRunning) args.push('--leave-running');
    if (opts.workPath) args.push('--work-path', opts.workPath);
    await this.#execOn(id, (rid) => [...args, rid], opts);
  }

  /**
   * Starts a container from a checkpoint image (`restore`). runsc restores as a new run: `id` must
   * not exist (delete the checkpointed one first). Returns like {@link run}.
   */
  async restore(id: string, opts: RestoreOptions): Promise<number> {
    validateContainerId(id);
    checkBundle(opts.bundle);
    return this.#creating(id, opts.bundle, null, (dialect, runtimeId, sandbox) => {
      const args = ['restore', '--bundle', opts.bundle, '--image-path', opts.imagePath];
      if (opts.detach) args.push('--detach');
      if (opts.workPath) args.push('--work-path', opts.workPath);
      args.push(...this.#createFlags(dialect, opts), runtimeId);
      return this.#attached(args, { ...untilExit(opts), ...sandbox }, opts.detach === true, opts.stdio ?? IGNORE, opts.extraFiles);
    });
  }

  /**
   * Changes the container's resource limits (`update --resources -`), where the binary has an
   * `update` subcommand (runc does, runsc 2022 does not: `ERR_NOT_SUPPORTED`).
   */
  async update(id: string, resources: LinuxResources, opts: CallOptions = {}): Promise<void> {
    validateContainerId(id);
    const f = await this.features();
    if (!f.commands.has('update')) throw notSupported(this.command, 'update', f.version);
    await this.#execOn(id, (rid) => ['update', '--resources', '-', rid], opts, undefined, undefined, JSON.stringify(resources));
  }

  /**
   * Runs a call that makes container `id` (`create`, `run`, `restore`) under its {@link runtimeId}
   * only when the id is free: not being made by another call of this process on the same root,
   * and without state under the root, by that id or the bare one (a container an older taskio
   * made). Both runtimes handle a duplicate badly for a supervisor: runsc 2022-12-19 fails with
   * `container already exists`, then removes that container's state files (its sandbox runs on
   * with nothing to delete it by); runc refuses with a generic `ERR_RUNTIME`, and a caller that
   * cleans up after a failed create then deletes the live container. Both refusals are
   * `ERR_ALREADY_EXISTS`, the runtime's own (another process won a race) included.
   *
   * A call that fails before the runtime saved the container's state leaves what no runtime
   * command can find again: runsc's sandbox when the call was killed, and the container's cgroups
   * (runsc's whenever it fails, runc's when it is killed mid-way). Both are taken back here (see
   * {@link cleanKilledCreate} and {@link removeNewCgroups}); with state saved, they are the
   * caller's forced delete's, as with any container.
   */
  async #creating<T>(id: string, bundle: string, started: Promise<unknown> | null, call: (dialect: Dialect, runtimeId: string, sandbox: SandboxFlags) => Promise<T>): Promise<T> {
    const root = path.resolve(this.root);
    const runtimeId = this.runtimeId(id);
    const ids = creatingIds.get(root) ?? new Set<string>();
    // Claimed before the first await: a second call in this process sees it at once.
    if (ids.has(id)) throw this.#exists(id);
    ids.add(id);
    creatingIds.set(root, ids);
    // The container joins its cgroups soon after the runtime starts: the kernel's wait for that, begun now.
    void warmCgroupMigration();
    let dialect: Dialect | undefined;
    let cgroups: { where: HierarchyCgroup[]; before: ReadonlySet<string> } | undefined;
    let stopWarmup = (): void => undefined;
    try {
      dialect = await this.dialect();
      // runsc moves processes into cgroups twice in its start, ~100 ms apart: warm until it started.
      if (dialect === 'runsc') {
        stopWarmup = holdCgroupWarmup();
        started?.then(stopWarmup, stopWarmup);
      }
      for (const name of [runtimeId, ...this.#olderIds(id)]) if (await hasState(dialect, root, name)) throw this.#exists(id);
      const spec = specOf(bundle);
      cgroups = cgroupsBefore(spec, runtimeId, dialect);
      return await call(dialect, runtimeId, { ociSeccomp: this.#options.ociSeccomp === true || hasSeccomp(spec) });
    } catch (err) {
      if (err instanceof RuntimeError && /already exists/i.test(err.runtimeMessage)) throw this.#exists(id, err);
      // The id was free under this root and claimed by this call, so what is left for it there
      // without state is this call's leftover.
      if (dialect !== undefined && !(await savedState(dialect, root, runtimeId))) {
        if (dialect === 'runsc' && killedMidway(err)) await cleanKilledCreate(this.root, runtimeId);
        // runsc 2022-12 leaves its lock file of a sandbox it failed to make (a limit too small, a
        // missing binary): one empty file per failed start, that no runsc command removes.
        if (dialect === 'runsc') await fs.rm(path.join(root, runscStateName(runtimeId, 'lock')), { force: true });
        if (cgroups !== undefined) await removeNewCgroups(cgroups.where, cgroups.before);
      }
      throw err;
    } finally {
      stopWarmup();
      ids.delete(id);
      if (ids.size === 0) creatingIds.delete(root);
    }
  }

  #exists(id: string, cause?: unknown): TaskioError {
    return new TaskioError('ERR_ALREADY_EXISTS', `container ${JSON.stringify(id)} already exists under ${this.root}`, { cause });
  }

  /** The flags create, run and restore share, in the binary's dialect. */
  #createFlags(dialect: Dialect, opts: CreateOptions): string[] {
    const args: string[] = [];
    if (opts.pidFile) args.push('--pid-file', opts.pidFile);
    if (opts.consoleSocket) args.push('--console-socket', opts.consoleSocket);
    if (dialect === 'runc') {
      if (opts.noPivot) args.push('--no-pivot');
      if (opts.noNewKeyring) args.push('--no-new-keyring');
      if (opts.extraFiles?.length) args.push('--preserve-fds', String(opts.extraFiles.length));
    } else if (opts.extraFiles?.length) {
      throw notSupported(this.command, 'extra files (--preserve-fds)');
    }
    return args;
  }

  /** Runs a command that may wait for the container: a task exit status is a result, not an error. */
  async #attached(args: string[], opts: CallOptions & SandboxFlags, detach: boolean, stdio: Stdio, extraFiles?: readonly number[]): Promise<number> {
    try {
      await this.#exec(args, opts, stdio, extraFiles);
      return 0;
    } catch (err) {
      // Attached, the runtime exits with the task's status; only a logged error means it failed itself.
      if (!detach && err instanceof RuntimeError && err.runtimeMessage === '' && err.exitCode !== null) return err.exitCode;
      throw err;
    }
  }

  /**
   * Runs a command on existing container `id`: `sub` builds its arguments around the id the runtime
   * knows it by ({@link known}). When the runtime answers that it has no such container (runsc's
   * `loading container "<runtime id>": file does not exist`, runc's `container does not exist`) and
   * holds no state of it, the error is `ERR_NOT_FOUND` naming the caller's id, the runtime's own
   * error as its cause: its words name the runtime id, which the caller never gave.
   */
  async #execOn(id: string, sub: (runtimeId: string) => string[], opts: CallOptions, stdio?: Stdio, extraFiles?: readonly number[], input?: string): Promise<Outcome> {
    const runtimeId = await this.#known(id);
    const args = sub(runtimeId);
    try {
      return await this.#exec(args, opts, stdio, extraFiles, input);
    } catch (err) {
      if (!(err instanceof RuntimeError) || err.code !== 'ERR_RUNTIME' || !/does not exist|not found/i.test(err.runtimeMessage)) throw err;
      // The words alone could be of something else (an exec's missing binary): the state decides.
      const dialect = await this.dialect();
      if (await savedState(dialect, path.resolve(this.root), runtimeId).catch(() => true)) throw err;
      throw new RuntimeError({
        code: 'ERR_NOT_FOUND', command: err.command, args: err.args, subcommand: args[0], exitCode: err.exitCode,
        runtimeMessage: `container ${JSON.stringify(id)} does not exist under ${this.root}`, stderr: err.stderr, cause: err,
      });
    }
  }

  async #exec(sub: string[], opts: CallOptions & SandboxFlags, stdio?: Stdio, extraFiles?: readonly number[], input?: string): Promise<Outcome> {
    // Checked before anything runs: a bad limit is the caller's error, not the runtime's.
    const timeout = timeoutFor(sub[0] as RuntimeCommand, opts.timeout, this.#options.timeouts);
    const args = [...(await this.#globalArgs(opts.ociSeccomp ?? this.#options.ociSeccomp === true)), ...sub];
    await this.#ensureRoot();
    const started = performance.now();
    try {
      return await invoke({
        command: this.command, args, logPath: this.logPath, ...(sub[0] ? { subcommand: sub[0] } : {}),
        ...(stdio ? { stdio } : {}), ...(extraFiles ? { extraFiles } : {}),
        ...(input !== undefined ? { input } : {}), ...(opts.signal ? { signal: opts.signal } : {}), timeout,
      });
    } finally {
      this.#options.logger?.debug({ command: this.command, args, ms: Math.round(performance.now() - started) }, 'runtime call');
    }
  }

  /** The log's directory must exist before the runtime opens `--log` (runc fails otherwise). */
  #ensureRoot(): Promise<void> {
    this.#rootReady ??= (async () => {
      await fs.mkdir(this.root, { recursive: true, mode: 0o711 });
      // The runtime trusts its state there (a planted state file names a pid it signals): as
      // runc's and runsc's own roots, ours only, not writable by anyone else, not a symlink.
      const why = notPrivate(await fs.lstat(this.root));
      if (why) throw new TaskioError('ERR_UNSAFE_DIR', `refusing runtime root ${this.root}: ${why}`);
      await fs.mkdir(path.dirname(this.logPath), { recursive: true, mode: 0o711 });
    })();
    const p = this.#rootReady;
    p.catch(() => { this.#rootReady = undefined; });
    return p;
  }
}

/**
 * A {@link Runsc} set up as gVisor's shim does: state under `<root>/<namespace>`, the log as
 * `<path>/log.json` (`path` is the bundle), and every `config` entry as a global `--key=value`.
 * @throws TaskioError `ERR_INVALID_ID` for a namespace that is not one path component (the id rule).
 */
export function newRunsc(root: string, bundlePath: string, namespace: string, runtime: string, config: Record<string, string> = {}): Runsc {
  validateId(namespace, 'namespace');
  const globalFlags = Object.keys(config).sort().map((k) => `--${k}=${config[k]}`);
  return new Runsc({
    command: runtime || 'runsc',
    root: path.join(root || '/run/containerd/runsc', namespace),
    logPath: path.join(bundlePath, 'log.json'),
    globalFlags,
  });
}

/**
 * An attached `run`/`restore` lasts as long as its task: no default limit (a caller's own
 * `timeout` still applies). Detached, it is bounded like `create`.
 */
function untilExit<T extends CallOptions & { detach?: boolean }>(opts: T): T {
  return opts.detach || opts.timeout !== undefined ? opts : { ...opts, timeout: 0 };
}

/**
 * An exec's process as runsc is given it: its `cwd` with a trailing slash. runsc 2022-12 runs an
 * exec whose working directory is a file with that file as its cwd (`exec -w /etc/passwd` ran, pwd
 * printing `/etc/passwd`), where runc and docker fail ("not a directory"); a path ending in `/` is
 * resolved as a directory by its sandbox, which then fails: `failed to find initial working
 * directory "/etc/passwd/": not a directory`. A directory, or a link to one, is reached as before.
 */
function asDirectoryCwd(spec: ProcessSpec): ProcessSpec {
  return spec.cwd.endsWith('/') ? spec : { ...spec, cwd: `${spec.cwd}/` };
}

function defaultRoot(dialect: Dialect): string {
  return dialect === 'runsc' ? '/var/run/runsc' : '/run/runc';
}

function guessDialect(command: string): Dialect {
  return path.basename(command).startsWith('runc') ? 'runc' : 'runsc';
}

/**
 * Global flags of one call that make a sandbox: `ociSeccomp`, runsc's `--oci-seccomp`, which runsc
 * 2022-12 reads only when it builds the sandbox (`create`, `run`, `restore`; `start` and `exec`
 * ignore it): given then, the container's init and every process it starts are filtered.
 */
interface SandboxFlags {
  ociSeccomp?: boolean;
}

/** Whether a spec has a seccomp filter (`linux.seccomp`), which runsc applies only with `--oci-seccomp`. */
function hasSeccomp(spec: unknown): boolean {
  const seccomp = (spec as { linux?: { seccomp?: unknown } | null } | null | undefined)?.linux?.seccomp;
  return seccomp !== undefined && seccomp !== null;
}

/** Ids a call of this process is creating, per runtime root (two `Runsc` objects may share one). */
const creatingIds = new Map<string, Set<string>>();

/**
 * Whether the runtime saved enough of container `id` to find it again, so that its forced delete
 * ends and removes it: runc's `state.json` (runc makes the directory first, and its delete of a
 * directory without the file removes the directory alone), runsc's state file.
 */
async function savedState(dialect: Dialect, root: string, id: string): Promise<boolean> {
  if (dialect === 'runsc') return hasState(dialect, root, id);
  return fs.lstat(path.join(root, id, 'state.json')).then(() => true, () => false);
}

/**
 * Whether the runtime keeps state for `id` under `root`: runc a directory `<root>/<id>`, runsc
 * `<sandbox>_sandbox:<id>.state` files.
 */
async function hasState(dialect: Dialect, root: string, id: string): Promise<boolean> {
  if (dialect === 'runc') {
    return fs.lstat(path.join(root, id)).then(() => true, (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    });
  }
  let entries: string[];
  try {
    entries = await fs.readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // no root yet: nothing exists
    throw err;
  }
  return entries.some((e) => isRunscStateOf(e, id));
}

function notSupported(command: string, what: string, version?: string): TaskioError {
  return new TaskioError('ERR_NOT_SUPPORTED', `${command}${version ? ` (${version})` : ''} does not support ${what}`);
}

function parseJson<T>(stdout: string, command: string, sub: string): T {
  try {
    return JSON.parse(stdout) as T;
  } catch (cause) {
    throw new TaskioError('ERR_RUNTIME_OUTPUT', `${command} ${sub} printed invalid JSON: ${stdout.slice(0, 200)}`, { cause });
  }
}

/** Whether a runtime call failed because the runtime was killed (time limit, abort, a signal) rather than by its own error. */
function killedMidway(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'ERR_RUNTIME_TIMEOUT' || code === 'ABORT_ERR' || (err instanceof RuntimeError && err.exitCode === null);
}

/** A bundle's spec, or undefined when its config.json cannot be read: the runtime reports that in its own words. */
function specOf(bundle: string): unknown {
  try {
    return readBundleConfig(bundle);
  } catch {
    return undefined;
  }
}

/**
 * Where the runtime of `dialect` makes the container's cgroups (this process's own cgroup is the base
 * of a relative path: the runtime inherits it) and which of their directories exist before a create
 * (see {@link removeNewCgroups}).
 */
function cgroupsBefore(spec: unknown, id: string, dialect: Dialect): { where: HierarchyCgroup[]; before: ReadonlySet<string> } | undefined {
  const where = spec === undefined ? undefined : containerCgroups(spec, id, dialect);
  return where === undefined ? undefined : { where, before: new Set(cgroupDirs(where)) };
}
