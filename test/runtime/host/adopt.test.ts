/**
 * HostRuntime.adopt: a running host task that another runtime object spawned (a daemon that died)
 * is taken over by its init's pid, without a job here (a task whose init leads a session of its
 * own): an exec is spawned in a session of its own, and `kill --all` and `delete` reach the init's
 * session and the exec's, as for a task the runtime started itself.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { HostRuntime } from '../../../src/runtime/host/index.js';
import { procStat, startTimeOf } from '../../../src/runtime/reaper/children.js';
import { tmpDir } from '../../helpers/common.js';
import { eventually, waitGone } from '../../daemon/helpers.js';

const opts = { timeout: 60_000 };

function bundle(t: Test): string {
  const dir = tmpDir(t, 'taskio-host-adopt-');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ process: { args: ['sleep', '1000'], env: ['PATH=/usr/bin:/bin'], cwd: '/' } }));
  return dir;
}

/** An init as the host runtime spawns one without a job: leading a session of its own. Killed at the end. */
async function runningInit(t: Test): Promise<number> {
  const child = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
  await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  t.teardown(() => { child.kill('SIGKILL'); });
  return child.pid!;
}

t.test('an adopted task without a job: an exec leads a session of its own, kill --all and delete reach it with the init', opts, async (t) => {
  const runtime = new HostRuntime({ jobs: false });
  const dir = bundle(t);
  const init = await runningInit(t);
  runtime.adopt('box', dir, { pid: init, startTime: startTimeOf(init) ?? undefined }, null);
  t.teardown(() => runtime.delete('box', { force: true }).catch(() => undefined));
  t.equal((await runtime.state('box')).status, 'running', 'adopted running');

  const pidFile = path.join(dir, 'exec.pid');
  await runtime.exec('box', { args: ['sh', '-c', 'sleep 1001 & wait'], env: ['PATH=/usr/bin:/bin'], cwd: '/' }, { pidFile });
  const exec = Number(fs.readFileSync(pidFile, 'utf8'));
  t.equal(procStat(exec)?.session, exec, 'the exec leads a session of its own');
  let child = 0;
  await eventually(() => (child = Number(fs.readFileSync(`/proc/${exec}/task/${exec}/children`, 'utf8').trim() || 0)) > 0, 'the exec\'s child');

  await runtime.kill('box', 'TERM', { all: true });
  await Promise.all([waitGone(init), waitGone(exec), waitGone(child)]);
  t.pass('kill --all reached the init, the exec and its child');
  await runtime.delete('box', { force: true });
  await t.rejects(runtime.state('box'), { code: 'ERR_NOT_FOUND' }, 'deleted');
});

t.test('adopt refuses bad input with a typed error naming it, and takes nothing', opts, async (t) => {
  const runtime = new HostRuntime({ jobs: false });
  const dir = bundle(t);
  const init = await runningInit(t);
  const start = startTimeOf(init) ?? undefined;
  t.throws(() => runtime.adopt('box', dir, { pid: 0, startTime: start }, null), { code: 'ERR_INVALID_ARG_VALUE', message: /invalid pid: 0/ });
  t.throws(() => runtime.adopt('box', path.join(dir, 'none'), { pid: init, startTime: start }, null), { code: 'ERR_INVALID_BUNDLE' });
  t.throws(() => runtime.adopt('../x', dir, { pid: init, startTime: start }, null), { code: 'ERR_INVALID_ID' });
  await t.rejects(runtime.state('box'), { code: 'ERR_NOT_FOUND' }, 'nothing taken');
  runtime.adopt('box', dir, { pid: init, startTime: start }, null);
  t.teardown(() => runtime.delete('box', { force: true }).catch(() => undefined));
  t.throws(() => runtime.adopt('box', dir, { pid: init, startTime: start }, null), { code: 'ERR_ALREADY_EXISTS', message: /"box"/ });
  await runtime.delete('box', { force: true });
  await waitGone(init);
  t.pass('delete killed the adopted init');
});
