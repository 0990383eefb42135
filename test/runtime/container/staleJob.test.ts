/**
 * A job (cgroup) of a task id left behind by a supervisor that is gone — its state root removed by
 * hand while its cgroups remained — on this machine's real cgroups: an empty one no longer blocks
 * the id, one that still holds a process is refused, naming it, and left as it was.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { hostBackend } from '../../../src/runtime/container/index.js';
import { JobObject, cgroupLayout } from '../../../src/runtime/jobobject/index.js';
import type { LogSink } from '../../../src/log.js';
import { tmpDir } from '../../helpers/common.js';
import { checkNoJobsLeft, jobWithSleep } from '../jobobject/leftovers.js';

t.setTimeout(60_000);

const jobPrefix = `stale-${crypto.randomBytes(3).toString('hex')}-`;
let n = 0;

/** What a test's runtime logged at `warn`. */
type Warning = { fields: Record<string, unknown>; msg: string };

function runtimeWithLog(): { runtime: ReturnType<typeof hostBackend>['runtime']; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const discard = (): void => {};
  const logger = { debug: discard, info: discard, error: discard, warn: (fields: Record<string, unknown>, msg: string) => { warnings.push({ fields, msg }); } };
  return { runtime: hostBackend({ jobPrefix, logger: logger as unknown as LogSink }).runtime, warnings };
}

function hostBundle(t: Test): string {
  const dir = tmpDir(t);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { args: ['sleep', '1000'], env: ['PATH=/bin:/usr/bin'], cwd: '/' } }));
  return dir;
}

const inode = (dir: string): number | undefined => fs.statSync(dir, { throwIfNoEntry: false })?.ino;

/** Leaves job `name` behind as a supervisor that died does: a `sleep` in it, its handle closed (a job with a process stays). */
async function leftBehindWithSleep(t: Test, name: string): Promise<{ dirs: readonly string[]; sleeper: ChildProcess; exited: Promise<unknown> }> {
  const { job, dirs, sleeper, exited } = await jobWithSleep(t, name);
  await job.close();
  t.ok(dirs.every((d) => fs.existsSync(d)), 'the job is left behind');
  return { dirs, sleeper, exited };
}

t.test('an empty job left behind for the id is removed at create (a warning names it), and the task gets a new one', async (t) => {
  const { runtime, warnings } = runtimeWithLog();
  const id = `empty-${n++}`;
  const name = runtime.jobName(id);
  const { dirs, sleeper, exited } = await leftBehindWithSleep(t, name);
  sleeper.kill('SIGKILL');
  await exited; // the job holds nothing now, as after its supervisor's tasks were killed
  const before = dirs.map(inode);

  await runtime.create(id, hostBundle(t), {});
  t.teardown(() => runtime.delete(id, { force: true }).catch(() => undefined));
  t.same(await runtime.pids(id), [], 'the task\'s job holds nothing of the old one');
  const after = dirs.map(inode);
  for (const [i, d] of dirs.entries()) t.not(after[i], before[i], `${d} is a new group, not the old one (inode ${before[i]} → ${after[i]})`);
  t.equal(warnings.length, 1, 'one warning');
  t.match(warnings[0], { fields: { id, job: name }, msg: /removed an empty job/ }, 'naming the job');
  t.same([...(warnings[0]?.fields.dirs as string[])].sort(), [...dirs].sort(), 'and its directories');
  await runtime.delete(id);
  t.ok(dirs.every((d) => !fs.existsSync(d)), 'the task\'s delete removes its job');
});

t.test('a job left behind that holds a process is refused, naming the job and the pid, and left as it was', async (t) => {
  const { runtime, warnings } = runtimeWithLog();
  const id = `live-${n++}`;
  const name = runtime.jobName(id);
  const { dirs, sleeper } = await leftBehindWithSleep(t, name);
  const before = dirs.map(inode);

  await t.rejects(runtime.create(id, hostBundle(t), {}), {
    code: 'ERR_ALREADY_EXISTS',
    message: new RegExp(`^task "${id}": job ${name} \\(cgroup /taskio/${name}\\) already exists and holds processes ${sleeper.pid}, `),
  });
  t.same(dirs.map(inode), before, 'the job\'s directories are the same ones');
  for (const d of dirs) t.equal(fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8'), `${sleeper.pid}\n`, `the sleep is still in ${d}`);
  t.equal(sleeper.exitCode ?? sleeper.signalCode, null, 'and runs');
  await t.rejects(runtime.state(id), { code: 'ERR_NOT_FOUND' }, 'the runtime has no task of the id');
  t.same(warnings, [], 'nothing was removed');
});

t.test('a job of the id that a job object of this process has open is refused, even empty', async (t) => {
  const { runtime } = runtimeWithLog();
  const id = `open-${n++}`;
  const name = runtime.jobName(id);
  const job = await JobObject.create({ name });
  t.teardown(() => job.close());
  await t.rejects(runtime.create(id, hostBundle(t), {}), { code: 'ERR_ALREADY_EXISTS', message: `task "${id}": job ${name} already exists: a job object of this process has it open` });
  t.ok(job.cgroupPaths.every((d) => fs.existsSync(d)), 'the job stays');
});

t.test('no job of this file is left in any hierarchy', async (t) => {
  checkNoJobsLeft(t, cgroupLayout(), jobPrefix);
});
