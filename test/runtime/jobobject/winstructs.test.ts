import t from 'tap';
import koffi from 'koffi';
import * as w from '../../../src/runtime/jobobject/windows/structs.js';
import { kernel32 } from '../../../src/runtime/jobobject/windows/kernel32.js';

// Sizes and offsets from the Windows SDK headers for x64 (LLP64). koffi lays the structs out for the
// OS it runs on, and they use only fixed-width types, so a 64-bit Linux gives the same numbers.
// This checks the declarations, not a Windows run: the binding is not verified on Windows.
const is64 = koffi.sizeof('void *') === 8;

t.test('job object structs have the Windows x64 layout', { skip: is64 ? false : 'the expected values are for 64-bit' }, async (t) => {
  const cases: Array<[string, koffi.IKoffiCType, number, Record<string, number>]> = [
    ['JOBOBJECT_BASIC_LIMIT_INFORMATION', w.JOBOBJECT_BASIC_LIMIT_INFORMATION, 64, {
      PerJobUserTimeLimit: 8, LimitFlags: 16, MinimumWorkingSetSize: 24, MaximumWorkingSetSize: 32,
      ActiveProcessLimit: 40, Affinity: 48, PriorityClass: 56, SchedulingClass: 60,
    }],
    ['IO_COUNTERS', w.IO_COUNTERS, 48, { OtherTransferCount: 40 }],
    ['JOBOBJECT_EXTENDED_LIMIT_INFORMATION', w.JOBOBJECT_EXTENDED_LIMIT_INFORMATION, 144, {
      IoInfo: 64, ProcessMemoryLimit: 112, JobMemoryLimit: 120, PeakProcessMemoryUsed: 128, PeakJobMemoryUsed: 136,
    }],
    ['JOBOBJECT_CPU_RATE_CONTROL_INFORMATION', w.JOBOBJECT_CPU_RATE_CONTROL_INFORMATION, 8, { Value: 4 }],
    ['JOBOBJECT_BASIC_ACCOUNTING_INFORMATION', w.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, 48, {
      TotalKernelTime: 8, ThisPeriodTotalKernelTime: 24, TotalPageFaultCount: 32, TotalTerminatedProcesses: 44,
    }],
    ['JOBOBJECT_MEMORY_USAGE_INFORMATION', w.JOBOBJECT_MEMORY_USAGE_INFORMATION, 16, { PeakJobMemoryUsed: 8 }],
    ['JOBOBJECT_IO_ATTRIBUTION_STATS', w.JOBOBJECT_IO_ATTRIBUTION_STATS, 32, { TotalSize: 24 }],
    ['JOBOBJECT_IO_ATTRIBUTION_INFORMATION', w.JOBOBJECT_IO_ATTRIBUTION_INFORMATION, 72, { ReadStats: 8, WriteStats: 40 }],
    ['JOBOBJECT_IO_RATE_CONTROL_INFORMATION', w.JOBOBJECT_IO_RATE_CONTROL_INFORMATION, 40, {
      MaxBandwidth: 8, ReservationIops: 16, VolumeName: 24, BaseIoSize: 32, ControlFlags: 36,
    }],
    ['JOBOBJECT_ASSOCIATE_COMPLETION_PORT', w.JOBOBJECT_ASSOCIATE_COMPLETION_PORT, 16, { CompletionPort: 8 }],
    ['JOBOBJECT_BASIC_PROCESS_ID_LIST', w.JOBOBJECT_BASIC_PROCESS_ID_LIST, 16, { NumberOfProcessIdsInList: 4, ProcessIdList: 8 }],
  ];
  for (const [name, type, size, offsets] of cases) {
    t.equal(koffi.sizeof(type), size, `sizeof(${name})`);
    for (const [field, off] of Object.entries(offsets)) t.equal(koffi.offsetof(type, field), off, `${name}.${field}`);
  }
});

t.test('a struct round-trips through memory as kernel32 would fill it', async (t) => {
  const buf = Buffer.alloc(koffi.sizeof(w.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION));
  buf.writeBigInt64LE(123n, 0);
  buf.writeUInt32LE(7, 40);
  const v = koffi.decode(buf, w.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION) as { TotalUserTime: number | bigint; ActiveProcesses: number };
  t.equal(Number(v.TotalUserTime), 123);
  t.equal(v.ActiveProcesses, 7);
});

t.test('kernel32 binds only on Windows', { skip: process.platform === 'win32' ? 'this checks the refusal elsewhere' : false }, async (t) => {
  t.throws(() => kernel32(), { code: 'ERR_PLATFORM_NOT_SUPPORTED', message: new RegExp(process.platform) });
});
