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

t.test('inspect -f: a Go template per task, each on its line; --format json: the array on one line', { timeout: 120_000 }, async (t) => {
  const a = await c.createTask({ id: 'insp-fa', runtime: 'host', args: ['sh', '-c', 'exec sleep 1000'] });
  await c.createTask({ id: 'insp-fb', runtime: 'host', args: ['sh', '-c', 'exit 4'] });
  await c.wait('insp-fb');
  t.teardown(() => Promise.all(['insp-fa', 'insp-fb'].map((id) => c.remove(id, { force: true }).catch(() => undefined))));
  const state = '{{.id}} {{.status}} {{if .exit}}exit {{.exit.exitCode}}{{else}}pid {{.pid}}{{end}} {{json .args}} {{join .args " "}}';
  const [tpl, long, json] = await Promise.all([
    taskio(t, root, 'inspect', '-f', state, 'insp-fa', 'insp-fb'), taskio(t, root, 'inspect', '--format={{.runtime}}', 'insp-fa'),
    taskio(t, root, 'inspect', '--format', 'json', 'insp-fb', 'insp-fa'),
  ]);
  t.same([tpl.code, tpl.stderr], [0, '']);
  t.equal(tpl.stdout, `insp-fa running pid ${a.pid} ["sh","-c","exec sleep 1000"] sh -c exec sleep 1000\ninsp-fb exited exit 4 ["sh","-c","exit 4"] sh -c exit 4\n`);
  t.same([long.code, long.stdout], [0, 'host\n']);
  t.same([json.code, json.stderr], [0, '']);
  t.match(json.stdout, /^\[\{"id":"insp-fb",[^\n]*\]\n$/, 'one line');
  t.same(JSON.parse(json.stdout), [await c.getTask('insp-fb'), await c.getTask('insp-fa')], 'the daemon\'s views, in the order given');
});

t.test('inspect -f: a task the template fails on, or not found, is an error line naming it, in order; a bad template is a usage error', { timeout: 120_000 }, async (t) => {
  await c.createTask({ id: 'insp-fc', runtime: 'host', args: ['sh', '-c', 'exec sleep 1000'] });
  await c.createTask({ id: 'insp-fd', runtime: 'host', args: ['sh', '-c', 'exit 2'] });
  await c.wait('insp-fd');
  t.teardown(() => Promise.all(['insp-fc', 'insp-fd'].map((id) => c.remove(id, { force: true }).catch(() => undefined))));
  const [mixed, missing, bad, unknownFn] = await Promise.all([
    taskio(t, root, 'inspect', '-f', '{{.exit.exitCode}}', 'insp-fc', 'nope', 'insp-fd'), taskio(t, root, 'inspect', '-f', '{{.Pid}}', 'insp-fd'),
    taskio(t, root, 'inspect', '-f', '{{.id', 'insp-fc'), taskio(t, root, 'inspect', '-f', '{{bogus .id}}', 'insp-fc'),
  ]);
  t.equal(mixed.code, 125);
  t.equal(mixed.stdout, '2\n', 'the task the template works on is printed');
  t.equal(mixed.stderr, 'taskio inspect: insp-fc: template "{{.exit.exitCode}}": 1:3: at <.exit.exitCode>: nil pointer evaluating .exit.exitCode: .exit is null\n'
    + 'taskio inspect: no such task: nope\n');
  t.same([missing.code, missing.stdout, missing.stderr], [125, '', 'taskio inspect: insp-fd: template "{{.Pid}}": 1:3: at <.Pid>: map has no entry for key "Pid"\n'], 'a missing field is an error, as docker\'s');
  t.same([bad.code, bad.stdout, bad.stderr], [125, '', 'taskio inspect: invalid argument "{{.id" for "-f, --format" flag: template "{{.id": 1:1: unclosed action. See \'taskio inspect --help\'.\n']);
  t.same([unknownFn.code, unknownFn.stderr], [125, 'taskio inspect: invalid argument "{{bogus .id}}" for "-f, --format" flag: template "{{bogus .id}}": 1:3: function "bogus" not defined. See \'taskio inspect --help\'.\n']);
});
