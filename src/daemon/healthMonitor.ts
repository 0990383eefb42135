import crypto from 'node:crypto';
import type net from 'node:net';
import { openFifo } from '../fifo/index.js';
import type { LogSink } from '../log.js';
import { maxTimerMs } from '../maxTimerMs.js';
import type { ProcessSpec } from '../runtime/oci/index.js';
import type { ExecConfig, Process } from '../runtime/proc/index.js';
import { killCheck, type SandboxSignals } from './checkKill.js';
import { checkOutputPath, checkRecordPath, removeCheckFiles, writeCheckRecord } from './checkLeftovers.js';
import { goDurationString } from './goDuration.js';
import { healthCommand, healthTiming, type HealthConfig, type HealthTiming } from './healthcheck.js';
import { HealthState, type HealthResult, type HealthStatus, type HealthView } from './healthState.js';

/** What a {@link HealthMonitor} needs of its task (a runsc one's processes and `kill --pid`, to kill a check's tree). */
export interface ProbeHost extends SandboxSignals {
  /** The task's directory: the check's output FIFO and process record are made there, and removed after the check. */
  readonly dir: string;
  /** The process spec the check's command runs with (the task's user, environment, working directory). */
  spec(): ProcessSpec;
  /** Whether the task is paused now: no check runs then. */
  paused(): boolean;
  /** Starts the check's process in the task, through the task's exec path. */
  exec(config: ExecConfig): Promise<Process>;
  /** The status changed (docker's `health_status: …` event). */
  changed(status: HealthStatus): void;
  /** Where a check's file that cannot be removed is told, with the task's id. */
  readonly logger: LogSink;
}

/** How much of a check's output docker keeps (moby's `maxOutputLen`). */
const maxOutputBytes = 4096;

/** How long after a check's process went its output may take to reach its end (a child of it may hold the pipe). */
const outputGraceMs = 1000;

/** docker's `limitedBuffer`: the first {@link maxOutputBytes} of a check's stdout and stderr, `...` after them when it wrote more. */
class CheckOutput {
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #cut = false;

  add(chunk: Buffer): void {
    const keep = Math.min(maxOutputBytes - this.#size, chunk.length);
    if (keep > 0) {
      this.#chunks.push(chunk.subarray(0, keep));
      this.#size += keep;
    }
    if (keep < chunk.length) this.#cut = true;
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8') + (this.#cut ? '...' : '');
  }
}

/** Settles with true when `p` settles within `ms`, false once `ms` passed or `stop` aborted first. */
function within(p: Promise<unknown>, ms: number, stop: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), ms);
    const onStop = (): void => done(false);
    function done(v: boolean): void {
      clearTimeout(timer);
      stop.removeEventListener('abort', onStop);
      resolve(v);
    }
    stop.addEventListener('abort', onStop, { once: true });
    if (stop.aborted) done(false);
    void p.then(() => done(true), () => done(true));
  });
}

/**
 * The health checks of one run of a task, as docker's health monitor runs them: one check at a time,
 * the next one `interval` after the end of the last (`startInterval` while `starting` within the
 * start period), none while the task is paused, each killed once it ran `timeout` (docker's
 * "Health check exceeded timeout"). A check runs through the task's exec path with its stdout and
 * stderr in one FIFO that the daemon reads. {@link stop} (the task exited, the daemon stops) ends
 * the checks and kills one under way.
 */
export class HealthMonitor {
  readonly #state: HealthState;
  readonly #timing: HealthTiming;
  readonly #command: string[];
  readonly #host: ProbeHost;
  readonly #stop = new AbortController();
  #timer: NodeJS.Timeout | null = null;
  #checking: Promise<void> = Promise.resolve();

  /**
   * @param startedAt - when the run started (ms since the epoch): the start period counts from it.
   * @param running - false for a run that is over (the monitor only shows its status: `unhealthy`).
   */
  constructor(config: HealthConfig, startedAt: number, host: ProbeHost, running: boolean) {
    this.#timing = healthTiming(config);
    this.#state = new HealthState(this.#timing.retries, this.#timing.startPeriodMs, startedAt);
    this.#command = healthCommand(config);
    this.#host = host;
    if (running) this.#schedule();
    else void this.stop();
  }

  view(): HealthView {
    return this.#state.view();
  }

  /** Ends the checks: none starts any more, one under way is killed; the status becomes `unhealthy` (docker's). Idempotent. */
  async stop(): Promise<void> {
    if (!this.#stop.signal.aborted) {
      this.#stop.abort();
      if (this.#timer) clearTimeout(this.#timer);
      this.#state.stopped();
    }
    await this.#checking;
  }

  /** docker's `getInterval`: the start interval while starting within the start period, else the interval. */
  #schedule(): void {
    if (this.#stop.signal.aborted) return;
    const starting = this.#state.status === 'starting' && !this.#state.startPeriodOver(Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#checking = this.#check();
    }, starting ? this.#timing.startIntervalMs : this.#timing.intervalMs);
  }

  async #check(): Promise<void> {
    if (!this.#host.paused()) {
      const result = await this.#probe();
      if (result !== null && !this.#stop.signal.aborted) {
        const changed = this.#state.record(result);
        if (changed !== null) this.#host.changed(changed);
      }
    }
    this.#schedule();
  }

  /** Runs one check; null when it was cut by a pause or a stop (it counts for nothing then). */
  async #probe(): Promise<HealthResult | null> {
    const start = new Date();
    const id = `health-${crypto.randomBytes(6).toString('hex')}`;
    const fifo = checkOutputPath(this.#host.dir, id);
    const record = checkRecordPath(this.#host.dir, id);
    const output = new CheckOutput();
    const stop = this.#stop.signal;
    let reader: net.Socket | null = null;
    let proc: Process | null = null;
    const result = (exitCode: number, text: string): HealthResult => ({ start: start.toISOString(), end: new Date().toISOString(), exitCode, output: text });
    try {
      const r = await openFifo(fifo, 'r', { create: true });
      reader = r;
      const ended = new Promise<void>((resolve) => {
        r.on('data', (b: Buffer) => output.add(b));
        r.once('end', resolve).once('error', () => resolve());
      });
      proc = await this.#host.exec({ id, terminal: false, stdin: '', stdout: fifo, stderr: fifo, spec: { ...this.#host.spec(), args: this.#command, terminal: false } });
      const p = proc;
      writeCheckRecord(record, p);
      const inTime = await within(p.wait(), this.#timing.timeoutMs, stop);
      if (!inTime) {
        await killCheck(p, this.#host);
        // Until it is gone (docker waits too, so that checks never pile up); after a stop, the task's delete releases it.
        if (!stop.aborted) await within(p.wait(), maxTimerMs, stop);
      }
      if (stop.aborted) return null;
      await p.delete();
      proc = null;
      await within(ended, outputGraceMs, stop);
      if (inTime) return result(p.exitStatus(), output.text());
      const out = output.text();
      const limit = `Health check exceeded timeout (${goDurationString(Math.round(this.#timing.timeoutMs * 1e6))})`;
      return result(-1, out === '' ? limit : `${limit}: ${out}`);
    } catch (err) {
      // A pause (exec refused in a paused task) or a stop meanwhile: no result, as for a check not run.
      if (stop.aborted || this.#host.paused()) return null;
      return result(-1, (err as Error).message);
    } finally {
      reader?.destroy();
      if (proc !== null) await (proc.running() ? proc.release() : proc.delete()).catch(() => undefined);
      removeCheckFiles(this.#host.dir, id, this.#host.logger);
    }
  }
}
