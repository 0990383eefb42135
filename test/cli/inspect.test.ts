import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import type { DaemonClient, TaskView } from '../../src/daemon/index.js';
import { client, daemonRoot } from '../daemon/helpers.js';
import { taskio } from './taskioCommand.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

t.test('inspect: a JSON array of the tasks as the daemon shows them, even for one', { timeout: 120_000 }, async (t) => {
  await c.createTask({ id: 'insp-a', runtime: 'host', args: ['sh', '-c', 'exec sleep 1000'] });
  await c.createTask({ id: 'insp-b', runtime: 'host', args: ['sh', '-c', 'exit 4'] });
  await c.wait('insp-b');
  const [one, two] = await Promise.all([taskio(t, root, 'inspect', 'insp-a'), taskio(t, root, 'inspect', 'insp-b', 'insp-a')]);
  t.equal(one.code, 0);
  t.equal(one.stderr, '');
  const [a] = JSON.parse(one.stdout) as TaskView[];
  t.same(a, await c.getTask('insp-a'), 'the daemon\'s view of the task');
  t.match(one.stdout, /^\[\n {4}\{\n {8}"id": "insp-a",\n/, 'indented as docker\'s');
  t.equal(two.code, 0);
  const both = JSON.parse(two.stdout) as TaskView[];
  t.same(both.map((v) => [v.id, v.status, v.exit?.exitCode ?? null]), [['insp-b', 'exited', 4], ['insp-a', 'running', null]], 'in the order given');
});

t.test('inspect: an unknown task is an error line and 125; the ones found are still printed', { timeout: 120_000 }, async (t) => {
  await c.createTask({ id: 'insp-c', runtime: 'host', args: ['sh', '-c', 'exec sleep 1000'] });
  const before = fs.readdirSync(path.join(root, 'tasks')).sort();
  const [mixed, none, bad, badId] = await Promise.all([
    taskio(t, root, 'inspect', 'nope', 'insp-c'), taskio(t, root, 'inspect', 'nope'), taskio(t, root, 'inspect', '-x'),
    taskio(t, root, 'inspect', 'insp-c', 'a b'),
  ]);
  t.equal(badId.code, 125);
  t.same((JSON.parse(badId.stdout) as TaskView[]).map((v) => v.id), ['insp-c'], 'a bad id does not hide the good one');
  t.equal(badId.stderr, 'taskio inspect: invalid task id "a b": it must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,75}$\n');
  t.equal(mixed.code, 125);
  t.same((JSON.parse(mixed.stdout) as TaskView[]).map((v) => v.id), ['insp-c']);
  t.equal(mixed.stderr, 'taskio inspect: no such task: nope\n');
  t.equal(none.code, 125);
  t.equal(none.stdout, '[]\n');
  t.equal(none.stderr, 'taskio inspect: no such task: nope\n');
  t.equal(bad.code, 125);
  t.equal(bad.stdout, '');
  t.equal(bad.stderr, "taskio inspect: unknown shorthand flag: 'x' in -x. See 'taskio inspect --help'.\n");
  t.same(fs.readdirSync(path.join(root, 'tasks')).sort(), before, 'nothing made or removed');
});
