import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import * as pty from 'node-pty';
import { Monitor, defaultMonitor, listChildren, processState, type Exit } from '../../../src/runtime/reaper/index.js';
import { startTimeOf } from '../../../src/runtime/reaper/children.js';
import fs from 'node:fs';
import { isChildSubreaper, pipe2 } from '../../../src/sys/index.js';
import { forkOrphans, spawnOrphan, until } from './fixtures/orphans.js';
import { testFile } from '../../helpers/common.js';

const monitor = defaultMonitor;

t.teardown(() => monitor.stop());

/** Zombies among our children, after the monitor had its chance. */
function zombies(): number[] {
  monitor.reapNow();
  return (listChildren() ?? []).filter((pid) => processState(pid) === 'Z');
}

/**
 * Runs the fixture `name` as pid 1 of a pid namespace of its own, where it is the only process that
 * forks and so decides which pid the next process gets; resolves with the cases it printed, one JSON
 * object a line.
 */
async function casesInPidNamespace<Case>(t: Test, name: string): Promise<Case[]> {
  const fixture = testFile(`runtime/reaper/fixtures/${name}`);
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  for await (const chunk of child.stdout!) out += chunk;
  const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
  t.equal(code, 0, 'the fixture ran');
  return out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Case);
}

t.test('an orphaned grandchild is reaped and its status reported', { timeout: 60_000 }, async (t) => {
  const sub = monitor.subscribe();
  t.teardown(() => monitor.unsubscribe(sub));
  t.ok(isChildSubreaper(), 'the monitor made us a subreaper');
  const orphan = await spawnOrphan('exit 42');
  t.teardown(() => orphan.release());
  // Just forked, it may still be running (or paging in) on its way to the read it then sleeps in.
  await until(() => !['R', 'D'].includes(processState(orphan.pid) ?? ''));
  t.equal(processState(orphan.pid), 'S', 'the orphan is alive and waiting');
  const events: Exit[] = [];
  sub.on('exit', (e) => events.push(e));
  orphan.release();
  const exit = await sub.wait(orphan.pid);
  t.equal(exit.status, 42);
  t.ok(exit.timestamp instanceof Date);
  t.ok(events.some((e) => e.pid === orphan.pid && e.status === 42), 'also emitted as an event');
  t.equal(processState(orphan.pid), null, 'reaped: no zombie left');
});

t.test('an orphan killed by SIGKILL reports 137', { timeout: 60_000 }, async (t) => {
  const sub = monitor.subscribe();
  t.teardown(() => monitor.unsubscribe(sub));
  const orphan = await spawnOrphan('exit 0');
  t.teardown(() => orphan.release());
  process.kill(orphan.pid, 'SIGKILL');
  t.equal((await sub.wait(orphan.pid)).status, 137);
});

t.test('100 fast /bin/true orphans are all seen with status 0', { timeout: 60_000 }, async (t) => {
  const sub = monitor.subscribe();
  t.teardown(() => monitor.unsubscribe(sub));
  const pids = await forkOrphans(Array.from({ length: 100 }, () => 'true'));
  t.equal(pids.length, 100);
  const exits = await Promise.all(pids.map((pid) => sub.wait(pid)));
  t.same(exits.map((e) => e.status), pids.map(() => 0));
  t.same(zombies(), [], 'no zombies');
});

t.test('the async iterator yields exits in order, buffered from subscribe()', { timeout: 60_000 }, async (t) => {
  const sub = monitor.subscribe();
  t.teardown(() => monitor.unsubscribe(sub));
  // The orphans exit before anyone iterates: the subscription must have kept them.
  const pids = await forkOrphans(['exit 3', 'exit 4']);
  await Promise.all(pids.map((pid) => sub.wait(pid)));
  const got = new Map<number, number>();
  for await (const e of sub) {
    got.set(e.pid, e.status);
    if (pids.every((p) => got.has(p))) break;
  }
  t.same(pids.map((p) => got.get(p)), [3, 4]);
});

t.test('an iterator ended by return() while its next() waits takes no exit from the loop that follows', { timeout: 60_000 }, async (t) => {
  const sub = monitor.subscribe();
  t.teardown(() => monitor.unsubscribe(sub));
  const events: Exit[] = [];
  sub.on('exit', (e) => events.push(e));
  // A next() given up on (raced against a timeout, say), then the iterator ended.
  const it = sub[Symbol.asyncIterator]();
  const pending = it.next();
  t.same(await it.return!(), { value: undefined, done: true });
  const orphan = await spawnOrphan('exit 6');
  t.teardown(() => orphan.release());
  orphan.release();
  await sub.wait(orphan.pid);
  t.same(await pending, { value: undefined, done: true }, 'the waiting next() ended with its iterator');
  t.same(await it.next(), { value: undefined, done: true }, 'a returned iterator stays done');
  const iterated: Exit[] = [];
  for await (const e of sub) {
    iterated.push(e);
    if (e.pid === orphan.pid) break;
  }
  t.same(iterated, events.slice(0, events.findIndex((e) => e.pid === orphan.pid) + 1), 'the next loop gets every exit, the first one too');
});

t.test('child_process and execa children keep their own exit codes beside reaped orphans', { timeout: 30000 }, async (t) => {
  const sub = monitor.subscribe();
  t.teardown(() => monitor.unsubscribe(sub));
  const orphans = await Promise.all(Array.from({ length: 10 }, (_, i) => spawnOrphan(`exit ${100 + i}`)));
  t.teardown(() => orphans.forEach((o) => o.release()));
  const direct = Array.from({ length: 20 }, (_, i) =>
    new Promise<number | null>((resolve, reject) => {
      const c = spawn('/bin/sh', ['-c', `exit ${i}`], { stdio: 'ignore' });
      c.on('error', reject);
      c.on('exit', (code) => resolve(code));
      // Release an orphan while the children run, so reaping and libuv's exits interleave.
      if (i < orphans.length) orphans[i]!.release();
    }));
  const viaExeca = Array.from({ length: 10 }, (_, i) => execa('/bin/sh', ['-c', `exit ${50 + i}`], { reject: false }).then((r) => r.exitCode));
  const killed = spawn('/bin/sleep', ['1000'], { stdio: 'ignore' });
  const killedExit = new Promise<NodeJS.Signals | null>((resolve) => killed.on('exit', (_code, sig) => resolve(sig)));
  killed.kill('SIGKILL');
  t.same(await Promise.all(direct), Array.from({ length: 20 }, (_, i) => i));
  t.same(await Promise.all(viaExeca), Array.from({ length: 10 }, (_, i) => 50 + i));
  t.equal(await killedExit, 'SIGKILL');
  const orphanExits = await Promise.all(orphans.map((o) => sub.wait(o.pid)));
  t.same(orphanExits.map((e) => e.status), orphans.map((_, i) => 100 + i));
  // libuv's children are published too, with the same status convention.
  t.equal((await sub.wait(killed.pid!)).status, 137);
  t.same(zombies(), [], 'no zombies');
});

t.test('an exited libuv child that hides other exits from waitid(P_ALL) is left to libuv', { timeout: 60_000 }, async (t) => {
  const sub = monitor.subscribe();
  t.teardown(() => monitor.unsubscribe(sub));
  // The libuv child is forked before the orphan is re-parented, so it comes first in our children
  // list, and waitid(P_ALL, WNOWAIT) keeps naming it while libuv has not reaped it.
  const gate = pipe2();
  const child = spawn('/bin/sh', ['-c', 'read x; exit 3'], { stdio: [gate.read, 'ignore', 'inherit'] });
  fs.closeSync(gate.read);
  const childExit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const orphan = await spawnOrphan('exit 5');
  t.teardown(() => orphan.release());
  // From here until reapNow() the event loop is blocked, so libuv cannot reap its child.
  fs.writeSync(gate.write, '\n');
  fs.closeSync(gate.write);
  orphan.release();
  const deadline = Date.now() + 5000;
  while ((processState(child.pid!) !== 'Z' || processState(orphan.pid) !== 'Z') && Date.now() < deadline);
  t.equal(processState(child.pid!), 'Z', 'the libuv child is an unreaped zombie');
  const exits = monitor.reapNow();
  t.same(exits.map((e) => [e.pid, e.status]), [[orphan.pid, 5]], 'the orphan behind it was reaped');
  t.equal(processState(child.pid!), 'Z', 'the libuv child was not touched');
  t.equal(await childExit, 3, 'libuv still reports its own child');
});

t.test('an orphan nobody subscribed to is still reaped', { timeout: 60_000 }, async (t) => {
  const orphan = await spawnOrphan('exit 9');
  t.teardown(() => orphan.release());
  orphan.release();
  await until(() => processState(orphan.pid) === null);
  t.pass('gone, not a zombie');
});

t.test('unsubscribe stops delivery and ends iteration', { timeout: 60_000 }, async (t) => {
  const kept = monitor.subscribe();
  const dropped = monitor.subscribe();
  t.teardown(() => { monitor.unsubscribe(kept); monitor.unsubscribe(dropped); });
  let late = 0;
  dropped.on('exit', () => late++);
  const iterating = (async () => { const seen: Exit[] = []; for await (const e of dropped) seen.push(e); return seen; })();
  const pending = dropped.wait(999999999);
  monitor.unsubscribe(dropped);
  t.ok(dropped.closed);
  t.same(await iterating, [], 'the iterator ended');
  await t.rejects(pending, { code: 'ERR_SUBSCRIPTION_CLOSED' });
  const orphan = await spawnOrphan('exit 1');
  t.teardown(() => orphan.release());
  orphan.release();
  t.equal((await kept.wait(orphan.pid)).status, 1);
  t.equal(late, 0, 'no event after unsubscribe');
  t.equal(dropped.exitOf(orphan.pid), undefined);
});

t.test('wait() can be aborted', { timeout: 60_000 }, async (t) => {
  const sub = monitor.subscribe();
  t.teardown(() => monitor.unsubscribe(sub));
  const ac = new AbortController();
  const p = sub.wait(999999999, ac.signal);
  ac.abort();
  await t.rejects(p, { name: 'AbortError' });
});

t.test('a node-pty child declared with exclude() keeps its exit for node-pty', { timeout: 60_000 }, async (t) => {
  const sub = monitor.subscribe();
  t.teardown(() => monitor.unsubscribe(sub));
  const term = pty.spawn('/bin/sh', ['-c', 'exit 7'], {});
  monitor.exclude(term.pid);
  const code = await new Promise<number>((resolve) => term.onExit((e) => resolve(e.exitCode)));
  t.equal(code, 7, 'node-pty reaped it itself');
  monitor.notifyExit(term.pid, code);
  t.equal((await sub.wait(term.pid)).status, 7, 'and the owner reported it to subscribers');
});

t.test('a second monitor cannot reap beside the first', { timeout: 60_000 }, async (t) => {
  monitor.start();
  const other = new Monitor();
  t.throws(() => other.start(), { code: 'ERR_MONITOR_RUNNING' });
  t.equal(other.reapNow().length, 0, 'a stopped monitor reaps nothing');
});

t.test('a reused pid: wait(pid) reports the exit of the process that has the pid now, not an older one', { timeout: 30000 }, async (t) => {
  // In a pid namespace of its own the fixture is the only process that forks, so it can hand the pid
  // of an exit it already saw (a runtime CLI call's) to a new process (an exec) deterministically.
  const cases = await casesInPidNamespace<{ name: string; oldPid: number; pid: number; early: number | null; status: number }>(t, 'pidReuse.mjs');
  t.same(cases.map((c) => c.name), ['libuv child', 'orphan', 'gone before wait']);
  for (const c of cases) t.equal(c.pid, c.oldPid, `${c.name}: the new process got the old pid`);
  const [libuv, orphan, gone] = cases;
  t.equal(libuv!.early, null, 'a libuv child: nothing reported while it runs');
  t.equal(libuv!.status, 7, 'a libuv child: its own exit');
  t.equal(orphan!.early, null, 'an orphan: nothing reported while it runs');
  t.equal(orphan!.status, 9, 'an orphan: its own exit');
  t.equal(gone!.status, 5, 'a process gone before wait(): the newest exit of its pid');
});

t.test('an orphan that takes a pid the monitor leaves to another reaper, once that reaper reaped it, is reaped and reported as itself', { timeout: 30000 }, async (t) => {
  // In a pid namespace where the fixture decides pids, an orphan left by a posix_spawn'd command gets
  // the pid of (1) a child present when the monitor started, since exited and reaped by libuv, and
  // (2) a child declared with exclude(), reaped by its owner, who reports its exit only afterwards.
  type Case = { name: string; old: number; pid: number; state: string | null; status: number | null; early?: number | null };
  const cases = await casesInPidNamespace<Case>(t, 'declaredReuse.mjs');
  t.same(cases.map((c) => c.name), ['present at start', 'excluded']);
  for (const c of cases) t.equal(c.pid, c.old, `${c.name}: the orphan got the old pid`);
  const [atStart, excluded] = cases;
  // It was taken for the old child: never reaped, a zombie with no exit.
  t.equal(atStart!.state, null, 'present at start: the orphan was reaped, no zombie left');
  t.equal(atStart!.status, 137, 'present at start: its exit was published');
  t.equal(excluded!.early, null, 'excluded: the owner\'s late report of the old exit is not taken for the orphan\'s');
  t.equal(excluded!.status, 137, 'excluded: wait(pid) gives the orphan\'s own exit');
  t.equal(excluded!.state, null, 'excluded: the orphan was reaped');
});

t.test('an exit carries the start time that identifies its process', { timeout: 60_000 }, async (t) => {
  const sub = monitor.subscribe();
  t.teardown(() => monitor.unsubscribe(sub));
  const orphan = await spawnOrphan('exit 3');
  t.teardown(() => orphan.release());
  const started = startTimeOf(orphan.pid);
  t.type(started, 'number');
  orphan.release();
  const exit = await sub.wait(orphan.pid);
  t.equal(exit.startTime, started, 'an orphan reaped here');
  const child = spawn('/bin/true', [], { stdio: 'ignore' });
  const childStart = startTimeOf(child.pid!);
  const childExit = await sub.wait(child.pid!);
  t.equal(childExit.startTime, childStart, 'a libuv child');
  t.equal(sub.exitOf(child.pid!), childExit, 'exitOf finds the exit of a pid that names nobody now');
});
