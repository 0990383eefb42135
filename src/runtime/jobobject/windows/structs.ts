import { koffi } from './koffi.js';

/*
 * kernel32's job object structures, declared with koffi so that the Windows binding and the tests share
 * one definition. Only fixed-width types are used (never C `long`, which is 4 bytes on Windows and 8 on
 * 64-bit Linux), so on any 64-bit OS koffi computes the Windows x64 (LLP64) layout; tests check sizes and
 * offsets against the Windows SDK values here on Linux. NOT VERIFIED ON WINDOWS.
 * The structs are anonymous so that no koffi type name can clash with another module's.
 */

const ULONG = 'uint32';
const DWORD = 'uint32';
const LARGE_INTEGER = 'int64';
const ULONG64 = 'uint64';
const ULONG_PTR = 'uintptr_t'; // also SIZE_T, KAFFINITY
const HANDLE = 'void *';

/** `JOBOBJECT_BASIC_LIMIT_INFORMATION` (winnt.h): 64 bytes on x64. */
export const JOBOBJECT_BASIC_LIMIT_INFORMATION = koffi.struct({
  PerProcessUserTimeLimit: LARGE_INTEGER,
  PerJobUserTimeLimit: LARGE_INTEGER,
  LimitFlags: DWORD,
  MinimumWorkingSetSize: ULONG_PTR,
  MaximumWorkingSetSize: ULONG_PTR,
  ActiveProcessLimit: DWORD,
  Affinity: ULONG_PTR,
  PriorityClass: DWORD,
  SchedulingClass: DWORD,
});

/** `IO_COUNTERS` (winnt.h): 48 bytes. */
export const IO_COUNTERS = koffi.struct({
  ReadOperationCount: ULONG64,
  WriteOperationCount: ULONG64,
  OtherOperationCount: ULONG64,
  ReadTransferCount: ULONG64,
  WriteTransferCount: ULONG64,
  OtherTransferCount: ULONG64,
});

/** `JOBOBJECT_EXTENDED_LIMIT_INFORMATION` (winnt.h): 144 bytes on x64; holds the job memory limit. */
export const JOBOBJECT_EXTENDED_LIMIT_INFORMATION = koffi.struct({
  BasicLimitInformation: JOBOBJECT_BASIC_LIMIT_INFORMATION,
  IoInfo: IO_COUNTERS,
  ProcessMemoryLimit: ULONG_PTR,
  JobMemoryLimit: ULONG_PTR,
  PeakProcessMemoryUsed: ULONG_PTR,
  PeakJobMemoryUsed: ULONG_PTR,
});

/**
 * `JOBOBJECT_CPU_RATE_CONTROL_INFORMATION` (winnt.h): 8 bytes. The C union of `CpuRate`, `Weight` and
 * `MinRate`/`MaxRate` is one 32-bit `Value`, as hcsshim declares it.
 */
export const JOBOBJECT_CPU_RATE_CONTROL_INFORMATION = koffi.struct({
  ControlFlags: DWORD,
  Value: DWORD,
});

/** `JOBOBJECT_BASIC_ACCOUNTING_INFORMATION` (winnt.h): 48 bytes; times in 100 ns units. */
export const JOBOBJECT_BASIC_ACCOUNTING_INFORMATION = koffi.struct({
  TotalUserTime: LARGE_INTEGER,
  TotalKernelTime: LARGE_INTEGER,
  ThisPeriodTotalUserTime: LARGE_INTEGER,
  ThisPeriodTotalKernelTime: LARGE_INTEGER,
  TotalPageFaultCount: DWORD,
  TotalProcesses: DWORD,
  ActiveProcesses: DWORD,
  TotalTerminatedProcesses: DWORD,
});

/** `JOBOBJECT_MEMORY_USAGE_INFORMATION` (undocumented, as hcsshim has it): 16 bytes. */
export const JOBOBJECT_MEMORY_USAGE_INFORMATION = koffi.struct({
  JobMemory: ULONG64,
  PeakJobMemoryUsed: ULONG64,
});

/** `JOBOBJECT_IO_ATTRIBUTION_STATS`: 32 bytes on x64. */
export const JOBOBJECT_IO_ATTRIBUTION_STATS = koffi.struct({
  IoCount: ULONG_PTR,
  TotalNonOverlappedQueueTime: ULONG64,
  TotalNonOverlappedServiceTime: ULONG64,
  TotalSize: ULONG64,
});

/** `JOBOBJECT_IO_ATTRIBUTION_INFORMATION`: 72 bytes on x64 (4 bytes of padding after `ControlFlags`). */
export const JOBOBJECT_IO_ATTRIBUTION_INFORMATION = koffi.struct({
  ControlFlags: ULONG,
  ReadStats: JOBOBJECT_IO_ATTRIBUTION_STATS,
  WriteStats: JOBOBJECT_IO_ATTRIBUTION_STATS,
});

/** `JOBOBJECT_IO_RATE_CONTROL_INFORMATION` (jobapi2.h): 40 bytes on x64. `VolumeName` null = all volumes. */
export const JOBOBJECT_IO_RATE_CONTROL_INFORMATION = koffi.struct({
  MaxIops: 'int64',
  MaxBandwidth: 'int64',
  ReservationIops: 'int64',
  VolumeName: 'const char16_t *',
  BaseIoSize: ULONG,
  ControlFlags: ULONG,
});

/** `JOBOBJECT_ASSOCIATE_COMPLETION_PORT` (winnt.h): 16 bytes on x64. */
export const JOBOBJECT_ASSOCIATE_COMPLETION_PORT = koffi.struct({
  CompletionKey: 'void *',
  CompletionPort: HANDLE,
});

/** `JOBOBJECT_BASIC_PROCESS_ID_LIST` header with one entry: 16 bytes on x64; more entries follow in memory. */
export const JOBOBJECT_BASIC_PROCESS_ID_LIST = koffi.struct({
  NumberOfAssignedProcesses: DWORD,
  NumberOfProcessIdsInList: DWORD,
  ProcessIdList: koffi.array(ULONG_PTR, 1),
});

/** `JOBOBJECTINFOCLASS` values used by hcsshim (winnt.h). */
export const JobObjectInfoClass = {
  JobObjectBasicAccountingInformation: 1,
  JobObjectBasicProcessIdList: 3,
  JobObjectAssociateCompletionPortInformation: 7,
  JobObjectBasicAndIoAccountingInformation: 8,
  JobObjectExtendedLimitInformation: 9,
  JobObjectCpuRateControlInformation: 15,
  JobObjectMemoryUsageInformation: 28,
  JobObjectCreateSilo: 35,
  JobObjectIoAttribution: 42,
} as const;

/** Flags of {@link JOBOBJECT_CPU_RATE_CONTROL_INFORMATION}. */
export const JOB_OBJECT_CPU_RATE_CONTROL = {
  ENABLE: 0x1,
  WEIGHT_BASED: 0x2,
  HARD_CAP: 0x4,
  NOTIFY: 0x8,
  MIN_MAX_RATE: 0x10,
} as const;

/** `LimitFlags` bits of {@link JOBOBJECT_BASIC_LIMIT_INFORMATION} that hcsshim uses. */
export const JOB_OBJECT_LIMIT = {
  AFFINITY: 0x10,
  JOB_MEMORY: 0x200,
  KILL_ON_JOB_CLOSE: 0x2000,
} as const;

/** Completion-port message codes (`JOB_OBJECT_MSG_*`); ACTIVE_PROCESS_ZERO and JOB_MEMORY_LIMIT have messages of their own. */
export const JOB_OBJECT_MSG = {
  END_OF_JOB_TIME: 1,
  END_OF_PROCESS_TIME: 2,
  ACTIVE_PROCESS_LIMIT: 3,
  ACTIVE_PROCESS_ZERO: 4,
  NEW_PROCESS: 6,
  EXIT_PROCESS: 7,
  ABNORMAL_EXIT_PROCESS: 8,
  PROCESS_MEMORY_LIMIT: 9,
  JOB_MEMORY_LIMIT: 10,
  NOTIFICATION_LIMIT: 11,
} as const;

/** `JOB_OBJECT_IO_RATE_CONTROL_ENABLE` and `JOBOBJECT_IO_ATTRIBUTION_CONTROL_ENABLE`. */
export const IO_CONTROL_ENABLE = 0x1;
/** `JOB_OBJECT_ALL_ACCESS`. */
export const JOB_OBJECT_ALL_ACCESS = 0x1f001f;
