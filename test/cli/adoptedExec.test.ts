import t, { type Test } from 'tap';
import type { DaemonClient } from '../../src/daemon/index.js';
import fs from 'node:fs';
import path from 'node:path';
import { client, daemonPid, daemonRoot, eventually, execSttySize, fdsOf, waitGone } from '../daemon/helpers.js';
import { processesWith, ptyTaskio, shellCommand, taskio } from './runSession.js';

/** SIGKILLs the daemon on `root` and waits until it is gone: its tasks stay, for the next daemon to adopt. */
async function killDaemon(root: string): Promise<number> {
  const pid = daemonPid(root);
  process.kill(pid, 'SIGKILL');
  await waitGone(pid);
  return pid;
}

/**
 * Runs task `box` on `runtime`, SIGKILLs its daemon, and checks that the next daemon (started by
 * the CLI) adopts it and execs into it as into a task it started: output and real exit code, `-i`,
 * `-e`/`-w`/`-u`, a missing command, `-it` with a sized, resized pty, the API's exec leaving nothing.
 */
async function adoptedTaskTakesExecs(t: Test, runtime: 'runc' | 'runsc' | 'host'): Promise<{ root: string; c: DaemonClient; second: number; fds: number }> {
  const root = daemonRoot(t);
  t.equal((await taskio(root, ['run', '-d', '--name', 'box', '--runtime', runtime, '--', 'sleep', '1000'])).status, 0);
  const first = await killDaemon(root);

  // The CLI finds no daemon, starts one, which adopts the task and runs the exec in it.
  const hi = await taskio(root, ['exec', 'box', 'sh', '-c', 'echo hi; echo err >&2; exit 3']);
  t.same([hi.status, hi.stdout, hi.stderr], [3, 'hi\n', 'err\n'], 'the exec\'s output and its real exit code');
  const second = daemonPid(root);
  t.not(second, first, 'a new daemon');
  const c = await client(root);
  t.teardown(() => c.close());
  t.equal((await c.getTask('box')).adopted, true, 'the task is an adopted one');

  const cat = await taskio(root, ['exec', '-i', 'box', 'cat'], 'x\ny\n');
  t.same([cat.status, cat.stdout], [0, 'x\ny\n'], 'exec -i: stdin, and its end');
  const env = await taskio(root, ['exec', '-e', 'GREETING=hi', '-w', '/tmp', '-u', '1000', 'box', 'sh', '-c', 'echo $GREETING; pwd; id -u']);
  t.same([env.status, env.stdout], [0, 'hi\n/tmp\n1000\n'], '-e, -w and -u');
  const missing = await taskio(root, ['exec', 'box', '/taskio-no-such-command']);
  t.equal(missing.status, 127, 'a missing command, as for a task the daemon started');

  // A terminal of its own (over a console socket), sized, resized; the task's went with the first daemon.
  const s = ptyTaskio(t, root, ['exec', '-it', 'box', 'sh'], { cols: 77, rows: 22 });
  await s.started;
  let seen = '';
  await eventually(async () => (seen = await shellCommand(s, 'stty size', 500)) === '22 77', 'the exec\'s terminal size', 40_000);
  t.equal(seen, '22 77', 'exec -t: the terminal has the client\'s size');
  s.term.resize(100, 40);
  await eventually(async () => (seen = await shellCommand(s, 'stty size', 600)) === '40 100', 'the resized terminal', 40_000);
  t.equal(seen, '40 100', 'exec -t: resized with the client\'s');
  s.term.write('exit 6\r');
  t.equal((await s.done).status, 6, 'exec -t: the exit code');

  // A terminal exec starts sized, as in a task the daemon started: the size asked, else 80x24.
  for (const [consoleSize, size] of [[{ height: 33, width: 97 }, '33 97'], [undefined, '24 80']] as const) {
    t.equal(await execSttySize(c, 'box', consoleSize), `0 ${size}`, `a terminal exec's start size: ${size}`);
  }

  // Through the API: the record, the status, and nothing left once removed.
  const fds = fdsOf(second).length;
  const e = await c.exec('box', { args: ['sh', '-c', 'exit 5'] });
  t.equal((await e.wait()).exitCode, 5, 'the API\'s exec: the real exit code');
  const execs = path.join(root, 'tasks', 'box', 'execs');
  t.same(fs.existsSync(execs) ? fs.readdirSync(execs) : [], [], 'no pid file left');
  t.same(fs.readdirSync(path.join(root, 'fifo')), [], 'no FIFO set left');
  await eventually(() => fdsOf(second).length <= fds, `no fd of the daemon left (${fds} before)`);
  return { root, c, second, fds };
}

// The daemon that adopted a runsc or runc task after a restart refused every exec into it
// (ERR_NOT_SUPPORTED: "exec needs the daemon that started it"). An exec'd process is started by
// the daemon that asks for it, which is its subreaper whoever started the task: it has its status.
for (const runtime of ['runc', 'runsc'] as const) {
  t.test(`${runtime}: exec into a task adopted after a daemon SIGKILL, as into one the daemon started`, { timeout: 120_000 }, async (t) => {
    const { root, c } = await adoptedTaskTakesExecs(t, runtime);

    // A detached exec runs on, shows in top, and after another restart is the task's process only.
    // runsc's table names a process by its command only: one the task's own (sleep) is not.
    const marker = 'tail';
    const d = await taskio(root, ['exec', '-d', 'box', 'tail', '-f', '/dev/null']);
    t.equal(d.status, 0, 'exec -d');
    const top = (): Promise<string> => taskio(root, ['top', 'box']).then((r) => r.stdout);
    await eventually(async () => (await top()).includes(marker), 'top shows the exec\'d process');
    t.equal((await c.getTask('box')).execs.length, 1, 'the running exec is listed');
    await killDaemon(root);
    t.same((await c.getTask('box')).execs, [], 'after another restart the exec is no record of the daemon\'s (as dockerd forgets its execs)');
    t.match(await top(), marker, '... but it runs on in the task');
    const again = await taskio(root, ['exec', 'box', 'sh', '-c', 'exit 4']);
    t.equal(again.status, 4, 'and the task, adopted again, takes execs');

    // Paused or exited: refused as for a task the daemon started.
    t.equal((await taskio(root, ['pause', 'box'])).status, 0);
    const paused = await taskio(root, ['exec', 'box', 'true']);
    t.same([paused.status, paused.stderr], [125, 'taskio exec: cannot exec in a paused task\n'], 'paused: refused');
    t.equal((await taskio(root, ['unpause', 'box'])).status, 0);
    await c.kill('box', 'KILL', { all: true });
    await c.wait('box');
    const exited = await taskio(root, ['exec', 'box', 'true']);
    t.same([exited.status, exited.stderr], [125, 'taskio exec: task box is not running\n'], 'exited: refused');
    t.equal((await taskio(root, ['rm', 'box'])).status, 0);
    t.notOk(fs.existsSync(path.join(root, 'tasks', 'box')), 'removed');
  });
}

/** The taskio job (memory cgroup) directory of process `pid`, or null when it is in none. */
function jobCgroup(pid: number): string | null {
  const line = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[1] === 'memory');
  return line?.[2]?.startsWith('/taskio/') ? `/sys/fs/cgroup/memory${line[2]}` : null;
}

// A host task's processes were spawned by the host runtime of the daemon that started it, which
// went with that daemon: exec was refused ("needs the daemon that started it"). The daemon that
// adopted it now takes the task over (its init's pid, its job) and spawns the exec in its job.
t.test('host: exec into a task adopted after a daemon SIGKILL runs in its job, with its real exit code', { timeout: 120_000 }, async (t) => {
  const { root, c, second, fds } = await adoptedTaskTakesExecs(t, 'host');
  const record = JSON.parse(fs.readFileSync(path.join(root, 'tasks', 'box', 'task.json'), 'utf8')) as { job: string | null; pid: number };
  const job = jobCgroup(record.pid);
  t.ok(record.job !== null && job !== null && job.endsWith(`/${record.job}`), `the task runs in its job (${job})`);
  const inJob = await taskio(root, ['exec', 'box', 'sh', '-c', 'cat /proc/self/cgroup']);
  t.match(inJob.stdout, `memory:/taskio/${record.job}\n`, 'the exec runs in the task\'s job');

  // A detached exec runs in the job, shows in top, and goes with the task's rm -f.
  const seconds = `${100_000 + process.pid}.25`, marker = `sleep ${seconds}`;
  t.equal((await taskio(root, ['exec', '-d', 'box', 'sh', '-c', `exec ${marker}`])).status, 0, 'exec -d');
  // /proc's command lines hold NULs, not spaces: found by the number.
  await eventually(() => processesWith(`sleep\0${seconds}`).length === 1, 'the detached exec runs');
  const [detached] = processesWith(`sleep\0${seconds}`);
  t.equal(jobCgroup(detached!), job, 'the detached exec is in the task\'s job');
  let top = '';
  await eventually(async () => (top = (await taskio(root, ['top', 'box'])).stdout).includes(marker), 'top shows the exec\'d process');
  t.match(top, marker, 'top shows the exec\'d process (the job\'s pids)');
  t.equal((await taskio(root, ['rm', '-f', 'box'])).status, 0, 'rm -f');
  await waitGone(detached!);
  await waitGone(record.pid);
  t.notOk(fs.existsSync(job!), 'the job (cgroup) is removed');
  t.notOk(fs.existsSync(path.join(root, 'tasks', 'box')), 'removed');
  t.same(fs.readdirSync(path.join(root, 'fifo')), [], 'no FIFO set left');
  await eventually(() => fdsOf(second).length <= fds, `no fd of the daemon left (${fds} before)`);
});
