import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Monitor, type Exit } from '../../../src/runtime/reaper/index.js';
import { processState } from '../../../src/runtime/reaper/children.js';
import { spawnOrphan } from './fixtures/orphans.js';

// A monitor of its own (tap runs each file in its own process, so it may reap here).
const monitor = new Monitor({ retain: 4 });
t.teardown(() => monitor.stop());

/** Pids above pid_max's ceiling (2^22): they name no process, so their exits are looked up in the log. */
const fake = (i: number): number => (1 << 22) + 1 + i;

t.test('exits are kept once, in a bounded log: a subscription holds none of its own', { timeout: 60_000 }, async (t) => {
  const sub = monitor.subscribe();
  t.teardown(() => monitor.unsubscribe(sub));
  for (let i = 0; i < 10; i++) monitor.notifyExit(fake(i), i);
  const seen: Exit[] = [];
  for await (const e of sub) {
    seen.push(e);
    if (e.pid === fake(9)) break;
  }
  t.same(seen.map((e) => e.status), [6, 7, 8, 9], 'the iterator gets the newest `retain` exits; older ones were dropped');
  t.equal(sub.exitOf(fake(9))?.status, 9, 'a kept exit is found by pid');
  t.equal(sub.exitOf(fake(0)), undefined, 'a dropped one is not');
  const late = monitor.subscribe();
  t.teardown(() => monitor.unsubscribe(late));
  t.equal(late.exitOf(fake(9)), undefined, 'a subscription never sees exits from before it subscribed');
  const waiting = late.wait(fake(9));
  monitor.notifyExit(fake(9), 42);
  t.equal((await waiting).status, 42, 'it waits for the next one');
});

t.test('wait() for a reaped process whose exit the log dropped fails at once instead of waiting for the pid\'s next owner', { timeout: 60_000 }, async (t) => {
  const sub = monitor.subscribe();
  t.teardown(() => monitor.unsubscribe(sub));
  const orphan = await spawnOrphan('exit 8');
  t.teardown(() => orphan.release());
  // A pending wait holds the event loop open (an 'exit' listener does not: with nothing else to do,
  // the test process would end before the orphan's exit came).
  const reaped = sub.wait(orphan.pid);
  orphan.release();
  t.equal((await reaped).pid, orphan.pid, 'its exit, reaped by the monitor');
  t.equal(processState(orphan.pid), null, 'reaped: the pid names nobody now');
  // More exits than the log keeps (4): the orphan's is dropped. Its pid is learnt only now, as a
  // runtime's pid file is read after its command returned.
  for (let i = 0; i < 5; i++) await once(spawn('/bin/true', [], { stdio: 'ignore' }), 'exit');
  t.equal(sub.exitOf(orphan.pid), undefined, 'the exit is no longer kept');
  let outcome: unknown = 'pending';
  sub.wait(orphan.pid).then((e) => { outcome = e; }, (err: unknown) => { outcome = err; });
  await new Promise((r) => setImmediate(r));
  t.match(outcome, { name: 'TaskioError', code: 'ERR_NOT_FOUND', message: new RegExp(`pid ${orphan.pid}\\b`) }, 'rejected at once, naming the pid');
});

t.test('the retain option is checked', async (t) => {
  for (const retain of [0, -1, 1.5, Number.NaN]) t.throws(() => new Monitor({ retain }), { code: 'ERR_OUT_OF_RANGE' });
});
