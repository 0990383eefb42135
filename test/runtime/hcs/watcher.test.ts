import t from 'tap';
import * as hcs from '../../../src/runtime/hcs/index.js';
import { systemNotifications } from '../../../src/runtime/hcs/notification.js';
import { NotificationWatcher } from '../../../src/runtime/hcs/watcher.js';
import { ManualClock } from './fixtures/scripted-transport.js';

const opts = { timeout: 5000 };
const N = hcs.NotificationType;
const make = (clock = new ManualClock()) => new NotificationWatcher(systemNotifications, N.SystemExited, clock);

t.test('scripted notifications (HCS does not exist on Linux): a completion before the wait is kept for it', opts, async (t) => {
  const w = make();
  t.ok(w.deliver({ type: N.SystemStartCompleted }));
  t.same(await w.wait(N.SystemStartCompleted, 10), { err: null, events: [] });
});

t.test('scripted notifications (HCS does not exist on Linux): a failed completion carries its errno and events', opts, async (t) => {
  const w = make();
  const p = w.wait(N.SystemPauseCompleted);
  w.deliver({ type: N.SystemPauseCompleted, status: 0xc0370105 | 0, data: JSON.stringify({ ErrorEvents: [{ Message: 'no' }] }) });
  const o = await p;
  t.equal(o.err, hcs.ErrVmcomputeOperationInvalidState);
  t.same(o.events, [{ message: 'no' }]);
});

t.test('scripted notifications (HCS does not exist on Linux): the exit is sticky and fails other waiters', opts, async (t) => {
  const w = make();
  const start = w.wait(N.SystemStartCompleted);
  const exit1 = w.wait(N.SystemExited);
  w.deliver({ type: N.SystemExited });
  t.equal((await start).err, hcs.ErrUnexpectedContainerExit);
  t.equal((await exit1).err, null);
  t.equal((await w.wait(N.SystemExited)).err, null, 'a later exit waiter sees it too');
  t.equal((await w.wait(N.SystemResumeCompleted)).err, hcs.ErrUnexpectedContainerExit);
  t.ok(w.exited);
});

t.test('scripted notifications (HCS does not exist on Linux): a completion after the exit or a disconnect is dropped as late', opts, async (t) => {
  const w = make();
  w.deliver({ type: N.SystemPauseCompleted }); // before the exit: still counts
  w.deliver({ type: N.SystemExited });
  t.notOk(w.deliver({ type: N.SystemStartCompleted }), 'after the exit');
  t.equal((await w.wait(N.SystemPauseCompleted)).err, null);
  t.equal((await w.wait(N.SystemStartCompleted)).err, hcs.ErrUnexpectedContainerExit);
  const d = make();
  d.deliver({ type: N.ServiceDisconnect });
  t.notOk(d.deliver({ type: N.SystemStartCompleted }), 'after the disconnect');
  t.equal((await d.wait(N.SystemStartCompleted)).err, hcs.ErrUnexpectedProcessAbort);
});

t.test('scripted notifications (HCS does not exist on Linux): service disconnect fails every waiter, now and later', opts, async (t) => {
  const w = make();
  const a = w.wait(N.SystemStartCompleted);
  const b = w.wait(N.SystemExited);
  w.deliver({ type: N.ServiceDisconnect });
  t.equal((await a).err, hcs.ErrUnexpectedProcessAbort);
  t.equal((await b).err, hcs.ErrUnexpectedProcessAbort);
  t.equal((await w.wait(N.SystemCreateCompleted)).err, hcs.ErrUnexpectedProcessAbort);
});

t.test('scripted notifications (HCS does not exist on Linux): a timeout fires on the clock and clears on completion', opts, async (t) => {
  const clock = new ManualClock();
  const w = make(clock);
  const p = w.wait(N.SystemStartCompleted, 100);
  clock.advance(99);
  t.equal(clock.pending, 1);
  clock.advance(1);
  t.equal((await p).err, hcs.ErrTimeout);
  const q = w.wait(N.SystemStartCompleted, 100);
  w.deliver({ type: N.SystemStartCompleted });
  t.equal((await q).err, null);
  t.equal(clock.pending, 0, 'the timer was cancelled');
});

t.test('scripted notifications (HCS does not exist on Linux): close fails waiters with ErrHandleClose; unknown types are refused', opts, async (t) => {
  const w = make();
  const p = w.wait(N.SystemStartCompleted);
  w.close();
  w.close();
  t.equal((await p).err, hcs.ErrHandleClose);
  t.equal((await w.wait(N.SystemExited)).err, hcs.ErrHandleClose);
  t.notOk(w.deliver({ type: N.SystemExited }), 'nothing is delivered after close');
  const w2 = make();
  t.equal((await w2.wait(N.ProcessExited)).err, hcs.ErrInvalidNotificationType);
  t.notOk(w2.deliver({ type: N.SystemCrashReport }), 'notifications nobody can wait for are dropped');
  t.equal(hcs.notificationName(N.SystemSiloJobCreated), 'SystemSiloJobCreated');
  t.equal(hcs.notificationName(0x42), 'Unknown: 66');
});
