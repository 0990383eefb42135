import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { JobObject, isJobUnavailable } from '../jobobject/index.js';
import fs from 'node:fs';
import path from 'node:path';
import * as pty from './pty.js';
import { TaskioError, showValue } from '../../errors.js';
import { writeFileAtomic } from '../../writeFileAtomic.js';
import { validateContainerId, validateId, validatePid } from '../../ids.js';
import { Lifecycle, refuse, type Transitions } from '../../lifecycle.js';
import { isUnlimited, readBundleConfig, signalNumber, type CheckpointOptions, type DeleteOptions, type KillOptions, type ProcessSpec, type State, type Stats } from '../oci/index.js';
import type { Runtime, RuntimeCreateOptions, RuntimeExecOptions, RuntimeRestoreOptions, Terminal } from '../proc/index.js';
import { defaultMonitor, type Monitor } from '../reaper/index.js';
import { startTimeOf } from '../reaper/children.js';
import { sessionProcesses, signalEach, signalSessions } from './sessions.js';
import { sweepStaleHostJobs } from './staleJobs.js';
import { groupStats } from './stats.js';
import { HostTerminal } from './terminal.js';

/** Options of a {@link HostRuntime}. */
export interface HostRuntimeOptions {
  /** The reaper that node-pty's children are declared to (it reaps them itself). Default: `defaultMonitor`. */
  monitor?: Monitor;
  /**
   * The job object task `id`'s processes are born in, if any: they join its cgroups before their
   * first instruction, so every page they touch is charged there (a process moved in later keeps
   * what it charged elsewhere). The container facade's host backend sets it.
   */
  jobFor?: (id: string) => JobObject | undefined;
  /**
   * Whether a task that `jobFor` gives no job gets a job object (cgroup) of its own, made at
   * `create` and removed at `delete` (default true). Where none can be made (not root, no
   * delegated cgroup) the runtime falls back to the task's sessions; see {@link HostRuntime}.
   */
  jobs?: boolean;
}

/** One host process the runtime started (the init or an exec). */
interface HostProcess {
  pid: number;
  /** Its start time, read right after spawn: with the pid, its identity (see `sessionProcesses`). */
  startTime: number | undefined;
  exited: boolean;
  /** Resolves once it exited and was reaped (by libuv, or by node-pty for a terminal). */
  reaped: Promise<void>;
  /** Set when the start or exec that spawned it failed after all: its exit is nobody's event. */
  abandoned: boolean;
}

type TaskStatus = 'created' | 'running' | 'paused' | 'stopped';
/** `deleted`: between a delete and the task's removal from the table, what was queued behind it is refused. */
type TaskState = TaskStatus | 'deleted';
type TaskOp = 'start' | 'exec' | 'kill' | 'pause' | 'resume' | 'exit' | 'delete';

/** A host task's states; an unlisted state refuses with `cannot <op> a <state> task`. `exit` is its init's. */
const taskTable: Transitions<TaskState, TaskOp> = {
  start: { created: 'running' },
  exec: { created: null, running: null, paused: refuse('cannot exec in a paused task'), stopped: refuse('cannot exec in a stopped task') },
  kill: { created: refuse('cannot signal a created task: it has no process yet'), running: null, paused: null, stopped: null },
  pause: { running: 'paused', paused: null },
  resume: { paused: 'running', running: null },
  // From created too: an init that exits before its start finished leaves the task stopped.
  exit: { created: 'stopped', running: 'stopped', paused: 'stopped' },
  // Queued as start is (runc holds the container's lock for both): a delete never closes the job
  // under a start that is still spawning, and a start that comes after it is refused.
  delete: { created: 'deleted', running: 'deleted', paused: 'deleted', stopped: 'deleted', deleted: refuse('cannot delete a deleted task', 'ERR_NOT_FOUND') },
};

/** A task (container) of the host runtime. */
interface HostTask {
  id: string;
  bundle: string;
  spec: ProcessSpec;
  opts: RuntimeCreateOptions;
  lifecycle: Lifecycle<TaskState, TaskOp>;
  init: HostProcess | null;
  execs: Set<HostProcess>;
  created: Date;
  /** The job every process of the task is born in, or null (the session fallback). */
  job: JobObject | null;
  /** True when the runtime made the job (and removes it at delete); false when `jobFor` lent it. */
  ownsJob: boolean;
}

/**
 * The host backend: the {@link Runtime} API for plain host processes, so an `Init` runs the
 * bundle's `config.json` `process` (args, env, cwd, terminal) on the host, without a container.
 * It is the embedded default where runsc/runc are missing or the caller is not root.
 *
 * - The task owns every process its processes start, as a container does: when the init exits,
 *   everything the task still runs is killed (a pid namespace dies with its init under runc and
 *   runsc), so a background job holding the output cannot keep it open; `kill --all` and `delete`
 *   reach every process of the task, the init's and the execs' descendants included.
 * - What the task owns is its job object (a cgroup): lent by `jobFor`, else one of its own
 *   (`jobs`). A cgroup is inherited across fork, cannot be left without write access to another
 *   cgroup, and `cgroup.kill` (or freeze + kill) stops it whole, so `setsid`, double forks and
 *   forks racing the kill cannot escape. Where no cgroup can be made (not root) the fallback is the
 *   task's sessions (each process is spawned with `setsid`): that finds background jobs and
 *   double-forked children, but not a process that called `setsid` and lost its parent before the
 *   sweep — see `sessionProcesses`.
 * - stdio are the fds `src/runtime/stdio` made (never Node's `'pipe'`); a terminal is node-pty
 *   (`newTerminal()`), which reaps its own child: the pid is declared to the reaper and its exit
 *   passed on, so an `Init` sees every exit the same way.
 * - The pid file is written at start (the process exists only then), as runc writes it: renamed
 *   into place, replacing whatever was planted there. A start or exec whose pid file cannot be
 *   written fails and leaves no process: the one it spawned is killed and reaped first, and a task
 *   whose start failed stays created. `checkpoint`/`restore` fail with `ERR_NOT_SUPPORTED`.
 * - A `process.cwd` that is not a directory is `ERR_INVALID_CWD` naming it, at create (as runc's
 *   create fails) and again at each spawn.
 */
export class HostRuntime implements Runtime {
  readonly #tasks = new Map<string, HostTask>();
  readonly #monitor: Monitor;
  readonly #jobFor: HostRuntimeOptions['jobFor'];
  /** False once a job could not be made for lack of cgroups or rights: it will not work next time either. */
  #jobs: boolean;

  constructor(opts: HostRuntimeOptions = {}) {
    this.#monitor = opts.monitor ?? defaultMonitor;
    this.#jobFor = opts.jobFor;
    this.#jobs = opts.jobs ?? true;
  }

  newTerminal(): Terminal {
    return new HostTerminal();
  }

  /** Reads the bundle's `process`; nothing runs until {@link start}. */
  async create(id: string, bundle: string, opts: RuntimeCreateOptions): Promise<void> {
    validateContainerId(id, 'task');
    if (this.#tasks.has(id)) throw new TaskioError('ERR_ALREADY_EXISTS', `task ${JSON.stringify(id)} already exists`);
    const spec = readProcess(bundle);
    processCwd(spec, bundle); // as runc's create fails on it, before the job is made
    const lifecycle = new Lifecycle<TaskState, TaskOp>('created', taskTable, 'task');
    // The id is taken before the first await, so a concurrent create of it is refused above.
    const task: HostTask = { id, bundle, spec, opts, lifecycle, init: null, execs: new Set(), created: new Date(), job: null, ownsJob: false };
    this.#tasks.set(id, task);
    try {
      const lent = this.#jobFor?.(id) ?? null;
      task.job = lent ?? (await this.#newJob());
      task.ownsJob = lent === null && task.job !== null;
    } catch (err) {
      this.#tasks.delete(id);
      throw err;
    }
  }

  /**
   * Takes over a running task whose init another runtime object spawned (a daemon that died):
   * `init` is that process (pid and start time, so a reused pid is not taken for it), `job` the job
   * its processes run in (lent: never removed here), or null for one whose init leads a session of
   * its own. The task is `running`: its execs are spawned as this runtime spawns a task's own —
   * in its job, or in sessions of their own that `kill --all` and `delete` reach with the init's.
   * The init is not this process's child: its exit is not seen here (the caller watches it).
   * @throws TaskioError `ERR_INVALID_ID`, `ERR_ALREADY_EXISTS`, `ERR_INVALID_BUNDLE`, `ERR_INVALID_ARG_VALUE` for an init that is no pid.
   */
  adopt(id: string, bundle: string, init: { pid: number; startTime: number | undefined }, job: JobObject | null): void {
    validateId(id, 'task');
    if (this.#tasks.has(id)) throw new TaskioError('ERR_ALREADY_EXISTS', `task ${JSON.stringify(id)} already exists`);
    const spec = readProcess(bundle);
    const proc: HostProcess = { pid: validatePid(init.pid), startTime: init.startTime, exited: false, reaped: new Promise(() => undefined), abandoned: false };
    const lifecycle = new Lifecycle<TaskState, TaskOp>('running', taskTable, 'task');
    this.#tasks.set(id, { id, bundle, spec, opts: {}, lifecycle, init: proc, execs: new Set(), created: new Date(), job, ownsJob: false });
  }

  /** Spawns the init process and writes its pid file. */
  async start(id: string): Promise<void> {
    const task = this.#task(id);
    await task.lifecycle.run('start', async () => {
      // The init's exit ends the task: what it leaves behind is killed, as a pid namespace's init
      // takes its namespace with it.
      // An init killed because its start failed does not end the task: it stays created.
      const proc = await this.#spawn(task, task.spec, task.opts.stdio, task.opts.terminal, (p) => {
        if (p.abandoned) return;
        task.lifecycle.apply('exit');
        void this.#signalAll(task, 9).catch(() => undefined);
      });
      await this.#writePidFile(task.opts.pidFile, proc);
      task.init = proc;
    });
  }

  /** Spawns another process of the task now (there is no created exec state on the host). */
  async exec(id: string, spec: ProcessSpec, opts: RuntimeExecOptions): Promise<void> {
    const task = this.#task(id);
    if (spec === null || typeof spec !== 'object' || !Array.isArray(spec.args)) {
      throw new TaskioError('ERR_INVALID_ARG_TYPE', `the process of an exec must be an object with args, got ${showValue(spec)}`);
    }
    task.lifecycle.check('exec');
    const proc = await this.#spawn(task, spec, opts.stdio, spec.terminal ? opts.terminal : undefined);
    await this.#writePidFile(opts.pidFile, proc);
    task.execs.add(proc);
  }

  /**
   * Writes `proc`'s pid file, if one is asked for. When that fails the call that spawned `proc`
   * fails, and leaves no process behind: `proc` (with whatever it forked into its session by then)
   * is killed and reaped before the error is thrown.
   * @throws TaskioError `ERR_INVALID_PID_FILE` naming the file.
   */
  async #writePidFile(file: string | undefined, proc: HostProcess): Promise<void> {
    if (!file) return;
    try {
      writePidFile(file, proc.pid);
    } catch (err) {
      proc.abandoned = true;
      // Its session, not the task's job: the job also holds the execs, which must run on.
      await signalSessions([proc], 9);
      await proc.reaped;
      throw err;
    }
  }

  /**
   * Signals the init, one process of the task (`opts.pid`, a host pid) or, with `all`, every process
   * of the task. A pid that is not one of the task's is `ESRCH`, as `kill(2)` says of a pid it does
   * not find: the host runtime never signals a process it does not own.
   */
  async kill(id: string, signal: number | string, opts: KillOptions = {}): Promise<void> {
    const task = this.#task(id);
    const sig = signalNumber(signal);
    if (opts.pid !== undefined) {
      const pid = validatePid(opts.pid);
      if (!(await this.#processes(task)).includes(pid)) {
        throw Object.assign(new TaskioError('ESRCH', `task ${id}: no process ${pid}`), { errno: -3, syscall: 'kill' });
      }
      return void process.kill(pid, sig);
    }
    task.lifecycle.check('kill');
    const init = task.init && !task.init.exited ? [task.init.pid] : [];
    const sent = opts.all ? await this.#signalAll(task, sig) : signalEach(init, sig);
    if (sent === 0) throw new TaskioError('ERR_NOT_FOUND', `task ${id}: process not found`);
  }

  /**
   * Forgets the task once nothing of it runs: what is left (descendants, and with `force` the init
   * and execs themselves) is killed, and the job the runtime made is removed.
   */
  async delete(id: string, opts: DeleteOptions = {}): Promise<void> {
    const task = this.#task(id);
    await task.lifecycle.run('delete', async () => {
      const live = [task.init, ...task.execs].some((p) => p !== null && !p.exited);
      if (live && !opts.force) throw new TaskioError('ERR_INVALID_STATE', `cannot delete a running task ${id}`);
      await this.#signalAll(task, 9);
      // Closing the last handle kills what a race left, waits for the job to empty and removes it.
      if (task.ownsJob) await task.job!.close();
      this.#tasks.delete(id);
    });
  }

  async state(id: string): Promise<State> {
    const task = this.#task(id);
    return {
      ociVersion: '1.0.2', id, pid: task.init && !task.init.exited ? task.init.pid : 0,
      status: task.lifecycle.state === 'deleted' ? 'stopped' : task.lifecycle.state, bundle: task.bundle, created: task.created.toISOString(),
    };
  }

  /**
   * CPU, memory and pids of the task: its job's counters (cgroup), as `runc events --stats` reads
   * a container's; without a job, the sum over its processes' groups from `/proc` (a process in
   * the middle of an `exec` has no resident pages there for a moment, a cgroup keeps its charge).
   */
  async stats(id: string): Promise<Stats> {
    const task = this.#task(id);
    const job = task.job;
    if (job === null) return groupStats(this.#leaders(task));
    let cpu, memory, pids;
    try {
      [cpu, memory, pids] = await Promise.all([job.queryProcessorStats(), job.queryMemoryStats(), job.pids()]);
    } catch (err) {
      // A job without the cpuacct or memory controller here: count from /proc instead.
      if ((err as { code?: string }).code === 'ERR_NOT_SUPPORTED') return groupStats(this.#leaders(task));
      throw err;
    }
    // The job counts CPU time in 100 ns units, as Windows does.
    const ns = (units: number): number => units * 100;
    return {
      cpu: { usageTotal: ns(cpu.TotalUserTime + cpu.TotalKernelTime), usageUser: ns(cpu.TotalUserTime), usageKernel: ns(cpu.TotalKernelTime) },
      memory: { usage: memory.JobMemory, max: memory.PeakJobMemoryUsed, ...(memory.InactiveFile === undefined ? {} : { inactiveFile: memory.InactiveFile }) },
      pids: { current: pids.length },
      raw: { source: 'cgroup', job: job.name },
    };
  }

  /** The pids of the task's live init and execs (each leads a process group of its own). */
  #leaders(task: HostTask): number[] {
    return [task.init, ...task.execs].filter((p): p is HostProcess => p !== null && !p.exited).map((p) => p.pid);
  }

  async pause(id: string): Promise<void> {
    await this.#task(id).lifecycle.run('pause', () => this.kill(id, 'STOP', { all: true }));
  }

  async resume(id: string): Promise<void> {
    await this.#task(id).lifecycle.run('resume', () => this.kill(id, 'CONT', { all: true }));
  }

  async checkpoint(_id: string, _opts: CheckpointOptions): Promise<void> {
    throw new TaskioError('ERR_NOT_SUPPORTED', 'the host runtime cannot checkpoint a process');
  }

  async restore(_id: string, _opts: RuntimeRestoreOptions): Promise<number> {
    throw new TaskioError('ERR_NOT_SUPPORTED', 'the host runtime cannot restore a process');
  }

  #task(id: string): HostTask {
    const task = this.#tasks.get(validateContainerId(id, 'task'));
    if (!task) throw new TaskioError('ERR_NOT_FOUND', `task ${JSON.stringify(id)} does not exist`);
    return task;
  }

  /** The live processes of the task: its job's, or its sessions' (see `sessionProcesses`). */
  async #processes(task: HostTask): Promise<number[]> {
    if (task.job !== null) return task.job.pids();
    return sessionProcesses([task.init, ...task.execs].filter((p): p is HostProcess => p !== null));
  }

  /**
   * Sends `signal` to every process of the task (its job's, or its sessions'); returns how many got
   * it. SIGKILL through a job is `terminate()`, which no fork can outrun.
   */
  async #signalAll(task: HostTask, signal: number): Promise<number> {
    if (task.job === null) return signalSessions([task.init, ...task.execs].filter((p): p is HostProcess => p !== null), signal);
    const pids = await task.job.pids();
    if (signal !== 9) return signalEach(pids, signal);
    if (pids.length > 0) await task.job.terminate();
    return pids.length;
  }

  /** A job object of the runtime's own for a task, or null where this machine cannot make one. */
  async #newJob(): Promise<JobObject | null> {
    if (!this.#jobs) return null;
    await sweepStaleHostJobs();
    try {
      return await JobObject.create({ name: `host-${process.pid}-${randomBytes(6).toString('hex')}`, terminateOnLastHandleClose: true });
    } catch (err) {
      if (!isJobUnavailable(err)) throw err;
      this.#jobs = false;
      return null;
    }
  }

  /**
   * Spawns `spec` with the given stdio (or on a node-pty), resolving once it runs; inside the
   * task's job object when there is one. `onExit` runs when the process has exited.
   */
  async #spawn(task: HostTask, spec: ProcessSpec, stdio: RuntimeCreateOptions['stdio'], terminal: Terminal | undefined, onExit?: (proc: HostProcess) => void): Promise<HostProcess> {
    const [command, ...commandArgs] = spec.args;
    if (!command) throw new TaskioError('ERR_INVALID_ARG_VALUE', 'the process has no args');
    let file = command, args = commandArgs;
    const env = envObject(spec.env ?? []);
    // Again at each spawn: the directory may have gone since create, and an exec has its own cwd.
    const cwd = processCwd(spec, task.bundle);
    const job = task.job;
    // The job's wrapper shell (and setpriv) would turn a missing command into exit 127: fail as spawn does.
    if (job || spec.user || spec.rlimits?.length) findCommand(file, env.PATH, cwd);
    if (spec.user) ({ file, args } = asUser(spec.user, file, args));
    // Before the user changes: a lower hard limit is set as root, then kept by the user.
    if (spec.rlimits?.length) ({ file, args } = withRlimits(spec.rlimits, file, args));
    if (job) ({ file, args } = job.commandLine(file, args));
    if (spec.terminal) {
      if (!(terminal instanceof HostTerminal)) throw new TaskioError('ERR_INVALID_ARG_VALUE', 'a terminal process needs the terminal from newTerminal()');
      const size = terminal.size();
      let p: pty.IPty;
      try {
        p = pty.spawn(file, args, { name: env.TERM ?? 'xterm', cols: size.cols, rows: size.rows, cwd, env, encoding: null });
      } catch (cause) {
        throw new TaskioError('ERR_RUNTIME', `cannot start ${command} on a terminal: ${(cause as Error).message}`, { cause });
      }
      // node-pty reaps its child itself: the monitor must not, and learns the exit from node-pty.
      this.#monitor.exclude(p.pid);
      const { proc, markExited } = hostProcess(p.pid);
      p.onExit(({ exitCode, signal }) => {
        markExited();
        this.#monitor.notifyExit(p.pid, signal ? 128 + signal : exitCode);
        onExit?.(proc);
      });
      terminal.attach(p);
      return this.#entered(job, proc);
    }
    const child: ChildProcess = spawnChild(file, args, {
      cwd, env, detached: true,
      stdio: [...(stdio ?? ['ignore', 'ignore', 'ignore'])],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(Object.assign(err, { message: `cannot start ${command}: ${err.message}` })));
    });
    const { proc, markExited } = hostProcess(child.pid!);
    // The monitor publishes the exit (libuv reaps it); this marks it for kill and stats.
    child.once('exit', () => {
      markExited();
      onExit?.(proc);
    });
    return this.#entered(job, proc);
  }

  /**
   * Resolves with `proc` once its wrapper shell has joined the job (it is listed there, and the
   * wrapper joins that hierarchy last), or has exited: until then a `kill --all`, a pause or a
   * `delete` would read a job without it and miss it, and the command would run on unsupervised.
   */
  async #entered(job: JobObject | null, proc: HostProcess): Promise<HostProcess> {
    for (let delay = 1; job !== null && !proc.exited; delay = Math.min(delay * 2, 20)) {
      if ((await job.pids()).includes(proc.pid)) break;
      await new Promise((r) => setTimeout(r, delay));
    }
    return proc;
  }
}

/** A {@link HostProcess} for `pid`, just spawned, and what its exit handler calls once it was reaped. */
function hostProcess(pid: number): { proc: HostProcess; markExited: () => void } {
  let reaped!: () => void;
  const proc: HostProcess = { pid, startTime: startTimeOf(pid) ?? undefined, exited: false, reaped: new Promise((r) => { reaped = r; }), abandoned: false };
  return { proc, markExited: () => { proc.exited = true; reaped(); } };
}

const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const setpriv = '/usr/bin/setpriv';

/**
 * `file args` run as `user` (OCI's `process.user`): through util-linux's `setpriv`, which sets the
 * groups, gid and uid and then execs the command, so the job's wrapper before it still joins the
 * job's cgroup as root. Its own user is left as it is.
 */
function asUser(user: NonNullable<ProcessSpec['user']>, file: string, args: string[]): { file: string; args: string[] } {
  const groups = user.additionalGids ?? [];
  if (user.uid === process.getuid?.() && user.gid === process.getgid?.() && groups.length === 0) return { file, args };
  if (!fs.existsSync(setpriv)) throw new TaskioError('ERR_NOT_SUPPORTED', `a host process as uid ${user.uid} needs ${setpriv} (util-linux)`);
  const groupsArg = groups.length > 0 ? `--groups=${groups.join(',')}` : '--clear-groups';
  return { file: setpriv, args: [`--reuid=${user.uid}`, `--regid=${user.gid}`, groupsArg, '--', file, ...args] };
}

const prlimit = '/usr/bin/prlimit';

/**
 * `file args` with OCI's `process.rlimits` (a runtime sets them for its tasks): through util-linux's
 * `prlimit`, which sets them on itself and then execs the command.
 */
function withRlimits(rlimits: NonNullable<ProcessSpec['rlimits']>, file: string, args: string[]): { file: string; args: string[] } {
  if (!fs.existsSync(prlimit)) throw new TaskioError('ERR_NOT_SUPPORTED', `resource limits on a host process need ${prlimit} (util-linux)`);
  const value = (n: number): string => (isUnlimited(n) ? 'unlimited' : String(n));
  const options = rlimits.map((r) => `--${r.type.replace(/^RLIMIT_/, '').toLowerCase()}=${value(r.soft)}:${value(r.hard)}`);
  return { file: prlimit, args: [...options, '--', file, ...args] };
}

/**
 * Finds `file` as `execvp` would, and fails as spawn would have without the job's wrapper shell:
 * `ENOENT` when no candidate exists, `EACCES` when one exists but cannot be run (not executable, a
 * directory) and none further along the search path can — so a non-executable command is docker's
 * 126, not a missing one's 127.
 */
function findCommand(file: string, searchPath: string | undefined, cwd: string): string {
  const candidates = file.includes('/') ? [path.resolve(cwd, file)] : (searchPath ?? defaultPath).split(':').map((d) => path.join(d || '.', file));
  let denied = false;
  for (const c of candidates) {
    let st: fs.Stats;
    try {
      st = fs.statSync(c);
    } catch {
      continue; // Not here; try the next directory.
    }
    try {
      fs.accessSync(c, fs.constants.X_OK);
      if (st.isFile()) return c;
    } catch {
      // Exists, cannot be run.
    }
    denied = true;
  }
  const code = denied ? 'EACCES' : 'ENOENT';
  throw Object.assign(new Error(`spawn ${file} ${code}`), { code, errno: denied ? -13 : -2, syscall: `spawn ${file}`, path: file });
}

/**
 * The directory `spec` runs in (its `cwd`, else the bundle), checked to be one: spawn reports a
 * missing cwd as `spawn <command> ENOENT` (its `chdir` fails in the child, and libuv cannot tell
 * that from a missing command), so a task would be refused as "command not found" — and with a
 * job the command named is the job's wrapper `/bin/sh`.
 * @throws TaskioError `ERR_INVALID_CWD` naming the directory and the reason (missing, not a directory).
 */
function processCwd(spec: ProcessSpec, bundle: string): string {
  const cwd = spec.cwd || path.resolve(bundle);
  let st: fs.Stats;
  try {
    st = fs.statSync(cwd);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be entered (${code ?? String(cause)})`;
    throw new TaskioError('ERR_INVALID_CWD', `the process's cwd ${JSON.stringify(cwd)} ${why}`, { cause });
  }
  if (!st.isDirectory()) throw new TaskioError('ERR_INVALID_CWD', `the process's cwd ${JSON.stringify(cwd)} is not a directory`);
  return cwd;
}

/**
 * Writes a pid file as runc does (`createPidFile`): a temp file beside it renamed into place, so a
 * reader never sees it half written, and a symlink or FIFO planted at the path is replaced — never
 * followed (which would overwrite its target) nor opened (a FIFO's open would block the event loop
 * for ever waiting for a reader).
 * @throws TaskioError `ERR_INVALID_PID_FILE` naming the file and why (the system error as `cause`):
 * not its `ENOENT`, which the daemon would report as the command not found.
 */
function writePidFile(file: string, pid: number): void {
  try {
    writeFileAtomic(file, String(pid), 0o644);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EISDIR' ? 'it is a directory' : String(code ?? cause);
    throw new TaskioError('ERR_INVALID_PID_FILE', `cannot write the pid file ${JSON.stringify(file)}: ${why}`, { cause });
  }
}

/** The bundle's `config.json` `process`, checked enough to run. */
function readProcess(bundle: string): ProcessSpec {
  const file = path.join(path.resolve(bundle), 'config.json');
  const p = (readBundleConfig(bundle) as { process?: ProcessSpec } | null)?.process;
  if (!p || !Array.isArray(p.args) || p.args.length === 0) {
    throw new TaskioError('ERR_INVALID_BUNDLE', `${file} has no process.args to run`);
  }
  return p;
}

/** `KEY=value` entries as an environment object (the first `=` splits). */
function envObject(entries: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of entries) {
    const i = e.indexOf('=');
    if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
  }
  return env;
}
