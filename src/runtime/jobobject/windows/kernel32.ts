import { koffi, type IKoffiCType, type TypeSpec } from './koffi.js';
import { requirePlatform } from '../../../sys/index.js';

/**
 * The kernel32 job object functions hcsshim calls, bound through koffi. Loaded only on Windows, on first
 * use; elsewhere {@link kernel32} throws `ERR_PLATFORM_NOT_SUPPORTED`. The prototypes follow the SDK
 * (`__stdcall` is the only x64 convention, so koffi's default is right). Structures go in and out as
 * Buffers encoded with the declarations of `structs.ts`, so a scripted stand-in can check their bytes on
 * any OS. Handles are koffi pointers (`null` when a call fails). NOT VERIFIED ON WINDOWS: only the
 * scripted stand-in of the tests has called these.
 */
export interface Kernel32 {
  /** Creates or opens a named job (GetLastError `ERROR_ALREADY_EXISTS` then); `null` on failure. */
  CreateJobObjectW(attrs: null, name: string | null): unknown;
  /** Opens a job by name; `null` on failure. */
  OpenJobObjectW(access: number, inherit: boolean, name: string): unknown;
  AssignProcessToJobObject(job: unknown, process: unknown): boolean;
  TerminateJobObject(job: unknown, exitCode: number): boolean;
  QueryInformationJobObject(job: unknown, cls: number, info: Buffer, len: number, retLen: number[] | null): boolean;
  SetInformationJobObject(job: unknown, cls: number, info: Buffer, len: number): boolean;
  /** `JOBOBJECT_IO_RATE_CONTROL_INFORMATION` encoded in `info`; returns 0 on failure. */
  SetIoRateControlInformationJobObject(job: unknown, info: Buffer): number;
  OpenProcess(access: number, inherit: boolean, pid: number): unknown;
  /** `file` is a handle value as an integer, so `INVALID_HANDLE_VALUE` (-1) can be passed for a new port. */
  CreateIoCompletionPort(file: number, existing: unknown, key: number, threads: number): unknown;
  /** Fills `bytes[0]` (the message), `key[0]` and `overlapped[0]` (the pid, as a pointer value). */
  GetQueuedCompletionStatus(port: unknown, bytes: number[], key: unknown[], overlapped: unknown[], ms: number): boolean;
  CloseHandle(h: unknown): boolean;
  /** The calling thread's last error; koffi keeps it from being overwritten by Node between calls. */
  GetLastError(): number;
}

let bound: Kernel32 | undefined;

/** Binds kernel32 on Windows (once); throws `ERR_PLATFORM_NOT_SUPPORTED` on any other OS. */
export function kernel32(): Kernel32 {
  requirePlatform('kernel32 job objects', 'win32');
  if (bound !== undefined) return bound;
  const lib = koffi.load('kernel32.dll');
  // Anonymous types only: a named koffi type is process-wide and could clash with another binding (HCS).
  const HANDLE = koffi.pointer(koffi.opaque());
  const out = (t: string): IKoffiCType => koffi.out(koffi.pointer(t));
  const f = (name: string, ret: TypeSpec, args: TypeSpec[]): unknown => lib.func('__stdcall', name, ret, args);
  bound = {
    CreateJobObjectW: f('CreateJobObjectW', HANDLE, ['void *', 'const char16_t *']),
    OpenJobObjectW: f('OpenJobObjectW', HANDLE, ['uint32_t', 'bool', 'const char16_t *']),
    AssignProcessToJobObject: f('AssignProcessToJobObject', 'bool', [HANDLE, HANDLE]),
    TerminateJobObject: f('TerminateJobObject', 'bool', [HANDLE, 'uint32_t']),
    QueryInformationJobObject: f('QueryInformationJobObject', 'bool', [HANDLE, 'int', 'void *', 'uint32_t', out('uint32_t')]),
    SetInformationJobObject: f('SetInformationJobObject', 'bool', [HANDLE, 'int', 'void *', 'uint32_t']),
    SetIoRateControlInformationJobObject: f('SetIoRateControlInformationJobObject', 'uint32_t', [HANDLE, 'void *']),
    OpenProcess: f('OpenProcess', HANDLE, ['uint32_t', 'bool', 'uint32_t']),
    CreateIoCompletionPort: f('CreateIoCompletionPort', HANDLE, ['intptr_t', HANDLE, 'uintptr_t', 'uint32_t']),
    GetQueuedCompletionStatus: f('GetQueuedCompletionStatus', 'bool', [
      HANDLE,
      out('uint32_t'),
      out('uintptr_t'),
      koffi.out(koffi.pointer(koffi.pointer('void'))),
      'uint32_t',
    ]),
    CloseHandle: f('CloseHandle', 'bool', [HANDLE]),
    GetLastError: f('GetLastError', 'uint32_t', []),
  } as unknown as Kernel32;
  return bound;
}
