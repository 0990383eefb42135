/**
 * `taskio prune` (docker's container prune) against a real daemon: the `[y/N]` prompt, `-f`, the
 * `until`, `label` and `label!` filters; exited and created tasks go, running ones stay, and what
 * went leaves no directory.
 */
import t from 'tap';
import type { DaemonClient } from '../../src/daemon/index.js';
import { client, daemonRoot, taskDirs } from '../daemon/helpers.js';
import { spawnTaskio, taskio } from './taskioCommand.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

const prompt = 'WARNING! This will remove all stopped tasks.\nAre you sure you want to continue? [y/N] ';
const sizeLine = /^Total reclaimed space: [1-9][0-9.]*k?B\n$/;

t.test('prune: the prompt, the filters, exited and created tasks removed, running ones left', { timeout: 90_000 }, async (t) => {
  const before = new Date(Date.now() - 60_000).toISOString();
  await c.createTask({ id: 'pr-x', runtime: 'host', args: ['sh', '-c', 'echo x'], labels: { app: 'x' } });
  await c.createTask({ id: 'pr-y', runtime: 'runc', args: ['true'], labels: { app: 'y' } });
  await c.createTask({ id: 'pr-created', runtime: 'host', args: ['true'], start: false });
  await c.createTask({ id: 'pr-running', runtime: 'host', args: ['sleep', '1000'], labels: { app: 'x' } });
  t.teardown(() => c.remove('pr-running', { force: true }).catch(() => undefined));
  await c.wait('pr-x');
  await c.wait('pr-y');
  const afterAll = new Date(Date.now() + 1).toISOString();

  for (const input of ['n\n', '', 'maybe\n']) {
    const no = await spawnTaskio(root, ['prune'], input).result;
    t.same([no.code, no.stdout, no.stderr], [0, prompt, ''], `answered ${JSON.stringify(input)}: nothing removed`);
  }
  t.equal(taskDirs(root).length, 4);

  const old = await taskio(t, root, 'prune', '-f', '--filter', `until=${before}`);
  t.same([old.code, old.stdout], [0, 'Total reclaimed space: 0B\n'], 'until: none was created that early');
  const x = await taskio(t, root, 'prune', '--force', '--filter', 'label=app=x');
  t.equal(x.code, 0);
  t.match(x.stdout, /^Deleted Tasks:\npr-x\n\n/, 'only the exited task with app=x (pr-running has it too, but runs)');
  t.match(x.stdout.split('\n\n')[1], sizeLine, 'its log and bundle');
  const notY = await taskio(t, root, 'prune', '-f', '--filter', 'label!=app=y', '--filter', `until=${afterAll}`);
  t.match(notY.stdout, /^Deleted Tasks:\npr-created\n\n/, 'label!: not the app=y one; the created task goes');

  const yes = await spawnTaskio(root, ['prune'], 'Y\n').result;
  t.equal(yes.code, 0);
  t.match(yes.stdout, new RegExp(`^${prompt.replace(/[?[\]]/g, '\\$&')}Deleted Tasks:\\npr-y\\n\\n`));
  t.same(taskDirs(root), ['pr-running'], 'the running task stays; nothing is left of the others');
  t.equal((await c.getTask('pr-running')).status, 'running');
});

t.test('prune refuses a bad filter, naming it, and removes nothing', { timeout: 30_000 }, async (t) => {
  await c.createTask({ id: 'pr-kept', runtime: 'host', args: ['true'] });
  t.teardown(() => c.remove('pr-kept', { force: true }).catch(() => undefined));
  await c.wait('pr-kept');
  const bad = await taskio(t, root, 'prune', '-f', '--filter', 'status=exited');
  t.same([bad.code, bad.stdout], [125, '']);
  t.match(bad.stderr, /^taskio prune: invalid argument "status=exited" for "--filter" flag: invalid filter 'status=exited': expected until=TIME, label=KEY\[=VALUE\] or label!=KEY\[=VALUE\]\. See 'taskio prune --help'\.\n$/);
  const time = await taskio(t, root, 'prune', '-f', '--filter', 'until=soon');
  t.match(time.stderr, /failed to parse value as time or duration: "soon"/);
  await t.rejects(c.prune({ until: 'soon' }), { code: 'ERR_INVALID_FIELD', message: /"until" must be an RFC 3339 time, not "soon"/ });
  await t.rejects(c.prune({ until: '2020' }), { code: 'ERR_INVALID_FIELD', message: /"until" must be an RFC 3339 time, not "2020"/ }, 'not a bare year');
  await t.rejects(c.prune({ label: ['=x'] }), { code: 'ERR_INVALID_FIELD' });
  await t.rejects(c.prune({ 'label!': 'x' } as never), { code: 'ERR_INVALID_FIELD' });
  t.ok(taskDirs(root).includes('pr-kept'), 'nothing removed');
});
