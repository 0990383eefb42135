import t, { type Test } from 'tap';
import koffi from 'koffi';
import { once } from 'node:events';
import { CPURateControlType, JobObject, MsgAllProcessesExited, MsgJobMemoryLimit, MsgUnimplemented, Win32Error } from '../../../src/runtime/jobobject/index.js';
import { useBackends } from '../../../src/runtime/jobobject/platform.js';
import { windowsBackends } from '../../../src/runtime/jobobject/windows/windowsJob.js';
import * as s from '../../../src/runtime/jobobject/windows/structs.js';
import { ScriptedKernel32, addr, fails, handle, message } from './fixtures/scriptedKernel32.js';

// The Windows backend driven through the public JobObject over a scripted kernel32: Windows does not
// exist on Linux, so these check the calls, their order and the struct bytes, not a Windows run.
const W = 'scripted kernel32 (Windows does not exist on Linux)';
const C = s.JobObjectInfoClass;

function setup(t: Test): ScriptedKernel32 {
  const k = new ScriptedKernel32();
  useBackends(windowsBackends(k));
  t.teardown(() => useBackends(undefined));
  return k;
}

function decode<T>(buf: unknown, type: koffi.IKoffiCType): T {
  return koffi.decode(buf as Buffer, type) as T;
}

t.test(`create: CreateJobObjectW, KILL_ON_JOB_CLOSE, completion port — ${W}`, async (t) => {
  const k = setup(t);
  const job = await JobObject.create({ name: 'Global\\tj', terminateOnLastHandleClose: true, notifications: true });
  t.equal(job.name, 'Global\\tj');
  t.same(job.cgroupPaths, []);
  t.same(k.names(), [
    'CreateJobObjectW',
    'QueryInformationJobObject',
    'SetInformationJobObject',
    'CreateIoCompletionPort',
    'SetInformationJobObject',
  ]);
  t.same(k.calls[0]!.args, [null, 'Global\\tj']);
  const [q, set, port, assoc] = [k.calls[1]!, k.calls[2]!, k.calls[3]!, k.calls[4]!];
  t.same(q.args.slice(0, 2), ['h:0x100', C.JobObjectExtendedLimitInformation]);
  t.equal(q.args[3], 144, 'JOBOBJECT_EXTENDED_LIMIT_INFORMATION is 144 bytes');
  t.same(set.args.slice(0, 2), ['h:0x100', C.JobObjectExtendedLimitInformation]);
  const ext = decode<{ BasicLimitInformation: { LimitFlags: number } }>(set.args[2], s.JOBOBJECT_EXTENDED_LIMIT_INFORMATION);
  t.equal(ext.BasicLimitInformation.LimitFlags, s.JOB_OBJECT_LIMIT.KILL_ON_JOB_CLOSE);
  t.same(port.args, [-1, null, 0, 1], 'a new port: INVALID_HANDLE_VALUE, no existing port, one thread');
  t.same(assoc.args.slice(0, 2), ['h:0x100', C.JobObjectAssociateCompletionPortInformation]);
  t.equal(assoc.args[3], 16);
  const a = decode<{ CompletionKey: unknown; CompletionPort: unknown }>(assoc.args[2], s.JOBOBJECT_ASSOCIATE_COMPLETION_PORT);
  t.equal(addr(a.CompletionKey), 0x100, 'the job handle is the completion key');
  t.equal(addr(a.CompletionPort), 0x300);
  await job.close();
  t.same(k.names().slice(-2), ['CloseHandle', 'CloseHandle']);
  t.same(k.calls.slice(-2).map((c) => c.args[0]), ['h:0x300', 'h:0x100'], 'port, then job');
  await job.close();
  t.equal(k.calls.length, 7, 'a second close makes no call');
});

t.test(`create without a name makes an unnamed job and no other call — ${W}`, async (t) => {
  const k = setup(t);
  const job = await JobObject.create();
  t.equal(job.name, '');
  t.same(k.calls, [{ fn: 'CreateJobObjectW', args: [null, null] }]);
  await t.rejects(job.pollNotification(), { code: 'ERR_NOT_REGISTERED' });
  t.equal(k.calls.length, 1);
});

t.test(`values out of range are ERR_OUT_OF_RANGE before any call — ${W}`, async (t) => {
  const k = setup(t);
  await t.rejects(JobObject.create({ name: 'x', limits: { cpuLimit: 10001 } }), { code: 'ERR_OUT_OF_RANGE' });
  await t.rejects(JobObject.create({ name: 'x', limits: { memoryLimitInBytes: -1 } }), { code: 'ERR_OUT_OF_RANGE' });
  t.same(k.calls, [], 'nothing was created');
  const job = await JobObject.create({ name: 'x' });
  const before = k.calls.length;
  await t.rejects(job.setCPULimit(CPURateControlType.WeightBased, 10), { code: 'ERR_OUT_OF_RANGE' });
  await t.rejects(job.setCPULimit(CPURateControlType.RateBased, 0), { code: 'ERR_OUT_OF_RANGE' });
  await t.rejects(job.setMemoryLimit(2n ** 63n), { code: 'ERR_OUT_OF_RANGE' });
  await t.rejects(job.setIOLimit(-1, 0), { code: 'ERR_OUT_OF_RANGE' });
  await t.rejects(job.terminate(-1), { code: 'ERR_OUT_OF_RANGE' });
  await t.rejects(job.terminate(2 ** 32), { code: 'ERR_OUT_OF_RANGE' });
  await t.rejects(job.setResourceLimits({ memoryLimitInBytes: 1024, cpuWeight: 0.5 }), { code: 'ERR_OUT_OF_RANGE' });
  await t.rejects(job.assign(0), { code: 'ERR_INVALID_ARG_VALUE' });
  t.equal(k.calls.length, before, 'no kernel32 call was made');
});

t.test(`create with limits: memory, CPU, I/O in hcsshim's order; a failure closes the handle — ${W}`, async (t) => {
  const k = setup(t);
  const job = await JobObject.create({ name: 'lim', limits: { memoryLimitInBytes: 1n << 30n, cpuLimit: 2000, maxIOPS: 10 } });
  t.same(k.names(), [
    'CreateJobObjectW',
    'QueryInformationJobObject',
    'SetInformationJobObject',
    'SetInformationJobObject',
    'SetIoRateControlInformationJobObject',
  ]);
  await job.close();

  const k2 = setup(t);
  k2.on('SetInformationJobObject', fails(5));
  await t.rejects(JobObject.create({ name: 'lim', limits: { cpuWeight: 3 } }), { code: 'ERROR_ACCESS_DENIED', errno: 5, syscall: 'SetInformationJobObject' });
  t.same(k2.names(), ['CreateJobObjectW', 'SetInformationJobObject', 'GetLastError', 'CloseHandle']);
});

t.test(`create: a failed association closes the port and the job — ${W}`, async (t) => {
  const k = setup(t);
  k.on('SetInformationJobObject', fails(87));
  const err = await JobObject.create({ name: 'n', notifications: true }).catch((e: unknown) => e);
  t.ok(err instanceof Win32Error);
  t.match(err, { code: 'ERROR_INVALID_PARAMETER', errno: 87, message: /SetInformationJobObject failed: ERROR_INVALID_PARAMETER \(87\)/ });
  t.same(k.names(), ['CreateJobObjectW', 'CreateIoCompletionPort', 'SetInformationJobObject', 'GetLastError', 'CloseHandle', 'CloseHandle']);
  t.same(k.calls.slice(-2).map((c) => c.args[0]), ['h:0x300', 'h:0x100']);

  const k2 = setup(t);
  k2.on('CreateJobObjectW', fails(161, null));
  await t.rejects(JobObject.create({ name: '\\Sessions\\1\\x' }), { code: 'ERROR_BAD_PATHNAME', syscall: 'CreateJobObjectW' });
  t.same(k2.names(), ['CreateJobObjectW', 'GetLastError']);
});

t.test(`open: OpenJobObjectW with JOB_OBJECT_ALL_ACCESS; a missing job is ERROR_FILE_NOT_FOUND — ${W}`, async (t) => {
  const k = setup(t);
  const job = await JobObject.open('other', { notifications: true });
  t.same(k.calls[0], { fn: 'OpenJobObjectW', args: [0x1f001f, false, 'other'] });
  t.same(k.names().slice(1), ['CreateIoCompletionPort', 'SetInformationJobObject'], 'no limit is touched on open');
  await job.close();
  k.on('OpenJobObjectW', fails(2, null));
  await t.rejects(JobObject.open('missing'), { code: 'ERROR_FILE_NOT_FOUND', errno: 2, syscall: 'OpenJobObjectW' });
  await t.rejects(JobObject.open(''), { code: 'ERR_INVALID_ARG_VALUE' });
});

t.test(`assign: OpenProcess, AssignProcessToJobObject, CloseHandle; errors keep GetLastError — ${W}`, async (t) => {
  const k = setup(t);
  const job = await JobObject.create({ name: 'a' });
  k.calls.length = 0;
  await job.assign(4242);
  t.same(k.calls, [
    { fn: 'OpenProcess', args: [0x0101, false, 4242] },
    { fn: 'AssignProcessToJobObject', args: ['h:0x100', 'h:0x200'] },
    { fn: 'CloseHandle', args: ['h:0x200'] },
  ]);
  k.calls.length = 0;
  k.on('AssignProcessToJobObject', fails(5));
  await t.rejects(job.assign(4242), { code: 'ERROR_ACCESS_DENIED', errno: 5, syscall: 'AssignProcessToJobObject' });
  t.same(k.names(), ['OpenProcess', 'AssignProcessToJobObject', 'GetLastError', 'CloseHandle'], 'the error is read before CloseHandle');
  k.calls.length = 0;
  k.on('OpenProcess', fails(87, null));
  await t.rejects(job.assign(4242), { code: 'ERROR_INVALID_PARAMETER', syscall: 'OpenProcess' });
  t.same(k.names(), ['OpenProcess', 'GetLastError'], 'nothing to close');
});

// Fills a JOBOBJECT_BASIC_PROCESS_ID_LIST as far as the buffer allows, like the kernel does.
function pidList(pids: number[]) {
  return (k: ScriptedKernel32, _job: unknown, _cls: number, buf: Buffer, len: number): boolean => {
    buf.writeUInt32LE(pids.length, 0);
    const room = Math.floor((len - 8) / 8);
    if (room < pids.length) {
      buf.writeUInt32LE(room, 4);
      k.lastError = 234; // ERROR_MORE_DATA
      return false;
    }
    buf.writeUInt32LE(pids.length, 4);
    pids.forEach((p, i) => buf.writeBigUInt64LE(BigInt(p), 8 + 8 * i));
    return true;
  };
}

t.test(`pids: JobObjectBasicProcessIdList, growing the buffer on ERROR_MORE_DATA — ${W}`, async (t) => {
  const k = setup(t);
  const job = await JobObject.create({ name: 'p' });
  const lens = (): unknown[] => k.of('QueryInformationJobObject').map((c) => c.args[3]);

  k.calls.length = 0;
  k.on('QueryInformationJobObject', pidList([]));
  t.same(await job.pids(), []);
  k.on('QueryInformationJobObject', pidList([7]));
  t.same(await job.pids(), [7], 'one pid fits the first buffer');
  t.same(lens(), [16, 16]);
  t.same(k.of('QueryInformationJobObject')[0]!.args.slice(0, 2), ['h:0x100', C.JobObjectBasicProcessIdList]);

  k.calls.length = 0;
  k.on('QueryInformationJobObject', pidList([1, 2, 3]), pidList([1, 2, 3]));
  t.same(await job.pids(), [1, 2, 3]);
  t.same(lens(), [16, 32], 'room for NumberOfAssignedProcesses');

  k.calls.length = 0;
  k.on('QueryInformationJobObject', pidList([1, 2, 3]), pidList([1, 2, 3, 4, 5]), pidList([1, 2, 3, 4, 5]));
  t.same(await job.pids(), [1, 2, 3, 4, 5], 'processes that joined between reads are found');
  t.same(lens(), [16, 32, 48]);

  k.calls.length = 0;
  k.on('QueryInformationJobObject', fails(6));
  await t.rejects(job.pids(), { code: 'ERROR_INVALID_HANDLE', syscall: 'QueryInformationJobObject' });
});

t.test(`terminate: TerminateJobObject with the exit code — ${W}`, async (t) => {
  const k = setup(t);
  const job = await JobObject.create({ name: 't' });
  await job.terminate(7);
  await job.terminate();
  t.same(k.of('TerminateJobObject').map((c) => c.args), [['h:0x100', 7], ['h:0x100', 1]]);
  k.on('TerminateJobObject', fails(5));
  await t.rejects(job.terminate(0), { code: 'ERROR_ACCESS_DENIED' });
});

t.test(`limits: CPU rate/weight, job memory, I/O rate structs — ${W}`, async (t) => {
  const k = setup(t);
  const job = await JobObject.create({ name: 'l' });
  k.calls.length = 0;
  await job.setCPULimit(CPURateControlType.RateBased, 2000);
  await job.setCPULimit(CPURateControlType.WeightBased, 3);
  const cpu = k.of('SetInformationJobObject');
  t.same(cpu.map((c) => [c.args[1], c.args[3]]), [[C.JobObjectCpuRateControlInformation, 8], [C.JobObjectCpuRateControlInformation, 8]]);
  t.same(decode(cpu[0]!.args[2], s.JOBOBJECT_CPU_RATE_CONTROL_INFORMATION), { ControlFlags: 0x1 | 0x4, Value: 2000 }, 'ENABLE | HARD_CAP');
  t.same(decode(cpu[1]!.args[2], s.JOBOBJECT_CPU_RATE_CONTROL_INFORMATION), { ControlFlags: 0x1 | 0x2, Value: 3 }, 'ENABLE | WEIGHT_BASED');

  // Memory: read-modify-write keeps what the job already had.
  k.calls.length = 0;
  k.on('QueryInformationJobObject', (_k, _j, _c, buf: Buffer) => {
    koffi.encode(buf, 0, s.JOBOBJECT_EXTENDED_LIMIT_INFORMATION, {
      BasicLimitInformation: { LimitFlags: s.JOB_OBJECT_LIMIT.KILL_ON_JOB_CLOSE, ActiveProcessLimit: 4 },
      ProcessMemoryLimit: 12345,
    });
    return true;
  });
  await job.setMemoryLimit(5n << 40n);
  t.same(k.names(), ['QueryInformationJobObject', 'SetInformationJobObject']);
  const set = k.calls[1]!;
  t.same(set.args.slice(1, 2), [C.JobObjectExtendedLimitInformation]);
  const ext = decode<{ BasicLimitInformation: { LimitFlags: number; ActiveProcessLimit: number }; JobMemoryLimit: number | bigint; ProcessMemoryLimit: number }>(
    set.args[2],
    s.JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
  );
  t.equal(ext.BasicLimitInformation.LimitFlags, s.JOB_OBJECT_LIMIT.KILL_ON_JOB_CLOSE | s.JOB_OBJECT_LIMIT.JOB_MEMORY);
  t.equal(BigInt(ext.JobMemoryLimit), 5n << 40n);
  t.equal(ext.BasicLimitInformation.ActiveProcessLimit, 4, 'other limits kept');
  t.equal(ext.ProcessMemoryLimit, 12345);
  t.equal((set.args[2] as Buffer).readBigUInt64LE(120), 5n << 40n, 'JobMemoryLimit at offset 120');

  // I/O: all volumes, enable; a 0 keeps the value this handle set before.
  k.calls.length = 0;
  await job.setIOLimit(1_000_000, 0);
  await job.setIOLimit(0, 50);
  const io = k.of('SetIoRateControlInformationJobObject').map((c) => decode<Record<string, unknown>>(c.args[1], s.JOBOBJECT_IO_RATE_CONTROL_INFORMATION));
  t.match(io[0], { MaxIops: 0, MaxBandwidth: 1_000_000, ReservationIops: 0, VolumeName: null, BaseIoSize: 0, ControlFlags: 1 });
  t.match(io[1], { MaxIops: 50, MaxBandwidth: 1_000_000, VolumeName: null, ControlFlags: 1 });
  k.on('SetIoRateControlInformationJobObject', fails(50, 0));
  await t.rejects(job.setIOLimit(1, 1), { code: 'ERROR_NOT_SUPPORTED', syscall: 'SetIoRateControlInformationJobObject' });
});

t.test(`stats: memory usage, basic accounting, I/O attribution — ${W}`, async (t) => {
  const k = setup(t);
  const job = await JobObject.create({ name: 's' });
  k.calls.length = 0;
  k.on(
    'QueryInformationJobObject',
    (_k, _j, _c, buf: Buffer) => (koffi.encode(buf, 0, s.JOBOBJECT_MEMORY_USAGE_INFORMATION, { JobMemory: 4096, PeakJobMemoryUsed: 8192 }), true),
    (_k, _j, _c, buf: Buffer) => (
      koffi.encode(buf, 0, s.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, {
        TotalUserTime: 10_000_000, TotalKernelTime: 20, ThisPeriodTotalUserTime: 30, ThisPeriodTotalKernelTime: 40,
        TotalPageFaultCount: 5, TotalProcesses: 3, ActiveProcesses: 2, TotalTerminatedProcesses: 1,
      }),
      true
    ),
    (_k, _j, _c, buf: Buffer) => {
      t.equal(buf.readUInt32LE(0), 1, 'queried with ControlFlags = enable');
      koffi.encode(buf, 0, s.JOBOBJECT_IO_ATTRIBUTION_INFORMATION, {
        ControlFlags: 1,
        ReadStats: { IoCount: 3, TotalNonOverlappedQueueTime: 4, TotalNonOverlappedServiceTime: 5, TotalSize: 6 },
        WriteStats: { IoCount: 7, TotalNonOverlappedQueueTime: 8, TotalNonOverlappedServiceTime: 9, TotalSize: 10 },
      });
      return true;
    },
  );
  t.same(await job.queryMemoryStats(), { JobMemory: 4096, PeakJobMemoryUsed: 8192 });
  t.same(await job.queryProcessorStats(), {
    TotalUserTime: 10_000_000, TotalKernelTime: 20, ThisPeriodTotalUserTime: 30, ThisPeriodTotalKernelTime: 40,
    TotalPageFaultCount: 5, TotalProcesses: 3, ActiveProcesses: 2, TotalTerminatedProcesses: 1,
  });
  t.same(await job.queryStorageStats(), {
    ControlFlags: 1,
    ReadStats: { IoCount: 3, TotalNonOverlappedQueueTime: 4, TotalNonOverlappedServiceTime: 5, TotalSize: 6 },
    WriteStats: { IoCount: 7, TotalNonOverlappedQueueTime: 8, TotalNonOverlappedServiceTime: 9, TotalSize: 10 },
  });
  t.same(k.of('QueryInformationJobObject').map((c) => [c.args[1], c.args[3]]), [
    [C.JobObjectMemoryUsageInformation, 16],
    [C.JobObjectBasicAccountingInformation, 48],
    [C.JobObjectIoAttribution, 72],
  ]);
  k.on('QueryInformationJobObject', fails(5));
  await t.rejects(job.queryMemoryStats(), { code: 'ERROR_ACCESS_DENIED' });
});

t.test(`notifications: the port is read with a 0 ms timeout, ACTIVE_PROCESS_ZERO → MsgAllProcessesExited, JOB_MEMORY_LIMIT → MsgJobMemoryLimit — ${W}`, async (t) => {
  const k = setup(t);
  const job = await JobObject.create({ name: 'n', notifications: true });
  k.calls.length = 0;
  k.on('GetQueuedCompletionStatus', message(s.JOB_OBJECT_MSG.NEW_PROCESS, 42), message(s.JOB_OBJECT_MSG.JOB_MEMORY_LIMIT, 42), message(s.JOB_OBJECT_MSG.ACTIVE_PROCESS_ZERO));
  t.ok((await job.pollNotification()) instanceof MsgUnimplemented, 'a new process is not implemented');
  t.ok((await job.pollNotification()) instanceof MsgJobMemoryLimit, 'JOB_MEMORY_LIMIT → MsgJobMemoryLimit');
  t.ok((await job.pollNotification()) instanceof MsgAllProcessesExited, 'queued, none lost');
  const reads = k.of('GetQueuedCompletionStatus');
  t.ok(reads.length >= 3, 'drained until WAIT_TIMEOUT');
  for (const r of reads) t.same([r.args[0], r.args[4]], ['h:0x300', 0], 'never blocks: timeout 0');

  // Nothing queued: the wait is answered by the timer's next read, without blocking the loop.
  const pending = job.pollNotification();
  let ticked = false;
  setImmediate(() => (ticked = true));
  await new Promise((r) => setTimeout(r, 20));
  t.ok(ticked, 'the event loop keeps running');
  k.on('GetQueuedCompletionStatus', message(s.JOB_OBJECT_MSG.ACTIVE_PROCESS_ZERO));
  t.ok((await pending) instanceof MsgAllProcessesExited);

  // A broken port fails the waiters with the Win32 error.
  k.on('GetQueuedCompletionStatus', fails(6));
  await t.rejects(job.pollNotification(), { code: 'ERROR_INVALID_HANDLE', syscall: 'GetQueuedCompletionStatus' });
  await job.close();
});

t.test(`close: a pending poll fails ERR_ALREADY_CLOSED, later calls too — ${W}`, async (t) => {
  const k = setup(t);
  const job = await JobObject.create({ name: 'c', notifications: true });
  const pending = job.pollNotification();
  await job.close();
  await t.rejects(pending, { code: 'ERR_ALREADY_CLOSED' });
  const n = k.calls.length;
  await t.rejects(job.pids(), { code: 'ERR_ALREADY_CLOSED' });
  await t.rejects(job.pollNotification(), { code: 'ERR_ALREADY_CLOSED' });
  t.throws(() => job.spawn('x'), { code: 'ERR_ALREADY_CLOSED' });
  t.equal(k.calls.length, n, 'no call after close');
  const k2 = setup(t);
  const j2 = await JobObject.create({ name: 'c2' });
  k2.on('CloseHandle', fails(6));
  await t.rejects(j2.close(), { code: 'ERROR_INVALID_HANDLE', syscall: 'CloseHandle' });
});

t.test(`spawn assigns the child before returning; a failed assign kills it — ${W}`, async (t) => {
  const k = setup(t);
  const job = await JobObject.create({ name: 'sp' });
  k.calls.length = 0;
  const child = job.spawn(process.execPath, ['-e', 'setTimeout(() => {}, 200)'], { stdio: 'ignore' });
  t.same(k.names(), ['OpenProcess', 'AssignProcessToJobObject', 'CloseHandle'], 'assigned synchronously');
  t.equal(k.calls[0]!.args[2], child.pid);
  const [code] = (await once(child, 'exit')) as [number | null];
  t.equal(code, 0);

  k.on('AssignProcessToJobObject', fails(5));
  const bad = job.spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  const [err] = (await once(bad, 'error')) as [Error];
  t.match(err, { code: 'ERROR_ACCESS_DENIED', syscall: 'AssignProcessToJobObject' });
  if (bad.exitCode === null && bad.signalCode === null) await once(bad, 'exit');
  t.equal(bad.signalCode, 'SIGKILL', 'the unconfined child was killed');
  t.throws(() => job.commandLine('x'), { code: 'ERR_NOT_SUPPORTED' });
});

t.test(`Win32Error names unknown numbers — ${W}`, async (t) => {
  const e = new Win32Error('TerminateJobObject', 9999);
  t.match(e, { code: 'ERROR_9999', errno: 9999, name: 'Win32Error' });
  t.equal(addr(handle(0x1234)), 0x1234);
});

t.test(`waitEmpty polls ActiveProcesses until it is 0, or rejects ETIMEDOUT — ${W}`, async (t) => {
  const k = setup(t);
  const job = await JobObject.create({ name: 'w' });
  const active = (n: number) => (_k: unknown, _j: unknown, _c: unknown, buf: Buffer): boolean => (
    koffi.encode(buf, 0, s.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, { ActiveProcesses: n }), true
  );
  k.calls.length = 0;
  k.on('QueryInformationJobObject', active(2), active(1), active(0));
  await job.waitEmpty(10_000);
  t.same(k.of('QueryInformationJobObject').map((c) => c.args[1]), Array(3).fill(C.JobObjectBasicAccountingInformation), 'asked until 0 processes were active');
  k.on('QueryInformationJobObject', ...Array.from({ length: 100 }, () => active(1)));
  await t.rejects(job.waitEmpty(150), { code: 'ETIMEDOUT', message: /job "w" still has processes after 150 ms/ });
  await job.close();
});
