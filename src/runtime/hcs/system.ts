import { TaskioError } from '../../errors.js';
import { validatePid } from '../../ids.js';
import { callHcs, completeAsync } from './call.js';
import { defaultTransport } from './default-transport.js';
import { stringifyDocument } from './document.js';
import {
  ErrAlreadyClosed, ErrComputeSystemDoesNotExist, ErrUnexpectedValue, ErrVmcomputeAlreadyStopped,
  ErrVmcomputeOperationPending, ErrVmcomputeUnexpectedExit, HcsError, isHcsError, isTimeout, makeSystemError,
} from './errors.js';
import { NotificationType, notificationName, systemNotifications, type Notification } from './notification.js';
import { resolveOptions, type ResolvedOptions, type SystemOptions } from './options.js';
import { Process } from './process.js';
import type { ComputeSystemQuery, ContainerProperties, PropertiesV2 } from './schema.js';
import type { CallbackHandle, SystemHandle, Transport, TransportResult } from './transport.js';
import { NotificationWatcher } from './watcher.js';

/** Serialises a document for HCS; a string is taken as JSON already. */
function toJSON(doc: unknown, what: string): string {
  return typeof doc === 'string' ? doc : stringifyDocument(doc, what);
}

/**
 * An HCS compute system (a Windows or Linux container, or a utility VM) — hcsshim's `hcs.System`.
 *
 * Operations that HCS runs asynchronously (create, start, pause, resume) answer "pending" and finish
 * with a completion notification; this class waits for it, bounded by the timeouts in the options,
 * and fails with `ErrUnexpectedContainerExit` if the system exits first, `ErrUnexpectedProcessAbort`
 * if the compute service disconnects, `ErrTimeout` on expiry, and `ErrHandleClose` if `close()` runs
 * meanwhile. `wait()` follows the `SystemExited` notification in the background from creation/open on.
 *
 * Difference from hcsshim, on purpose: `close()` does not wait for operations in flight (they fail at
 * once with `ErrHandleClose`). As in hcsshim, `wait()` after `close()` fails with `ErrAlreadyClosed`
 * unless the system had stopped before, whose stop it still reports.
 */
export class System {
  readonly #id: string;
  readonly #transport: Transport;
  readonly #opts: ResolvedOptions;
  readonly #watcher: NotificationWatcher;
  #handle: SystemHandle | undefined;
  #callback: CallbackHandle | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #os = '';
  #typ = '';
  #owner = '';
  #stopped = false;
  #waitError: Error | null = null;
  #exitError: Error | null = null;
  #settleDone!: () => void;
  readonly #done: Promise<void>;
  #startTime: Date | undefined;
  #stopTime: Date | undefined;

  private constructor(id: string, transport: Transport, options?: SystemOptions) {
    this.#id = id;
    this.#transport = transport;
    this.#opts = resolveOptions(options);
    this.#watcher = new NotificationWatcher(systemNotifications, NotificationType.SystemExited, this.#opts.clock);
    this.#done = new Promise((resolve) => { this.#settleDone = resolve; });
  }

  /**
   * Creates a compute system from an HCS configuration document (an object, or a JSON string) but does
   * not start it. Waits for `SystemCreateCompleted` when HCS answers pending; on a timeout the
   * half-created system is terminated; on any failure the handle is closed.
   * @param transport defaults to `defaultTransport()` (computecore on Windows, `ErrPlatformNotSupported` elsewhere).
   */
  static async createComputeSystem(id: string, config: unknown, transport?: Transport, options?: SystemOptions): Promise<System> {
    const op = 'hcs::CreateComputeSystem';
    const t = transport ?? (await defaultTransport());
    const sys = new System(id, t, options);
    let doc: string;
    try {
      doc = toJSON(config, 'configuration');
    } catch (e) {
      throw makeSystemError(id, op, e);
    }
    const r = await callHcs(() => t.createComputeSystem(id, doc));
    if ((r.err === null || r.pending) && r.value !== undefined) {
      sys.#handle = r.value;
      try {
        await sys.#registerCallback();
      } catch (e) {
        // The system may exist without anyone able to hear from it: remove it, best effort.
        await sys.terminate().catch(() => undefined);
        await sys.close().catch(() => undefined);
        throw makeSystemError(id, op, e);
      }
    } else if (r.err === null || r.pending) {
      throw makeSystemError(id, op, ErrUnexpectedValue, r.events);
    }
    const res = await completeAsync(r, sys.#watcher, NotificationType.SystemCreateCompleted, sys.#opts.timeouts.systemCreate);
    if (res.err) {
      if (sys.#handle !== undefined) {
        // A timed-out create may still finish later; do not leave it running unowned.
        if (isTimeout(res.err)) await sys.terminate().catch(() => undefined);
        await sys.close().catch(() => undefined);
      }
      throw makeSystemError(id, op, res.err, res.events);
    }
    void sys.#waitBackground();
    await sys.#cacheProperties();
    return sys;
  }

  /** Opens an existing compute system by id and starts following its exit. */
  static async openComputeSystem(id: string, transport?: Transport, options?: SystemOptions): Promise<System> {
    const op = 'hcs::OpenComputeSystem';
    const t = transport ?? (await defaultTransport());
    const sys = new System(id, t, options);
    const r = await callHcs(() => t.openComputeSystem(id));
    if (r.err) throw makeSystemError(id, op, r.err, r.events);
    if (r.value === undefined) throw makeSystemError(id, op, ErrUnexpectedValue);
    sys.#handle = r.value;
    try {
      await sys.#registerCallback();
    } catch (e) {
      await sys.close().catch(() => undefined);
      throw makeSystemError(id, op, e);
    }
    void sys.#waitBackground();
    await sys.#cacheProperties();
    return sys;
  }

  /** Lists the compute systems that match `query` (schema1 properties of each). */
  static async getComputeSystems(query: ComputeSystemQuery, transport?: Transport): Promise<ContainerProperties[]> {
    const op = 'hcs::GetComputeSystems';
    const t = transport ?? (await defaultTransport());
    const r = await callHcs(() => t.enumerateComputeSystems(JSON.stringify(query)));
    if (r.err) throw new HcsError(op, r.err, r.events);
    if (!r.value) throw new HcsError(op, ErrUnexpectedValue);
    try {
      return JSON.parse(r.value) as ContainerProperties[];
    } catch (e) {
      throw new HcsError(op, e);
    }
  }

  /** The compute system id. */
  id(): string {
    return this.#id;
  }

  /** `'windows'` or `'linux'` (lower case), read from HCS when the system was created or opened. */
  os(): string {
    return this.#os;
  }

  /** True for a Linux container, whose processes are created through OCI specs. */
  isOCI(): boolean {
    return this.#os === 'linux' && this.#typ === 'container';
  }

  /** When `start()` last succeeded. */
  startTime(): Date | undefined {
    return this.#startTime;
  }

  /** When the system was seen to stop (or was closed). */
  stoppedTime(): Date | undefined {
    return this.#stopTime;
  }

  /** @internal the pieces a Process of this system needs. */
  get transport(): Transport {
    return this.#transport;
  }

  /** @internal */
  get resolvedOptions(): ResolvedOptions {
    return this.#opts;
  }

  /** Runs a state change whose pending answer completes with `done`, within `timeout` ms. */
  async #transition(op: string, call: (h: SystemHandle) => Promise<TransportResult>, done: NotificationType, timeout: number): Promise<void> {
    const h = this.#live(op);
    const r = await callHcs(() => call(h));
    const res = await completeAsync(r, this.#watcher, done, timeout);
    if (res.err) throw makeSystemError(this.#id, op, res.err, res.events);
  }

  /** Starts the system, waiting for `SystemStartCompleted` when HCS answers pending. */
  async start(): Promise<void> {
    await this.#transition('hcs::System::Start', (h) => this.#transport.startComputeSystem(h, ''), NotificationType.SystemStartCompleted, this.#opts.timeouts.systemStart);
    this.#startTime = new Date();
  }

  /**
   * Asks for a clean shutdown and returns once HCS accepted it; `wait()` tells when it stopped. A closed
   * or stopped system, an already stopped or missing one, and a pending answer are all success.
   */
  async shutdown(): Promise<void> {
    await this.#stop('hcs::System::Shutdown', (h) => this.#transport.shutdownComputeSystem(h, ''));
  }

  /** Asks for a hard stop, with the same rules as `shutdown()`. */
  async terminate(): Promise<void> {
    await this.#stop('hcs::System::Terminate', (h) => this.#transport.terminateComputeSystem(h, ''));
  }

  /** Pauses, waiting for `SystemPauseCompleted` when HCS answers pending. */
  async pause(): Promise<void> {
    await this.#transition('hcs::System::Pause', (h) => this.#transport.pauseComputeSystem(h, ''), NotificationType.SystemPauseCompleted, this.#opts.timeouts.systemPause);
  }

  /** Resumes, waiting for `SystemResumeCompleted` when HCS answers pending. */
  async resume(): Promise<void> {
    await this.#transition('hcs::System::Resume', (h) => this.#transport.resumeComputeSystem(h, ''), NotificationType.SystemResumeCompleted, this.#opts.timeouts.systemResume);
  }

  /** Schema1 properties (`PropertyTypes` such as `'Statistics'`, `'ProcessList'`). */
  async properties(...types: string[]): Promise<ContainerProperties> {
    return this.#query<ContainerProperties>('hcs::System::Properties', types);
  }

  /**
   * Schema2 properties. hcsshim computes container statistics in-process from the silo's job object
   * when it can; this asks HCS for everything (one source, same shape).
   */
  async propertiesV2(...types: string[]): Promise<PropertiesV2> {
    return this.#query<PropertiesV2>('hcs::System::PropertiesV2', types);
  }

  /** Serialises a request document; a value that cannot be serialised is this call's error. */
  #document(op: string, config: unknown, what: string): string {
    try {
      return toJSON(config, what);
    } catch (e) {
      throw makeSystemError(this.#id, op, e);
    }
  }

  /** Sends a modify request (a schema2 `ModifyRequest` document, or a JSON string). */
  async modify(config: unknown): Promise<void> {
    const op = 'hcs::System::Modify';
    const h = this.#live(op);
    const doc = this.#document(op, config, 'modify request');
    const r = await callHcs(() => this.#transport.modifyComputeSystem(h, doc));
    if (r.err) throw makeSystemError(this.#id, op, r.err, r.events);
  }

  /**
   * Starts a process from process parameters (schema1 `ProcessConfig` or schema2 `ProcessParameters`)
   * and returns it with its stdio and its exit followed.
   */
  async createProcess(config: unknown): Promise<Process> {
    let op = 'hcs::System::CreateProcess';
    const h = this.#live(op);
    const doc = this.#document(op, config, 'process parameters');
    const r = await callHcs(() => this.#transport.createProcess(h, doc));
    if (r.err || !r.value) {
      const cmd = (config as { CommandLine?: unknown } | null)?.CommandLine;
      if (typeof cmd === 'string') op += ': ' + cmd; // which command failed is the first question
      throw makeSystemError(this.#id, op, r.err ?? ErrUnexpectedValue, r.events);
    }
    const { process: handle, info } = r.value;
    const p = Process.fromHandle(handle, info.processId, this, info);
    return this.#followed(p, op);
  }

  /** Starts following a new Process's notifications; if that fails the process handle is closed. */
  async #followed(p: Process, op: string): Promise<Process> {
    try {
      await p.watch();
    } catch (e) {
      await p.close().catch(() => undefined);
      throw makeSystemError(this.#id, op, e);
    }
    return p;
  }

  /**
   * Opens an existing process by pid (without its stdio; ask `Process.stdio()` after `refreshStdio()`).
   * A pid that is not a Windows one (an integer in 1..2^32-1) is a `SystemError` of code `ERR_INVALID_ARG_VALUE`.
   */
  async openProcess(pid: number): Promise<Process> {
    const op = 'hcs::System::OpenProcess';
    const h = this.#live(op);
    try {
      validatePid(pid, 0xffffffff);
    } catch (e) {
      throw makeSystemError(this.#id, op, e);
    }
    const r = await callHcs(() => this.#transport.openProcess(h, pid));
    if (r.err || r.value === undefined) throw makeSystemError(this.#id, op, r.err ?? ErrUnexpectedValue, r.events);
    const p = Process.fromHandle(r.value, pid, this);
    return this.#followed(p, op);
  }

  /**
   * Resolves when the system stopped; rejects with the reason it could not be followed (service
   * disconnect → `ErrUnexpectedProcessAbort`, `close()` → `ErrAlreadyClosed`). An unexpected exit is a
   * normal stop here and is reported by `exitError()`.
   */
  wait(): Promise<void> {
    return this.#done.then(() => {
      if (this.#waitError) throw this.#waitError;
    });
  }

  /**
   * Why the system stopped: `null` after a clean stop, the wait error if following it failed, a
   * `SystemError` wrapping `ErrVmcomputeUnexpectedExit` after a crash; an error saying it has not
   * exited while it runs.
   */
  exitError(): Error | null {
    if (!this.#stopped) return makeSystemError(this.#id, 'hcs::System::ExitError', new TaskioError('ERR_INVALID_STATE', 'container not exited'));
    return this.#waitError ?? this.#exitError;
  }

  /**
   * Releases the handle without stopping the system. Operations waiting for a notification fail with
   * `ErrHandleClose`, `wait()` with `ErrAlreadyClosed` (unless the system had already stopped), later
   * calls with `ErrAlreadyClosed`. Idempotent; concurrent calls share one close.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close().catch((e: unknown) => {
      this.#closing = undefined; // let a caller retry a close that failed half-way
      throw e;
    });
    return this.#closing;
  }

  async #close(): Promise<void> {
    const op = 'hcs::System::Close';
    if (this.#handle === undefined) {
      this.#closed = true;
      this.#finish(makeSystemError(this.#id, 'hcs::System::wait', ErrAlreadyClosed));
      this.#watcher.close();
      return;
    }
    this.#closed = true;
    if (this.#callback !== undefined) {
      const cb = this.#callback;
      const u = await callHcs(() => this.#transport.unregisterComputeSystemCallback(cb));
      if (u.err) {
        this.#closed = false;
        throw makeSystemError(this.#id, op, u.err, u.events);
      }
      this.#callback = undefined;
    }
    // wait() learns about the close before in-flight operations learn their handle is gone.
    this.#finish(makeSystemError(this.#id, 'hcs::System::wait', ErrAlreadyClosed));
    this.#watcher.close();
    const h = this.#handle;
    const c = await callHcs(() => this.#transport.closeComputeSystem(h));
    this.#handle = undefined;
    if (c.err) throw makeSystemError(this.#id, op, c.err, c.events);
  }

  /** The handle, or a `SystemError(ErrAlreadyClosed)` once closed. */
  #live(op: string): SystemHandle {
    if (this.#closed || this.#handle === undefined) throw makeSystemError(this.#id, op, ErrAlreadyClosed);
    return this.#handle;
  }

  async #stop(op: string, call: (h: SystemHandle) => ReturnType<Transport['shutdownComputeSystem']>): Promise<void> {
    if (this.#closed || this.#handle === undefined || this.#stopped) return;
    const h = this.#handle;
    const r = await callHcs(() => call(h));
    if (r.err && !isHcsError(r.err, ErrVmcomputeAlreadyStopped, ErrComputeSystemDoesNotExist, ErrVmcomputeOperationPending)) {
      throw makeSystemError(this.#id, op, r.err, r.events);
    }
  }

  async #query<T>(op: string, types: string[]): Promise<T> {
    const h = this.#live(op);
    const r = await callHcs(() => this.#transport.getComputeSystemProperties(h, JSON.stringify({ PropertyTypes: types })));
    if (r.err) throw makeSystemError(this.#id, op, r.err, r.events);
    if (!r.value) throw makeSystemError(this.#id, op, ErrUnexpectedValue);
    try {
      return JSON.parse(r.value) as T;
    } catch (e) {
      throw makeSystemError(this.#id, op, e);
    }
  }

  async #registerCallback(): Promise<void> {
    const h = this.#handle;
    const r = await callHcs(() => this.#transport.registerComputeSystemCallback(h, (n) => this.#onNotification(n)));
    if (r.err) throw r.err;
    this.#callback = r.value;
  }

  #onNotification(n: Notification): void {
    const used = this.#watcher.deliver(n);
    this.#opts.logger.debug({ systemId: this.#id, notification: notificationName(n.type), status: n.status, used }, 'HCS notification');
  }

  async #cacheProperties(): Promise<void> {
    let props: ContainerProperties;
    try {
      props = await this.properties();
    } catch (e) {
      await this.close().catch(() => undefined);
      throw e;
    }
    this.#typ = String(props.SystemType ?? '').toLowerCase();
    this.#os = String(props.RuntimeOSType ?? '').toLowerCase();
    this.#owner = String(props.Owner ?? '').toLowerCase();
    // HCS before Windows Server 2019 did not report the OS, but it only ran Windows containers.
    if (this.#os === '' && this.#typ === 'container') this.#os = 'windows';
  }

  /** The owner recorded by HCS (lower case). */
  owner(): string {
    return this.#owner;
  }

  async #waitBackground(): Promise<void> {
    const op = 'hcs::System::waitBackground';
    const { err } = await this.#watcher.wait(NotificationType.SystemExited);
    if (err === null) {
      this.#finish(null);
    } else if (isHcsError(err, ErrVmcomputeUnexpectedExit)) {
      this.#exitError = makeSystemError(this.#id, op, err);
      this.#finish(null);
    } else {
      this.#finish(makeSystemError(this.#id, op, err));
    }
  }

  /** Records the end of the system once (the first reason wins) and releases every `wait()`. */
  #finish(err: Error | null): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#waitError = err;
    this.#stopTime = new Date();
    this.#settleDone();
  }
}
