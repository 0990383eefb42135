import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { AdoptedControl } from '../../src/daemon/control.js';
import type { TaskRecord } from '../../src/daemon/records.js';
import { JobObject, cgroupLayout } from '../../src/runtime/jobobject/index.js';
import { tmpDir, until } from '../helpers/common.js';
import { checkNoJobsLeft } from '../runtime/jobobject/leftovers.js';

const freezerRoot = cgroupLayout().v1.get('freezer');

/** What a daemon wrote for a host task whose create it did not finish: the job is named, the pid never was. */
function cutCreate(id: string, job: string, dir: string): TaskRecord {
  return started(id, job, dir, 0, 'creating');
}

/** What a daemon wrote for a host task in job `job` whose process (a group leader) is `pid`. */
function started(id: string, job: string, dir: string, pid: number, status: TaskRecord['status'] = 'started'): TaskRecord {
  return {
    version: 1, id, runtime: 'host', runtimeCommand: null, runtimeRoot: null, bundle: path.join(dir, 'bundle'),
    args: ['sleep', '120'], env: [], cwd: '/', image: 'default', terminal: false,
    stdio: { terminal: false, stdin: '', stdout: '', stderr: '' }, log: 'none', logPath: null, logFormat: null,
    limits: null, job, pid, pidStartTime: null, created: new Date().toISOString(), started: null, status,
  };
}

// The job of an adopted host task is killed and removed by its delete. Before, the delete looked
// for the killed job to be empty 250 times, 20 ms apart, then closed it whatever it found: a job
// whose process outlived the kill was left behind, unseen, and the delete reported success.
t.test('an adopted task\'s delete fails while its killed job keeps a process, and removes it once that is gone', {
  timeout: 60_000, skip: freezerRoot === undefined ? 'no v1 freezer hierarchy: nothing outside the job can hold a killed process' : false,
}, async (t) => {
  const dir = tmpDir(t);
  const name = `tac-${process.pid}`;
  // The earlier daemon's job, with the task's process in it; that daemon is gone (its handle closed).
  const maker = await JobObject.create({ name });
  const frozen = path.join(freezerRoot!, `taskio-test-${process.pid}-frozen`);
  // In this order: what is frozen cannot die, and the job empties only once its process died.
  t.teardown(async () => {
    if (fs.existsSync(frozen)) {
      fs.writeFileSync(path.join(frozen, 'freezer.state'), 'THAWED');
      for (const pid of fs.readFileSync(path.join(frozen, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) fs.writeFileSync(path.join(freezerRoot!, 'cgroup.procs'), pid);
      fs.rmdirSync(frozen);
    }
    if (fs.existsSync(maker.cgroupPaths[0]!)) {
      const job = await JobObject.open(name);
      await job.terminate();
      await job.waitEmpty();
      await job.close();
    }
  });
  const child = maker.spawn('/bin/sh', ['-c', 'echo in; exec sleep 120'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await once(child.stdout!, 'data');
  await maker.close();
  const dirs = maker.cgroupPaths;

  // Frozen by a v1 freezer cgroup that is not the job's (another tool's pause): a SIGKILL waits for the thaw.
  fs.mkdirSync(frozen);
  fs.writeFileSync(path.join(frozen, 'cgroup.procs'), String(child.pid));
  fs.writeFileSync(path.join(frozen, 'freezer.state'), 'FROZEN');

  const control = new AdoptedControl(cutCreate('cut', name, dir), path.join(dir, 'runtime.log'), null);
  await t.rejects(control.delete(), { code: 'ETIMEDOUT', message: new RegExp(`job ${name} still has processes`) }, 'the delete says the job is not empty');
  for (const d of dirs) t.ok(fs.existsSync(d), `kept ${d}, and said so`);

  const exited = once(child, 'exit');
  fs.writeFileSync(path.join(frozen, 'freezer.state'), 'THAWED');
  t.same(await exited, [null, 'SIGKILL'], 'the thaw lets the kill through');
  await control.delete();
  for (const d of dirs) t.notOk(fs.existsSync(d), `a second delete removed ${d}`);
});

// The daemon that started a host task signals every process of its job at `kill --all`; the one
// that adopted it signalled the task's process group alone, so a process that left the group
// (`setsid`) but not the job got nothing (SIGKILL aside, which went to the job).
t.test('an adopted task\'s kill --all reaches the processes of its job that left its process group', { timeout: 30_000 }, async (t) => {
  const dir = tmpDir(t);
  const name = `tac-${process.pid}-kill`;
  const job = await JobObject.create({ name, terminateOnLastHandleClose: true });
  let control: AdoptedControl | undefined;
  // Each handle of this process counts: the job goes with the last one closed, once empty.
  t.teardown(async () => {
    const left = await JobObject.open(name).catch(() => null);
    await left?.terminate();
    await left?.waitEmpty();
    await control?.delete();
    await job.close();
    await left?.close();
  });
  const leader = job.spawn('/bin/sh', ['-c', 'setsid sleep 120 & echo $!; exec sleep 120'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  const [line] = (await once(leader.stdout!, 'data')) as [Buffer];
  const away = Number(line.toString().trim());
  const group = (pid: number): string => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]!;
  await until(() => group(away) !== String(leader.pid), 10_000, 'the background sleep to leave the group (setsid)');
  await until(async () => (await job.pids()).length === 2, 10_000, 'both processes in the job');

  control = new AdoptedControl(started('k', name, dir, leader.pid!), path.join(dir, 'runtime.log'), null);
  const exited = once(leader, 'exit');
  await control.kill(15, true);
  t.same(await exited, [null, 'SIGTERM'], 'the leader got it');
  await job.waitEmpty(5_000); // the setsid sleep is not this process's child: its end is seen in the job
  t.same(await job.pids(), [], 'and so did the process that left the group');
  await t.rejects(control.kill(15, true), { code: 'ERR_NOT_FOUND', message: /task k: process not found/ }, 'nothing left to signal');
});

t.test('nothing of ours is left under the cgroup roots', async (t) => {
  checkNoJobsLeft(t, cgroupLayout(), `tac-${process.pid}`);
});
