import { koffi } from './koffi.js';
import {
  MsgAllProcessesExited,
  MsgJobMemoryLimit,
  MsgUnimplemented,
  PollIntervalMs,
  alreadyClosed,
  type JobNotification,
} from '../notifications.js';
import { Win32Error, WAIT_TIMEOUT } from './errors.js';
import type { Kernel32 } from './kernel32.js';
import { JOBOBJECT_ASSOCIATE_COMPLETION_PORT, JOB_OBJECT_MSG, JobObjectInfoClass } from './structs.js';

/** `INVALID_HANDLE_VALUE`: given as the file to CreateIoCompletionPort, it makes a port with no file. */
export const INVALID_HANDLE_VALUE = -1;

/**
 * A job's notifications through an I/O completion port (hcsshim's IOCP poller), as a queue of
 * {@link JobNotification}s: `JOB_OBJECT_MSG_ACTIVE_PROCESS_ZERO` becomes {@link MsgAllProcessesExited},
 * `JOB_OBJECT_MSG_JOB_MEMORY_LIMIT` {@link MsgJobMemoryLimit}, every other message {@link MsgUnimplemented}.
 *
 * hcsshim blocks a goroutine in GetQueuedCompletionStatus; Node has one thread, so the port is read
 * with a 0 ms timeout on a timer every {@link PollIntervalMs} (and at once when someone waits), and each
 * read drains every message queued so far. One port per job rather than hcsshim's shared one: the key
 * then needs no lookup, and closing the job closes its port. NOT VERIFIED ON WINDOWS.
 */
export class CompletionPortNotifier {
  readonly #queue: JobNotification[] = [];
  readonly #waiters: Array<{ resolve: (m: JobNotification) => void; reject: (e: Error) => void }> = [];
  readonly #k: Kernel32;
  readonly #port: unknown;
  readonly #timer: NodeJS.Timeout;
  #failure: Error | undefined;
  #closed = false;

  private constructor(k: Kernel32, port: unknown) {
    this.#k = k;
    this.#port = port;
    this.#timer = setInterval(() => this.#drain(), PollIntervalMs);
    this.#timer.unref(); // a job nobody waits on must not keep Node alive
  }

  /**
   * Creates a port and associates the job with it (`JobObjectAssociateCompletionPortInformation`, the job
   * handle as completion key). If the association fails the port is closed and the Win32 error thrown.
   */
  static attach(k: Kernel32, job: unknown): CompletionPortNotifier {
    const port = k.CreateIoCompletionPort(INVALID_HANDLE_VALUE, null, 0, 1);
    if (port === null || port === undefined) throw new Win32Error('CreateIoCompletionPort', k.GetLastError());
    const info = Buffer.alloc(koffi.sizeof(JOBOBJECT_ASSOCIATE_COMPLETION_PORT));
    koffi.encode(info, 0, JOBOBJECT_ASSOCIATE_COMPLETION_PORT, { CompletionKey: job, CompletionPort: port });
    const cls = JobObjectInfoClass.JobObjectAssociateCompletionPortInformation;
    if (!k.SetInformationJobObject(job, cls, info, info.length)) {
      const err = new Win32Error('SetInformationJobObject', k.GetLastError());
      k.CloseHandle(port);
      throw err;
    }
    return new CompletionPortNotifier(k, port);
  }

  /** The next message, queued ones first (hcsshim's `PollNotification`). */
  next(): Promise<JobNotification> {
    if (this.#closed) return Promise.reject(alreadyClosed());
    this.#drain();
    const m = this.#queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#timer.ref();
    });
  }

  /** Stops polling and closes the port; pending waits fail with `ERR_ALREADY_CLOSED`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#k.CloseHandle(this.#port);
    for (const w of this.#waiters.splice(0)) w.reject(alreadyClosed());
  }

  // Reads until the port is empty (WAIT_TIMEOUT). Any other failure ends polling: it is reported to the
  // waiters and to later calls, as hcsshim's poller stops on an error.
  #drain(): void {
    while (!this.#closed && this.#failure === undefined) {
      const bytes = [0];
      const key: unknown[] = [0];
      const overlapped: unknown[] = [null];
      if (!this.#k.GetQueuedCompletionStatus(this.#port, bytes, key, overlapped, 0)) {
        const errno = this.#k.GetLastError();
        if (errno === WAIT_TIMEOUT) return;
        this.#failure = new Win32Error('GetQueuedCompletionStatus', errno);
        clearInterval(this.#timer);
        for (const w of this.#waiters.splice(0)) w.reject(this.#failure);
        return;
      }
      // For job messages the "bytes transferred" field carries the JOB_OBJECT_MSG_* code.
      this.#deliver(messageOf(bytes[0]));
    }
  }

  #deliver(m: JobNotification): void {
    const w = this.#waiters.shift();
    if (w !== undefined) w.resolve(m);
    else this.#queue.push(m);
    if (this.#waiters.length === 0) this.#timer.unref();
  }
}

/** The {@link JobNotification} of a `JOB_OBJECT_MSG_*` code. */
function messageOf(code: number | undefined): JobNotification {
  if (code === JOB_OBJECT_MSG.ACTIVE_PROCESS_ZERO) return new MsgAllProcessesExited();
  if (code === JOB_OBJECT_MSG.JOB_MEMORY_LIMIT) return new MsgJobMemoryLimit();
  return new MsgUnimplemented();
}
