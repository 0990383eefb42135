import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as sys from '../../src/sys/index.js';
import type { DaemonClient } from '../../src/daemon/index.js';
import { isGone, sandboxWaits } from '../fixtures/oci.js';
import { checkKillGap, client, daemonPid, daemonRoot, endedLines, logText, eventually, runtimeIdOf, waitGone } from './helpers.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

const counter = 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.002; done';
const runtimes = ['runsc', 'runc', 'host'] as const;

/** The memory cgroup directory of process `pid`, when it is a taskio job's. */
function memoryCgroups(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f[1] === 'memory' && f[2]?.startsWith('/taskio/'))
    .map((f) => `/sys/fs/cgroup/memory${f[2]}`);
}

/** The `runsc wait` processes of this daemon root's runtime. */
function runscWaits(root: string): string[] {
  const ps = spawnSync('pgrep', ['-fa', ' wait '], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((l) => l.includes(path.join(root, 'runtime', 'runsc')));
}

/**
 * Waits until the sandbox of runsc task `id` handles the runsc wait of each of the `daemons` that
 * adopted it ({@link sandboxWaits}; a stopped daemon's stays): a task that exits before the running
 * daemon's wait reached its sandbox takes the sandbox along, and its status with it.
 */
function waitHandled(id: string, daemons: number): Promise<void> {
  return eventually(async () => (await sandboxWaits(path.join(root, 'runtime', 'runsc'), runtimeIdOf(root, 'runsc', id))) === daemons, `${id}: its sandbox handles the daemon's runsc wait`, 60_000);
}

async function numbers(id: string): Promise<number[]> {
  return endedLines(await logText(c, id)).filter(Boolean).map(Number);
}

t.test('daemon SIGKILLed with running tasks on runsc, runc and host: the next request adopts them', { timeout: 180_000 }, async (t) => {
  for (const rt of runtimes) await c.createTask({ id: `count-${rt}`, runtime: rt, args: ['sh', '-c', counter] });
  const doomed = await c.createTask({ id: 'doomed', runtime: 'host', args: ['sleep', '1000'] });
  // Exits with a code of its own once told (TERM), after the restart.
  await c.createTask({ id: 'trap-runsc', runtime: 'runsc', args: ['sh', '-c', 'trap "exit 7" TERM; echo armed; while :; do sleep 0.05; done'] });
  await eventually(async () => (await logText(c, 'trap-runsc')).includes('armed'), 'trap-runsc: its trap set', 60_000);
  for (const rt of runtimes) await eventually(async () => (await numbers(`count-${rt}`)).length >= 50, `${rt}: output`, 60_000);
  // The host tasks' job objects (cgroups): a later daemon must remove them at rm, though it did not make them.
  const hostCgroups = [...memoryCgroups((await c.getTask('count-host')).pid), ...memoryCgroups(doomed.pid)];
  t.equal(hostCgroups.length, 2, `each host task in a job of its own: ${hostCgroups.join(', ')}`);

  // The last line each log held before the kill: none up to it may be missing after it.
  const killedAfter = new Map<string, number>();
  for (const rt of runtimes) killedAfter.set(rt, (await numbers(`count-${rt}`)).at(-1)!);
  const first = daemonPid(root);
  process.kill(first, 'SIGKILL');
  await waitGone(first);
  // While no daemon runs: one task dies, the others go on writing into their FIFOs.
  process.kill(doomed.pid, 'SIGKILL');
  await eventually(() => isGone(doomed.pid), 'the doomed task to die');
  for (const rt of runtimes) {
    const fifo = path.join(root, 'tasks', `count-${rt}`, `count-${rt}-stdout`);
    const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    try {
      await eventually(() => sys.bytesReadable(fd) >= 200, `${rt}: output waiting in the pipe`, 30_000);
    } finally {
      fs.closeSync(fd);
    }
  }

  // The next request finds no daemon, starts one, which adopts everything.
  const tasks = await c.listTasks({ all: true });
  const second = daemonPid(root);
  t.not(second, first, 'a new daemon');
  const byId = new Map(tasks.map((x) => [x.id, x]));
  for (const rt of runtimes) {
    const v = byId.get(`count-${rt}`)!;
    t.equal(v.status, 'running', `${rt}: running`);
    t.equal(v.adopted, true, `${rt}: adopted`);
  }
  const d = byId.get('doomed')!;
  t.equal(d.status, 'exited', 'the task that died meanwhile is exited');
  t.match(d.exit, { exitCode: 137, signal: 'SIGKILL' }, '... with its own status, from the exit recorder above the killed daemon');
  await c.remove('doomed');

  // gVisor's sandbox tells any process that asks: the adopted runsc task's own code, not a made-up one.
  await waitHandled('trap-runsc', 1);
  await c.kill('trap-runsc', 'TERM');
  t.match(await c.wait('trap-runsc'), { exitCode: 7, signal: null }, 'runsc: an adopted task\'s exit code, from its sandbox');
  await c.remove('trap-runsc');
  t.equal(runscWaits(root).length, 1, 'one runsc wait, for the adopted runsc task still running');
  // A daemon that stops leaves its tasks running, and no wait of its own behind.
  process.kill(second, 'SIGTERM');
  await waitGone(second);
  t.same(runscWaits(root), [], 'a daemon that stopped left no runsc wait');

  const marks = new Map<string, number>();
  for (const rt of runtimes) marks.set(rt, (await numbers(`count-${rt}`)).length);
  for (const rt of runtimes) await eventually(async () => (await numbers(`count-${rt}`)).length >= marks.get(rt)! + 50, `${rt}: the log continues`, 60_000);
  for (const rt of runtimes) {
    const id = `count-${rt}`;
    if (rt === 'runsc') await waitHandled(id, 2); // the stopped daemon's wait, and the one started on demand above
    await c.kill(id, 'KILL', { all: true });
    const exit = await c.wait(id);
    // runsc: from its sandbox (runsc wait); runc, host: from the exit recorder they were re-parented to.
    t.match(exit, { exitCode: 137, signal: 'SIGKILL' }, `${rt}: an adopted task's own status`);
    const nums = await numbers(id);
    // At most the one read the killed daemon's log copy held: no more than a pipe holds (1 MiB at most here).
    const missing = checkKillGap(t, rt, nums, killedAfter.get(rt)!, (n) => String(n).length + 1, 1 << 20);
    t.comment(`${rt}: ${nums.length} lines logged, ${missing.length} missing across the daemon SIGKILL`);
    await c.remove(id);
    t.notOk(fs.existsSync(path.join(root, 'tasks', id)), `${rt}: removed`);
    if (rt === 'host') t.same(hostCgroups.filter((cg) => fs.existsSync(cg)), [], 'host: the job objects of the adopted and of the exited task are removed');
    if (rt !== 'host') {
      const list = spawnSync(rt, ['--root', path.join(root, 'runtime', rt), 'list', '--format', 'json'], { encoding: 'utf8' });
      t.same((JSON.parse(list.stdout || 'null') ?? []).map((x: { id: string }) => x.id), [], `${rt}: no runtime state left`);
    }
  }
  t.same(runscWaits(root), [], 'no runsc wait left');
});
