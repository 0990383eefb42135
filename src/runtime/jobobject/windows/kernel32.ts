import koffi from 'koffi';
import { TaskioError } from '../../../errors.js';
import {
  JOBOBJECT_ASSOCIATE_COMPLETION_PORT,
  JOBOBJECT_IO_RATE_CONTROL_INFORMATION,
} from './structs.js';

/**
 * The kernel32 job object functions hcsshim calls, bound through koffi. Loaded only on Windows, on first
 * use; elsewhere {@link kernel32} throws `ERR_PLATFORM_NOT_SUPPORTED`. The prototypes follow the SDK
 * (`__stdcall` is the only x64 convention, so koffi's default is right). NOT VERIFIED ON WINDOWS: nothing
 * calls these yet — the JobObject class runs on Linux cgroups only.
 */
export interface Kernel32 {
  CreateJobObjectW(attrs: null, name: string | null): unknown;
  OpenJobObjectW(access: number, inherit: boolean, name: string): unknown;
  AssignProcessToJobObject(job: unknown, process: unknown): boolean;
  TerminateJobObject(job: unknown, exitCode: number): boolean;
  QueryInformationJobObject(job: unknown, cls: number, info: Buffer, len: number, retLen: number[] | null): boolean;
  SetInformationJobObject(job: unknown, cls: number, info: Buffer, len: number): boolean;
  SetIoRateControlInformationJobObject(job: unknown, info: unknown): number;
  OpenProcess(access: number, inherit: boolean, pid: number): unknown;
  CreateIoCompletionPort(file: unknown, existing: unknown, key: unknown, threads: number): unknown;
  GetQueuedCompletionStatus(port: unknown, bytes: number[], key: unknown[], overlapped: unknown[], ms: number): boolean;
  CloseHandle(h: unknown): boolean;
  GetLastError(): number;
}

let bound: Kernel32 | undefined;

/** Binds kernel32 on Windows (once); throws `ERR_PLATFORM_NOT_SUPPORTED` on any other OS. */
export function kernel32(): Kernel32 {
  if (process.platform !== 'win32') {
    throw new TaskioError('ERR_PLATFORM_NOT_SUPPORTED', `kernel32 job objects exist only on Windows, not on ${process.platform}`);
  }
  if (bound !== undefined) return bound;
  const lib = koffi.load('kernel32.dll');
  // Anonymous types only: a named koffi type is process-wide and could clash with another binding (HCS).
  const HANDLE = koffi.pointer(koffi.opaque());
  const out = (t: string): koffi.IKoffiCType => koffi.out(koffi.pointer(t));
  const f = (name: string, ret: koffi.TypeSpec, args: koffi.TypeSpec[]): unknown => lib.func('__stdcall', name, ret, args);
  void JOBOBJECT_ASSOCIATE_COMPLETION_PORT; // passed encoded in a Buffer through SetInformationJobObject
  bound = {
    CreateJobObjectW: f('CreateJobObjectW', HANDLE, ['void *', 'const char16_t *']),
    OpenJobObjectW: f('OpenJobObjectW', HANDLE, ['uint32_t', 'bool', 'const char16_t *']),
    AssignProcessToJobObject: f('AssignProcessToJobObject', 'bool', [HANDLE, HANDLE]),
    TerminateJobObject: f('TerminateJobObject', 'bool', [HANDLE, 'uint32_t']),
    QueryInformationJobObject: f('QueryInformationJobObject', 'bool', [HANDLE, 'int', 'void *', 'uint32_t', out('uint32_t')]),
    SetInformationJobObject: f('SetInformationJobObject', 'bool', [HANDLE, 'int', 'void *', 'uint32_t']),
    SetIoRateControlInformationJobObject: f('SetIoRateControlInformationJobObject', 'uint32_t', [
      HANDLE,
      koffi.pointer(JOBOBJECT_IO_RATE_CONTROL_INFORMATION),
    ]),
    OpenProcess: f('OpenProcess', HANDLE, ['uint32_t', 'bool', 'uint32_t']),
    CreateIoCompletionPort: f('CreateIoCompletionPort', HANDLE, [HANDLE, HANDLE, 'uintptr_t', 'uint32_t']),
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
