/**
 * A daemon's state root removed by hand (`rm -rf`, no `taskio rm`) while its host tasks' job
 * cgroups remain: the next daemon on that root removes the empty ones at start, refuses an id
 * whose job still holds a process — naming the pid — and takes the id once that process is gone.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { cgroupLayout, ParentName } from '../../src/runtime/jobobject/index.js';
import { jobPrefix } from '../../src/daemon/runtimes.js';
import { isGone } from '../fixtures/oci.js';
import { client, daemonPid, daemonRoot, eventually, killKeepersLater, removeByHand, taskDirs, waitGone } from './helpers.js';

/** The directories of job `name` in every hierarchy. */
function jobDirs(name: string): string[] {
  const layout = cgroupLayout();
  const mounts = new Set([...(layout.v2 !== undefined ? [layout.v2] : []), ...layout.v1.values()]);
  return [...mounts].map((m) => path.join(m, ParentName, name)).filter((d) => fs.existsSync(d));
}

const procsOf = (dir: string): string => fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8');

t.test('a root removed by hand: the next daemon removes the empty jobs left, refuses an id whose job holds a process, naming it', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  const first = await client(root);
  const args = ['sleep', '1000'];
  const gone = await first.createTask({ id: 'gone', runtime: 'host', args });
  const live = await first.createTask({ id: 'live', runtime: 'host', args });
  first.close();
  const goneJob = `${jobPrefix(root)}gone`, liveJob = `${jobPrefix(root)}live`;
  t.teardown(async () => {
    try { process.kill(live.pid, 'SIGKILL'); } catch { /* gone */ }
    await waitGone(live.pid);
    for (const d of [...jobDirs(goneJob), ...jobDirs(liveJob)]) if (procsOf(d) === '') fs.rmdirSync(d);
  });
  const liveDirs = jobDirs(liveJob);
  t.ok(jobDirs(goneJob).length > 0 && liveDirs.length > 0, 'each host task runs in a job of its own');

  // The daemon dies, one task is killed, and the root goes by hand: the jobs stay.
  const daemon = daemonPid(root);
  process.kill(daemon, 'SIGKILL');
  await waitGone(daemon);
  process.kill(gone.pid, 'SIGKILL');
  await waitGone(gone.pid);
  await eventually(() => jobDirs(goneJob).every((d) => procsOf(d) === ''), 'the killed task\'s job to be empty');
  // The tasks' output keepers outlive the daemon and the root: taken now, killed at the end.
  t.teardown(killKeepersLater(root));
  await removeByHand(root);
  fs.mkdirSync(root, { mode: 0o700 });
  const before = liveDirs.map((d) => fs.statSync(d).ino);
  // Empty jobs the sweep must leave: another root's, and one whose id a task directory names.
  const otherJob = `${jobPrefix(`${root}-other`)}gone`, namedJob = `${jobPrefix(root)}named`;
  fs.mkdirSync(path.join(root, 'tasks', 'named'), { recursive: true });
  for (const name of [otherJob, namedJob]) {
    const dirs = liveDirs.map((d) => path.join(path.dirname(d), name));
    for (const d of dirs) fs.mkdirSync(d);
    t.teardown(() => { for (const d of dirs) if (fs.existsSync(d)) fs.rmdirSync(d); });
  }

  const c = await client(root);
  t.teardown(() => c.close());
  t.same(await c.listTasks({ all: true }), [], 'the new daemon has no task');
  // The sweep runs before the daemon listens: by its first answer it is done.
  t.same(jobDirs(goneJob), [], 'the empty job is removed at start');
  t.same(liveDirs.map((d) => fs.statSync(d).ino), before, 'the job that holds a process is left as it was');
  t.equal(jobDirs(otherJob).length, liveDirs.length, 'another root\'s empty job is left');
  t.equal(jobDirs(namedJob).length, liveDirs.length, 'so is one a task directory names');
  const log = fs.readFileSync(path.join(root, 'daemon.log'), 'utf8');
  t.match(log, new RegExp(`"jobs":\\["${goneJob}"\\],"msg":"removed the empty jobs of this root that no task names"`), 'the daemon log names the job it removed');
  t.match(log, new RegExp(`"job":"${liveJob}".*left as it is`), 'and the one it left');

  const err = await c.createTask({ id: 'live', runtime: 'host', args }).then(() => null, (e: unknown) => e);
  t.match(err, { code: 'ERR_ALREADY_EXISTS', message: new RegExp(`task "live": job ${liveJob} .*holds processes ${live.pid}, `) }, 'a create of the id is refused, naming the pid');
  t.same(taskDirs(root), ['named'], 'and makes nothing');
  t.same(liveDirs.map((d) => fs.statSync(d).ino), before, 'the job is the same one');
  for (const d of liveDirs) t.equal(procsOf(d), `${live.pid}\n`, `with the process in ${d}`);
  t.notOk(isGone(live.pid), 'which runs on');

  // Once its process is stopped, the next create removes the empty job and runs the task.
  process.kill(live.pid, 'SIGKILL');
  await waitGone(live.pid);
  await eventually(() => liveDirs.every((d) => procsOf(d) === ''), 'the job to be empty');
  const again = await c.createTask({ id: 'live', runtime: 'host', args });
  t.equal(again.status, 'running', 'the id is taken');
  for (const [i, d] of liveDirs.entries()) {
    t.not(fs.statSync(d).ino, before[i], `${d} is a new group`);
    t.equal(procsOf(d), `${again.pid}\n`, 'with the new task\'s process');
  }
  t.match(fs.readFileSync(path.join(root, 'daemon.log'), 'utf8'), new RegExp(`"id":"live","job":"${liveJob}".*"msg":"removed an empty job left by an earlier supervisor`), 'a warning names the job removed');
  await c.remove('live', { force: true });
  t.same(jobDirs(liveJob), [], 'rm removes the task\'s job');
});
