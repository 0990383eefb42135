import t from 'tap';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pidfdExited, processStartTime, signalTask } from '../../src/daemon/procStat.js';
import { pidfdOpen } from '../../src/sys/index.js';
import { isAlive } from '../../src/pidAlive.js';

t.test('signalTask signals the task\'s own process or group, never a process that took its pid since', { timeout: 60_000 }, async (t) => {
  // A group leader (detached), as a host task's init is.
  const child = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
  await once(child, 'spawn');
  const pid = child.pid!;
  t.teardown(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } });
  const start = processStartTime(pid);
  t.ok(start, 'its start time');
  const other = String(Number(start) + 1);
  // Another start time: the pid is someone else's now, for the process and for its group alike.
  t.throws(() => signalTask(pid, other, 0, false), { code: 'ESRCH', message: new RegExp(`${pid}`) });
  t.throws(() => signalTask(pid, other, 'SIGKILL', true), { code: 'ESRCH' });
  t.equal(child.exitCode ?? child.signalCode, null, 'still running after both refusals');
  const exit = once(child, 'exit');
  signalTask(pid, start, 'SIGKILL', true);
  const [, signal] = (await exit) as [number | null, string | null];
  t.equal(signal, 'SIGKILL', 'its own group was killed');
  t.throws(() => signalTask(pid, start, 0, false), { code: 'ESRCH' }, 'gone: refused');
});

t.test('signalTask refuses a pid of 0 or less: kill(0) and kill(-1) would hit the daemon\'s own group or every process', { timeout: 10_000 }, async (t) => {
  // Signal 0 only checks: were it passed on, kill(0, 0) / kill(-1, 0) would succeed instead of ESRCH.
  for (const pid of [0, -1]) {
    for (const group of [false, true]) {
      t.throws(() => signalTask(pid, null, 0, group), { code: 'ESRCH' }, `pid ${pid}, group ${group}: refused`);
    }
  }
});

t.test('pidfdExited: false once its time passed while the process runs, true once it exited', { timeout: 30_000 }, async (t) => {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  await once(child, 'spawn');
  const pid = child.pid!;
  t.teardown(() => { child.kill('SIGKILL'); }); // a no-op once Node reaped it: never a process that took its pid
  const fd = pidfdOpen(pid);
  t.teardown(() => fs.closeSync(fd));
  const began = Date.now();
  t.equal(await pidfdExited(fd, 100), false, 'runs: false');
  t.ok(Date.now() - began >= 100, 'after its time');
  process.kill(pid, 'SIGKILL');
  t.equal(await pidfdExited(fd, 10_000), true, 'killed: true');
  t.notOk(isAlive(pid), 'exited (a zombie until reaped, or reaped)');
});
