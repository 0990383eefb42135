import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import type { DaemonClient, ExitRecord } from '../../src/daemon/index.js';
import { tmpDir } from '../helpers/common.js';
import { signalTask } from '../../src/daemon/procStat.js';
import { isGone } from '../fixtures/oci.js';
import { client, daemonPid, daemonRoot, eventually, waitGone } from '../daemon/helpers.js';
import { taskio } from './taskioCommand.js';

// docker's State.OOMKilled: the exit records whether the task's memory cgroup (runsc: its sandbox's,
// host: its job's) had an OOM kill during the run.

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

const limit = 32 * 1024 * 1024;
/** Holds 200 MB in a shell variable: in a 32 MiB cgroup the kernel's OOM killer ends it (runsc: the sandbox's sentry). */
const hog = 'a=$(head -c 200000000 /dev/zero | tr "\\0" x)';
/** A shell that waits for the file `go` in `dir` (mounted at /d in a container) before it runs {@link hog}. */
const hogWhenTold = (dir: string): string => `while [ ! -e ${dir}/go ]; do sleep 0.1; done; ${hog}`;

/** `taskio inspect -f TEMPLATE IDS…` of `own` (a daemon root), which must have no error. */
async function inspectWith(t: Test, own: string, template: string, ...ids: string[]): Promise<string> {
  const r = await taskio(t, own, 'inspect', '-f', template, ...ids);
  t.same([r.code, r.stderr], [0, ''], template);
  return r.stdout;
}

/** The exit file of task `id` of `own` as on disk. */
const exitFile = (own: string, id: string): ExitRecord => JSON.parse(fs.readFileSync(path.join(own, 'tasks', id, 'exit'), 'utf8')) as ExitRecord;

for (const runtime of ['runc', 'runsc', 'host'] as const) {
  t.test(`${runtime}: a task OOM-killed over its memory limit exits 137 with oomKilled true; one killed with KILL, false`, { timeout: 120_000 }, async (t) => {
    const [oom, killed] = [`oom-${runtime}`, `kill9-${runtime}`];
    t.teardown(() => Promise.all([oom, killed].map((id) => c.remove(id, { force: true }).catch(() => undefined))));
    await Promise.all([
      c.createTask({ id: oom, runtime, args: ['sh', '-c', hog], limits: { memory: limit } }),
      c.createTask({ id: killed, runtime, args: ['sleep', '1000'], limits: { memory: limit } }),
    ]);
    await c.kill(killed, 'KILL');
    const [oomExit, killedExit] = await Promise.all([c.wait(oom), c.wait(killed)]);
    t.match(oomExit, { exitCode: 137, signal: 'SIGKILL', oomKilled: true }, 'OOM-killed: wait says so');
    t.match(killedExit, { exitCode: 137, signal: 'SIGKILL', oomKilled: false }, 'killed with KILL: the same status, no OOM kill');
    t.equal((await c.getTask(oom)).exit?.oomKilled, true, 'the daemon\'s view');
    t.same([exitFile(root, oom).oomKilled, exitFile(root, killed).oomKilled], [true, false], 'the exit files');
    t.equal(await inspectWith(t, root, '{{.Id}} {{.State.ExitCode}} {{.State.OOMKilled}}', oom, killed), `${oom} 137 true\n${killed} 137 false\n`);
  });
}

t.test('a new run counts afresh (start, and a restart by policy): OOMKilled false while it runs and after a KILL', { timeout: 120_000 }, async (t) => {
  const ids = ['again-start', 'again-policy'];
  t.teardown(() => Promise.all(ids.map((id) => c.remove(id, { force: true }).catch(() => undefined))));
  // The first run is OOM-killed, every later one sleeps.
  const dirs = ids.map(() => tmpDir(t));
  const once = `[ -e /d/ran ] && exec sleep 1000; touch /d/ran; ${hog}`;
  // The policy's restart may come before a wait could be asked: its events tell of the first run.
  const ac = new AbortController();
  const policyEvents = await c.events({ id: 'again-policy', signal: ac.signal });
  const seen: string[] = [];
  const restarted = (async () => {
    for await (const e of policyEvents) {
      seen.push(e.type);
      if (e.type === 'restart') return ac.abort();
    }
  })();
  await Promise.all(ids.map((id, i) => c.createTask({
    id, runtime: 'runc', args: ['sh', '-c', once], limits: { memory: limit }, mounts: [{ type: 'bind', source: dirs[i]!, target: '/d' }],
    ...(id === 'again-policy' ? { restartPolicy: { name: 'on-failure', maximumRetryCount: 1 } } : {}),
  })));
  t.match(await c.wait('again-start'), { exitCode: 137, oomKilled: true }, 'the first run was OOM-killed');
  t.equal(await inspectWith(t, root, '{{.State.OOMKilled}}', 'again-start'), 'true\n');
  await c.start('again-start');
  await restarted;
  t.same(seen.filter((e) => e !== 'create' && e !== 'start'), ['oom', 'exit', 'restart'], 'again-policy: OOM-killed, then restarted by its policy');
  t.equal(await inspectWith(t, root, '{{.Id}} {{.State.Status}} {{.State.OOMKilled}} {{.RestartCount}}', ...ids), 'again-start running false 0\nagain-policy running false 1\n', 'running again: false');
  await Promise.all(ids.map((id) => c.kill(id, 'KILL')));
  for (const id of ids) t.match(await c.wait(id), { exitCode: 137, oomKilled: false }, `${id}: the second run was killed, not OOM-killed`);
  t.equal(await inspectWith(t, root, '{{.State.ExitCode}} {{.State.OOMKilled}}', ...ids), '137 false\n137 false\n');
});

t.test('a runc task given a memory limit by update, with none at its create: OOMKilled true', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir(t);
  t.teardown(() => c.remove('upd-oom', { force: true }).catch(() => undefined));
  await c.createTask({ id: 'upd-oom', runtime: 'runc', args: ['sh', '-c', hogWhenTold('/d')], mounts: [{ type: 'bind', source: dir, target: '/d' }] });
  await c.update('upd-oom', { limits: { memory: limit } });
  fs.writeFileSync(path.join(dir, 'go'), '');
  t.match(await c.wait('upd-oom'), { exitCode: 137, oomKilled: true });
  t.equal(await inspectWith(t, root, '{{.State.OOMKilled}}', 'upd-oom'), 'true\n');
});

t.test('after a daemon restart: an adopted task OOM-killed is true; one killed while no daemon ran is false; an exit file without the field reads as false', { timeout: 120_000 }, async (t) => {
  const own = daemonRoot(t);
  const d = await client(own);
  t.teardown(() => d.close());
  const dir = tmpDir(t);
  await d.createTask({ id: 'adopted-oom', runtime: 'runc', args: ['sh', '-c', hogWhenTold('/d')], limits: { memory: limit }, mounts: [{ type: 'bind', source: dir, target: '/d' }] });
  await d.createTask({ id: 'old-exit', runtime: 'host', args: ['sh', '-c', 'exit 3'] });
  const lost = await d.createTask({ id: 'lost', runtime: 'host', args: ['sleep', '1000'], limits: { memory: limit } });
  await d.wait('old-exit');
  const daemon = daemonPid(own);
  process.kill(daemon, 'SIGKILL');
  await waitGone(daemon);
  // As a taskio before the field wrote it.
  const { oomKilled: _dropped, ...old } = exitFile(own, 'old-exit');
  fs.writeFileSync(path.join(own, 'tasks', 'old-exit', 'exit'), JSON.stringify(old));
  signalTask(lost.pid, null, 'SIGKILL', true);
  await eventually(() => isGone(lost.pid), 'the lost task to exit');
  // The command starts a daemon, which adopts the tasks.
  t.equal(await inspectWith(t, own, '{{.Id}} {{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}', 'old-exit', 'lost', 'adopted-oom'),
    'old-exit exited 3 false\nlost exited 137 false\nadopted-oom running 0 false\n');
  t.notOk('oomKilled' in (await d.getTask('old-exit')).exit!, 'the old exit as it was written: not made up');
  t.match((await d.getTask('lost')).exit, { exitCode: 137 }, 'its status from the exit recorder; no OOM kill made up');
  fs.writeFileSync(path.join(dir, 'go'), '');
  t.match(await d.wait('adopted-oom'), { exitCode: 137, oomKilled: true }, 'adopted: its status from the exit recorder, the OOM kill is in its cgroup');
  t.equal(await inspectWith(t, own, '{{.State.OOMKilled}}', 'adopted-oom'), 'true\n');
});
