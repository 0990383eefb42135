import t from 'tap';
import { daemonRoot } from '../daemon/helpers.js';
import { daemonClient, taskio } from './runSession.js';

t.test('run -d returns at once; wait prints each exit code in order, as docker', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  const c = daemonClient(t, root);
  const a = await taskio(root, ['run', '-d', '-i', '--name', 'a', '--runtime', 'host', '--', 'sh', '-c', 'read x; exit 3']);
  t.equal(a.status, 0);
  t.equal(a.stdout, 'a\n');
  t.equal((await c.getTask('a')).status, 'running', 'run -d returned while the task runs');
  await taskio(root, ['run', '-d', '--name', 'b', '--runtime', 'host', '--', 'sh', '-c', 'kill -KILL $$']);
  const waiting = taskio(root, ['wait', 'a', 'b']);
  await c.closeStdin('a');
  const w = await waiting;
  t.equal(w.status, 0);
  t.equal(w.stdout, '3\n137\n', 'exit 3, and 128 + 9 for a SIGKILL');
  t.equal(w.stderr, '');
  const bad = await taskio(root, ['wait', 'a', 'nosuch']);
  t.equal(bad.status, 125, 'an unknown id');
  t.equal(bad.stdout, '3\n', 'the known one is still printed');
  t.equal(bad.stderr, 'taskio wait: no such task: nosuch\n');
  const usage = await taskio(root, ['wait']);
  t.equal(usage.status, 125);
  t.match(usage.stderr, /^taskio wait: "taskio wait" requires at least 1 argument/);
});
