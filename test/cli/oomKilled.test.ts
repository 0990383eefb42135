import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import type { CreateTaskRequest, DaemonClient, ExitRecord, TaskRecord } from '../../src/daemon/index.js';
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
/**
 * Reads 200 MiB into one buffer: in a 32 MiB cgroup the kernel's OOM killer ends it (runsc: the
 * sandbox's sentry). One process that allocates, so its kill frees everything at once: a pipeline
 * (`head | tr` into a shell variable) went on allocating in `tr` while the killed shell's memory was
 * still being reclaimed, and under load that second OOM kill could take the task's own shell.
 */
const hog = 'dd if=/dev/zero of=/dev/null bs=200M count=1';
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

/** The record of task `id` of `own` as on disk. */
const recordOf = (own: string, id: string): TaskRecord => JSON.parse(fs.readFileSync(path.join(own, 'tasks', id, 'task.json'), 'utf8')) as TaskRecord;

/** SIGKILLs the daemon of `own` (its tasks run on) and waits until it is gone. */
async function killDaemon(own: string): Promise<void> {
  const daemon = daemonPid(own);
  if (daemon === 0) throw new Error(`no daemon runs in ${own}`); // kill(0) would be this test's own process group
  process.kill(daemon, 'SIGKILL');
  await waitGone(daemon);
}

/** A task of `runtime` running `script`, which sees the directory `dir` as `D` (a container's bind mount at /d, a host task's own path). */
function withDir(runtime: 'runc' | 'runsc' | 'host', dir: string, script: (d: string) => string): Pick<CreateTaskRequest, 'args' | 'mounts'> {
  return runtime === 'host' ? { args: ['sh', '-c', script(dir)] } : { args: ['sh', '-c', script('/d')], mounts: [{ type: 'bind', source: dir, target: '/d' }] };
}

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

t.test('after a daemon restart: an adopted task OOM-killed is true (its record without the OOM counter, as an older taskio wrote it); one killed while no daemon ran is false; an exit file without the field reads as false', { timeout: 120_000 }, async (t) => {
  const own = daemonRoot(t);
  const d = await client(own);
  t.teardown(() => d.close());
  const dir = tmpDir(t);
  await d.createTask({ id: 'adopted-oom', runtime: 'runc', args: ['sh', '-c', hogWhenTold('/d')], limits: { memory: limit }, mounts: [{ type: 'bind', source: dir, target: '/d' }] });
  await d.createTask({ id: 'old-exit', runtime: 'host', args: ['sh', '-c', 'exit 3'] });
  const lost = await d.createTask({ id: 'lost', runtime: 'host', args: ['sleep', '1000'], limits: { memory: limit } });
  await d.wait('old-exit');
  await killDaemon(own);
  // As a taskio before the fields wrote them: an exit without oomKilled, a record without its OOM counter (counted from the adoption).
  const { oomKilled: _dropped, ...old } = exitFile(own, 'old-exit');
  fs.writeFileSync(path.join(own, 'tasks', 'old-exit', 'exit'), JSON.stringify(old));
  const { oomCounter: _counter, ...oldRecord } = recordOf(own, 'adopted-oom');
  t.ok(_counter, 'the record keeps the counter of the run');
  fs.writeFileSync(path.join(own, 'tasks', 'adopted-oom', 'task.json'), JSON.stringify(oldRecord));
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

t.test('a task OOM-killed while its daemon was SIGKILLed: the next daemon shows OOMKilled true, from the count its record kept (runc, host: exit 137; runsc: its code unknown, the sandbox gone)', { timeout: 180_000 }, async (t) => {
  const own = daemonRoot(t);
  const d = await client(own);
  t.teardown(() => d.close());
  const dir = tmpDir(t);
  const runtimes = ['runc', 'host', 'runsc'] as const;
  const tasks = await Promise.all(runtimes.map((runtime) => d.createTask({ id: `away-${runtime}`, runtime, limits: { memory: limit }, ...withDir(runtime, dir, hogWhenTold) })));
  await killDaemon(own);
  fs.writeFileSync(path.join(dir, 'go'), '');
  await eventually(() => tasks.every((task) => isGone(task.pid)), 'the tasks to be OOM-killed', 60_000);
  // The command starts a daemon, which adopts the tasks.
  t.equal(await inspectWith(t, own, '{{.Id}} {{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}', ...runtimes.map((r) => `away-${r}`)),
    'away-runc exited 137 true\naway-host exited 137 true\naway-runsc exited 255 true\n');
  for (const runtime of runtimes) t.equal(exitFile(own, `away-${runtime}`).oomKilled, true, `${runtime}: the exit file`);
});

for (const runtime of ['runc', 'host'] as const) {
  t.test(`${runtime}: an adopted running task whose child was OOM-killed while no daemon ran: OOMKilled true at its exit, told by an oom event then`, { timeout: 120_000 }, async (t) => {
    const own = daemonRoot(t);
    const d = await client(own);
    t.teardown(() => d.close());
    const dir = tmpDir(t);
    const id = `child-${runtime}`;
    // Its child holds the memory and is killed; the task goes on until told to end, and ends with 0.
    const script = (at: string): string => `while [ ! -e ${at}/go ]; do sleep 0.1; done; sh -c '${hog}'; touch ${at}/survived; while [ ! -e ${at}/end ]; do sleep 0.1; done`;
    await d.createTask({ id, runtime, limits: { memory: limit }, ...withDir(runtime, dir, script) });
    await killDaemon(own);
    fs.writeFileSync(path.join(dir, 'go'), '');
    await eventually(() => fs.existsSync(path.join(dir, 'survived')), 'the child to be OOM-killed and the task to go on', 60_000);
    t.equal(await inspectWith(t, own, '{{.State.Status}} {{.State.OOMKilled}}', id), 'running false\n', 'adopted running');
    const ac = new AbortController();
    const events = await d.events({ id, signal: ac.signal });
    const seen: string[] = [];
    const ended = (async () => {
      for await (const e of events) {
        seen.push(e.type);
        if (e.type === 'exit') return ac.abort();
      }
    })();
    fs.writeFileSync(path.join(dir, 'end'), '');
    t.match(await d.wait(id), { exitCode: 0, oomKilled: true }, 'its run had an OOM kill, before this daemon adopted it');
    await ended;
    t.same(seen, ['oom', 'exit'], 'the oom event comes with its exit, as for a task this daemon started');
    t.equal(await inspectWith(t, own, '{{.State.ExitCode}} {{.State.OOMKilled}}', id), '0 true\n');
  });
}
