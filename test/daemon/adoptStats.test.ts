import t from 'tap';
import type { DaemonClient } from '../../src/daemon/index.js';
import { client, daemonPid, daemonRoot, logText, eventually, waitGone } from './helpers.js';

const root = daemonRoot(t);
let c: DaemonClient = await client(root);
t.teardown(() => c.close());

// The daemon that starts a host task reports its job's counters (`JobRuntime`): CPU time of every
// process that ran in it, exited ones too, and every live process of it. The daemon that adopted
// it after a restart summed the task's process group from /proc instead: a process that left the
// group (`setsid`) was not counted, nor the CPU time of children that had exited.
t.test('an adopted host task\'s stats are its job\'s, as the daemon that started it reported them', { timeout: 90_000 }, async (t) => {
  const id = 'busy';
  const burn = '(i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done)';
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', `${burn}; setsid sleep 1000 & echo ready; exec sleep 1000`] });
  await eventually(async () => (await logText(c, id)).includes('ready'), 'the burn to end');
  await eventually(async () => (await c.top(id)).processes.length === 2, 'the sleep that left the group, in the job');
  const started = await c.stats(id);
  t.equal(started.pids.current, 2, 'the daemon that started it counts both processes of the job');
  t.ok(started.cpu.usageTotal >= 10_000_000, `and the CPU time of the exited child: ${started.cpu.usageTotal} ns`);
  t.ok(started.memory.max !== undefined, 'and the job\'s peak memory');

  const first = daemonPid(root);
  process.kill(first, 'SIGKILL');
  await waitGone(first);
  c.close();
  c = await client(root);
  t.equal((await c.getTask(id)).adopted, true, 'adopted by a new daemon');
  const adopted = await c.stats(id);
  t.equal(adopted.pids.current, started.pids.current, 'the adopting daemon counts the same processes');
  t.ok(adopted.cpu.usageTotal >= started.cpu.usageTotal, `CPU time does not go back: ${started.cpu.usageTotal} → ${adopted.cpu.usageTotal} ns`);
  t.ok(adopted.memory.max !== undefined && adopted.memory.max >= adopted.memory.usage, 'the job\'s peak memory');
  await c.remove(id, { force: true });
});
