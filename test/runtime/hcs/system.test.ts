import t from 'tap';
import * as hcs from '../../../src/runtime/hcs/index.js';
import { HR, ManualClock, PENDING, ScriptedTransport, settle, until } from './fixtures/scripted-transport.js';

const opts = { timeout: 5000 };
const N = hcs.NotificationType;
const S = 'scripted transport (HCS does not exist on Linux): ';

async function created(tr = new ScriptedTransport(), clock = new ManualClock(), timeouts: Partial<hcs.HcsTimeouts> = {}) {
  const sys = await hcs.System.createComputeSystem('c1', { SchemaVersion: { Major: 2, Minor: 1 } }, tr, { clock, timeouts });
  return { sys, tr, clock };
}

t.test(S + 'create answers pending, then completes on SystemCreateCompleted', opts, async (t) => {
  const tr = new ScriptedTransport().script('createComputeSystem', { hr: PENDING, value: { kind: 'system', id: 'c1', serial: 0 } });
  const p = hcs.System.createComputeSystem('c1', { Owner: 'taskio' }, tr, { clock: new ManualClock() });
  await until(() => tr.callbacks.size === 1);
  tr.notify({ system: 'c1' }, { type: N.SystemCreateCompleted });
  const sys = await p;
  t.equal(sys.id(), 'c1');
  t.equal(sys.os(), 'linux');
  t.ok(sys.isOCI());
  t.same(tr.callsOf('createComputeSystem')[0], ['c1', '{"Owner":"taskio"}']);
  await sys.close();
});

for (const [method, call, completed] of [
  ['start', 'startComputeSystem', N.SystemStartCompleted],
  ['pause', 'pauseComputeSystem', N.SystemPauseCompleted],
  ['resume', 'resumeComputeSystem', N.SystemResumeCompleted],
] as const) {
  t.test(S + `${method} answers pending, then completes on ${hcs.notificationName(completed)}`, opts, async (t) => {
    const { sys, tr } = await created();
    tr.script(call, { hr: PENDING });
    let done = false;
    const p = sys[method]().then(() => { done = true; });
    await settle();
    t.notOk(done, 'still waiting for the completion');
    tr.notify({ system: 'c1' }, { type: completed });
    await p;
    t.ok(done);
    // A synchronous success needs no notification, and a failed completion is a SystemError with the events.
    await sys[method]();
    tr.script(call, { hr: PENDING });
    const q = sys[method]();
    await settle();
    tr.notify({ system: 'c1' }, { type: completed, status: HR.invalidState, data: JSON.stringify({ ErrorEvents: [{ Message: 'not now' }] }) });
    const err = await q.catch((e: unknown) => e) as hcs.SystemError;
    t.ok(err instanceof hcs.SystemError);
    t.ok(hcs.isOperationInvalidState(err));
    t.match(err.message, /not now/);
    await sys.close();
  });
}

for (const [method, call] of [['shutdown', 'shutdownComputeSystem'], ['terminate', 'terminateComputeSystem']] as const) {
  t.test(S + `${method} is accepted while pending and completes with SystemExited through wait()`, opts, async (t) => {
    const { sys, tr } = await created();
    tr.script(call, { hr: PENDING });
    await sys[method]();
    let exited = false;
    const w = sys.wait().then(() => { exited = true; });
    await settle();
    t.notOk(exited);
    tr.notify({ system: 'c1' }, { type: N.SystemExited });
    await w;
    t.equal(sys.exitError(), null, 'a clean stop');
    await sys[method](); // a stopped system: no call, no error
    t.equal(tr.callsOf(call).length, 1);
    await sys.close();
  });
}

t.test(S + 'shutdown ignores already-stopped and not-found, and reports other failures', opts, async (t) => {
  const { sys, tr } = await created();
  tr.script('shutdownComputeSystem', { hr: HR.alreadyStopped }, { hr: HR.systemNotFound }, { hr: HR.accessDenied });
  await sys.shutdown();
  await sys.shutdown();
  await t.rejects(sys.shutdown(), { name: 'SystemError', op: 'hcs::System::Shutdown', code: 'ERROR_ACCESS_DENIED' });
  await sys.close();
});

t.test(S + 'a start that never completes times out (isTimeout) on the clock', opts, async (t) => {
  const { sys, tr, clock } = await created(undefined, undefined, { systemStart: 30_000 });
  tr.script('startComputeSystem', { hr: PENDING });
  const p = sys.start();
  await settle();
  clock.advance(30_000);
  const err = await p.catch((e: unknown) => e);
  t.ok(hcs.isTimeout(err));
  t.match(err, { op: 'hcs::System::Start', id: 'c1' });
  await sys.close();
});

t.test(S + 'a timeout given as undefined takes the default; an unusable one is refused before any HCS call', opts, async (t) => {
  const { sys, tr, clock } = await created(undefined, undefined, { systemStart: undefined });
  tr.script('startComputeSystem', { hr: PENDING });
  const start = sys.start().catch((e: unknown) => e);
  await settle();
  t.equal(clock.pending, 1, 'the wait for SystemStartCompleted is bounded');
  clock.advance(hcs.defaultTimeoutMs);
  t.ok(hcs.isTimeout(await start));
  await sys.close();
  const bad: [hcs.SystemOptions, string, RegExp][] = [
    [{ timeouts: { systemStart: -1 } }, 'ERR_OUT_OF_RANGE', /systemStart.*-1/],
    [{ timeouts: { systemPause: Infinity } }, 'ERR_OUT_OF_RANGE', /systemPause.*Infinity/],
    [{ timeouts: { systemResume: NaN } }, 'ERR_OUT_OF_RANGE', /systemResume.*NaN/],
    [{ timeouts: { systemCreate: 2 ** 31 } }, 'ERR_OUT_OF_RANGE', /systemCreate.*2147483648/],
    [{ timeouts: { systemSave: '5' as unknown as number } }, 'ERR_OUT_OF_RANGE', /systemSave.*"5"/],
    [{ timeouts: { systemstart: 5 } as Partial<hcs.HcsTimeouts> }, 'ERR_INVALID_ARG_VALUE', /systemstart/],
    [{ lostExitDelayMs: -5 }, 'ERR_OUT_OF_RANGE', /lostExitDelayMs.*-5/],
  ];
  for (const [options, code, message] of bad) {
    const tr2 = new ScriptedTransport();
    await t.rejects(hcs.System.createComputeSystem('c1', {}, tr2, { clock, ...options }), { code, message });
    await t.rejects(hcs.System.openComputeSystem('c1', tr2, { clock, ...options }), { code, message });
    t.equal(tr2.calls.length, 0, 'HCS was not called');
  }
});

t.test(S + 'a create that times out terminates the half-created system and closes it', opts, async (t) => {
  const tr = new ScriptedTransport().script('createComputeSystem', { hr: PENDING, value: { kind: 'system', id: 'c1', serial: 0 } });
  const clock = new ManualClock();
  const p = hcs.System.createComputeSystem('c1', {}, tr, { clock });
  await until(() => clock.pending === 1);
  clock.advance(hcs.defaultTimeoutMs);
  const err = await p.catch((e: unknown) => e);
  t.ok(hcs.isTimeout(err));
  t.equal(tr.callsOf('terminateComputeSystem').length, 1);
  t.equal(tr.callsOf('closeComputeSystem').length, 1);
});

t.test(S + 'a failed create is a SystemError carrying the HCS events', opts, async (t) => {
  const tr = new ScriptedTransport().script('createComputeSystem', { hr: HR.invalidJSON, result: JSON.stringify({ ErrorEvents: [{ Message: 'bad doc' }] }) });
  const err = await hcs.System.createComputeSystem('c1', {}, tr, { clock: new ManualClock() }).catch((e: unknown) => e) as hcs.SystemError;
  t.ok(hcs.isNotSupported(err));
  t.same(err.events, [{ message: 'bad doc' }]);
  t.equal(tr.callsOf('registerComputeSystemCallback').length, 0);
});

t.test(S + 'the system exits while start waits: ErrUnexpectedContainerExit, and wait() resolves', opts, async (t) => {
  const { sys, tr } = await created();
  tr.script('startComputeSystem', { hr: PENDING });
  const p = sys.start();
  await settle();
  tr.notify({ system: 'c1' }, { type: N.SystemExited });
  const err = await p.catch((e: unknown) => e);
  t.ok(hcs.isHcsError(err, hcs.ErrUnexpectedContainerExit));
  await sys.wait();
  await sys.close();
});

t.test(S + 'a start whose completion comes after the exit fails with ErrUnexpectedContainerExit', opts, async (t) => {
  const { sys, tr } = await created();
  tr.script('startComputeSystem', () => {
    tr.notify({ system: 'c1' }, { type: N.SystemExited });
    tr.notify({ system: 'c1' }, { type: N.SystemStartCompleted });
    return { hr: PENDING };
  });
  t.ok(hcs.isHcsError(await sys.start().catch((e: unknown) => e), hcs.ErrUnexpectedContainerExit));
  t.equal(sys.startTime(), undefined);
  await sys.close();
});

t.test(S + 'an unexpected exit is a stop for wait() and the reason in exitError()', opts, async (t) => {
  const { sys, tr } = await created();
  t.match(sys.exitError()?.message, /not exited/);
  tr.notify({ system: 'c1' }, { type: N.SystemExited, status: HR.unexpectedExit });
  await sys.wait();
  t.ok(hcs.isHcsError(sys.exitError(), hcs.ErrVmcomputeUnexpectedExit));
  await sys.close();
});

t.test(S + 'service disconnect fails every waiter: a pending operation and wait()', opts, async (t) => {
  const { sys, tr } = await created();
  tr.script('pauseComputeSystem', { hr: PENDING });
  const pause = sys.pause().catch((e: unknown) => e);
  const wait = sys.wait().catch((e: unknown) => e);
  await settle();
  tr.notify({ system: 'c1' }, { type: N.ServiceDisconnect });
  const [e1, e2] = await Promise.all([pause, wait]);
  t.ok(hcs.isHcsError(e1, hcs.ErrUnexpectedProcessAbort), 'pause fails');
  t.ok(hcs.isHcsError(e2, hcs.ErrUnexpectedProcessAbort), 'wait fails');
  t.equal(sys.exitError(), e2);
  await sys.close();
});

t.test(S + 'close during wait: operations get ErrHandleClose, wait() gets ErrAlreadyClosed; close is idempotent', opts, async (t) => {
  const { sys, tr } = await created();
  tr.script('startComputeSystem', { hr: PENDING });
  const start = sys.start().catch((e: unknown) => e);
  const wait = sys.wait().catch((e: unknown) => e);
  await settle();
  await Promise.all([sys.close(), sys.close()]);
  await sys.close();
  t.ok(hcs.isHcsError(await start, hcs.ErrHandleClose), 'the pending start');
  t.ok(hcs.isAlreadyClosed(await wait), 'wait()');
  t.equal(tr.callsOf('closeComputeSystem').length, 1, 'one close reaches HCS');
  t.equal(tr.callsOf('unregisterComputeSystemCallback').length, 1);
  for (const call of [() => sys.start(), () => sys.pause(), () => sys.resume(), () => sys.properties(), () => sys.propertiesV2(), () => sys.modify({}), () => sys.createProcess({}), () => sys.openProcess(3)]) {
    t.ok(hcs.isAlreadyClosed(await call().catch((e: unknown) => e)));
  }
  await sys.shutdown(); // a closed system: nothing to do, as in hcsshim
  await sys.terminate();
});

t.test(S + 'a system that stopped before close() still reports its stop through wait()', opts, async (t) => {
  const { sys, tr } = await created();
  tr.notify({ system: 'c1' }, { type: N.SystemExited });
  await sys.wait();
  await sys.close();
  await sys.wait();
  t.equal(sys.exitError(), null);
});

t.test(S + 'properties, propertiesV2, modify and getComputeSystems pass JSON through', opts, async (t) => {
  const { sys, tr } = await created();
  tr.script('getComputeSystemProperties', { hr: 0, value: '{"Statistics":{"Uptime100ns":5}}' }, { hr: 0, value: '' }, { hr: HR.systemNotFound });
  t.same(await sys.propertiesV2('Statistics'), { Statistics: { Uptime100ns: 5 } });
  t.same(tr.callsOf('getComputeSystemProperties').at(-1)?.[1], '{"PropertyTypes":["Statistics"]}');
  t.ok(hcs.isHcsError(await sys.properties().catch((e: unknown) => e), hcs.ErrUnexpectedValue));
  t.ok(hcs.isNotExist(await sys.properties().catch((e: unknown) => e)));
  await sys.modify({ ResourcePath: 'VirtualMachine/ComputeTopology/Memory/SizeInMB', Settings: 512 });
  t.same(tr.callsOf('modifyComputeSystem')[0]?.[1], '{"ResourcePath":"VirtualMachine/ComputeTopology/Memory/SizeInMB","Settings":512}');
  const list = await hcs.System.getComputeSystems({ Owners: ['taskio'] }, tr);
  t.equal(list[0]?.Owner, 'taskio');
  tr.script('enumerateComputeSystems', { hr: HR.accessDenied });
  await t.rejects(hcs.System.getComputeSystems({}, tr), { name: 'HcsError', op: 'hcs::GetComputeSystems' });
  await sys.close();
});

t.test(S + 'openComputeSystem follows an existing system; a Windows container without RuntimeOSType is windows', opts, async (t) => {
  const tr = new ScriptedTransport();
  tr.properties = { Id: 'w1', SystemType: 'Container' };
  const sys = await hcs.System.openComputeSystem('w1', tr, { clock: new ManualClock() });
  t.equal(sys.os(), 'windows');
  t.notOk(sys.isOCI());
  tr.script('openComputeSystem', { hr: HR.systemNotFound });
  t.ok(hcs.isNotExist(await hcs.System.openComputeSystem('gone', tr).catch((e: unknown) => e)));
  await sys.close();
});
