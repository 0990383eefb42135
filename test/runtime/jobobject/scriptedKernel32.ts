import koffi from 'koffi';
import type { Kernel32 } from '../../../src/runtime/jobobject/windows/kernel32.js';

/** A handle value as koffi returns one (a pointer), made on any OS from a number. */
export function handle(n: number): unknown {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return koffi.decode(b, 'void *');
}

/** The number a {@link handle} was made from (or 0 for null). */
export function addr(h: unknown): number {
  return h === null || h === undefined ? 0 : Number(koffi.address(h));
}

/** One recorded call; Buffers are copied as they were passed in, handles shown by their numbers. */
export interface Call {
  fn: keyof Kernel32;
  args: unknown[];
}

type Responder = (k: ScriptedKernel32, ...args: any[]) => unknown;

/**
 * A scripted stand-in for kernel32 (Windows does not exist on Linux): it records every call with copies
 * of the buffers it was given, answers from per-function queues of responders, and otherwise with
 * defaults (success, handles 0x100 job / 0x200 process / 0x300 port, an empty completion port).
 */
export class ScriptedKernel32 implements Kernel32 {
  readonly calls: Call[] = [];
  lastError = 0;
  private readonly script = new Map<string, Responder[]>();

  /** Queues responses for `fn`, used in order before the default. */
  on(fn: keyof Kernel32, ...responders: Responder[]): this {
    this.script.set(fn, [...(this.script.get(fn) ?? []), ...responders]);
    return this;
  }

  /** The names of the calls made so far, GetLastError included. */
  names(): string[] {
    return this.calls.map((c) => c.fn);
  }

  /** Calls of one function. */
  of(fn: keyof Kernel32): Call[] {
    return this.calls.filter((c) => c.fn === fn);
  }

  private run(fn: keyof Kernel32, args: unknown[], dflt: () => unknown): unknown {
    const shown = args.map((a) => (Buffer.isBuffer(a) ? Buffer.from(a) : a !== null && typeof a === 'object' && !Array.isArray(a) ? `h:0x${addr(a).toString(16)}` : a));
    this.calls.push({ fn, args: shown });
    const r = this.script.get(fn)?.shift();
    return r !== undefined ? r(this, ...args) : dflt();
  }

  CreateJobObjectW(attrs: null, name: string | null): unknown {
    return this.run('CreateJobObjectW', [attrs, name], () => handle(0x100));
  }
  OpenJobObjectW(access: number, inherit: boolean, name: string): unknown {
    return this.run('OpenJobObjectW', [access, inherit, name], () => handle(0x100));
  }
  AssignProcessToJobObject(job: unknown, proc: unknown): boolean {
    return this.run('AssignProcessToJobObject', [job, proc], () => true) as boolean;
  }
  TerminateJobObject(job: unknown, exitCode: number): boolean {
    return this.run('TerminateJobObject', [job, exitCode], () => true) as boolean;
  }
  QueryInformationJobObject(job: unknown, cls: number, info: Buffer, len: number, retLen: number[] | null): boolean {
    return this.run('QueryInformationJobObject', [job, cls, info, len, retLen], () => true) as boolean;
  }
  SetInformationJobObject(job: unknown, cls: number, info: Buffer, len: number): boolean {
    return this.run('SetInformationJobObject', [job, cls, info, len], () => true) as boolean;
  }
  SetIoRateControlInformationJobObject(job: unknown, info: Buffer): number {
    return this.run('SetIoRateControlInformationJobObject', [job, info], () => 1) as number;
  }
  OpenProcess(access: number, inherit: boolean, pid: number): unknown {
    return this.run('OpenProcess', [access, inherit, pid], () => handle(0x200));
  }
  CreateIoCompletionPort(file: number, existing: unknown, key: number, threads: number): unknown {
    return this.run('CreateIoCompletionPort', [file, existing, key, threads], () => handle(0x300));
  }
  GetQueuedCompletionStatus(port: unknown, bytes: number[], key: unknown[], overlapped: unknown[], ms: number): boolean {
    return this.run('GetQueuedCompletionStatus', [port, bytes, key, overlapped, ms], () => {
      this.lastError = 258; // WAIT_TIMEOUT: nothing queued
      return false;
    }) as boolean;
  }
  CloseHandle(h: unknown): boolean {
    return this.run('CloseHandle', [h], () => true) as boolean;
  }
  GetLastError(): number {
    this.calls.push({ fn: 'GetLastError', args: [] });
    return this.lastError;
  }
}

/** A responder that fails the call with `errno` (returning `result`: false, null or 0). */
export function fails(errno: number, result: unknown = false): Responder {
  return (k) => {
    k.lastError = errno;
    return result;
  };
}

/** A completion-port message: `code` in the bytes field, the job as key, the pid as the overlapped pointer. */
export function message(code: number, pid = 0): Responder {
  return (_k, _port, bytes: number[], key: unknown[], overlapped: unknown[]) => {
    bytes[0] = code;
    key[0] = 0x100;
    overlapped[0] = handle(pid);
    return true;
  };
}
