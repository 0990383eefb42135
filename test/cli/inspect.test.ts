import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import type { DaemonClient, TaskView } from '../../src/daemon/index.js';
import { tmpDir } from '../helpers/common.js';
import { signalTask } from '../../src/daemon/procStat.js';
import { isGone } from '../fixtures/oci.js';
import { client, daemonPid, daemonRoot, eventually, recorderOf, waitGone } from '../daemon/helpers.js';
import { taskio } from './taskioCommand.js';

/** taskio's own fields of an inspect entry (camelCase; docker's are capitalised). */
const taskioPart = (entry: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(entry).filter(([k]) => /^[a-z]/.test(k)));

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
  t.same(taskioPart(a as unknown as Record<string, unknown>), await c.getTask('insp-a'), 'the daemon\'s view of the task, docker\'s fields beside it');
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
  t.same((JSON.parse(json.stdout) as Array<Record<string, unknown>>).map(taskioPart), [await c.getTask('insp-fb'), await c.getTask('insp-fa')], 'the daemon\'s views, in the order given');
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

t.test('inspect --type container (docker\'s, in scripts: not an image) and task are taskio\'s tasks; another type is a usage error', { timeout: 120_000 }, async (t) => {
  await c.createTask({ id: 'insp-type', runtime: 'host', args: ['sh', '-c', 'exit 6'] });
  await c.wait('insp-type');
  t.teardown(() => c.remove('insp-type', { force: true }).catch(() => undefined));
  const [container, task, mixed, image] = await Promise.all([
    taskio(t, root, 'inspect', '--type', 'container', '-f', '{{.Name}} {{.State.ExitCode}}', 'insp-type'),
    taskio(t, root, 'container', 'inspect', '--type=task', '-f', '{{.Name}}', 'insp-type'),
    taskio(t, root, 'inspect', '--type=container', '-f', '{{.Name}}', 'nope', 'insp-type'),
    taskio(t, root, 'inspect', '--type', 'image', 'insp-type'),
  ]);
  t.same([container.code, container.stdout, container.stderr], [0, '/insp-type 6\n', '']);
  t.same([task.code, task.stdout, task.stderr], [0, '/insp-type\n', '']);
  t.same([mixed.code, mixed.stdout, mixed.stderr], [125, '/insp-type\n', 'taskio inspect: no such task: nope\n'], 'a missing one: the others still printed');
  t.same([image.code, image.stdout, image.stderr],
    [125, '', 'taskio inspect: invalid argument "image" for "--type" flag: taskio inspects tasks only: container (or task). See \'taskio inspect --help\'.\n']);
});

/** docker's zero time: a StartedAt or FinishedAt that never was. */
const zeroTime = '0001-01-01T00:00:00Z';
/** An inspect entry, read as jq reads it. */
type Entry = Record<string, any>;

/** `taskio inspect IDS…` parsed, as `jq '.[0].State.Pid'` reads it. */
async function inspectJson(t: Test, ...ids: string[]): Promise<Entry[]> {
  const r = await taskio(t, root, 'inspect', ...ids);
  t.same([r.code, r.stderr], [0, ''], `inspect ${ids.join(' ')}`);
  return JSON.parse(r.stdout) as Entry[];
}

/** `taskio inspect -f TEMPLATE IDS…`: its output, which must have no error. */
async function inspectWith(t: Test, template: string, ...ids: string[]): Promise<string> {
  const r = await taskio(t, root, 'inspect', '-f', template, ...ids);
  t.same([r.code, r.stderr], [0, ''], template);
  return r.stdout;
}

t.test('inspect: docker\'s fields of host tasks running, exited with a code, killed by a signal, and created; JSON and templates', { timeout: 120_000 }, async (t) => {
  const ids = ['dk-run', 'dk-exit', 'dk-kill', 'dk-new'];
  t.teardown(() => Promise.all(ids.map((id) => c.remove(id, { force: true }).catch(() => undefined))));
  await c.createTask({ id: 'dk-run', runtime: 'host', args: ['sh', '-c', 'exec sleep 1000'], cwd: '/tmp', labels: { k: 'v w', app: 'x' }, restartPolicy: { name: 'on-failure', maximumRetryCount: 2 } });
  await c.createTask({ id: 'dk-exit', runtime: 'host', args: ['sh', '-c', 'exit 3'] });
  await c.createTask({ id: 'dk-kill', runtime: 'host', args: ['sleep', '1000'] });
  await c.createTask({ id: 'dk-new', runtime: 'host', args: ['sleep', '1000'], start: false, autoRemove: true });
  await c.kill('dk-kill', 'KILL');
  await Promise.all([c.wait('dk-exit'), c.wait('dk-kill')]);
  const views = await Promise.all(ids.map((id) => c.getTask(id)));
  const [run, exit, kill, created] = views as [TaskView, TaskView, TaskView, TaskView];
  const entries = await inspectJson(t, ...ids);
  t.same(entries.map(taskioPart), views, 'taskio\'s own fields as they were');
  const [r, e, k, n] = entries as [Entry, Entry, Entry, Entry];
  t.same(r.State, {
    Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: run.pid, ExitCode: 0, Error: '',
    StartedAt: run.started, FinishedAt: zeroTime, Health: null,
  }, 'running: its pid, exit code 0, never finished');
  t.same(e.State, {
    Status: 'exited', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 3, Error: '',
    StartedAt: exit.started, FinishedAt: exit.exit!.exitedAt, Health: null,
  }, 'exited: its code, pid 0');
  t.match(k.State, { Status: 'exited', Running: false, Pid: 0, ExitCode: 137, StartedAt: kill.started, FinishedAt: kill.exit!.exitedAt }, 'killed: 128 + 9');
  t.match(n.State, { Status: 'created', Running: false, Pid: 0, ExitCode: 0, StartedAt: zeroTime, FinishedAt: zeroTime }, 'created: never started');
  t.match(r, {
    Id: 'dk-run', Name: '/dk-run', Created: run.created, Path: 'sh', Args: ['-c', 'exec sleep 1000'], LogPath: run.logPath, RestartCount: 0, ExecIDs: null, Mounts: [],
    HostConfig: {
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 }, AutoRemove: false, Privileged: false, SecurityOpt: null, NetworkMode: run.network,
      Memory: 0, NanoCpus: 0, PidsLimit: null, Ulimits: null, Init: false,
    },
    Config: {
      User: '', Tty: false, OpenStdin: false, Cmd: ['sh', '-c', 'exec sleep 1000'], Image: 'host', WorkingDir: '/tmp', Labels: { k: 'v w', app: 'x' },
      StopSignal: 'SIGTERM', StopTimeout: 10, Healthcheck: null,
    },
  }, 'docker\'s top-level fields');
  t.notOk('Hostname' in r.Config, 'a host task\'s hostname is the host\'s: not in its record, left out');
  t.match(n, { Id: 'dk-new', HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } } });
  t.equal(created.pid, 0);

  const state = '{{.Id}} {{.Name}} {{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.ExitCode}} {{.RestartCount}} {{.HostConfig.RestartPolicy.Name}}'
    + ' {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.Path}} {{json .Args}}';
  t.equal(await inspectWith(t, state, ...ids), `dk-run /dk-run running true ${run.pid} 0 0 on-failure none sh ["-c","exec sleep 1000"]\n`
    + 'dk-exit /dk-exit exited false 0 3 0 no none sh ["-c","exit 3"]\n'
    + 'dk-kill /dk-kill exited false 0 137 0 no none sleep ["1000"]\n'
    + 'dk-new /dk-new created false 0 0 0 no none sleep ["1000"]\n');
  t.equal(await inspectWith(t, '{{index .Config.Labels "k"}}|{{.Config.Labels}}|{{.Config.Cmd}}|{{.LogPath}}', 'dk-run'), `v w|map[app:x k:v w]|[sh -c exec sleep 1000]|${run.logPath}\n`);
  t.equal(await inspectWith(t, '{{.State.StartedAt}} {{.State.FinishedAt}}', 'dk-new', 'dk-exit'), `${zeroTime} ${zeroTime}\n${exit.started} ${exit.exit!.exitedAt}\n`);
});

t.test('inspect: docker\'s fields of a paused runc task with limits, ulimits, --init, a user, a hostname and a mount', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir(t);
  t.teardown(() => c.remove('dk-runc', { force: true }).catch(() => undefined));
  await c.createTask({
    id: 'dk-runc', runtime: 'runc', args: ['sleep', '1000'], init: true, user: '1000:1001', hostname: 'box', labels: { tier: 'db' },
    limits: { memory: 64 * 1024 * 1024, cpus: 0.5, pids: 100 }, ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }],
    mounts: [{ type: 'bind', source: dir, target: '/data', readonly: true }],
  });
  await c.pause('dk-runc');
  const view = await c.getTask('dk-runc');
  t.equal(view.status, 'paused');
  const [p] = await inspectJson(t, 'dk-runc') as [Entry];
  t.match(p.State, { Status: 'paused', Running: true, Paused: true, Restarting: false, Pid: view.pid, ExitCode: 0, FinishedAt: zeroTime }, 'paused is running too, as docker\'s');
  t.ok(p.State.Pid > 0, 'its pid');
  t.match(p, {
    Path: 'sleep', Args: ['1000'],
    HostConfig: { Memory: 64 * 1024 * 1024, NanoCpus: 500_000_000, PidsLimit: 100, Ulimits: [{ Name: 'nofile', Hard: 2048, Soft: 1024 }], Init: true, NetworkMode: 'none' },
    Config: { Cmd: ['sleep', '1000'], Hostname: 'box', User: '1000:1001', Labels: { tier: 'db' } },
    Mounts: [{ Type: 'bind', Source: dir, Destination: '/data', RW: false, Propagation: 'rprivate' }],
  }, 'the command without the init, as docker\'s; the limits in docker\'s units');
  t.equal(await inspectWith(t, '{{.State.Status}} {{.State.Running}} {{.State.Paused}} {{.State.Pid}} {{.HostConfig.NanoCpus}} {{.Config.Hostname}}', 'dk-runc'), `paused true true ${view.pid} 500000000 box\n`);
});

t.test('inspect: docker\'s State.Health and Config.Healthcheck of a task with a check', { timeout: 120_000 }, async (t) => {
  t.teardown(() => c.remove('dk-health', { force: true }).catch(() => undefined));
  await c.createTask({ id: 'dk-health', runtime: 'host', args: ['sleep', '1000'], healthcheck: { test: ['CMD-SHELL', 'echo fine'], interval: 100_000_000, retries: 2 } });
  await eventually(async () => (await c.getTask('dk-health')).health?.status === 'healthy', 'dk-health healthy');
  const [h] = await inspectJson(t, 'dk-health') as [Entry];
  t.match(h.State.Health, { Status: 'healthy', FailingStreak: 0 });
  t.match(h.State.Health.Log[0], { ExitCode: 0, Output: 'fine\n', Start: String, End: String }, 'docker\'s log entries');
  t.same(h.Config.Healthcheck, { Test: ['CMD-SHELL', 'echo fine'], Interval: 100_000_000, Retries: 2 }, 'the check as asked, what was not given left out (docker\'s omitempty)');
  t.equal(await inspectWith(t, '{{.State.Health.Status}} {{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).ExitCode}} {{json .Config.Healthcheck.Test}}', 'dk-health'),
    'healthy 0 0 ["CMD-SHELL","echo fine"]\n');
});

t.test('inspect: a task that exited while no daemon nor its exit recorder ran: docker\'s unknown exit code 255, the reason as State.Error', { timeout: 120_000 }, async (t) => {
  const own = daemonRoot(t);
  const d = await client(own);
  t.teardown(() => d.close());
  const task = await d.createTask({ id: 'dk-lost', runtime: 'host', args: ['sleep', '1000'] });
  const daemon = daemonPid(own);
  // Its exit goes to init, which tells nobody.
  const recorder = recorderOf(daemon);
  if (recorder <= 0) throw new Error(`daemon ${daemon} runs under no exit recorder`); // kill(0): this test's own group
  process.kill(recorder, 'SIGKILL');
  await waitGone(recorder);
  process.kill(daemon, 'SIGKILL');
  await waitGone(daemon);
  signalTask(task.pid, null, 'SIGKILL', true);
  await eventually(() => isGone(task.pid), 'the task to exit');
  // The command starts a daemon, which adopts the task and finds it gone.
  const r = await taskio(t, own, 'inspect', '-f', '{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.ExitCode}} {{.State.Error}}', 'dk-lost');
  t.same([r.code, r.stderr], [0, '']);
  t.match(r.stdout, /^exited false 0 255 \S.*exited while no daemon was running.*\n$/, 'exit code 255, the reason');
  t.match((await d.getTask('dk-lost')).exit, { exitCode: null }, 'the daemon\'s own view still says unknown');
});

t.test('inspect: a fast task\'s StartedAt is never after its FinishedAt', { timeout: 120_000 }, async (t) => {
  // A task that exits at once may be reaped before its start is recorded; each of these may be.
  const ids = Array.from({ length: 20 }, (_, i) => `dk-fast-${i}`);
  t.teardown(() => Promise.all(ids.map((id) => c.remove(id, { force: true }).catch(() => undefined))));
  await Promise.all(ids.map((id) => c.createTask({ id, runtime: 'host', args: ['sh', '-c', 'exit 3'] })));
  await Promise.all(ids.map((id) => c.wait(id)));
  const late = (await Promise.all(ids.map((id) => c.getTask(id)))).filter((v) => !(Date.parse(v.started!) <= Date.parse(v.exit!.exitedAt!)));
  t.same(late.map((v) => `${v.id}: started ${v.started}, exited ${v.exit!.exitedAt}`), [], 'started is not after the exit');
  const lines = (await inspectWith(t, '{{.Id}} {{.State.StartedAt}} {{.State.FinishedAt}}', ...ids)).split('\n').filter(Boolean);
  t.equal(lines.length, ids.length);
  t.same(lines.filter((l) => { const [, s, f] = l.split(' '); return !(Date.parse(s!) <= Date.parse(f!)); }), [], 'StartedAt ≤ FinishedAt');
});

t.test('inspect: a task started again keeps its previous run\'s FinishedAt while the new run goes on, as docker\'s, across a daemon restart', { timeout: 120_000 }, async (t) => {
  const own = daemonRoot(t);
  const d = await client(own);
  t.teardown(() => d.close());
  const dir = tmpDir(t);
  // The first run of each exits 3; the next ones run on.
  const once = (name: string): string[] => ['sh', '-c', `[ -e ${dir}/${name} ] && exec sleep 1000; touch ${dir}/${name}; exit 3`];
  const fields = '{{.State.Status}} {{.State.ExitCode}} {{.State.FinishedAt}}';
  await d.createTask({ id: 'dk-again', runtime: 'host', args: once('again') });
  const exit = await d.wait('dk-again');
  t.equal((await taskio(t, own, 'inspect', '-f', fields, 'dk-again')).stdout, `exited 3 ${exit.exitedAt}\n`);
  const again = await d.start('dk-again');
  t.same([again.status, again.exit, again.finished], ['running', null, exit.exitedAt], 'taskio\'s view: no exit, the last run\'s end');
  t.equal((await taskio(t, own, 'inspect', '-f', fields, 'dk-again')).stdout, `running 0 ${exit.exitedAt}\n`, 'docker\'s: exit code 0, the last run\'s FinishedAt');

  // A restart by the policy: the first run's end, before the new run's start.
  const created = await d.createTask({ id: 'dk-policy', runtime: 'host', args: once('policy'), restartPolicy: { name: 'on-failure' } });
  await eventually(async () => { const v = await d.getTask('dk-policy'); return v.status === 'running' && v.restartCount === 1; }, 'dk-policy restarted');
  const policy = await d.getTask('dk-policy');
  t.ok(Date.parse(policy.finished ?? '') >= Date.parse(created.started!) && Date.parse(policy.finished ?? '') <= Date.parse(policy.started!), `restarted: finished ${policy.finished}, between the runs' starts (${policy.started})`);

  // A daemon that adopts them finds the same in their records.
  const daemon = daemonPid(own);
  process.kill(daemon, 'SIGKILL');
  await waitGone(daemon);
  const r = await taskio(t, own, 'inspect', '-f', `{{.Id}} ${fields} {{.finished}}`, 'dk-again', 'dk-policy');
  t.same([r.code, r.stderr], [0, '']);
  t.equal(r.stdout, `dk-again running 0 ${exit.exitedAt} ${exit.exitedAt}\ndk-policy running 0 ${policy.finished} ${policy.finished}\n`, 'kept across the daemon restart');
});
