/**
 * The Windows transport: `computecore.dll` (the HCS v2 API) bound through koffi.
 *
 * **Not verified on Windows.** It type-checks and follows the documented signatures, but it has never
 * run against a real HCS; treat it as a starting point until a Windows CI job exercises it. It is
 * imported only through `defaultTransport()` when `process.platform === 'win32'`, so koffi never tries
 * to load the DLL anywhere else.
 *
 * Mapping onto the vmcompute-style `Transport` the state machine expects:
 * - every call creates an `HCS_OPERATION` with a completion callback (never `HcsWaitForOperationResult`,
 *   which would block the event loop or pin a libuv threadpool thread for up to minutes);
 * - create/start/pause/resume answer `ErrVmcomputeOperationPending` at once and later deliver
 *   `SystemCreateCompleted` … (with the operation's HRESULT and result document) on the system's
 *   notification callback, buffered until that callback is registered;
 * - shutdown/terminate are submitted without waiting (as in hcsshim): their completion is `SystemExited`;
 * - the other calls resolve when their operation completes;
 * - computecore's `HCS_EVENT_TYPE` values are renumbered to hcsshim's notification types; a
 *   `SystemExited` whose `ExitType` is `UnexpectedExit` is reported with `ErrVmcomputeUnexpectedExit`.
 *
 * koffi queues callbacks that HCS raises on its own threads to the main thread and blocks the HCS
 * thread meanwhile; `HcsCloseComputeSystem`/`HcsCloseProcess` wait for running callbacks, so they
 * are called with `.async` to keep the main thread free to run them.
 */
import type * as Koffi from 'koffi';
import { loadNative } from '../../sys/index.js';
import { TaskioError } from '../../errors.js';
import { ErrVmcomputeOperationPending, ErrVmcomputeUnexpectedExit } from './errors.js';
import { NotificationType, type Notification } from './notification.js';
import type { NotificationCallback, ProcessInformation, Transport, TransportResult } from './transport.js';
import { pipeReader, pipeWriter, type PipeApi } from './win32-pipe.js';

type Ptr = unknown;
type Fn = (...args: unknown[]) => unknown;
type AsyncFn = Fn & { async: (...args: unknown[]) => void };

const PENDING = ErrVmcomputeOperationPending.errno | 0;
const ERROR_BROKEN_PIPE = 109;

/** computecore `HCS_EVENT_TYPE` → hcsshim notification type. */
const eventTypes = new Map<number, NotificationType>([
  [0x1, NotificationType.SystemExited],
  [0x2, NotificationType.SystemCrashInitiated],
  [0x3, NotificationType.SystemCrashReport],
  [0x4, NotificationType.SystemRdpEnhancedModeStateChanged],
  [0x5, NotificationType.SystemSiloJobCreated],
  [0x6, NotificationType.SystemGuestConnectionClosed],
  [0x00010000, NotificationType.ProcessExited],
  [0x02000000, NotificationType.ServiceDisconnect],
]);

interface Listener {
  callback?: NotificationCallback;
  buffered: Notification[];
}

interface SysHandle { raw: Ptr; listener: Listener; ctx: number }
interface ProcHandle { raw: Ptr; listener: Listener; ctx: number }

/**
 * The part of an operation's answer that every call returns: the HRESULT, and the result document only
 * when HCS wrote one (so a success carries no `result: null`).
 */
function outcome<T = undefined>(r: { hr: number; result?: string | null | undefined }): TransportResult<T> {
  return r.result ? { hr: r.hr, result: r.result } : { hr: r.hr };
}

function emit(l: Listener, n: Notification): void {
  if (l.callback) l.callback(n);
  else l.buffered.push(n);
}

/**
 * Binds computecore.dll and returns the transport. Throws `ERR_NATIVE_MODULE` when koffi cannot be
 * loaded, and koffi's error when the DLL or an entry point is missing.
 */
export function computecoreTransport(): Transport {
  const koffi = loadNative<typeof Koffi>('koffi', 'the HCS transport');
  const kernel32 = koffi.load('kernel32.dll');
  const cc = koffi.load('computecore.dll');

  koffi.pointer('HCS_OPERATION', koffi.opaque());
  koffi.pointer('HCS_SYSTEM', koffi.opaque());
  koffi.pointer('HCS_PROCESS', koffi.opaque());
  const LocalFree = kernel32.func('void * __stdcall LocalFree(void *mem)') as Fn;
  koffi.disposable('HcsDoc', 'str16', (p: unknown) => LocalFree(p));
  koffi.struct('HCS_EVENT', { Type: 'int', EventData: 'str16', Operation: 'HCS_OPERATION' });
  koffi.struct('HCS_PROCESS_INFORMATION', { ProcessId: 'uint32', Reserved: 'uint32', StdInput: 'void *', StdOutput: 'void *', StdError: 'void *' });
  const completionProto = koffi.proto('void __stdcall HcsOperationCompletion(HCS_OPERATION operation, intptr_t context)');
  const eventProto = koffi.proto('void __stdcall HcsEventCallback(HCS_EVENT *event, intptr_t context)');

  const f = (sig: string): AsyncFn => cc.func(sig) as unknown as AsyncFn;
  const api = {
    createOperation: f('HCS_OPERATION __stdcall HcsCreateOperation(intptr_t context, HcsOperationCompletion *callback)'),
    closeOperation: f('void __stdcall HcsCloseOperation(HCS_OPERATION operation)'),
    getOperationResult: f('int __stdcall HcsGetOperationResult(HCS_OPERATION operation, _Out_ HcsDoc *resultDocument)'),
    getOperationResultAndProcessInfo: f('int __stdcall HcsGetOperationResultAndProcessInfo(HCS_OPERATION operation, _Out_ HCS_PROCESS_INFORMATION *info, _Out_ HcsDoc *resultDocument)'),
    enumerate: f('int __stdcall HcsEnumerateComputeSystems(const char16_t *query, HCS_OPERATION operation)'),
    create: f('int __stdcall HcsCreateComputeSystem(const char16_t *id, const char16_t *configuration, HCS_OPERATION operation, void *securityDescriptor, _Out_ HCS_SYSTEM *computeSystem)'),
    open: f('int __stdcall HcsOpenComputeSystem(const char16_t *id, uint32_t requestedAccess, _Out_ HCS_SYSTEM *computeSystem)'),
    close: f('void __stdcall HcsCloseComputeSystem(HCS_SYSTEM computeSystem)'),
    start: f('int __stdcall HcsStartComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, const char16_t *options)'),
    shutdown: f('int __stdcall HcsShutDownComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, const char16_t *options)'),
    terminate: f('int __stdcall HcsTerminateComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, const char16_t *options)'),
    pause: f('int __stdcall HcsPauseComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, const char16_t *options)'),
    resume: f('int __stdcall HcsResumeComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, const char16_t *options)'),
    properties: f('int __stdcall HcsGetComputeSystemProperties(HCS_SYSTEM computeSystem, HCS_OPERATION operation, const char16_t *propertyQuery)'),
    modify: f('int __stdcall HcsModifyComputeSystem(HCS_SYSTEM computeSystem, HCS_OPERATION operation, const char16_t *configuration, void *identity)'),
    setSystemCallback: f('int __stdcall HcsSetComputeSystemCallback(HCS_SYSTEM computeSystem, int callbackOptions, intptr_t context, HcsEventCallback *callback)'),
    createProcess: f('int __stdcall HcsCreateProcess(HCS_SYSTEM computeSystem, const char16_t *processParameters, HCS_OPERATION operation, void *securityDescriptor, _Out_ HCS_PROCESS *process)'),
    openProcess: f('int __stdcall HcsOpenProcess(HCS_SYSTEM computeSystem, uint32_t processId, uint32_t requestedAccess, _Out_ HCS_PROCESS *process)'),
    closeProcess: f('void __stdcall HcsCloseProcess(HCS_PROCESS process)'),
    terminateProcess: f('int __stdcall HcsTerminateProcess(HCS_PROCESS process, HCS_OPERATION operation, const char16_t *options)'),
    signalProcess: f('int __stdcall HcsSignalProcess(HCS_PROCESS process, HCS_OPERATION operation, const char16_t *options)'),
    getProcessInfo: f('int __stdcall HcsGetProcessInfo(HCS_PROCESS process, HCS_OPERATION operation)'),
    getProcessProperties: f('int __stdcall HcsGetProcessProperties(HCS_PROCESS process, HCS_OPERATION operation, const char16_t *propertyQuery)'),
    modifyProcess: f('int __stdcall HcsModifyProcess(HCS_PROCESS process, HCS_OPERATION operation, const char16_t *settings)'),
    setProcessCallback: f('int __stdcall HcsSetProcessCallback(HCS_PROCESS process, int callbackOptions, intptr_t context, HcsEventCallback *callback)'),
  };
  const k32 = {
    peek: kernel32.func('bool __stdcall PeekNamedPipe(void *pipe, void *buf, uint32_t size, void *read, _Out_ uint32_t *avail, void *left)') as Fn,
    readFile: kernel32.func('bool __stdcall ReadFile(void *file, _Out_ uint8_t *buf, uint32_t size, _Out_ uint32_t *read, void *overlapped)') as Fn,
    writeFile: kernel32.func('bool __stdcall WriteFile(void *file, const uint8_t *buf, uint32_t size, _Out_ uint32_t *written, void *overlapped)') as AsyncFn,
    closeHandle: kernel32.func('bool __stdcall CloseHandle(void *h)') as Fn,
    getLastError: kernel32.func('uint32_t __stdcall GetLastError()') as Fn,
  };

  // One completion callback and one event callback for the whole process, dispatched by context id
  // (koffi allows a limited number of registered callbacks, and HCS needs a stable pointer).
  let nextId = 1;
  const completions = new Map<number, () => void>();
  const listeners = new Map<number, Listener>();
  const completionCb = koffi.register((_op: unknown, ctx: number) => {
    const done = completions.get(Number(ctx));
    completions.delete(Number(ctx));
    done?.();
  }, koffi.pointer(completionProto));
  const eventCb = koffi.register((ev: unknown, ctx: number) => {
    const l = listeners.get(Number(ctx));
    if (!l || !ev) return;
    const e = koffi.decode(ev, 'HCS_EVENT') as { Type: number; EventData: string | null };
    const type = eventTypes.get(e.Type >>> 0);
    if (type === undefined) return;
    const n: Notification = { type };
    if (e.EventData) n.data = e.EventData;
    if (type === NotificationType.SystemExited && e.EventData) {
      try {
        const s = JSON.parse(e.EventData) as { Status?: number; ExitType?: string };
        if (typeof s.Status === 'number' && s.Status < 0) n.status = s.Status;
        else if (s.ExitType === 'UnexpectedExit') n.status = ErrVmcomputeUnexpectedExit.errno | 0;
      } catch { /* keep the raw data */ }
    }
    emit(l, n);
  }, koffi.pointer(eventProto));

  type SetCallback = (raw: Ptr, options: number, ctx: number, cb: unknown) => unknown;

  /** Routes a handle's events to `callback`, delivering those that came before it was set. */
  function register<H extends SysHandle | ProcHandle>(h: H, set: SetCallback, callback: NotificationCallback): TransportResult<H> {
    listeners.set(h.ctx, h.listener);
    const hr = set(h.raw, 0, h.ctx, eventCb) as number;
    if (hr < 0) return { hr };
    h.listener.callback = callback;
    for (const n of h.listener.buffered.splice(0)) callback(n);
    return { hr, value: h };
  }

  function unregister(h: SysHandle | ProcHandle, set: SetCallback): TransportResult<undefined> {
    const hr = set(h.raw, 0, 0, null) as number;
    listeners.delete(h.ctx);
    delete h.listener.callback;
    return { hr };
  }

  const pipes: PipeApi = {
    available(h) {
      const avail = [0];
      if (k32.peek(h, null, 0, null, avail, null)) return avail[0] ?? 0;
      return k32.getLastError() === ERROR_BROKEN_PIPE ? -1 : -2;
    },
    read(h, n) {
      const buf = Buffer.alloc(n);
      const got = [0];
      k32.readFile(h, buf, n, got, null);
      return buf.subarray(0, got[0] ?? 0);
    },
    write(h, data) {
      return new Promise((resolve, reject) => {
        k32.writeFile.async(h, data, data.length, [0], null, (err: unknown, ok: unknown) => {
          if (err) reject(err as Error);
          else if (!ok) reject(new TaskioError('ERR_HCS_WRITE', `WriteFile failed with ${String(k32.getLastError())}`));
          else resolve();
        });
      });
    },
    close(h) {
      k32.closeHandle(h);
    },
  };
  const toInfo = (pi: { ProcessId: number; StdInput: Ptr; StdOutput: Ptr; StdError: Ptr }): ProcessInformation => ({
    processId: pi.ProcessId,
    stdin: pi.StdInput ? pipeWriter(pipes, pi.StdInput) : null,
    stdout: pi.StdOutput ? pipeReader(pipes, pi.StdOutput) : null,
    stderr: pi.StdError ? pipeReader(pipes, pi.StdError) : null,
  });

  /** Runs one operation to completion; `call` starts it and returns the HRESULT of the submission. */
  function run(call: (op: Ptr) => number, withInfo = false): Promise<TransportResult<string> & { info?: ProcessInformation }> {
    const id = nextId++;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => { resolveDone = r; });
    completions.set(id, resolveDone);
    const op = api.createOperation(id, completionCb);
    const collect = (submitHr?: number): TransportResult<string> & { info?: ProcessInformation } => {
      const doc = [null as string | null];
      let hr: number;
      let info: ProcessInformation | undefined;
      if (withInfo) {
        const pi = [{}] as { ProcessId: number; StdInput: Ptr; StdOutput: Ptr; StdError: Ptr }[];
        hr = api.getOperationResultAndProcessInfo(op, pi, doc) as number;
        if (hr >= 0 && pi[0]) info = toInfo(pi[0]);
      } else {
        hr = api.getOperationResult(op, doc) as number;
      }
      api.closeOperation(op);
      const out: TransportResult<string> & { info?: ProcessInformation } = outcome({ hr: submitHr ?? hr, result: doc[0] });
      if (doc[0]) out.value = doc[0];
      if (info) out.info = info;
      return out;
    };
    const hr = call(op);
    if (hr < 0) {
      completions.delete(id);
      return Promise.resolve(collect(hr));
    }
    return done.then(() => collect());
  }

  /**
   * Hands a request to HCS without waiting for it (hcsshim's `submitOperation`): closing the operation
   * while it runs is allowed, HCS finishes it and drops the result. Used for shutdown and terminate,
   * whose completion is the `SystemExited` notification, so the call does not last as long as the stop.
   */
  function submit(call: (op: Ptr) => number): TransportResult {
    const op = api.createOperation(0, null);
    const hr = call(op);
    const doc = [null as string | null];
    if (hr < 0) api.getOperationResult(op, doc);
    api.closeOperation(op);
    return outcome({ hr, result: doc[0] });
  }

  /** Starts an operation whose completion is reported later as `type` on the system's callback. */
  function runAsync(sys: SysHandle, type: NotificationType, call: (op: Ptr) => number): TransportResult {
    let submitted: number | undefined;
    const p = run((op) => (submitted = call(op)));
    if ((submitted ?? 0) < 0) return { hr: submitted ?? 0 };
    void p.then((r) => {
      const n: Notification = { type };
      if (r.hr < 0) n.status = r.hr;
      if (r.result) n.data = r.result;
      emit(sys.listener, n);
    });
    return { hr: PENDING };
  }

  const closeAsync = (fn: AsyncFn, raw: Ptr): Promise<TransportResult> =>
    new Promise((resolve) => fn.async(raw, () => resolve({ hr: 0 })));
  const newSys = (raw: Ptr): SysHandle => ({ raw, listener: { buffered: [] }, ctx: nextId++ });

  const t: Transport = {
    name: 'computecore',
    async enumerateComputeSystems(query) {
      return run((op) => api.enumerate(query, op) as number);
    },
    async createComputeSystem(id, configuration) {
      // The listener exists before the handle so a completion that races the caller's callback
      // registration is buffered, not lost.
      const sys: SysHandle = { raw: null, listener: { buffered: [] }, ctx: nextId++ };
      const out = [null as Ptr];
      const r = runAsync(sys, NotificationType.SystemCreateCompleted, (op) => {
        const hr = api.create(id, configuration, op, null, out) as number;
        sys.raw = out[0];
        return hr;
      });
      return r.hr === PENDING ? { hr: PENDING, value: sys } : r;
    },
    async openComputeSystem(id) {
      const out = [null as Ptr];
      const hr = api.open(id, 0x10000000 /* GENERIC_ALL */, out) as number;
      return hr < 0 ? { hr } : { hr, value: newSys(out[0]) };
    },
    async closeComputeSystem(s) {
      return closeAsync(api.close, (s as SysHandle).raw);
    },
    async startComputeSystem(s, options) {
      const sys = s as SysHandle;
      return runAsync(sys, NotificationType.SystemStartCompleted, (op) => api.start(sys.raw, op, options) as number);
    },
    async shutdownComputeSystem(s, options) {
      return submit((op) => api.shutdown((s as SysHandle).raw, op, options) as number);
    },
    async terminateComputeSystem(s, options) {
      return submit((op) => api.terminate((s as SysHandle).raw, op, options) as number);
    },
    async pauseComputeSystem(s, options) {
      const sys = s as SysHandle;
      return runAsync(sys, NotificationType.SystemPauseCompleted, (op) => api.pause(sys.raw, op, options) as number);
    },
    async resumeComputeSystem(s, options) {
      const sys = s as SysHandle;
      return runAsync(sys, NotificationType.SystemResumeCompleted, (op) => api.resume(sys.raw, op, options) as number);
    },
    async getComputeSystemProperties(s, query) {
      return run((op) => api.properties((s as SysHandle).raw, op, query) as number);
    },
    async modifyComputeSystem(s, configuration) {
      const r = await run((op) => api.modify((s as SysHandle).raw, op, configuration, null) as number);
      return outcome(r);
    },
    async registerComputeSystemCallback(s, callback) {
      return register(s as SysHandle, api.setSystemCallback, callback);
    },
    async unregisterComputeSystemCallback(cb) {
      return unregister(cb as SysHandle, api.setSystemCallback);
    },
    async createProcess(s, parameters) {
      const out = [null as Ptr];
      const r = await run((op) => api.createProcess((s as SysHandle).raw, parameters, op, null, out) as number, true);
      if (r.hr < 0 || !r.info) return outcome(r);
      const proc: ProcHandle = { raw: out[0], listener: { buffered: [] }, ctx: nextId++ };
      return { hr: r.hr, value: { process: proc, info: r.info } };
    },
    async openProcess(s, pid) {
      const out = [null as Ptr];
      const hr = api.openProcess((s as SysHandle).raw, pid, 0x10000000, out) as number;
      return hr < 0 ? { hr } : { hr, value: { raw: out[0], listener: { buffered: [] }, ctx: nextId++ } satisfies ProcHandle };
    },
    async closeProcess(p) {
      return closeAsync(api.closeProcess, (p as ProcHandle).raw);
    },
    async terminateProcess(p) {
      const r = await run((op) => api.terminateProcess((p as ProcHandle).raw, op, null) as number);
      return outcome(r);
    },
    async signalProcess(p, options) {
      const r = await run((op) => api.signalProcess((p as ProcHandle).raw, op, options) as number);
      return outcome(r);
    },
    async getProcessInfo(p) {
      const r = await run((op) => api.getProcessInfo((p as ProcHandle).raw, op) as number, true);
      return r.info ? { hr: r.hr, value: r.info } : outcome(r);
    },
    async getProcessProperties(p) {
      return run((op) => api.getProcessProperties((p as ProcHandle).raw, op, null) as number);
    },
    async modifyProcess(p, settings) {
      const r = await run((op) => api.modifyProcess((p as ProcHandle).raw, op, settings) as number);
      return outcome(r);
    },
    async registerProcessCallback(p, callback) {
      return register(p as ProcHandle, api.setProcessCallback, callback);
    },
    async unregisterProcessCallback(cb) {
      return unregister(cb as ProcHandle, api.setProcessCallback);
    },
  };
  return t;
}
