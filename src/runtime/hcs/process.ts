import type { Readable, Writable } from 'node:stream';
import { TaskioError } from '../../errors.js';
import { callHcs, type CallOutcome } from './call.js';
import { stringifyDocument } from './document.js';
import {
  ErrAlreadyClosed, ErrComputeSystemDoesNotExist, ErrElementNotFound, ErrInvalidProcessState, ErrProcessAlreadyStopped,
  ErrUnexpectedValue, ErrVmcomputeOperationInvalidState, isAccessIsDenied, isAlreadyStopped, isHcsError, makeProcessError,
  type ErrorEvent,
} from './errors.js';
import { NotificationType, notificationName, processNotifications, type Notification } from './notification.js';
import type { ResolvedOptions } from './options.js';
import { CloseProcessHandle, ModifyProcessConsoleSize, STDInHandle, type ProcessModifyRequest, type ProcessStatus } from './schema.js';
import type { System } from './system.js';
import type { CallbackHandle, ProcessHandle, ProcessInformation, Transport } from './transport.js';
import { NotificationWatcher } from './watcher.js';

/** The stdio of an HCS process; a stream is `null` when it was not requested or was closed. */
export interface ProcessStdio {
  /** Write side of the process's stdin. */
  stdin: Writable | null;
  /** Read side of its stdout. */
  stdout: Readable | null;
  /** Read side of its stderr (null with a terminal). */
  stderr: Readable | null;
}

/** Parses a process status document; `undefined` when it is not one. */
function parseStatus(doc: string | undefined): ProcessStatus | undefined {
  if (!doc) return undefined;
  try {
    const v: unknown = JSON.parse(doc);
    return typeof v === 'object' && v !== null ? (v as ProcessStatus) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A process inside a compute system — hcsshim's `hcs.Process`. Created by `System.createProcess` or
 * `System.openProcess`; its exit is followed from then on through the `ProcessExited` notification.
 *
 * A lost exit notification: when a signal or kill is answered with "invalid state", "system does not
 * exist" or "element not found", HCS says the process is gone. If no `ProcessExited` follows within
 * `lostExitDelayMs` (hcsshim: 1 s, then it force-unblocks waiters with exit code -1), this asks HCS for
 * the process status instead: a reported exit code resolves `wait()` normally; otherwise `wait()`
 * rejects with the error that revealed the process was gone.
 */
export class Process {
  readonly #handle: ProcessHandle;
  readonly #pid: number;
  readonly #system: System;
  readonly #transport: Transport;
  readonly #opts: ResolvedOptions;
  readonly #watcher: NotificationWatcher;
  #callback: CallbackHandle | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #stdin: Writable | null = null;
  #stdout: Readable | null = null;
  #stderr: Readable | null = null;
  #killSignalDelivered = false;
  #stopped = false;
  #exitCode = -1;
  #waitError: Error | null = null;
  #settleDone!: () => void;
  readonly #done: Promise<void>;
  #lostExitTimer: unknown;
  /** `#waitBackground()`, which `close()` lets finish once the exit notification is in. */
  #background: Promise<void> | undefined;
  /** A lost-exit status query under way, which `close()` also lets finish. */
  #recovery: Promise<void> | undefined;

  /**
   * Made by `System.createProcess` or `System.openProcess` (through `fromHandle`). Private, so the
   * published declarations refuse `new Process()`: a constructor marked internal would vanish from them
   * and leave TypeScript's implicit public one.
   */
  private constructor(handle: ProcessHandle, pid: number, system: System, info?: ProcessInformation) {
    this.#handle = handle;
    this.#pid = pid;
    this.#system = system;
    this.#transport = system.transport;
    this.#opts = system.resolvedOptions;
    this.#watcher = new NotificationWatcher(processNotifications, NotificationType.ProcessExited, this.#opts.clock);
    this.#done = new Promise((resolve) => { this.#settleDone = resolve; });
    if (info) {
      this.#stdin = info.stdin;
      this.#stdout = info.stdout;
      this.#stderr = info.stderr;
    }
  }

  /** @internal the process of `system` behind an HCS process handle. */
  static fromHandle(handle: ProcessHandle, pid: number, system: System, info?: ProcessInformation): Process {
    return new Process(handle, pid, system, info);
  }

  /** @internal registers the notification callback and starts following the exit. */
  async watch(): Promise<void> {
    const r = await callHcs(() => this.#transport.registerProcessCallback(this.#handle, (n) => this.#onNotification(n)));
    if (r.err) throw r.err;
    this.#callback = r.value;
    this.#background = this.#waitBackground();
  }

  /** The process id inside the compute system. */
  pid(): number {
    return this.#pid;
  }

  /** The id of the compute system it runs in. */
  systemId(): string {
    return this.#system.id();
  }

  /** Its stdio streams. Closing them does not close the process; `close()` closes them all. */
  stdio(): ProcessStdio {
    return { stdin: this.#stdin, stdout: this.#stdout, stderr: this.#stderr };
  }

  /**
   * Fetches the stdio again from HCS (for a process from `openProcess`, which has none cached) and
   * hands ownership of the new streams to the caller.
   */
  async refreshStdio(): Promise<ProcessStdio> {
    const op = 'hcs::Process::StdioLegacy';
    this.#live(op);
    const r = await callHcs(() => this.#transport.getProcessInfo(this.#handle));
    if (r.err || !r.value) throw this.#error(op, r.err ?? ErrUnexpectedValue, r.events);
    return { stdin: r.value.stdin, stdout: r.value.stdout, stderr: r.value.stderr };
  }

  /**
   * Sends EOF to the process: asks HCS to close its stdin (skipped once it exited, where HCS would
   * refuse) and ends the local stream.
   */
  async closeStdin(): Promise<void> {
    const op = 'hcs::Process::CloseStdin';
    this.#live(op);
    if (!this.#stopped) {
      const req: ProcessModifyRequest = { Operation: CloseProcessHandle, CloseHandle: { Handle: STDInHandle } };
      const r = await callHcs(() => this.#transport.modifyProcess(this.#handle, JSON.stringify(req)));
      if (r.err) throw this.#error(op, r.err, r.events);
    }
    this.#stdin?.end();
    this.#stdin = null;
  }

  /** Closes the local stdout stream. */
  closeStdout(): void {
    this.#stdout?.destroy();
    this.#stdout = null;
  }

  /** Closes the local stderr stream. */
  closeStderr(): void {
    this.#stderr?.destroy();
    this.#stderr = null;
  }

  /**
   * Resizes the process's console (width × height in character cells, each an integer in 0..65535,
   * HCS's `uint16`; another value is a `ProcessError` of code `ERR_OUT_OF_RANGE`).
   */
  async resizeConsole(width: number, height: number): Promise<void> {
    const op = 'hcs::Process::ResizeConsole';
    this.#live(op);
    for (const [name, v] of [['width', width], ['height', height]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
        throw this.#error(op, new TaskioError('ERR_OUT_OF_RANGE', `console ${name} of \`${String(v)}\` is invalid: must be an integer in 0..65535`));
      }
    }
    const req: ProcessModifyRequest = { Operation: ModifyProcessConsoleSize, ConsoleSize: { Height: height, Width: width } };
    const r = await callHcs(() => this.#transport.modifyProcess(this.#handle, JSON.stringify(req)));
    if (r.err) throw this.#error(op, r.err, r.events);
  }

  /**
   * Sends a signal (`{ Signal: 15 }` for a Linux guest, `{ Signal: 'CtrlC' }` for Windows). Resolves
   * true when delivered, false when HCS says the process is already gone (no error: that is an exit).
   * Options JSON cannot carry are a `ProcessError` of code `ERR_INVALID_ARG_VALUE`.
   */
  async signal(options: unknown): Promise<boolean> {
    const op = 'hcs::Process::Signal';
    this.#live(op);
    let doc: string;
    try {
      doc = stringifyDocument(options, 'signal options');
    } catch (e) {
      throw this.#error(op, e);
    }
    const r = await callHcs(() => this.#transport.signalProcess(this.#handle, doc));
    return this.#signalResult(op, r);
  }

  /**
   * Terminates the process without waiting for it. Like hcsshim it goes through a second, fresh
   * system handle (HCS serialises signals per handle, so a kill must not queue behind them); if that
   * handle cannot be opened it terminates and closes the whole compute system so nothing is left behind.
   * A second kill is a no-op that resolves true.
   */
  async kill(): Promise<boolean> {
    const op = 'hcs::Process::Kill';
    this.#live(op);
    if (this.#stopped) throw this.#error(op, ErrProcessAlreadyStopped);
    if (this.#killSignalDelivered) return true;
    const t = this.#transport;
    const s = await callHcs(() => t.openComputeSystem(this.systemId()));
    if (s.err || s.value === undefined) {
      this.#opts.logger.error({ systemId: this.systemId(), err: s.err }, 'opening a second system handle for kill failed; terminating the system');
      await this.#system.terminate();
      await this.#system.close().catch(() => undefined);
      return true;
    }
    const sys = s.value;
    try {
      const p = await callHcs(() => t.openProcess(sys, this.#pid));
      if (p.err || p.value === undefined) {
        if (isAlreadyStopped(p.err)) return true;
        throw this.#error(op, p.err ?? ErrUnexpectedValue, p.events);
      }
      const proc = p.value;
      try {
        const r = await callHcs(() => t.terminateProcess(proc));
        // Access denied comes from terminating a process that already exited; "already stopped" from a
        // second terminate in quick succession. Both mean the goal is met.
        if (r.err && (isAccessIsDenied(r.err) || isAlreadyStopped(r.err))) return true;
        const delivered = this.#signalResult(op, r);
        this.#killSignalDelivered = delivered;
        return delivered;
      } finally {
        await t.closeProcess(proc).catch(() => undefined);
      }
    } finally {
      await t.closeComputeSystem(sys).catch(() => undefined);
    }
  }

  /**
   * Resolves when the process exited; rejects when its exit could not be learned (service disconnect,
   * a lost exit that HCS could not confirm, `close()` → `ErrAlreadyClosed`).
   */
  wait(): Promise<void> {
    return this.#done.then(() => {
      if (this.#waitError) throw this.#waitError;
    });
  }

  /** The exit code once exited; throws `ErrInvalidProcessState` before, or the wait error. */
  exitCode(): number {
    if (!this.#stopped) throw this.#error('hcs::Process::ExitCode', ErrInvalidProcessState);
    if (this.#waitError) throw this.#waitError;
    return this.#exitCode;
  }

  /**
   * Releases the handle and the stdio streams without killing the process. `wait()` then fails with
   * `ErrAlreadyClosed` — unless HCS had already reported the exit, which is read to the end first
   * (hcsshim's `Close` waits for the handle lock its `waitBackground` holds while it reads the exit
   * status) — and every later call fails with `ErrAlreadyClosed`. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close().catch((e: unknown) => {
      this.#closing = undefined;
      throw e;
    });
    return this.#closing;
  }

  async #close(): Promise<void> {
    const op = 'hcs::Process::Close';
    this.#closed = true;
    this.#stdin?.destroy();
    this.#stdout?.destroy();
    this.#stderr?.destroy();
    this.#stdin = this.#stdout = this.#stderr = null;
    if (this.#callback !== undefined) {
      const cb = this.#callback;
      const u = await callHcs(() => this.#transport.unregisterProcessCallback(cb));
      if (u.err) {
        this.#closed = false;
        throw this.#error(op, u.err, u.events);
      }
      this.#callback = undefined;
    }
    // No notification comes after the unregister: an exit that came before it is recorded now.
    if (this.#watcher.exited) await this.#background;
    await this.#recovery;
    if (this.#lostExitTimer !== undefined) this.#opts.clock.clearTimeout(this.#lostExitTimer);
    this.#finish(-1, this.#error('hcs::Process::wait', ErrAlreadyClosed));
    this.#watcher.close();
    const c = await callHcs(() => this.#transport.closeProcess(this.#handle));
    if (c.err) throw this.#error(op, c.err, c.events);
  }

  #live(op: string): void {
    if (this.#closed) throw this.#error(op, ErrAlreadyClosed);
  }

  #error(op: string, err: unknown, events: readonly ErrorEvent[] = []): Error {
    return makeProcessError(this.systemId(), this.#pid, op, err, events);
  }

  #onNotification(n: Notification): void {
    const used = this.#watcher.deliver(n);
    this.#opts.logger.debug({ systemId: this.systemId(), pid: this.#pid, notification: notificationName(n.type), status: n.status, used }, 'HCS notification');
  }

  /**
   * hcsshim's `processSignalResult`: success → delivered; "the process is gone" answers → not
   * delivered, no error, and the lost-exit fallback is armed; anything else is an error.
   */
  #signalResult(op: string, r: CallOutcome<unknown>): boolean {
    if (r.err === null) return true;
    if (isHcsError(r.err, ErrVmcomputeOperationInvalidState, ErrComputeSystemDoesNotExist, ErrElementNotFound)) {
      if (!this.#stopped) this.#armLostExit(r.err);
      return false;
    }
    throw this.#error(op, r.err, r.events);
  }

  #armLostExit(cause: Error): void {
    if (this.#lostExitTimer !== undefined) return;
    this.#lostExitTimer = this.#opts.clock.setTimeout(() => { this.#recovery = this.#recoverLostExit(cause); }, this.#opts.lostExitDelayMs);
  }

  async #recoverLostExit(cause: Error): Promise<void> {
    if (this.#stopped || this.#closed) return;
    const op = 'hcs::Process::waitBackground';
    this.#opts.logger.warn({ systemId: this.systemId(), pid: this.#pid, err: cause }, 'no exit notification after the process was reported gone; querying its status');
    const r = await callHcs(() => this.#transport.getProcessProperties(this.#handle));
    const status = r.err ? undefined : parseStatus(r.value);
    if (status?.Exited === true && typeof status.ExitCode === 'number') {
      this.#finish(status.LastWaitResult ? -1 : status.ExitCode, null);
    } else {
      this.#finish(-1, this.#error(op, r.err ?? cause, r.events));
    }
  }

  async #waitBackground(): Promise<void> {
    const op = 'hcs::Process::waitBackground';
    const { err, events } = await this.#watcher.wait(NotificationType.ProcessExited);
    if (err) {
      this.#finish(-1, this.#error(op, err, events));
      return;
    }
    // The exit notification itself carries the status on computecore; ask HCS only when it does not.
    let status = parseStatus(this.#watcher.exitData);
    if (typeof status?.ExitCode !== 'number') {
      const r = await callHcs(() => this.#transport.getProcessProperties(this.#handle));
      if (r.err) {
        this.#finish(-1, this.#error(op, r.err, r.events));
        return;
      }
      status = parseStatus(r.value);
      if (!status) {
        this.#finish(-1, this.#error(op, ErrUnexpectedValue));
        return;
      }
    }
    if (status.LastWaitResult) {
      this.#opts.logger.warn({ systemId: this.systemId(), pid: this.#pid, lastWaitResult: status.LastWaitResult }, 'non-zero last wait result');
      this.#finish(-1, null);
    } else {
      this.#finish(status.ExitCode ?? -1, null);
    }
  }

  /** Records the exit once (the first outcome wins) and releases every `wait()`. */
  #finish(exitCode: number, err: Error | null): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#exitCode = exitCode;
    this.#waitError = err;
    if (this.#lostExitTimer !== undefined) this.#opts.clock.clearTimeout(this.#lostExitTimer);
    this.#settleDone();
  }
}
