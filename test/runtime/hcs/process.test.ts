import t from 'tap';
import * as hcs from '../../../src/runtime/hcs/index.js';
import { HR, ManualClock, ScriptedTransport, settle, until } from './fixtures/scripted-transport.js';

const opts = { timeout: 5000 };
const N = hcs.NotificationType;
const S = 'scripted transport (HCS does not exist on Linux): ';

async function withProcess(tr = new ScriptedTransport(), clock = new ManualClock()) {
  const sys = await hcs.System.createComputeSystem('c1', {}, tr, { clock, lostExitDelayMs: 1000 });
  const proc = await sys.createProcess({ CommandLine: 'cmd /c echo hi', CreateStdOutPipe: true });
  return { sys, proc, tr, clock };
}

t.test(S + 'createProcess hands back pid and stdio; ProcessExited then a status query gives the exit code', opts, async (t) => {
  const { sys, proc, tr } = await withProcess();
  t.equal(proc.pid(), 7);
  t.equal(proc.systemId(), 'c1');
  const io = proc.stdio();
  t.ok(io.stdin && io.stdout && io.stderr);
  t.throws(() => proc.exitCode(), { name: 'ProcessError', code: 'ERR_HCS_INVALID_PROCESS_STATE' });
  tr.processStatus = { ProcessId: 7, Exited: true, ExitCode: 3, LastWaitResult: 0 };
  tr.notify({ pid: 7 }, { type: N.ProcessExited });
  await proc.wait();
  t.equal(proc.exitCode(), 3);
  t.equal(tr.callsOf('getProcessProperties').length, 1);
  await proc.close();
  await sys.close();
});

t.test(S + 'an exit notification that carries the status needs no query', opts, async (t) => {
  const { sys, proc, tr } = await withProcess();
  tr.notify({ pid: 7 }, { type: N.ProcessExited, data: JSON.stringify({ Exited: true, ExitCode: 42, LastWaitResult: 0 }) });
  await proc.wait();
  t.equal(proc.exitCode(), 42);
  t.equal(tr.callsOf('getProcessProperties').length, 0);
  await sys.close();
});

t.test(S + 'a lost exit notification: after the signal says "not found", wait() resolves through a status query', opts, async (t) => {
  const { sys, proc, tr, clock } = await withProcess();
  tr.script('signalProcess', { hr: HR.notFound });
  t.equal(await proc.signal({ Signal: 15 }), false, 'not delivered, no error: the process is gone');
  t.equal(clock.pending, 1, 'the fallback is armed');
  tr.processStatus = { ProcessId: 7, Exited: true, ExitCode: 137, LastWaitResult: 0 };
  let done = false;
  const w = proc.wait().then(() => { done = true; });
  await settle();
  t.notOk(done, 'nothing before the delay');
  clock.advance(1000);
  await w;
  t.equal(proc.exitCode(), 137);
  // A late notification changes nothing: the first outcome wins.
  tr.notify({ pid: 7 }, { type: N.ProcessExited, data: '{"Exited":true,"ExitCode":1}' });
  await settle();
  t.equal(proc.exitCode(), 137);
  await sys.close();
});

t.test(S + 'a lost exit notification that HCS cannot confirm fails wait() with the reason', opts, async (t) => {
  const { sys, proc, tr, clock } = await withProcess();
  tr.script('signalProcess', { hr: HR.invalidState });
  tr.script('getProcessProperties', { hr: HR.notFound });
  t.equal(await proc.signal({ Signal: 'CtrlC' }), false);
  clock.advance(1000);
  const err = await proc.wait().catch((e: unknown) => e) as hcs.ProcessError;
  t.ok(err instanceof hcs.ProcessError);
  t.ok(hcs.isNotExist(err));
  t.throws(() => proc.exitCode(), err);
  await sys.close();
});

t.test(S + 'the exit notification before the fallback delay wins and cancels it', opts, async (t) => {
  const { sys, proc, tr, clock } = await withProcess();
  tr.script('signalProcess', { hr: HR.systemNotFound });
  await proc.signal({ Signal: 9 });
  tr.processStatus = { Exited: true, ExitCode: 5, LastWaitResult: 0 };
  tr.notify({ pid: 7 }, { type: N.ProcessExited });
  await proc.wait();
  t.equal(proc.exitCode(), 5);
  await until(() => clock.pending === 0);
  await sys.close();
});

t.test(S + 'signal errors other than "gone" are ProcessErrors', opts, async (t) => {
  const { sys, proc, tr } = await withProcess();
  tr.script('signalProcess', { hr: HR.accessDenied });
  await t.rejects(proc.signal({ Signal: 15 }), { name: 'ProcessError', op: 'hcs::Process::Signal', pid: 7 });
  t.equal(await proc.signal({ Signal: 15 }), true);
  t.same(tr.callsOf('signalProcess')[1]?.[1], '{"Signal":15}');
  await sys.close();
});

t.test(S + 'kill goes through a second system handle, and a second kill is a no-op', opts, async (t) => {
  const { sys, proc, tr } = await withProcess();
  t.equal(await proc.kill(), true);
  t.equal(tr.callsOf('openComputeSystem').length, 1);
  t.same(tr.callsOf('openProcess')[0]?.[1], 7);
  t.equal(tr.callsOf('terminateProcess').length, 1);
  t.equal(tr.callsOf('closeProcess').length, 1, 'the extra process handle is closed');
  t.equal(tr.callsOf('closeComputeSystem').length, 1, 'the extra system handle is closed');
  t.equal(await proc.kill(), true);
  t.equal(tr.callsOf('terminateProcess').length, 1);
  tr.notify({ pid: 7 }, { type: N.ProcessExited });
  await proc.wait();
  t.ok(hcs.isAlreadyStopped(await proc.kill().catch((e: unknown) => e)), 'killing an exited process');
  await sys.close();
});

t.test(S + 'kill treats already-stopped and access-denied as done; a failed handle open terminates the system', opts, async (t) => {
  {
    const { sys, proc, tr } = await withProcess();
    tr.script('openProcess', { hr: HR.notFound });
    t.equal(await proc.kill(), true);
    tr.script('terminateProcess', { hr: HR.accessDenied });
    t.equal(await proc.kill(), true);
    tr.script('terminateProcess', { hr: HR.processAlreadyStopped });
    t.equal(await proc.kill(), true);
    await sys.close();
  }
  {
    const { sys, proc, tr } = await withProcess();
    tr.script('openComputeSystem', { hr: HR.accessDenied });
    t.equal(await proc.kill(), true);
    t.equal(tr.callsOf('terminateComputeSystem').length, 1, 'the whole system is terminated');
    t.ok(hcs.isAlreadyClosed(await sys.start().catch((e: unknown) => e)), 'and closed');
  }
});

t.test(S + 'closeStdin and resizeConsole send process modify requests', opts, async (t) => {
  const { sys, proc, tr } = await withProcess();
  const stdin = proc.stdio().stdin!;
  await proc.resizeConsole(120, 40);
  await proc.closeStdin();
  t.same(tr.callsOf('modifyProcess').map((a) => JSON.parse(a[1] as string)), [
    { Operation: 'ConsoleSize', ConsoleSize: { Height: 40, Width: 120 } },
    { Operation: 'CloseHandle', CloseHandle: { Handle: 'StdIn' } },
  ]);
  t.ok(stdin.writableEnded, 'the local stdin was ended');
  t.equal(proc.stdio().stdin, null);
  tr.script('modifyProcess', { hr: HR.invalidState });
  await t.rejects(proc.resizeConsole(1, 1), { name: 'ProcessError', op: 'hcs::Process::ResizeConsole' });
  await sys.close();
});

t.test(S + 'documents, pids and console sizes HCS cannot take are refused with typed errors before any call', opts, async (t) => {
  const { sys, proc, tr } = await withProcess();
  const before = tr.calls.length;
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  const bad: [() => Promise<unknown>, string, string, RegExp][] = [
    [() => sys.modify(undefined), 'SystemError', 'ERR_INVALID_ARG_VALUE', /modify request.*undefined/],
    [() => sys.modify({ SizeInMB: 1n }), 'SystemError', 'ERR_INVALID_ARG_VALUE', /modify request.*BigInt/],
    [() => sys.createProcess(() => 0), 'SystemError', 'ERR_INVALID_ARG_VALUE', /process parameters.*function/],
    [() => sys.createProcess(cyclic), 'SystemError', 'ERR_INVALID_ARG_VALUE', /process parameters.*circular/],
    [() => sys.openProcess(-1), 'SystemError', 'ERR_INVALID_ARG_VALUE', /pid: -1/],
    [() => sys.openProcess(1.5), 'SystemError', 'ERR_INVALID_ARG_VALUE', /pid: 1\.5/],
    [() => proc.signal(undefined), 'ProcessError', 'ERR_INVALID_ARG_VALUE', /signal options.*undefined/],
    [() => proc.signal({ Signal: 9n }), 'ProcessError', 'ERR_INVALID_ARG_VALUE', /signal options.*BigInt/],
    [() => proc.resizeConsole(-1, 40), 'ProcessError', 'ERR_OUT_OF_RANGE', /width of `-1`/],
    [() => proc.resizeConsole(80, 65536), 'ProcessError', 'ERR_OUT_OF_RANGE', /height of `65536`/],
    [() => proc.resizeConsole(NaN, 40), 'ProcessError', 'ERR_OUT_OF_RANGE', /width of `NaN`/],
  ];
  for (const [call, name, code, message] of bad) await t.rejects(call(), { name, code, message });
  t.equal(tr.calls.length, before, 'HCS was not called');
  await t.rejects(hcs.System.createComputeSystem('c2', undefined, tr, { clock: new ManualClock() }),
    { name: 'SystemError', code: 'ERR_INVALID_ARG_VALUE', message: /configuration.*undefined/ });
  t.equal(tr.calls.length, before, 'no system was created');
  await sys.close();
});

t.test(S + 'close during wait: wait() gets ErrAlreadyClosed, later calls too; close is idempotent', opts, async (t) => {
  const { sys, proc, tr } = await withProcess();
  const stdout = proc.stdio().stdout!;
  const wait = proc.wait().catch((e: unknown) => e);
  await Promise.all([proc.close(), proc.close()]);
  await proc.close();
  t.ok(hcs.isAlreadyClosed(await wait));
  t.ok(stdout.destroyed, 'stdio closed with the handle');
  t.equal(tr.callsOf('closeProcess').length, 1);
  for (const call of [() => proc.signal({}), () => proc.kill(), () => proc.closeStdin(), () => proc.resizeConsole(1, 1), () => proc.refreshStdio()]) {
    t.ok(hcs.isAlreadyClosed(await call().catch((e: unknown) => e)));
  }
  await sys.close();
});

t.test(S + 'close while the exit status is read keeps the exit: wait() resolves with the code, then the handle closes', opts, async (t) => {
  const { sys, proc, tr } = await withProcess();
  let answer!: (r: { hr: number; value: string }) => void;
  tr.script('getProcessProperties', () => new Promise((resolve) => { answer = resolve; }));
  tr.notify({ pid: 7 }, { type: N.ProcessExited });
  await until(() => tr.callsOf('getProcessProperties').length === 1);
  const closed = proc.close();
  await settle();
  t.equal(tr.callsOf('closeProcess').length, 0, 'the handle stays open while its exit status is read');
  answer({ hr: 0, value: JSON.stringify({ Exited: true, ExitCode: 3, LastWaitResult: 0 }) });
  await closed;
  await proc.wait();
  t.equal(proc.exitCode(), 3);
  t.equal(tr.callsOf('closeProcess').length, 1);
  await sys.close();
});

t.test(S + 'close while a lost exit is being confirmed keeps the confirmed exit', opts, async (t) => {
  const { sys, proc, tr, clock } = await withProcess();
  let answer!: (r: { hr: number; value: string }) => void;
  tr.script('signalProcess', { hr: HR.notFound });
  tr.script('getProcessProperties', () => new Promise((resolve) => { answer = resolve; }));
  t.equal(await proc.signal({ Signal: 15 }), false);
  clock.advance(1000);
  await until(() => tr.callsOf('getProcessProperties').length === 1);
  const closed = proc.close();
  await settle();
  answer({ hr: 0, value: JSON.stringify({ Exited: true, ExitCode: 137, LastWaitResult: 0 }) });
  await closed;
  await proc.wait();
  t.equal(proc.exitCode(), 137);
  t.equal(clock.pending, 0, 'no timer left');
  await sys.close();
});

t.test(S + 'an exit delivered just before close() is kept (its status came with the notification)', opts, async (t) => {
  const { sys, proc, tr } = await withProcess();
  tr.notify({ pid: 7 }, { type: N.ProcessExited, data: JSON.stringify({ Exited: true, ExitCode: 9, LastWaitResult: 0 }) });
  await proc.close();
  await proc.wait();
  t.equal(proc.exitCode(), 9);
  t.ok(hcs.isAlreadyClosed(await proc.signal({}).catch((e: unknown) => e)), 'the handle is closed all the same');
  await sys.close();
});

t.test(S + 'service disconnect fails a process wait; openProcess and refreshStdio work on an existing pid', opts, async (t) => {
  const { sys, proc, tr } = await withProcess();
  tr.notify({ pid: 7 }, { type: N.ServiceDisconnect });
  t.ok(hcs.isHcsError(await proc.wait().catch((e: unknown) => e), hcs.ErrUnexpectedProcessAbort));
  const other = await sys.openProcess(99);
  t.equal(other.pid(), 99);
  t.equal(other.stdio().stdout, null, 'an opened process has no cached stdio');
  const io = await other.refreshStdio();
  t.ok(io.stdout);
  io.stdin?.destroy();
  io.stdout?.destroy();
  tr.script('createProcess', { hr: HR.notFound });
  const err = await sys.createProcess({ CommandLine: 'nope.exe' }).catch((e: unknown) => e) as hcs.SystemError;
  t.equal(err.op, 'hcs::System::CreateProcess: nope.exe', 'the failing command is named');
  await other.close();
  await sys.close();
});
