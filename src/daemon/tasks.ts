import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { TaskioError } from '../errors.js';
import { validateId } from '../ids.js';
import { parseLogOptions, type LogFormat, type LogWriterOptions } from '../logfile/index.js';
import { removeInside } from '../removeInside.js';
import type { OciSpec } from '../runtime/oci/index.js';
import { signalNumber } from '../runtime/oci/signal.js';
import { JobObject, isJobUnavailable, jobCgroupPath } from '../runtime/jobobject/index.js';
import { Init } from '../runtime/proc/index.js';
import { readJson, writeJsonAtomic } from './atomicJson.js';
import { ensureDefaultBundle, readSpec, taskSpec, writeBundle } from './bundle.js';
import { sizeBeforeStart } from './consoleSize.js';
import { Plumbing } from '../runtime/proc/plumbing.js';
import { AdoptedControl, InitControl, type KeptInput, type KeptOutput } from './control.js';
import type { CheckedCreate, DefaultLogOptions } from './createRequest.js';
import { unknownExit } from './exitStatus.js';
import { writeExitFile } from './exitFile.js';
import { notRunning } from './notRunning.js';
import { OutputKeepAlive, outputPaths } from './keepAlive.js';
import { LogCopy } from './logCopy.js';
import { OutputKeeper } from './outputKeeper.js';
import { InputFifo } from '../runtime/stdio/inputFifo.js';
import { linkRootfs, madeInRootfs } from './privateRootfs.js';
import { checkRunscCwd } from './runscCwd.js';
import { checkBindSources } from './bindSources.js';
import type { LogSource } from './logStream.js';
import { specNetwork } from './network.js';
import { OomCounter } from './oom.js';
import { diskUsage, type PruneCandidate, type PruneReport } from './prune.js';
import { PidWatch } from './pidWatch.js';
import { SandboxExits } from './sandboxExits.js';
import { ExitRecords, taskProcess } from './exitRecords.js';
import type { ProcessIdentity } from './recordedExits.js';
import { isSameLiveProcess, processStartTime } from './procStat.js';
import { parseTaskRecord, type ExitRecord, type RuntimeName, type TaskRecord } from './records.js';
import { DeadTask } from './deadTask.js';
import { Removals } from './removals.js';
import { withSandboxLimitHint } from './sandboxLimits.js';
import { resolveUser, type TaskUser } from './taskUser.js';
import { withUlimits } from './ulimits.js';
import { withInit } from './taskInit.js';
import { changeLiveLimits, checkLimitsChange, updatedLimits, writeBundleLimits, type TaskUpdate } from './taskUpdate.js';
import { applyCapabilityChanges, defaultCapabilities, ownCapabilities, processCapabilities, unknownToRunsc } from './capabilities.js';
import { checkRuntimeSecurity, seccompMode, taskSecurity } from './security.js';
import { checkRunscSeccomp } from './runscSeccomp.js';
import { clearContainerCgroup, containerCgroup } from './containerCgroup.js';
import { removeStaleExecPidFiles } from './staleExecPidFiles.js';
import { removeCheckLeftovers } from './checkLeftovers.js';
import { drainTimeoutOf, jobPrefix, refuseJobLimits, requireRuntime, runscFor, taskNamespace, taskRuntime, type Runtimes } from './runtimes.js';
import { restartDelay } from './restartPolicy.js';
import { removeCopyLeftovers } from './copyLeftovers.js';
import { refuseLoggingDriver } from './attachable.js';
import { DaemonTask, defaultStopTimeout, type TaskContext, type TaskState, type TaskView } from './task.js';

/** How long after its exit an `autoRemove` task waits at most for its creator to let go. */
const creatorHoldMs = 30_000;

/**
 * Called once a run's log is being written (log mode), before the runtime starts the run; the
 * start waits for what it returns (an attach fixing where in the log it reads from).
 */
export type LogReady = (log: LogSource) => Promise<void> | void;

/** A client attaching to a task as it starts it (`start -a`: docker's attach, then start). */
export interface StartAttach {
  /** Gets the run's log before the run starts (log mode). */
  logReady: LogReady;
  /** Settles once the attach ended: a created `autoRemove` task is removed only after that. */
  left: Promise<void>;
}

/** The spec a host task starts from: it runs on the host, so there is no rootfs to build. */
const hostBase: OciSpec = {
  ociVersion: '1.0.2-dev',
  process: { terminal: false, args: [], env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], cwd: '/' },
  root: { path: '/', readonly: false },
  hostname: 'taskio',
  mounts: [],
  linux: {},
};

/**
 * The daemon's tasks: creation (`POST /tasks`), lookup, removal, and at start-up the adoption of
 * every task an earlier daemon left under `<root>/tasks`.
 */
export class TaskManager {
  readonly #tasks = new Map<string, DaemonTask>();
  /** Tasks whose record cannot be used (docker's `dead`): listed, inspected and removed, nothing else. */
  readonly #dead = new Map<string, DeadTask>();
  /** Ids whose creation is under way: a second create of one is refused at once. */
  readonly #reserved = new Set<string>();
  readonly #ctx: TaskContext;
  readonly #runtimes: Runtimes;
  readonly #watch = new PidWatch();
  readonly #sandboxExits = new SandboxExits();
  readonly #exitRecords: ExitRecords;
  readonly #removals = new Removals();
  readonly #cpus = os.availableParallelism();

  constructor(ctx: TaskContext, runtimes: Runtimes) {
    this.#ctx = ctx;
    this.#runtimes = runtimes;
    this.#exitRecords = new ExitRecords(ctx.layout.root, ctx.logger);
  }

  /** Task `id`; `ERR_INVALID_ID` for a bad id, `ERR_NOT_FOUND` for an unknown one. */
  get(id: string): DaemonTask {
    const task = this.#tasks.get(validateId(id));
    const dead = this.#dead.get(id);
    if (dead) throw new TaskioError('ERR_INVALID_STATE', `task ${id} is dead: its record cannot be used (${dead.reason}); only rm removes it`);
    if (!task) throw new TaskioError('ERR_NOT_FOUND', `no such task: ${id}`);
    return task;
  }

  /**
   * The tasks, oldest first; exited and created ones only with `all`, as docker's `ps` (one its
   * restart policy starts again is listed, as docker's `restarting`).
   */
  list(all: boolean): DaemonTask[] {
    return [...this.#tasks.values()].filter((t) => all || t.restarting || t.state === 'running' || t.state === 'paused');
  }

  /** What `GET /tasks/:id` shows of task `id`: a dead one's too ({@link get} refuses it). */
  inspect(id: string): TaskView {
    return this.#dead.get(validateId(id))?.view() ?? this.get(id).view();
  }

  /** What `GET /tasks` shows: {@link list}'s tasks, and with `all` the dead ones (docker's `ps -a`). */
  views(all: boolean): TaskView[] {
    return [...this.list(all).map((t) => t.view()), ...(all ? [...this.#dead.values()].map((d) => d.view()) : [])];
  }

  get size(): number {
    return this.#tasks.size;
  }

  /** Every task's state, dead ones too (`GET /info` counts them). */
  states(): Array<{ state: TaskState | 'dead' }> {
    return [...this.list(true), ...[...this.#dead.values()].map(() => ({ state: 'dead' as const }))];
  }

  /**
   * Creates and starts a task. Every step that made something is undone when a later one fails:
   * nothing of a failed create stays (task directory, FIFOs, runtime state, job, process).
   * `creatorLeft` settles when the client that asked for the task has gone (its connection closed):
   * an `autoRemove` task waits for that, or for a removal wait, before it goes (see `#removeOnExit`);
   * `creatorAttached`: that connection is the task's attach (only its end lets go).
   * `logReady` is called once the task's log is being written (log mode), before the runtime
   * starts the task: the log can be opened meanwhile.
   */
  async create(req: CheckedCreate, creatorLeft: Promise<void> = Promise.resolve(), creatorAttached = false, logReady?: LogReady): Promise<DaemonTask> {
    const { layout, logger, events } = this.#ctx;
    const id = req.id ?? crypto.randomBytes(8).toString('hex');
    if (this.#tasks.has(id) || this.#dead.has(id) || this.#reserved.has(id)) throw new TaskioError('ERR_ALREADY_EXISTS', `task ${id} already exists`);
    const runtimeName = req.runtime ?? this.#runtimes.default;
    const runtimeCommand = requireRuntime(this.#runtimes, runtimeName);
    if (runtimeName === 'host') refuseJobLimits(req.limits);
    if (runtimeName === 'host' && req.init === true) {
      throw new TaskioError('ERR_NOT_SUPPORTED', '--init needs runtime runsc or runc: a host task is not a pid 1');
    }
    if (runtimeName === 'host' && req.hostname !== undefined) {
      throw new TaskioError('ERR_NOT_SUPPORTED', 'a hostname needs runtime runsc or runc: a host task has the host\'s');
    }
    if (runtimeName === 'host' && req.network === 'none') {
      throw new TaskioError('ERR_NOT_SUPPORTED', 'network none needs runtime runsc or runc: a host task has the host\'s network (network host)');
    }
    if (runtimeName === 'host' && (req.capAdd?.length || req.capDrop?.length)) {
      throw new TaskioError('ERR_NOT_SUPPORTED', 'capabilities need runtime runsc or runc: a host task runs with the daemon\'s');
    }
    checkRuntimeSecurity(req.security, req, runtimeName);
    if (creatorAttached && req.logPlan.mode === 'binary') refuseLoggingDriver(id, req.logPlan.uri, null);
    if (req.start === false && creatorAttached) {
      throw new TaskioError('ERR_INVALID_FIELD', 'an attached create starts its task: create it with start false in a plain POST /tasks, then attach after the start');
    }
    if (runtimeName === 'host' && (req.mounts?.length || req.readonlyRootfs)) {
      throw new TaskioError('ERR_NOT_SUPPORTED', `${req.mounts?.length ? 'mounts need' : 'a read-only rootfs needs'} runtime runsc or runc: a host task sees the host's files as they are`);
    }
    if (runtimeName === 'host' && req.rootfs !== undefined) {
      throw new TaskioError('ERR_NOT_SUPPORTED', 'a rootfs needs runtime runsc or runc: a host task sees the host\'s files as they are');
    }
    // The root's directories are the daemon's: a task's directory as another task's rootfs got the
    // runtime's mount points made in it, and the busybox rootfs is read-only for a reason.
    for (const [field, dir] of [['rootfs', req.rootfs], ['bundle', req.bundle]] as const) {
      if (dir !== undefined && layout.holds(dir)) {
        throw new TaskioError(field === 'rootfs' ? 'ERR_INVALID_ROOTFS' : 'ERR_INVALID_BUNDLE', `${field} ${dir} lies inside the daemon's state root ${layout.root}: name a directory outside it`);
      }
    }
    if (req.logPlan.mode === 'file' && layout.holds(req.logPlan.path)) {
      throw new TaskioError('ERR_INVALID_LOG_PATH', `log ${req.logPlan.path} lies inside the daemon's state root ${layout.root}: name a file outside it (without "log", a task's log is kept there)`);
    }
    this.#reserved.add(id);
    const dir = layout.taskDir(id);
    let made = false;
    let cwd: string | undefined; // the task's working directory, once its spec has one
    try {
      fs.mkdirSync(layout.tasks, { recursive: true, mode: 0o700 });
      try {
        fs.mkdirSync(dir, { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new TaskioError('ERR_ALREADY_EXISTS', `task ${id} already exists (${dir})`);
        throw err;
      }
      made = true;
      const { base, rootPath, readonly, image } = await this.#baseSpec(req, runtimeName);
      const user = req.user === undefined ? undefined : resolveUser(req.user, rootPath);
      const capabilities = runtimeName === 'host' ? undefined : taskCapabilities(req, runtimeName, base, user);
      const security = runtimeName === 'host'
        ? undefined
        : taskSecurity(req.security, req.privileged === true, runtimeName, req.bundle !== undefined, capabilities?.bounding ?? base.process.capabilities?.bounding ?? []);
      // runsc keeps a task's limits in its sentry: any may be given. runc and the host backend set
      // them on host processes, which a daemon without CAP_SYS_RESOURCE cannot raise past its own.
      const rlimits = req.ulimits?.length
        ? withUlimits(base.process.rlimits ?? [], req.ulimits, runtimeName === 'runsc' || ownCapabilities().includes('CAP_SYS_RESOURCE'))
        : undefined;
      // runsc/runc: a cgroup named after the root and the id (docker's /docker/<id>), not the
      // runtime's default (runc: <the daemon's cgroup>/<id>, runsc: /<id> — the same one for the same
      // id in two roots), and known before the task runs.
      // --init: tini runs the command (the bundle's when none is given) as pid 1.
      const init = req.init === true ? withInit(req.args ?? base.process.args) : null;
      if (init && req.mounts?.some((m) => m.target === init.mount.target)) {
        throw new TaskioError('ERR_INVALID_MOUNT', `${init.mount.target} is where --init's process is: mount something else there without --init`);
      }
      const cgroupName = `${jobPrefix(layout.root)}${id}`;
      const spec = taskSpec(base, {
        ...(runtimeName !== 'host' ? { cgroupsPath: containerCgroup(cgroupName) } : {}),
        ...(init ? { args: init.args } : req.args ? { args: req.args } : {}), ...(req.env ? { env: req.env } : {}), ...(req.cwd ? { cwd: req.cwd } : {}),
        terminal: req.terminal ?? base.process.terminal === true, consoleSize: req.consoleSize, rootPath, readonly: readonly || req.readonlyRootfs === true,
        limits: runtimeName === 'host' ? null : (req.limits ?? null), hostname: req.hostname ?? id.slice(0, 63), mounts: [...(req.mounts ?? []), ...(init ? [init.mount] : [])], user, capabilities, rlimits, security,
        // Not asked: the spec's (the busybox one has a network namespace; a runc bundle's own stays).
        network: runtimeName === 'host' ? undefined : req.network,
      });
      // A profile was checked with the request: a filter runsc cannot apply is the bundle's own.
      if (runtimeName === 'runsc') {
        checkRunscSeccomp(spec.linux?.seccomp, `bundle ${req.bundle}'s seccomp filter`);
        checkRunscCwd(spec, rootPath);
      }
      if (req.hostname !== undefined && spec.hostname !== req.hostname) {
        throw new TaskioError('ERR_INVALID_FIELD', `cannot set hostname ${req.hostname}: bundle ${req.bundle} has no UTS namespace (its tasks have the host's)`);
      }
      // taskio's cgroup of the id (not a bundle's own) left by a root removed by hand: runc would run
      // the task beside the processes still in it.
      if (runtimeName !== 'host' && (spec.linux as { cgroupsPath?: unknown } | undefined)?.cgroupsPath === containerCgroup(cgroupName)) {
        await clearContainerCgroup(id, cgroupName, logger);
      }
      // The shared busybox rootfs is the daemon's image: a task whose runtime would make a place in
      // it (a new working directory or mount point) gets a linked tree of its own instead.
      if (image === 'busybox' && madeInRootfs(spec).length > 0) {
        linkRootfs(spec.root.path, layout.taskRootfs(id));
        spec.root.path = layout.taskRootfs(id);
      }
      const terminal = spec.process.terminal === true;
      const bundle = layout.bundle(id);
      writeBundle(bundle, spec);
      const stdio = layout.fifos(id, terminal, req.stdin === true);
      const plan = req.logPlan;
      const logPath = plan.mode === 'default' ? layout.log(id) : plan.mode === 'file' ? plan.path : null;
      // A terminal's default log is raw: a CRI entry waits for its newline, so a prompt or the echo of
      // a key would reach an attached person only with the next newline.
      const defaultFormat = terminal ? 'raw' : 'cri';
      const logFormat = plan.mode === 'default' ? defaultFormat : plan.mode === 'file' ? plan.format : null;
      // Named after the root and the id, and recorded, so a later daemon that adopts the task
      // removes it too (a job named after this daemon's pid would outlive a SIGKILL, nameless).
      const job = runtimeName === 'host' && (req.limits !== undefined || await this.#jobsUsable()) ? `${jobPrefix(layout.root)}${id}` : null;
      cwd = spec.process.cwd;
      const record: TaskRecord = {
        version: 1, id, runtime: runtimeName, runtimeCommand,
        runtimeRoot: runtimeCommand ? layout.runtimeRoot(runtimeName) : null,
        // The command as given (`ps` shows it as docker does): the bundle's begins with the init.
        bundle, args: init ? (req.args ?? base.process.args) : spec.process.args, env: spec.process.env ?? [], cwd: spec.process.cwd, image, terminal, stdio,
        log: plan.mode === 'default' ? defaultLogURI(logPath!, defaultFormat, plan.options) : plan.mode === 'none' ? 'none' : plan.uri,
        logPath, logFormat, limits: req.limits ?? null,
        ...(req.mounts?.length ? { mounts: req.mounts } : {}), ...(spec.process.user ? { user: spec.process.user } : {}),
        ...(spec.process.capabilities?.bounding ? { capabilities: spec.process.capabilities.bounding } : {}),
        ...(req.privileged === true ? { privileged: true } : {}), ...(req.securityOpt?.length ? { securityOpt: req.securityOpt } : {}),
        ...(req.labels && Object.keys(req.labels).length > 0 ? { labels: req.labels } : {}),
        ...(req.ulimits?.length ? { ulimits: req.ulimits } : {}),
        ...(runtimeName !== 'host' && spec.hostname ? { hostname: spec.hostname } : {}),
        network: req.network ?? specNetwork(spec, runtimeName),
        ...(runtimeName !== 'host' && spec.linux?.seccomp ? { seccomp: true } : {}),
        ...(security ? { seccompMode: seccompMode(req.security, security, spec.linux?.seccomp !== undefined) } : {}),
        ...(init ? { init: true } : {}),
        job,
        pid: 0, pidStartTime: null, created: new Date().toISOString(), started: null, status: 'creating',
        ...(req.autoRemove === true ? { autoRemove: true } : {}),
        ...(req.restartPolicy && req.restartPolicy.name !== 'no' ? { restartPolicy: req.restartPolicy, restartCount: 0 } : {}),
        ...(req.stopSignal !== undefined ? { stopSignal: String(req.stopSignal) } : {}), ...(req.stopTimeout !== undefined ? { stopTimeout: req.stopTimeout } : {}),
        ...(req.healthcheck ? { healthcheck: req.healthcheck } : {}),
      };
      if (req.start === false) {
        // docker's create: everything is made but the runtime's part; `start` runs it.
        record.status = 'created';
        writeJsonAtomic(layout.taskFile(id), record);
        const task = new DaemonTask(this.#ctx, { record, state: 'created', control: null, logCopy: null, adopted: false });
        this.#tasks.set(id, task);
        this.#removals.forget(id);
        task.publish({ type: 'create' });
        logger.info({ id, runtime: runtimeName }, 'task created');
        return task;
      }
      const task = (await this.#launch(record, spec, logReady))();
      this.#tasks.set(id, task);
      this.#removals.forget(id);
      this.#removeOnExit(task, creatorLeft, creatorAttached);
      this.#restartOnExit(task, false);
      task.publish({ type: 'create' });
      task.publish({ type: 'start' });
      logger.info({ id, runtime: runtimeName, pid: record.pid }, 'task started');
      return task;
    } catch (err) {
      if (made) removeInside(layout.tasks, dir);
      throw classifyStartError(err, req.args?.[0], cwd);
    } finally {
      this.#reserved.delete(id);
    }
  }

  /**
   * Runs the task of `record` (its bundle written, its directory made): the log copy from its
   * FIFO set (log mode), the runtime's create and start, then the record with the pid. Used for
   * the first run and for each restart (the FIFO set and the log go on; the log is appended to).
   * Returns the maker of the task's object; on failure what it made is undone (log copy, runtime
   * state) and the error thrown.
   */
  async #launch(record: TaskRecord, spec: OciSpec, logReady?: LogReady): Promise<() => DaemonTask> {
    const { layout, logger } = this.#ctx;
    const { id, bundle, stdio, terminal, logPath } = record;
    let logCopy: LogCopy | null = null;
    // An earlier run's keeper (gone with that run): a daemon that finds this run cut must not take it for this run's.
    delete record.outputKeeper;
    delete record.consoleKeeper;
    delete record.inputKeeper;
    try {
      // Checked at create, again at each start: a file put in the working directory's place since
      // (or a bind source removed) fails runsc's start naming nothing.
      if (record.runtime === 'runsc') {
        checkBindSources(spec);
        checkRunscCwd(spec, path.resolve(bundle, spec.root.path));
      }
      // Kept with the record: a daemon that adopts this run counts its kills from before it ran.
      const oom = oomCounter(record, spec);
      const saved = oom?.saved();
      if (saved) record.oomCounter = saved;
      else delete record.oomCounter;
      writeJsonAtomic(layout.taskFile(id), record);
      const { runtime, jobRuntime } = taskRuntime(layout, record, this.#cpus, logger);
      // binary:// loggers get the task's output straight from the runtime; every other mode goes
      // through the FIFO set (log mode: the daemon reads it).
      const binary = record.log.startsWith('binary:') ? record.log : null;
      const taskStdio = { terminal, stdin: stdio.stdin, stdout: binary ?? stdio.stdout, stderr: terminal ? '' : binary ?? stdio.stderr };
      const init = new Init(id, runtime, taskStdio, { drainTimeout: drainTimeoutOf(record), namespace: taskNamespace });
      // `taskSpec` always sets a terminal's `process.consoleSize`; runsc needs it told too.
      await sizeBeforeStart(init, terminal, spec.process);
      // Reading before the task runs: what it prints first waits in the pipe either way, but a
      // copy that cannot start then fails the create before anything runs.
      if (logPath !== null) {
        logCopy = LogCopy.start(stdio, logPath, logOptions(record), false, logger);
        await logReady?.({ record, outputDone: logCopy.done });
      }
      if (attachedRun(record.runtime, record)) {
        await init.runAttached({ id, bundle, ...taskStdio });
      } else if (init.canRun()) {
        // runsc/runc: `run --detach`, one runtime process where create + start take two.
        await init.run({ id, bundle, ...taskStdio });
      } else {
        await init.create({ id, bundle, ...taskStdio });
        try {
          await init.start();
        } catch (err) {
          await init.delete().catch(() => undefined);
          throw err;
        }
      }
      record.pid = init.pid();
      record.pidStartTime = processStartTime(record.pid);
      // Whose child the task and its keepers become if this daemon dies: the next one waits for that recorder's record of the exit.
      if (this.#ctx.exitRecorder) record.exitRecorder = this.#ctx.exitRecorder;
      else delete record.exitRecorder;
      // A fast task's exit may have been reaped before this turn: its start is never after its exit.
      const now = new Date(), exitedAt = init.exitedAt();
      record.started = (exitedAt !== null && exitedAt < now ? exitedAt : now).toISOString();
      record.status = 'started';
      const keeper = binary === null ? this.#keepOutput(init, record) : null;
      if (keeper) record.outputKeeper = keeper.record;
      const input = this.#keepInput(init, record);
      if (input) record.inputKeeper = input.record;
      writeJsonAtomic(layout.taskFile(id), record);
      // The task object is made by the caller, in the same turn as it answers: a task that exits at
      // once is still reported running by its create (its exit is seen from the next turn on).
      return () => new DaemonTask(this.#ctx, { record, state: 'running', control: new InitControl(init, record, jobRuntime, keeper, input), logCopy, adopted: false, ...(oom ? { oom } : {}) });
    } catch (err) {
      await logCopy?.discard().catch(() => undefined);
      throw withSandboxLimitHint(err, record);
    }
  }

  /**
   * The task's {@link OutputKeeper}, so that its output — and its terminal: the pty master runc/runsc
   * sent, or node-pty's (host) — outlives this daemon. Spawned once the task runs (a terminal's
   * master exists only then). One that cannot start is logged and the task runs without it, as
   * before keepers: its output and terminal go with this daemon should it die (failing the start
   * would mean killing a task that runs already); a master that cannot be had (a node-pty that hides
   * it, a task that exited already) is logged and the keeper holds the FIFOs alone.
   */
  #keepOutput(init: Init, record: TaskRecord): OutputKeeper | null {
    const { logger } = this.#ctx;
    let master: number | null = null;
    try {
      master = record.terminal ? init.consoleFd() : null;
    } catch (err) {
      logger.warn({ err, id: record.id }, 'cannot keep the task\'s pty master: its terminal does not outlive this daemon');
    }
    try {
      return OutputKeeper.spawn(outputPaths(record.stdio), master);
    } catch (err) {
      logger.warn({ err, id: record.id }, 'cannot start the output keeper: the task\'s output does not outlive this daemon');
      return null;
    }
  }

  /**
   * The task's input keeper ({@link OutputKeeper.spawnInput}), so that a task with stdin and no
   * terminal does not read EOF when this daemon dies, and the next one feeds it again — null
   * without such a stdin. One that cannot start is logged: the task's stdin ends with this daemon,
   * as before input keepers.
   */
  #keepInput(init: Init, record: TaskRecord): OutputKeeper | null {
    const pipe = init.stdinPipeFd();
    if (pipe === null) return null;
    try {
      return OutputKeeper.spawnInput(record.stdio.stdin, pipe);
    } catch (err) {
      this.#ctx.logger.warn({ err, id: record.id }, 'cannot start the input keeper: the task\'s stdin ends with this daemon');
      return null;
    }
  }

  async #baseSpec(req: CheckedCreate, runtime: string): Promise<{ base: OciSpec; rootPath: string; readonly: boolean; image: string }> {
    if (req.bundle !== undefined) {
      const base = readSpec(req.bundle);
      return { base, rootPath: path.resolve(req.bundle, base.root.path), readonly: base.root.readonly === true, image: req.bundle };
    }
    if (runtime === 'host') return { base: hostBase, rootPath: '/', readonly: false, image: 'host' };
    const tpl = readSpec(await this.#defaultBundle());
    if (req.rootfs !== undefined) return { base: tpl, rootPath: req.rootfs, readonly: false, image: req.rootfs };
    return { base: tpl, rootPath: path.join(this.#ctx.layout.busyboxBundle, 'rootfs'), readonly: true, image: 'busybox' };
  }

  #building: Promise<string> | null = null;

  #canMakeJobs: Promise<boolean> | null = null;

  /**
   * Whether job objects (cgroups) can be made here, found out once by making one: a host task with
   * no limits runs without one where they cannot (a user without cgroup rights).
   */
  #jobsUsable(): Promise<boolean> {
    this.#canMakeJobs ??= JobObject.create({ name: `${jobPrefix(this.#ctx.layout.root)}probe-${process.pid}`, terminateOnLastHandleClose: true })
      .then(async (job) => { await job.close(); return true; }, (err: unknown) => {
        if (!isJobUnavailable(err)) this.#ctx.logger.warn({ err }, 'cannot make a job object: host tasks run without one');
        return false;
      });
    return this.#canMakeJobs;
  }

  #defaultBundle(): Promise<string> {
    this.#building ??= ensureDefaultBundle(this.#ctx.layout).finally(() => { this.#building = null; });
    return this.#building;
  }

  /** Removes task `id` (`force`: kill it first when it runs); a restart that was due does not happen. */
  async remove(id: string, force: boolean): Promise<void> {
    const dead = this.#dead.get(validateId(id));
    if (dead) return this.#removeDead(dead, force);
    await this.#settleRestart(id);
    await this.#remove(this.get(id), force, null);
  }

  /**
   * docker's container prune: removes each task that does not run — exited and not due for a
   * restart, or created, or dead with no process left (docker's prune takes every container that
   * does not run) — and that `select` takes. One that started or went meanwhile, or whose removal
   * fails (logged), is left out of the report.
   */
  async prune(select: (t: PruneCandidate) => boolean): Promise<PruneReport> {
    const report: PruneReport = { tasksDeleted: [], spaceReclaimed: 0 };
    for (const dead of [...this.#dead.values()]) {
      if (dead.liveProcess() !== null || !select(dead)) continue;
      const size = diskUsage(this.#ctx.layout.taskDir(dead.id));
      try {
        await this.#removeDead(dead, false);
      } catch (err) {
        this.#ctx.logger.warn({ err, id: dead.id }, 'prune: the dead task could not be removed');
        continue;
      }
      report.tasksDeleted.push(dead.id);
      report.spaceReclaimed += size;
    }
    for (const task of this.list(true)) {
      if (task.restarting || (task.state !== 'exited' && task.state !== 'created') || !select(task.record)) continue;
      const size = diskUsage(this.#ctx.layout.taskDir(task.id));
      try {
        await this.#settleRestart(task.id);
        if (this.#tasks.get(task.id) !== task) continue; // started again meanwhile
        await this.#remove(task, false, null);
      } catch (err) {
        if ((err as TaskioError).code !== 'ERR_NOT_FOUND') this.#ctx.logger.warn({ err, id: task.id }, 'prune: the task could not be removed');
        continue;
      }
      report.tasksDeleted.push(task.id);
      report.spaceReclaimed += size;
    }
    return report;
  }

  /**
   * Sends `signal` to task `id` (`all`: to each of its processes). As in docker, a task a client
   * signalled counts as stopped by hand: its restart policy no longer starts it again, and a paused
   * one is resumed to act on KILL or its stop signal ({@link DaemonTask.kill}).
   */
  async kill(id: string, signal: number, all: boolean): Promise<void> {
    const task = this.get(id);
    this.#stoppedByHand(task);
    const ends = signal === 9 || signal === stopSignalOf(task.record);
    try {
      await task.kill(signal, all, ends);
    } catch (err) {
      // An adopted task's exit is seen a pidfd poll after it: the runtime's "not running" meanwhile
      // is the refusal a task known to have exited gets.
      if ((err as TaskioError).code === 'ERR_INVALID_STATE' || !ended(task)) throw err;
      throw new TaskioError('ERR_INVALID_STATE', notRunning(id), { cause: err });
    }
  }

  /**
   * `docker stop`: the task's stop signal (or `signal`), then up to `timeout` seconds (the task's
   * stop timeout by default; -1: for ever) for it to exit, then KILL to all of its processes; resolves
   * once it exited. A paused task is resumed to act on the signal ({@link DaemonTask.kill}). It is not
   * restarted by its policy (a restart that was due is called off). One that exited already: nothing to do.
   */
  async stop(id: string, opts: { signal?: number; timeout?: number } = {}): Promise<void> {
    await this.#settleRestart(id);
    const task = this.get(id);
    this.#stoppedByHand(task);
    if (task.exit !== null || task.state === 'created') return;
    const signal = opts.signal ?? stopSignalOf(task.record);
    const timeout = opts.timeout ?? task.record.stopTimeout ?? defaultStopTimeout;
    try {
      await task.kill(signal, false, true);
    } catch (err) {
      if (!ended(task)) throw err;
    }
    if (timeout >= 0 && await Promise.race([task.exited.then(() => true), delay(timeout * 1000, false, { ref: false })]) === false) {
      await task.kill(9, true).catch((err: unknown) => { if (!ended(task)) throw err; });
    }
    await task.exited;
  }

  /**
   * `docker start`: runs a created task for the first time, or one that exited again in place —
   * same id, bundle, FIFO set and log (appended to) — now, and its restart policy applies again. A
   * running task is left as it is, a paused one is refused (docker's). `attach`: the client attaches as it starts (`start -a`), see
   * {@link StartAttach}.
   */
  async start(id: string, attach?: StartAttach): Promise<DaemonTask> {
    // Refused before a due restart is called off: that one still comes once the copies ended.
    this.#tasks.get(validateId(id))?.refuseStartWhileCopying();
    await this.#settleRestart(id);
    // Another start got in while this one waited (two restarts at once: both waited for the same
    // exit): its run is this start's too. A second relaunch of the exited run would delete its
    // runtime state again — an adopted task's by id, the new run's by then.
    if (this.#relaunching.has(id)) return this.start(id, attach);
    const task = this.get(id);
    if (task.state === 'created') return this.#relaunch(task, 'start', attach);
    // docker's refusal: a start -a would attach to a task that gives no output until unpaused.
    if (task.state === 'paused') throw new TaskioError('ERR_INVALID_STATE', `cannot start paused task ${id}: unpause it instead`);
    if (task.exit === null) return task;
    if (task.record.autoRemove === true) throw new TaskioError('ERR_INVALID_STATE', `cannot start task ${id} again: it is removed once it exited (run --rm)`);
    return this.#relaunch(task, 'start', attach);
  }

  /**
   * docker's update: new limits and a new restart policy for task `id`. A running or paused task
   * gets the limits at once ({@link changeLiveLimits}: runc, host; runsc has no update and refuses),
   * and they go into its record and bundle, so every later run has them (an exited task: from its
   * next start). The policy counts from the next exit on; `no` also calls off a restart that was
   * due. Every value is checked, and the live change made, before anything is written.
   */
  async update(id: string, change: TaskUpdate): Promise<DaemonTask> {
    await this.#relaunching.get(validateId(id));
    const task = this.get(id);
    const r = task.record;
    if (change.restartPolicy !== undefined && change.restartPolicy.name !== 'no' && r.autoRemove === true) {
      throw new TaskioError('ERR_INVALID_STATE', `cannot set restart policy ${change.restartPolicy.name} on task ${id}: it is removed once it exited (run --rm)`);
    }
    await task.lifecycle.run('update', async () => {
      if (change.limits !== undefined) {
        checkLimitsChange(r, change.limits);
        if (task.state === 'running' || task.state === 'paused') await changeLiveLimits(r, change.limits, this.#cpus, this.#ctx.layout.runtimeLog(id));
        r.limits = updatedLimits(r.limits, change.limits);
        if (r.runtime !== 'host') writeBundleLimits(r.bundle, r.limits, change.limits.pids === -1);
      }
      if (change.restartPolicy !== undefined) {
        r.restartPolicy = change.restartPolicy;
        if (change.restartPolicy.name === 'no') this.#cancelRestart(task);
      }
      writeJsonAtomic(this.#ctx.layout.taskFile(id), r);
    });
    return task;
  }

  /** Removes dead task `dead` ({@link DeadTask.remove}); one that stays is refused or failed. */
  async #removeDead(dead: DeadTask, force: boolean): Promise<void> {
    if (this.#removingDead.has(dead)) throw new TaskioError('ERR_INVALID_STATE', `task ${dead.id} is being removed`);
    this.#removingDead.add(dead);
    try {
      await dead.remove(force, this.#runtimes, this.#watch);
    } finally {
      this.#removingDead.delete(dead);
    }
    this.#dead.delete(dead.id);
    this.#removals.removed(dead.id, null);
    this.#ctx.events.publish({ type: 'delete', id: dead.id });
    this.#ctx.logger.info({ id: dead.id }, 'dead task removed');
  }

  readonly #removingDead = new WeakSet<DeadTask>();

  /** A client stopped or killed the task: recorded (a later daemon honours it too), and a due restart is called off. */
  #stoppedByHand(task: DaemonTask): void {
    // Recorded without a policy too: `update --restart` may give the task one later.
    this.#cancelRestart(task);
    if (task.record.manuallyStopped === true) return;
    task.record.manuallyStopped = true;
    writeJsonAtomic(this.#ctx.layout.taskFile(task.id), task.record);
  }

  /** Restarts due, by task id (docker's `restarting` state): the timer that starts the next run. */
  readonly #due = new Map<string, NodeJS.Timeout>();
  /** Runs being started again: a request that changes the task waits for the new run first. */
  readonly #relaunching = new Map<string, Promise<unknown>>();
  /** The wait before each task's last restart, which the next one doubles (docker's back-off). */
  readonly #lastDelay = new Map<string, number>();

  /** Calls off a restart that was due for `id`, and waits for one under way. */
  async #settleRestart(id: string): Promise<void> {
    const task = this.#tasks.get(validateId(id));
    if (task) this.#cancelRestart(task);
    await this.#relaunching.get(id);
  }

  #cancelRestart(task: DaemonTask): void {
    clearTimeout(this.#due.get(task.id));
    this.#due.delete(task.id);
    task.restarting = false;
    task.restartDue = false;
  }

  /**
   * A task with a restart policy: once it exited, {@link restartDelay} decides whether and after
   * how long it runs again. `daemonStart`: the exit was found as this daemon started.
   */
  #restartOnExit(task: DaemonTask, daemonStart: boolean): void {
    const atStart = daemonStart && task.exit !== null;
    void task.exited.then((exit) => {
      if (this.#tasks.get(task.id) !== task || this.#shuttingDown) return; // removed or replaced meanwhile
      // The policy at the exit: `update` may have changed it while the task ran.
      const r = task.record, policy = r.restartPolicy;
      if (policy === undefined || policy.name === 'no') return;
      const ranMs = Date.parse(exit.exitedAt ?? '') - Date.parse(r.started ?? '');
      const wait = restartDelay(policy, {
        exitCode: exit.exitCode, manuallyStopped: r.manuallyStopped === true, restartCount: r.restartCount ?? 0,
        ranMs: Number.isFinite(ranMs) ? ranMs : 0, lastDelayMs: this.#lastDelay.get(task.id) ?? 0, daemonStart: atStart,
      });
      if (wait === null) return;
      this.#lastDelay.set(task.id, wait);
      task.restarting = true;
      this.#ctx.logger.info({ id: task.id, exitCode: exit.exitCode, restartCount: r.restartCount ?? 0, waitMs: wait }, 'task restarts (restart policy)');
      // Due after the wait, the restart waits for the copies out of the task that run (a start
      // beside them is refused); it stays due, and called off as one waiting is, until they ended.
      const due = setTimeout(() => {
        const waited = task.copiesEnded();
        if (task.copying()) this.#ctx.logger.info({ id: task.id }, 'the restart waits for the copies into or out of the task to end (taskio cp)');
        void waited.then(() => {
          if (this.#due.get(task.id) !== due || this.#shuttingDown) return; // called off meanwhile
          this.#due.delete(task.id);
          this.#relaunch(task, atStart ? 'daemonStart' : 'policy').catch(() => undefined); // logged there
        });
      }, wait);
      this.#due.set(task.id, due);
    });
  }

  /**
   * Runs task `old` — exited, or created and never run — in place ({@link DaemonTask.retire}, then
   * {@link #launch} on its record) and puts the new run in the table. `how`: a `policy` restart is
   * counted in `restartCount`; a client's `start`, and a restart as the daemon starts
   * (`daemonStart`), count afresh — restartCount 0, the stop by hand forgotten, the back-off from
   * its first wait — as docker's containerStart with resetRestartManager. When the new run cannot
   * start, the task stays as it was (its exit and record written back) and the error is logged and
   * thrown. `attach`: a client's `start -a`.
   */
  #relaunch(old: DaemonTask, how: 'start' | 'policy' | 'daemonStart', attach?: StartAttach): Promise<DaemonTask> {
    const { layout, logger } = this.#ctx;
    const id = old.id;
    const first = old.state === 'created';
    const byPolicy = how !== 'start';
    const relaunching = (async () => {
      await old.retire();
      // Its removal began meanwhile (and waits for this): it is gone, as for a request queued behind it.
      if (this.#removing.has(old)) throw new TaskioError('ERR_NOT_FOUND', `no such task: ${id}`);
      const record: TaskRecord = {
        ...old.record, pid: 0, pidStartTime: null, started: null, status: 'creating',
        restartCount: how === 'policy' ? (old.record.restartCount ?? 0) + 1 : 0,
      };
      // The run that ended stays the last one that did until this one ends (docker's FinishedAt).
      delete record.finished;
      if (old.exit?.exitedAt) record.finished = old.exit.exitedAt;
      if (how !== 'policy') {
        delete record.manuallyStopped;
        this.#lastDelay.delete(id);
      }
      let task: DaemonTask;
      try {
        // In the try: the task's directory is the task's too (a host task may put a directory
        // there), and a restart from a timer that failed here was told nowhere.
        fs.rmSync(layout.exitFile(id), { force: true });
        task = (await this.#launch(record, readSpec(record.bundle), attach?.logReady))();
      } catch (err) {
        logger.error({ err, id }, `the task could not be started: it stays ${first ? 'created' : 'exited'}`);
        old.restarting = false;
        old.retired = false;
        old.restartDue = false;
        this.#writeBack(old);
        throw classifyStartError(err, record.args[0], record.cwd);
      }
      this.#tasks.set(id, task);
      if (first) {
        old.startedAs(task);
        // Created with autoRemove: goes once this run exited, and the attach of its start ended.
        this.#removeOnExit(task, attach?.left ?? Promise.resolve(), attach !== undefined);
      }
      this.#restartOnExit(task, false);
      task.publish({ type: byPolicy ? 'restart' : 'start' });
      logger.info({ id, pid: record.pid, restartCount: record.restartCount ?? 0 }, byPolicy ? 'task restarted' : first ? 'task started' : 'task started again');
      return task;
    })();
    const settled = relaunching.catch(() => undefined);
    this.#relaunching.set(id, settled);
    void settled.then(() => { if (this.#relaunching.get(id) === settled) this.#relaunching.delete(id); });
    return relaunching;
  }

  /** A run that could not start again: its record and exit written back as they were; a failed write is logged (the task stays as it is in memory). */
  #writeBack(old: DaemonTask): void {
    const { layout, logger } = this.#ctx;
    try {
      writeJsonAtomic(layout.taskFile(old.id), old.record);
    } catch (err) {
      logger.error({ err, id: old.id }, 'cannot write the task record back');
    }
    if (old.exit) writeExitFile(layout, old.id, old.exit, logger);
  }

  #shuttingDown = false;

  /** Tasks being removed: a relaunch of one that has not started its new run yet gives up. */
  readonly #removing = new WeakSet<DaemonTask>();

  async #remove(task: DaemonTask, force: boolean, keptExit: ExitRecord | null): Promise<void> {
    this.#removing.add(task);
    try {
      // A relaunch past that check goes first (its new run would write into the removed
      // directory): then the removal is the new run's.
      await this.#relaunching.get(task.id);
      const current = this.#tasks.get(task.id);
      if (current !== undefined && current !== task) return await this.#remove(current, force, keptExit);
      await task.remove(force);
    } catch (err) {
      this.#removing.delete(task); // refused or failed: the task stays, to be started again
      throw err;
    }
    this.#tasks.delete(task.id);
    // A later task with this id starts its restart back-off afresh.
    this.#lastDelay.delete(task.id);
    this.#removals.removed(task.id, keptExit);
  }

  /**
   * `autoRemove` (docker's AutoRemove, `run --rm`): the daemon removes the task once it exited and
   * its output is complete, and once its creator let go of it — its connection closed (it exited,
   * was killed, or `run -d` returned) or it asked with `wait?condition=removed`. That second
   * condition is docker's order (attach, then start): a task that exits at once is still there
   * for the attach of the `run --rm` that made it (a creator attached by its create lets go when
   * that attach ends, asked or not). A creator that keeps its connection busy holds
   * the task {@link creatorHoldMs} after the exit at most. Its exit stays readable by `wait` for a
   * while. A removal that fails leaves the task listed, with a warning.
   */
  #removeOnExit(task: DaemonTask, creatorLeft: Promise<void>, creatorAttached: boolean): void {
    if (task.record.autoRemove !== true) return;
    const exited = task.wait();
    // The runtime's part goes at once, while the creator still reads: it is most of a removal's time.
    // Not in FIFO mode: the output is only in the pipes, which the runtime's delete would close
    // (freeing what nobody read yet) before the creator's attach opened them.
    if (task.record.log !== 'none') void exited.then(() => task.deleteRuntime()).catch(() => undefined);
    const held = exited.then(() => delay(creatorHoldMs, undefined, { ref: false }));
    // A creator attached by its create (`POST /tasks` upgraded) lets go when that attach ended
    // (`creatorLeft`): it may ask for the removal while it still reads (a wait sent at once).
    const letGo = creatorAttached ? Promise.race([creatorLeft, held]) : Promise.race([creatorLeft, this.#removals.asked(task.id), held]);
    void Promise.all([exited, letGo]).then(async ([exit]) => {
      if (this.#tasks.get(task.id) !== task) return; // removed meanwhile by a client
      try {
        await this.#remove(task, false, exit);
      } catch (err) {
        if (this.#tasks.get(task.id) === task) this.#ctx.logger.warn({ err, id: task.id }, 'auto-remove failed: the task stays');
      }
    });
  }

  /**
   * `POST /tasks/:id/wait`: the exit once task `id` exited (`not-running`), or once it was also
   * removed (`removed`, docker's condition). A task the daemon removed by itself (`autoRemove`)
   * answers with its kept exit.
   */
  async wait(id: string, condition: 'not-running' | 'removed', signal?: AbortSignal): Promise<ExitRecord> {
    const kept = this.#tasks.has(validateId(id)) ? undefined : this.#removals.exitOf(id);
    if (kept) return kept;
    const task = this.get(id);
    // Registered before the exit can be seen, so no removal slips in between.
    const removed = condition === 'removed' ? this.#removals.whenRemoved(id, signal) : null;
    if (removed) this.#removals.ask(id);
    removed?.catch(() => undefined); // awaited below; an abort while the exit is awaited is that error
    const exit = await task.wait(signal);
    await removed;
    return exit;
  }

  /**
   * Takes over every task under `<root>/tasks` (a daemon start): running ones are watched through
   * a pidfd and their log copy resumes; one that exited while no daemon ran gets an exit record —
   * its status as the exit recorder above its daemon recorded it, else `exitCode: null` and the
   * reason. Then the exit recorder's records no task claims are removed.
   */
  async adoptAll(): Promise<void> {
    const { layout, logger } = this.#ctx;
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(layout.tasks);
    } catch {
      // no task directory: nothing to adopt
    }
    for (const name of entries) {
      try {
        validateId(name);
      } catch {
        logger.warn({ entry: path.join(layout.tasks, name) }, 'not a task directory: left alone');
        continue;
      }
      let record: TaskRecord | null;
      try {
        record = this.#readRecord(name);
      } catch (err) {
        // A record that is not taskio's to read (not a regular file: a FIFO or a link planted there)
        // or that cannot be read now is left alone, as before records were checked; one taskio
        // wrote that does not parse or fails the check is dead.
        if (!(err instanceof DeadRecord)) {
          logger.error({ err, id: name }, 'cannot adopt task');
          continue;
        }
        logger.error({ err, id: name }, 'the task\'s record cannot be used: the task is dead (listed; rm removes it)');
        this.#dead.set(name, new DeadTask(this.#ctx, name, err.message, err.raw));
        continue;
      }
      if (record === null) {
        logger.warn({ id: name }, 'task directory without a task.json: left alone');
        continue;
      }
      try {
        const task = await this.#adopt(record);
        if (task) {
          this.#tasks.set(name, task);
          this.#removeOnExit(task, Promise.resolve(), false); // no creator any more: one that exited goes now
          // A run whose create was cut never ran: its policy, which answers a run's exit, does not
          // start it (a created task too waits for a client's start). Were it started, a create
          // that is what brings the daemon down would do so again at every daemon start.
          if (task.record.status !== 'creating') this.#restartOnExit(task, true);
        }
      } catch (err) {
        logger.error({ err, id: name }, 'cannot adopt task');
      }
    }
    // What no task claims any more — the keepers and sandboxes of tasks gone meanwhile, the
    // orphans of a host task — has nobody to read its record: it goes.
    this.#exitRecords.sweep([...this.#tasks.values()].flatMap((t) => claimedProcesses(t.record)));
  }

  /**
   * Task `id`'s record, checked ({@link parseTaskRecord}); null when it has none.
   * @throws DeadRecord (with what parsed, if anything) when it is not JSON or fails the check; the
   *   read's error when it cannot be read or is not a regular file.
   */
  #readRecord(id: string): TaskRecord | null {
    let raw: unknown;
    try {
      raw = readJson<unknown>(this.#ctx.layout.taskFile(id));
    } catch (err) {
      if ((err as Error).cause instanceof SyntaxError) throw new DeadRecord((err as Error).message, null);
      throw err;
    }
    if (raw === null) return null;
    try {
      return parseTaskRecord(raw, id);
    } catch (err) {
      throw new DeadRecord((err as Error).message, raw);
    }
  }

  async #adopt(record: TaskRecord): Promise<DaemonTask | null> {
    const { layout, logger } = this.#ctx;
    const id = record.id;
    // Created or not: a copy into a created task runs through a helper too.
    await removeCopyLeftovers(layout, record, this.#watch, logger);
    if (record.status === 'created') {
      // Made but never started (docker's create): it waits for its start as it did.
      return new DaemonTask(this.#ctx, { record, state: 'created', control: null, logCopy: null, adopted: false });
    }
    // Running or not, the execs of the daemon that started it are no records of this one.
    removeStaleExecPidFiles(layout.execDir(id), logger);
    let exit = readJson<ExitRecord>(layout.exitFile(id));
    const running = exit === null && record.status !== 'creating' && isSameLiveProcess(record.pid, record.pidStartTime);
    // The run's counter from its record (its kills while no daemon ran count); without one a running task's is taken now.
    const oom = record.oomCounter ? OomCounter.resume(record.oomCounter) : null;
    const state: TaskState = running ? 'running' : 'exited';
    // A keeper still there: the task runs, or it exited while no daemon ran and what it wrote last
    // is still in the keeper's pipes (and pty), to be read before the keeper goes.
    const keeper = this.#findKeeper(record);
    const reading = running || keeper !== null;
    let logCopy: LogCopy | null = null;
    let keepAlive: OutputKeepAlive | null = null;
    let kept: KeptOutput | null = null;
    let input: KeptInput | null = null;
    const unwatch = new AbortController();
    try {
      if (reading && record.logPath !== null && record.logFormat !== null) {
        try {
          logCopy = LogCopy.start(record.stdio, record.logPath, logOptions(record), true, logger);
        } catch (err) {
          logger.error({ err, id }, 'cannot reopen the task\'s FIFO set: its log does not continue');
        }
      }
      // FIFO mode: the daemon's own fds hold what a client has not read yet, before the keeper goes.
      if (reading && record.log === 'none') {
        try {
          keepAlive = OutputKeepAlive.open(outputPaths(record.stdio));
        } catch (err) {
          logger.error({ err, id }, 'cannot reopen the task\'s output FIFOs: what no client has read goes with its output keeper');
        }
      }
      // After the log copy opened the stdout FIFO for reading: the console's copy writes it.
      kept = keeper && await this.#adoptConsole(record, keeper, running);
      input = await this.#adoptInput(record, running);
      const control = new AdoptedControl(record, layout.runtimeLog(id), running ? this.#watch : null, kept, unwatch.signal, this.#sandboxExits, input, this.#exitRecords);
      // Before this daemon's checks of it start: an earlier daemon's check cut by its death (the next ones have other names).
      void removeCheckLeftovers(layout.taskDir(id), running ? control : null, logger);
      if (exit === null && !running) {
        let written = true;
        if (record.status === 'creating') {
          // A create (or restart) cut by the daemon's death: it failed, and goes as a failed create
          // does — what the runtime made of it may run on without an owner (a container, the host
          // process in its job; its pid never reached the record), so the runtime's delete removes
          // it. The record stays, exited, for ps/inspect/rm/start. Until that delete succeeded no
          // exit is written: the next daemon tries again.
          exit = unknownExit('the daemon stopped while the task was being created');
          written = await control.delete().then(() => true, (err: unknown) => {
            logger.error({ err, id }, 'cannot remove what the cut create of the task made: the next daemon tries again');
            return false;
          });
        } else {
          // Its status went to the recorder above the daemon that started it, if one lived then.
          exit = await this.#exitRecords.taskExit(record) ?? unknownExit('the task exited while no daemon was running', null);
          exit = this.#oomKilledWhileAway(record, exit, oom);
        }
        // One that cannot be written is logged: the task is adopted all the same, exited (the next daemon finds it so again).
        if (written && writeExitFile(layout, id, exit, logger)) this.#exitRecords.forgetTaskExit(record);
      }
      logger.info({ id, state, pid: record.pid }, 'task adopted');
      const outputKept = running || kept === null ? undefined : control.finishKeptOutput();
      const task = new DaemonTask(this.#ctx, { record, state, control, logCopy, keepAlive, exit, adopted: true, outputKept, ...(oom ? { oom } : {}) });
      // Whether it is paused takes a runtime call (seconds under load): the daemon answers meanwhile.
      if (running) void control.paused().then((paused) => { if (paused) task.lifecycle.apply('pause'); }, () => undefined);
      return task;
    } catch (err) {
      // Not adopted (adoptAll logs why; the next daemon tries again): nothing of it stays open in
      // this daemon (nor its pidfd watched), and its keeper runs on, holding its output for that daemon.
      unwatch.abort();
      await kept?.console?.close().catch(() => undefined);
      keeper?.close();
      await input?.fifo.close();
      input?.keeper.close();
      keepAlive?.close();
      await logCopy?.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * The exit of a task found exited at adoption with whether its run had an OOM kill, counted in its
   * cgroup from the count its record kept (read before anything removes the cgroup: the runtime's
   * delete comes after the adoption). The `oom` event is not told: as docker's live-restore, a
   * daemon does not replay what happened while none ran (nor is this exit told as an event).
   */
  #oomKilledWhileAway(record: TaskRecord, exit: ExitRecord, oom: OomCounter | null): ExitRecord {
    if (oom === null) return exit;
    const oomKilled = oom.kills() > 0;
    if (oomKilled) this.#ctx.logger.warn({ id: record.id }, 'task killed for lack of memory (OOM) while no daemon was running');
    return { ...exit, oomKilled };
  }

  /**
   * A running task's stdin fed again: the write end of its pipe taken back from its input keeper and
   * the stdin FIFO copied into it, as by the daemon that started it. Null without a keeper; the keeper
   * of a task that exited is stopped, and so is one whose pipe cannot be taken back (no ptrace rights
   * over it, a FIFO that cannot be opened: logged), so the task reads EOF as without one rather than
   * wait for input that no daemon can send. A keeper stopped is gone when this settles: nothing holds
   * it afterwards, so a `rm` or a shutdown right after the adoption would not wait for it.
   */
  async #adoptInput(record: TaskRecord, running: boolean): Promise<KeptInput | null> {
    const keeper = this.#findKeeper(record, 'inputKeeper');
    if (keeper === null) return null;
    if (!running) {
      await keeper.stop();
      return null;
    }
    try {
      return { keeper, fifo: InputFifo.adopt(record.stdio.stdin, keeper.takeStdin()) };
    } catch (err) {
      this.#ctx.logger.error({ err, id: record.id }, 'cannot take the task\'s stdin back from its input keeper: its stdin ends');
      await keeper.stop();
      return null;
    }
  }

  /**
   * The task's {@link OutputKeeper} (one a taskio of terminal-only keepers recorded too; or its input
   * keeper) while it still runs, else null. A keeper of an adopted task is the child of the exit
   * recorder above the daemon that started it: the record of its exit is removed once it is stopped.
   */
  #findKeeper(record: TaskRecord, which: 'outputKeeper' | 'inputKeeper' = 'outputKeeper'): OutputKeeper | null {
    const kept = which === 'inputKeeper' ? record.inputKeeper : record.outputKeeper ?? record.consoleKeeper;
    if (kept === undefined) return null;
    try {
      return OutputKeeper.find(kept, () => this.#exitRecords.discard(kept, record.exitRecorder, { id: record.id, keeper: kept.pid }));
    } catch (err) {
      this.#ctx.logger.error({ err, id: record.id, keeper: kept.pid }, 'cannot look for the task\'s keeper');
      return null;
    }
  }

  /**
   * The task's keeper, with a terminal's console taken back from it: the copies over the master go
   * on (a running task), or read the rest of it (one that exited). When the master cannot be taken —
   * a daemon without ptrace rights over the keeper gets EPERM from `pidfd_getfd` —, that is logged;
   * a running task's keeper is then stopped (null), so its terminal hangs up as without one rather
   * than block the task for good unread, and gone when this settles (nothing holds it afterwards).
   */
  async #adoptConsole(record: TaskRecord, keeper: OutputKeeper, running: boolean): Promise<KeptOutput | null> {
    if (!record.terminal || !keeper.holdsMaster) return { keeper, console: null };
    try {
      const console = await Plumbing.adopt({ terminal: true, stdin: record.stdio.stdin, stdout: record.stdio.stdout, stderr: '' }, keeper.takeMaster(), { id: record.id, namespace: taskNamespace });
      return { keeper, console };
    } catch (err) {
      this.#ctx.logger.error({ err, id: record.id }, 'cannot take the task\'s terminal back from its output keeper');
      if (!running) return { keeper, console: null };
      await keeper.stop();
      return null;
    }
  }

  /** Daemon shutdown: every task keeps running; log copies stop (what is unread stays in the pipes). */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    for (const timer of this.#due.values()) clearTimeout(timer); // the next daemon restarts them as it adopts them
    this.#due.clear();
    this.#watch.close();
    const waitsEnded = this.#sandboxExits.close();
    await Promise.all([...this.#tasks.values()].map((t) => t.release().catch(() => undefined)));
    await waitsEnded;
  }
}

/** The processes of a task's run whose exit records its daemon reads: its own, its keepers'. */
function claimedProcesses(record: TaskRecord): ProcessIdentity[] {
  return [taskProcess(record), record.outputKeeper ?? record.consoleKeeper, record.inputKeeper].filter((p) => p !== undefined && p !== null);
}

/** A record that parsed but cannot be used: why, and what it held. */
class DeadRecord extends Error {
  constructor(message: string, readonly raw: unknown) {
    super(message);
  }
}

/**
 * The capabilities of a runsc or runc task, as docker gives them: its default set (a bundle: the
 * bundle's own bounding set) with `capDrop` and `capAdd` applied, or with `privileged` every one
 * the daemon holds (docker then ignores `capAdd` and `capDrop`: moby's `TweakCapabilities`); held
 * (effective, permitted) by a root process only — runsc would otherwise hand them to any user,
 * where runc's exec drops them. Undefined: a bundle's own, untouched.
 */
function taskCapabilities(req: CheckedCreate, runtime: RuntimeName, base: OciSpec, user: TaskUser | undefined): Record<string, string[]> | undefined {
  const uid = user?.uid ?? base.process.user?.uid ?? 0;
  const changed = Boolean(req.capAdd?.length || req.capDrop?.length || req.privileged);
  if (req.bundle !== undefined && !changed && uid === 0) return undefined;
  let own = ownCapabilities();
  if (runtime === 'runsc') {
    const unknown = req.privileged ? undefined : req.capAdd?.find((c) => unknownToRunsc.includes(c));
    if (unknown) throw new TaskioError('ERR_NOT_SUPPORTED', `cannot add ${unknown} on runsc: this runsc does not know it (its sandbox would not start)`);
    own = own.filter((c) => !unknownToRunsc.includes(c));
  }
  if (req.privileged) return processCapabilities(own, uid === 0);
  const set = req.bundle !== undefined ? base.process.capabilities?.bounding ?? [] : defaultCapabilities;
  return processCapabilities(applyCapabilityChanges(set, req.capAdd ?? [], req.capDrop ?? [], own), uid === 0);
}

/** The signal a task's `stop` sends first: its `--stop-signal`, else TERM (docker's). */
function stopSignalOf(record: TaskRecord): number {
  return signalNumber(record.stopSignal ?? 'SIGTERM');
}

/**
 * Whether the task's exit is known or its process is gone: an adopted task's exit is seen up to a
 * pidfd poll after it (`PidWatch`), and a signal sent meanwhile — a second `stop` or `restart` sent
 * at once — fails in the runtime (`runc kill`: container not running); that stop is done, not failed.
 */
function ended(task: DaemonTask): boolean {
  return task.exit !== null || !isSameLiveProcess(task.record.pid, task.record.pidStartTime);
}

/**
 * The record's URI of a task's default log: its format, then the rotation `logOptions` asked for
 * (keys in order, as `logURIGenerator` writes them). Later runs and daemons read the options there.
 */
function defaultLogURI(logPath: string, format: LogFormat, options: DefaultLogOptions): string {
  const { maxFiles, maxSize } = options;
  const rotation = `${maxFiles !== undefined ? `&maxFiles=${maxFiles}` : ''}${maxSize !== undefined ? `&maxSize=${maxSize}` : ''}`;
  return `file://${logPath}?format=${format}${rotation}`;
}

/** The log writer options of a task's record: its `file://` URI's query (the default log is one too). */
function logOptions(record: TaskRecord): LogWriterOptions {
  const { path: _path, ...opts } = parseLogOptions(new URL(record.log));
  return opts;
}

/**
 * A runtime's failure to start the command, as the error a person can act on: a command that does
 * not exist (`ERR_COMMAND_NOT_FOUND`, docker's 127) or cannot be run (`ERR_COMMAND_NOT_EXECUTABLE`, 126),
 * a working directory that is missing or not a directory (`ERR_INVALID_CWD`, 125: an `exec -w`, or
 * runc's task whose working directory `cwd` has a file on its way).
 */
export function classifyStartError(err: unknown, command: string | undefined, cwd?: string): unknown {
  if (!(err instanceof Error)) return err;
  const code = (err as { code?: string }).code;
  const msg = err.message;
  const cmd = command ?? 'the command';
  // host: spawn's own codes; runc: `exec: "x": executable file not found`, `exec: "/x": stat /x: no
  // such file`; runsc: `error finding executable "x"`, `failed to load /x: no such file`.
  if (code === 'ENOENT' || /executable file not found|error finding executable|exec: "[^"]*": stat [^\n]*no such file|failed to load [^:]*: no such file/i.test(msg)) {
    return new TaskioError('ERR_COMMAND_NOT_FOUND', `${cmd}: command not found (${msg})`, { cause: err });
  }
  if (code === 'EACCES' || /exec: "[^"]*": permission denied|failed to load [^:]*: permission denied/i.test(msg)) {
    return new TaskioError('ERR_COMMAND_NOT_EXECUTABLE', `${cmd}: permission denied (${msg})`, { cause: err });
  }
  // runc: `chdir to cwd ("/x") set in config.json failed: not a directory`; runsc: `failed to find
  // initial working directory "/x/": no such file or directory` (its exec's cwd ends in a slash).
  const bad = /chdir to cwd \("([^"]*)"\) set in config\.json failed: ([^(\n]+)|failed to find initial working directory "([^"]*)": ([^(\n]+)/.exec(msg);
  if (bad) {
    const dir = path.posix.normalize(bad[1] ?? bad[3]!).replace(/(.)\/$/, '$1');
    return new TaskioError('ERR_INVALID_CWD', `working directory ${dir}: ${(bad[2] ?? bad[4]!).trim()} (${msg})`, { cause: err });
  }
  // runc makes a task's missing working directory in its init, inside the root: `error during
  // container init: mkdir /etc/passwd: not a directory` for a -w /etc/passwd/x. Only when what it
  // failed to make is that directory or one on its way (a mount's mkdir is worded otherwise).
  const mkdir = /error during container init: mkdir ([^:\n]+): not a directory/.exec(msg);
  if (mkdir && cwd !== undefined && (cwd === mkdir[1] || cwd.startsWith(`${mkdir[1]}/`))) {
    return new TaskioError('ERR_INVALID_CWD', `working directory ${cwd}: ${mkdir[1]} is not a directory (${msg})`, { cause: err });
  }
  return err;
}

/**
 * Whether a task runs under an attached `run` ({@link Init.runAttached}) instead of `run --detach`:
 * runsc and runc tasks that go at their exit (`--rm`), without a terminal (the runtime would make
 * its own) and without a memory limit (the runtime removes the cgroup at the exit, before the
 * daemon could read its OOM count), nor a runsc one with a pids limit: runsc runs in that cgroup
 * too, and below a handful of pids its own Go runtime dies before the sandbox exists — attached,
 * its exit 2 and stack dump were taken for the task's. The runtime then removes the container
 * itself as the init exits, so `taskio run --rm` waits for no second runtime call (runc delete
 * ~9 ms, runsc delete ~25 ms here); the price is a runtime process for the task's life.
 */
function attachedRun(runtime: string, record: TaskRecord): boolean {
  if (runtime === 'runsc' && record.limits?.pids !== undefined) return false;
  return runtime !== 'host' && record.autoRemove === true && !record.terminal && record.limits?.memory === undefined;
}

/**
 * The OOM counter of a new task, taken before it runs: its job's cgroup (host) or its spec's
 * absolute `linux.cgroupsPath` (runsc, runc). Undefined otherwise (a bundle's relative path): the
 * task's pid finds it once it runs.
 */
function oomCounter(record: TaskRecord, spec: OciSpec): OomCounter | undefined {
  const cgroupsPath = (spec.linux as { cgroupsPath?: unknown } | undefined)?.cgroupsPath;
  const path = record.runtime === 'host' ? (record.job === null ? null : jobCgroupPath(record.job))
    : typeof cgroupsPath === 'string' && cgroupsPath.startsWith('/') ? cgroupsPath : null;
  return path === null ? undefined : OomCounter.at(path) ?? undefined;
}
