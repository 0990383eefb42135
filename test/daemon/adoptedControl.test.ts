import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { AdoptedControl } from '../../src/daemon/control.js';
import type { TaskRecord } from '../../src/daemon/records.js';
import { JobObject, cgroupLayout } from '../../src/runtime/jobobject/index.js';
import { tmpDir } from '../helpers/common.js';

const freezerRoot = cgroupLayout().v1.get('freezer');

/** What a daemon wrote for a host task whose create it did not finish: the job is named, the pid never was. */
function cutCreate(id: string, job: string, dir: string): TaskRecord {
  return {
    version: 1, id, runtime: 'host', runtimeCommand: null, runtimeRoot: null, bundle: path.join(dir, 'bundle'),
    args: ['sleep', '120'], env: [], cwd: '/', image: 'default', terminal: false,
    stdio: { terminal: false, stdin: '', stdout: '', stderr: '' }, log: 'none', logPath: null, logFormat: null,
    limits: null, job, pid: 0, pidStartTime: null, created: new Date().toISOString(), started: null, status: 'creating',
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
