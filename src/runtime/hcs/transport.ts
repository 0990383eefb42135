import type { Readable, Writable } from 'node:stream';
import type { Notification } from './notification.js';

/** An opaque compute-system handle, as the transport defines it (a pointer on Windows, anything in a fake). */
export type SystemHandle = unknown;
/** An opaque process handle. */
export type ProcessHandle = unknown;
/** An opaque handle for a registered callback, used to unregister it. */
export type CallbackHandle = unknown;

/**
 * The answer of one HCS call, in the shape the DLL gives it: an HRESULT (`0` = done,
 * `ErrVmcomputeOperationPending` = accepted, completion follows as a notification, negative = failed),
 * the call's output, and the result document that describes a failure.
 */
export interface TransportResult<T = undefined> {
  /** The HRESULT. */
  hr: number;
  /** The output (a handle, a JSON document …); present on success and, for create, also when pending. */
  value?: T;
  /** The HCS result document (`{"Error":…,"ErrorEvents":[…]}`) when HCS produced one. */
  result?: string;
}

/** What HCS hands back for a process: its pid and its stdio, already as Node streams. */
export interface ProcessInformation {
  /** The process id inside the compute system. */
  processId: number;
  /** The process's stdin, when it was asked for. */
  stdin: Writable | null;
  /** The process's stdout, when it was asked for. */
  stdout: Readable | null;
  /** The process's stderr, when it was asked for (never with a terminal). */
  stderr: Readable | null;
}

/** Receives the notifications of one registered handle. */
export type NotificationCallback = (notification: Notification) => void;

/**
 * The calls into HCS (vmcompute's API surface in camelCase) plus the notification streams. Everything
 * above it — pending operations, timeouts, exits, disconnects, close — is pure TypeScript and is tested
 * against scripted implementations of this interface. A method may also reject; the System or Process
 * then wraps what it threw in a `SystemError`/`ProcessError`.
 *
 * Documents are JSON strings, as HCS takes them; the System/Process layer does the (de)serialising.
 */
export interface Transport {
  /** A short name for logs and errors (`computecore`, `unsupported`, `scripted` …). */
  readonly name: string;
  /** Lists compute systems matching a JSON query; the value is a JSON array. */
  enumerateComputeSystems(query: string): Promise<TransportResult<string>>;
  /** Creates a compute system; may answer pending with the handle set, then `SystemCreateCompleted` follows. */
  createComputeSystem(id: string, configuration: string): Promise<TransportResult<SystemHandle>>;
  /** Opens an existing compute system by id. */
  openComputeSystem(id: string): Promise<TransportResult<SystemHandle>>;
  /** Closes a handle. HCS stops delivering its notifications once this returns. */
  closeComputeSystem(system: SystemHandle): Promise<TransportResult>;
  /** Starts; may answer pending, then `SystemStartCompleted` follows. */
  startComputeSystem(system: SystemHandle, options: string): Promise<TransportResult>;
  /** Asks for a clean shutdown; completion is the `SystemExited` notification. */
  shutdownComputeSystem(system: SystemHandle, options: string): Promise<TransportResult>;
  /** Asks for a hard stop; completion is the `SystemExited` notification. */
  terminateComputeSystem(system: SystemHandle, options: string): Promise<TransportResult>;
  /** Pauses; may answer pending, then `SystemPauseCompleted` follows. */
  pauseComputeSystem(system: SystemHandle, options: string): Promise<TransportResult>;
  /** Resumes; may answer pending, then `SystemResumeCompleted` follows. */
  resumeComputeSystem(system: SystemHandle, options: string): Promise<TransportResult>;
  /** Queries properties with a JSON property query; the value is the JSON properties document. */
  getComputeSystemProperties(system: SystemHandle, query: string): Promise<TransportResult<string>>;
  /** Applies a JSON modify request. */
  modifyComputeSystem(system: SystemHandle, configuration: string): Promise<TransportResult>;
  /** Registers the callback that receives the system's notifications. */
  registerComputeSystemCallback(system: SystemHandle, callback: NotificationCallback): Promise<TransportResult<CallbackHandle>>;
  /** Unregisters it; no notification is delivered after this returns. */
  unregisterComputeSystemCallback(callback: CallbackHandle): Promise<TransportResult>;
  /** Creates a process from JSON process parameters. */
  createProcess(system: SystemHandle, parameters: string): Promise<TransportResult<{ process: ProcessHandle; info: ProcessInformation }>>;
  /** Opens an existing process by pid. */
  openProcess(system: SystemHandle, pid: number): Promise<TransportResult<ProcessHandle>>;
  /** Closes a process handle. */
  closeProcess(process: ProcessHandle): Promise<TransportResult>;
  /** Terminates a process. */
  terminateProcess(process: ProcessHandle): Promise<TransportResult>;
  /** Sends a signal described by JSON options. */
  signalProcess(process: ProcessHandle, options: string): Promise<TransportResult>;
  /** Reads the process's pid and stdio again. */
  getProcessInfo(process: ProcessHandle): Promise<TransportResult<ProcessInformation>>;
  /** Queries the process status (JSON: `ProcessId`, `Exited`, `ExitCode`, `LastWaitResult`). */
  getProcessProperties(process: ProcessHandle): Promise<TransportResult<string>>;
  /** Applies a JSON process modify request (console size, close stdin). */
  modifyProcess(process: ProcessHandle, settings: string): Promise<TransportResult>;
  /** Registers the callback that receives the process's notifications. */
  registerProcessCallback(process: ProcessHandle, callback: NotificationCallback): Promise<TransportResult<CallbackHandle>>;
  /** Unregisters it. */
  unregisterProcessCallback(callback: CallbackHandle): Promise<TransportResult>;
}

/** The names of every `Transport` method, for wrappers and for tests that call each of them. */
export const transportMethods = [
  'enumerateComputeSystems', 'createComputeSystem', 'openComputeSystem', 'closeComputeSystem',
  'startComputeSystem', 'shutdownComputeSystem', 'terminateComputeSystem', 'pauseComputeSystem',
  'resumeComputeSystem', 'getComputeSystemProperties', 'modifyComputeSystem', 'registerComputeSystemCallback',
  'unregisterComputeSystemCallback', 'createProcess', 'openProcess', 'closeProcess', 'terminateProcess',
  'signalProcess', 'getProcessInfo', 'getProcessProperties', 'modifyProcess', 'registerProcessCallback',
  'unregisterProcessCallback',
] as const satisfies readonly (keyof Transport)[];
