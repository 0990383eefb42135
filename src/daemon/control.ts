import { TaskioError } from '../errors.js';
import { groupStats, type HostRuntime } from '../runtime/host/index.js';
import { signalEach } from '../runtime/host/sessions.js';
import type { JobRuntime } from '../runtime/container/index.js';
import { Freezer } from '../runtime/container/freezer.js';
import { jobStats } from '../runtime/container/jobStats.js';
import { JobObject } from '../runtime/jobobject/index.js';
import { Runsc, type Stats } from '../runtime/oci/index.js';
import { processState } from '../runtime/reaper/index.js';
import { AdoptedExecs } from './adoptedExecs.js';
import { sizeBeforeStart } from './consoleSize.js';
import { adoptedHostRuntime, drainTimeoutOf, goneFromRuntime, runscFor } from './runtimes.js';
import type { ExecConfig, Init, Process, WinSize } from '../runtime/proc/index.js';
import { outputPaths } from './keepAlive.js';
import type { OutputKeeper } from './outputKeeper.js';
import type { InputFifo } from '../runtime/stdio/inputFifo.js';
import { exitFromStatus, unknownExit } from './exitStatus.js';
import type { PidWatch } from './pidWatch.js';
import type { SandboxExits } from './sandboxExits.js';
import type { ExitRecords } from './exitRecords.js';
import { describeProcess, groupMembers, signalTask, type ProcessInfo } from './procStat.js';
import type { ExitRecord, TaskRecord } from './records.js';

/**
 * What a daemon task is driven through: an {@link Init} for a task this daemon started, or the
 * runtime's command line and a pidfd for one it adopted after a restart ({@link AdoptedControl}).
 */
export interface TaskControl {
  /** True while the task's stdin can still be written (it is fed by a pipe of the daemon that started it). */
  readonly stdinOpen: boolean;
  /** Resolves with the exit once it is known. */
  readonly exited: Promise<ExitRecord>;
  kill(signal: number, all: boolean): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stats(): Promise<Stats>;
  processes(): Promise<ProcessInfo[]>;
  /**
   * Signals one process of a runsc task by its sandbox pid (`kill --pid`, as {@link processes}
   * lists it); those of runc and host tasks have host pids of their own.
   * @throws TaskioError `ERR_NOT_SUPPORTED` for a runc or host task.
   */
  signalProcess(pid: number, signal: number): Promise<void>;
  resize(ws: WinSize): Promise<void>;
  closeStdin(): Promise<void>;
  /** After the exit: removes what the runtime keeps for the task (runtime state, job). */
  delete(): Promise<void>;
  /** Told once the exit is written to the task's exit file (an adopted task's record of it then goes). */
  exitWritten?(): void;
  /** Starts another process in the task (its stdio: FIFO paths its client made). */
  exec(dir: string, config: ExecConfig): Promise<Process>;
}

/**
 * How long the output a keeper kept for a task that exited while no daemon ran is waited for: the
 * console's rest and the FIFOs' contents are read within milliseconds; a FIFO-mode task's output
 * waits for a client that may never come (the daemon's own fds then hold it).
 */
const keptOutputMs = 2000;

/** How long a delete waits for the processes of a killed job to go before it fails. */
const jobEmptyTimeoutMs = 5000;

/** The processes of a task: the runtime's list (runc: host pids; runsc: sandbox pids), or the host task's group/job. */
async function listProcesses(record: TaskRecord, runsc: Runsc | null, jobPids: (() => Promise<number[]>) | null): Promise<ProcessInfo[]> {
  // runsc's pids are the sandbox's own: there is no host process to describe, runsc's table has them.
  if (runsc && record.runtime === 'runsc') return runsc.processTable(record.id);
  if (runsc) return (await runsc.ps(record.id)).map(describeProcess);
  const pids = jobPids ? await jobPids() : groupMembers(record.pid);
  return pids.map(describeProcess);
}

/** `kill --pid` of a runsc task's sandbox pid; refused for runc (by the runtime) and host tasks. */
function signalSandboxPid(record: TaskRecord, runsc: Runsc | null, pid: number, signal: number): Promise<void> {
  if (runsc === null) return Promise.reject(new TaskioError('ERR_NOT_SUPPORTED', `task ${record.id} runs on the host: its processes have host pids, signalled by them`));
  return runsc.kill(record.id, signal, { pid });
}

/** A task this daemon started: everything goes through its {@link Init}. */
export class InitControl implements TaskControl {
  readonly exited: Promise<ExitRecord>;

  readonly #init: Init;
  readonly #record: TaskRecord;
  readonly #jobRuntime: JobRuntime | null;
  readonly #keeper: OutputKeeper | null;
  readonly #input: OutputKeeper | null;

  /**
   * @param keeper - the task's output keeper: stopped once the output is delivered after the exit.
   * @param input - the task's input keeper: stopped at the exit, or as the task's stdin is closed.
   */
  constructor(init: Init, record: TaskRecord, jobRuntime: JobRuntime | null, keeper: OutputKeeper | null = null, input: OutputKeeper | null = null) {
    this.#init = init;
    this.#record = record;
    this.#jobRuntime = jobRuntime;
    this.#keeper = keeper;
    this.#input = input;
    this.exited = init.wait().then(() => exitFromStatus(init.exitStatus(), init.exitedAt()));
    // In the background: it holds the output FIFOs, whose reader sees EOF only once it is gone.
    if (keeper) void this.exited.then(() => init.outputFinished(drainTimeoutOf(record))).then(() => keeper.stop());
    if (input) void this.exited.then(() => input.stop());
  }

  get stdinOpen(): boolean {
    return this.#record.stdio.stdin !== '';
  }

  kill(signal: number, all: boolean): Promise<void> {
    return this.#init.kill(signal, all);
  }

  pause(): Promise<void> {
    return this.#init.pause();
  }

  resume(): Promise<void> {
    return this.#init.resume();
  }

  stats(): Promise<Stats> {
    return this.#init.stats();
  }

  processes(): Promise<ProcessInfo[]> {
    const rt = this.#init.runtime();
    return listProcesses(this.#record, rt instanceof Runsc ? rt : null, this.#jobRuntime ? () => this.#jobRuntime!.pids(this.#record.id) : null);
  }

  signalProcess(pid: number, signal: number): Promise<void> {
    const rt = this.#init.runtime();
    return signalSandboxPid(this.#record, rt instanceof Runsc ? rt : null, pid, signal);
  }

  resize(ws: WinSize): Promise<void> {
    return this.#init.resize(ws);
  }

  /** The Init's `CloseIO`; the input keeper goes (its end of the pipe would hold EOF back for good). */
  async closeStdin(): Promise<void> {
    await this.#init.closeStdin();
    await this.#input?.stop();
  }

  /** The Init's delete: what is left killed, output drained (bounded), runtime delete, job removed; the keepers gone. */
  async delete(): Promise<void> {
    await this.#init.delete();
    await Promise.all([this.#keeper?.stop(), this.#input?.stop()]);
  }

  async exec(dir: string, config: ExecConfig): Promise<Process> {
    return started(await this.#init.exec(dir, config), config);
  }
}

/**
 * Starts a made exec'd process, its terminal sized first as a task's (see {@link sizeBeforeStart});
 * one whose start failed is deleted (its stdio and pid files released).
 */
async function started(p: Process, config: ExecConfig): Promise<Process> {
  try {
    await sizeBeforeStart(p, config.terminal, config.spec);
    await p.start();
  } catch (err) {
    await p.delete().catch(() => undefined);
    throw err;
  }
  return p;
}

/**
 * A task adopted from an earlier daemon: it is not this daemon's child any more (it was
 * re-parented when that daemon died), so its exit is seen through a pidfd and its status comes
 * from elsewhere — a runsc task's from its sandbox, a runc or host task's from the record of the
 * exit recorder it was re-parented to ({@link ExitRecords}); without either the exit is reported
 * with `exitCode: null` and the reason. Signals, pause and delete go through
 * the runtime's command line (runsc/runc, by id) or to the host task's process group / job.
 * Exec goes through the runtime too (runsc/runc; a host task: a host runtime that takes the task
 * over at its first exec), and an exec'd process, started by this daemon, has its real exit status.
 */
export class AdoptedControl implements TaskControl {
  readonly exited: Promise<ExitRecord>;
  readonly #runsc: Runsc | null;
  /** Its output keeper, and a terminal's console taken back from it (copied as by the daemon that started it). */
  readonly #kept: KeptOutput | null;
  readonly #record: TaskRecord;
  /** runsc/runc: the execs this daemon started in the task. */
  readonly #execs: AdoptedExecs | null;
  /** Its stdin fed again from the FIFO, through the pipe end taken back from its input keeper (null: none). */
  readonly #input: KeptInput | null;
  #job: Promise<JobObject> | null = null;
  /** Where the exit recorder's record of the task's exit is read (null: not looked for). */
  readonly #exitRecords: ExitRecords | null;
  /** A host task, from its first exec on: the host runtime that took it over, and its execs. */
  #host: Promise<{ runtime: HostRuntime; execs: AdoptedExecs }> | null = null;

  /**
   * @param watch - watches the task's pid; null for a task known to have exited already.
   * @param kept - the task's output keeper found again (with the console taken back from it), or null.
   * @param unwatch - aborted: the watch of the pid ends (its pidfd closed), and so does {@link exited}'s wait.
   * @param sandboxExits - where a running runsc task's exit status is asked for (absent: its exit is told without one).
   * @param input - a running task's input keeper found again, with the stdin FIFO feeding the pipe end taken back from it; released at the exit.
   * @param exitRecords - where a runc or host task's exit status is looked for, as the exit recorder recorded it (absent: its exit is told without one).
   */
  constructor(record: TaskRecord, runtimeLog: string, watch: PidWatch | null, kept: KeptOutput | null = null, unwatch?: AbortSignal, sandboxExits?: SandboxExits, input: KeptInput | null = null, exitRecords?: ExitRecords) {
    this.#record = record;
    this.#exitRecords = exitRecords ?? null;
    this.#kept = kept;
    this.#input = input;
    this.#runsc = record.runtime === 'host' ? null : runscFor(record, runtimeLog);
    this.#execs = this.#runsc && new AdoptedExecs(record.id, this.#runsc, drainTimeoutOf(record));
    // Asked before the watch begins: the sandbox tells only a wait that was there as the task exited.
    const status = watch !== null && record.runtime === 'runsc' && this.#runsc && sandboxExits ? sandboxExits.wait(this.#runsc, record.id, unwatch) : null;
    this.exited = watch === null
      ? new Promise(() => undefined)
      : watch.watch(record.pid, unwatch).then(async () => {
        const at = new Date();
        await this.#releaseInput();
        // runsc: the sandbox's answer. runc, host: the exit went to the recorder above the daemon that
        // started the task, which records it (a runsc sandbox's record is only removed there).
        const recorded = this.#exitRecords?.taskExit(record) ?? null;
        const code = status === null ? null : await status();
        const exit = await recorded;
        // Its last output read to the end of the console before the exit is told (the log is then
        // complete); the keeper goes once the FIFOs are read too, in the background.
        await kept?.console?.finishOutputWithin(drainTimeoutOf(record));
        void kept?.keeper.stopWhenDrained(outputPaths(record.stdio), drainTimeoutOf(record));
        if (code !== null) return exitFromStatus(code, at);
        if (exit !== null) return exit;
        return unknownExit(status === null
          ? 'the task exited after a daemon restart: its exit status went to its new parent process, not to this daemon'
          : 'the task exited after a daemon restart, and its sandbox went without telling its exit status', at);
      });
  }

  /** Its exit file is written: the recorder's record of the exit is not needed any more. */
  exitWritten(): void {
    this.#exitRecords?.forgetTaskExit(this.#record);
  }

  /**
   * A terminal task whose console was taken back reads the stdin FIFO again, and so does one whose
   * stdin pipe was taken back from its input keeper; otherwise its stdin pipe ended with the daemon that fed it.
   */
  get stdinOpen(): boolean {
    return ((this.#kept?.console ?? null) !== null || this.#input !== null) && this.#record.stdio.stdin !== '';
  }

  /** The stdin copy stopped and the input keeper gone (the exit, the delete). Idempotent. */
  async #releaseInput(): Promise<void> {
    await this.#input?.keeper.stop();
    await this.#input?.fifo.close();
  }

  #keptOutput: Promise<void> | null = null;

  /**
   * A task that exited while no daemon ran: what its keeper kept is copied out — the console read
   * to its end into the stdout FIFO, the FIFOs read by the log copy (or left to a client's read, in
   * the daemon's own fds) — bounded by {@link keptOutputMs}, then the keeper is stopped and the
   * console closed. Resolves then, never rejects; memoized.
   */
  finishKeptOutput(): Promise<void> {
    this.#keptOutput ??= (async () => {
      const kept = this.#kept;
      if (kept === null) return;
      try {
        await kept.console?.finishOutputWithin(keptOutputMs);
        await kept.console?.close();
      } finally {
        await kept.keeper.stopWhenDrained(outputPaths(this.#record.stdio), keptOutputMs);
      }
    })().catch(() => undefined);
    return this.#keptOutput;
  }

  #jobObject(): Promise<JobObject> | null {
    if (this.#record.job === null) return null;
    this.#job ??= JobObject.open(this.#record.job);
    return this.#job;
  }

  /**
   * With `all`, a host task in a job is signalled as the host runtime that started it did: every
   * process of the job (SIGKILL: `terminate()`), so one that left the task's process group (a
   * `setsid` daemon) is reached too. Otherwise the process group, or its leader.
   */
  async kill(signal: number, all: boolean): Promise<void> {
    if (this.#runsc) return this.#runsc.kill(this.#record.id, signal, { all });
    const job = this.#jobObject();
    if (all && job) {
      const j = await job;
      if (signal === 9) return j.terminate();
      if (signalEach(await j.pids(), signal) === 0) throw new TaskioError('ERR_NOT_FOUND', `task ${this.#record.id}: process not found`);
      return;
    }
    // Without a job, an exec leads a session of its own: the host runtime reaches it with the init's.
    const host = all && !job ? await this.#host?.catch(() => null) : null;
    if (host) return host.runtime.kill(this.#record.id, signal, { all: true });
    try {
      signalTask(this.#record.pid, this.#record.pidStartTime, signal, all);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') throw new TaskioError('ERR_NOT_FOUND', `task ${this.#record.id}: process not found`);
      throw err;
    }
  }

  /**
   * runsc/runc pause through the runtime. A host task in a job is frozen through its cgroup, as the
   * daemon that started it paused it (`JobRuntime`): SIGCONT would not thaw a frozen job, so the
   * task stayed paused for good. Without a job it is stopped (SIGSTOP), as the host runtime does.
   */
  async pause(): Promise<void> {
    if (this.#runsc) return this.#runsc.pause(this.#record.id);
    const freezer = await this.#freezer();
    return freezer ? freezer.freeze() : this.kill(19 /* SIGSTOP */, true);
  }

  async resume(): Promise<void> {
    if (this.#runsc) return this.#runsc.resume(this.#record.id);
    const freezer = await this.#freezer();
    return freezer ? freezer.thaw() : this.kill(18 /* SIGCONT */, true);
  }

  /** Whether the task is paused now, as {@link pause} pauses it (the runtime's word for runsc/runc). */
  async paused(): Promise<boolean> {
    if (this.#runsc) return (await this.#runsc.state(this.#record.id).catch(() => null))?.status === 'paused';
    const freezer = await this.#freezer().catch(() => null);
    if (freezer) return freezer.frozen();
    return processState(this.#record.pid) === 'T';
  }

  async #freezer(): Promise<Freezer | null> {
    const job = this.#jobObject();
    return job ? Freezer.of((await job).cgroupPaths) : null;
  }

  /**
   * The runtime's for runsc/runc. A host task in a job: the job's counters, as the daemon that started
   * it reports them (`JobRuntime`) — every process of the job, one that left the task's process group
   * too, and the CPU time of those that exited. Without a job, its process group's, from /proc.
   */
  async stats(): Promise<Stats> {
    if (this.#runsc) return this.#runsc.stats(this.#record.id);
    const job = this.#jobObject();
    return job ? jobStats(await job) : groupStats([this.#record.pid]);
  }

  processes(): Promise<ProcessInfo[]> {
    const job = this.#jobObject();
    return listProcesses(this.#record, this.#runsc, job ? async () => (await job).pids() : null);
  }

  signalProcess(pid: number, signal: number): Promise<void> {
    return signalSandboxPid(this.#record, this.#runsc, pid, signal);
  }

  async resize(ws: WinSize): Promise<void> {
    const term = this.#kept?.console;
    if (!term) throw new TaskioError('ERR_NOT_SUPPORTED', `task ${this.#record.id} was adopted after a daemon restart without its terminal: it has none, or its output keeper was gone`);
    term.resize(ws);
  }

  /**
   * runsc/runc: `exec` by the task's id, as for a task this daemon started. A host task: the host
   * runtime of the daemon that started it went with that daemon, so a new one takes the task over
   * (its init's pid, its job) and spawns the exec as that one spawned the task's processes.
   */
  async exec(dir: string, config: ExecConfig): Promise<Process> {
    const execs = this.#execs ?? (await this.#hostTakeover()).execs;
    return started(execs.exec(dir, config), config);
  }

  /** The host runtime taking the host task over, made once (again after a failure, e.g. of the job's open). */
  #hostTakeover(): Promise<{ runtime: HostRuntime; execs: AdoptedExecs }> {
    if (this.#host) return this.#host;
    const job = this.#jobObject();
    const host = (async () => {
      const runtime = adoptedHostRuntime(this.#record, job ? await job : null);
      return { runtime, execs: new AdoptedExecs(this.#record.id, runtime, drainTimeoutOf(this.#record)) };
    })();
    this.#host = host;
    host.catch(() => { if (this.#host === host) this.#host = null; });
    return host;
  }

  async closeStdin(): Promise<void> {
    // Without a console or an input keeper: its stdin pipe was fed by the daemon that started it, and ended when that daemon died.
    await this.#kept?.console?.io.closeStdin();
    if (this.#input) {
      // As the Init's: the FIFO drains into the pipe, then this daemon's end closes; the keeper's would hold EOF back.
      await this.#input.fifo.closeStdin();
      await this.#input.keeper.stop();
    }
  }

  async delete(): Promise<void> {
    await this.#releaseInput();
    // Read by now, or never to be (its exit file could not be written): nobody needs it any more.
    this.#exitRecords?.forgetTaskExit(this.#record);
    if (this.#kept) {
      await this.#kept.console?.close();
      await this.#kept.keeper.stop();
    }
    if (this.#runsc) {
      await this.#runsc.delete(this.#record.id, { force: true }).catch((err: unknown) => {
        // Already gone from the runtime (it cleaned up after the exit): nothing to delete.
        if (!goneFromRuntime(err)) throw err;
      });
      await this.#execs?.release(); // as an Init's delete releases its execs
      return;
    }
    const host = await this.#host?.catch(() => null);
    if (host) {
      // Every process of the task, the execs' sessions too (a job's are killed below as well).
      await host.runtime.delete(this.#record.id, { force: true });
      this.#host = null;
      await host.execs.release();
    }
    try {
      signalTask(this.#record.pid, this.#record.pidStartTime, 'SIGKILL', true);
    } catch {
      // the group is gone (or its id is someone else's now; or the create was cut before it had a pid)
    }
    // The job holds what the group may miss: a task that left its group, or all of one whose
    // create was cut (its record has no pid, but its process may have been spawned in the job).
    const job = this.#jobObject();
    const j = job && (await job.catch(() => null)); // none: the create was cut before the job was made
    if (!j) return;
    try {
      await j.terminate();
      // A job opened (not made) here is removed by its close only once empty, and the killed
      // processes leave it a moment after the kill. One that keeps them (a process frozen by a v1
      // freezer outside the job dies only once thawed) fails the delete: the job is not left behind
      // unseen, and a later delete tries again.
      await j.waitEmpty(jobEmptyTimeoutMs);
    } finally {
      this.#job = null; // the next call opens it again
      await j.close();
    }
  }
}

/**
 * What an adopted task's console is driven through: the proc layer's plumbing over the master taken
 * back (named by what is used, since that class is internal to the package).
 */
export interface AdoptedPlumbing {
  readonly io: { closeStdin(): Promise<void> };
  resize(ws: WinSize): void;
  finishOutputWithin(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** An adopted task's output keeper, and a terminal's console: the master taken back from it, and the copies over it (null: none). */
export interface KeptOutput {
  keeper: OutputKeeper;
  console: AdoptedPlumbing | null;
}

/** An adopted task's input keeper, and the stdin FIFO copied into the pipe end taken back from it. */
export interface KeptInput {
  keeper: OutputKeeper;
  fifo: InputFifo;
}
