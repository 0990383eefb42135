import t from 'tap';
import type { DaemonClient } from '../../src/daemon/index.js';
import { client, daemonPid, daemonRoot, logText, eventually, waitGone } from './helpers.js';

const root = daemonRoot(t);
let c: DaemonClient = await client(root);
t.teardown(() => c.close());

const lines = async (id: string): Promise<number> => (await logText(c, id)).split('\n').filter(Boolean).length;

// A host task in a job is paused through its cgroup freezer. The daemon that adopted it looked for
// a SIGSTOP instead: it showed the task running, refused its unpause ("not paused"), and would have
// sent SIGCONT, which does not thaw a frozen cgroup — the task stayed frozen for good.
t.test('a paused host task is adopted paused, and its unpause thaws it', { timeout: 90_000 }, async (t) => {
  const id = 'frozen';
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', 'while :; do echo tick; sleep 0.01; done'] });
  await eventually(async () => (await lines(id)) >= 3, 'the first ticks');
  await c.pause(id);
  t.equal((await c.getTask(id)).status, 'paused');

  const first = daemonPid(root);
  process.kill(first, 'SIGKILL');
  await waitGone(first);
  c.close();
  c = await client(root);
  await eventually(async () => (await c.getTask(id)).status === 'paused', 'the adopted task shown paused');
  t.equal((await c.getTask(id)).adopted, true);
  const before = await lines(id);
  await c.resume(id);
  t.equal((await c.getTask(id)).status, 'running');
  await eventually(async () => (await lines(id)) > before + 3, 'ticks again after the unpause');
  await c.pause(id);
  t.equal((await c.getTask(id)).status, 'paused', 'and it pauses again');
  await c.remove(id, { force: true });
});
