/**
 * The exit recorder above the daemon (`taskio daemon` is it; the daemon its child): a runc or host
 * task that runs across a daemon SIGKILL, or ends while no daemon runs, is re-parented to it, and
 * its exit status reaches the next daemon through its record — `wait` and `inspect` show the task's
 * own code. With the recorder killed too the exit is unknown, and the daemon does not wait for a
 * record nobody will write. The tasks wait on FIFOs the test writes.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { mkfifo } from '../../src/sys/index.js';
import { exitOf, tmpDir } from '../helpers/common.js';
import { isGone } from '../fixtures/oci.js';
import { daemonPid, daemonProcesses, daemonRoot, eventually, foregroundDaemon, recorderOf, waitGone } from '../daemon/helpers.js';
import { taskio } from './taskioCommand.js';

const opts = { timeout: 120_000 };

/** `taskio ARGS…` on `root`, which must succeed; its stdout. */
async function ok(t: Test, root: string, ...args: string[]): Promise<string> {
  const r = await taskio(t, root, ...args);
  if (r.code !== 0) throw new Error(`taskio ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The exit records under `root` (none once every task that had one is gone). */
function exitRecords(root: string): string[] {
  try {
    return fs.readdirSync(path.join(root, 'exits'));
  } catch {
    return [];
  }
}

/**
 * Starts a runc and a host task on `root` that exit 7 once their FIFO (in `dir`) is written, each
 * waiting in `read`; returns a function that lets task `id` go and the tasks' pids.
 */
async function gatedTasks(t: Test, root: string, dir: string, ids: { runc: string; host: string }): Promise<{ release: (id: string) => void; pid: (id: string) => Promise<number> }> {
  for (const id of [ids.runc, ids.host]) mkfifo(path.join(dir, id));
  await ok(t, root, 'run', '-d', '--name', ids.runc, '--runtime', 'runc', '-v', `${dir}:/gate`, 'sh', '-c', `read x < /gate/${ids.runc}; exit 7`);
  await ok(t, root, 'run', '-d', '--name', ids.host, '--runtime', 'host', 'sh', '-c', `read x < ${path.join(dir, ids.host)}; exit 7`);
  return {
    // Opened once the task reads it (it waits in its open for the writer): the write lets it go.
    release: (id) => fs.writeFileSync(path.join(dir, id), 'go\n'),
    pid: async (id) => Number(await ok(t, root, 'inspect', '-f', '{{.State.Pid}}', id)),
  };
}

/** The daemon of `root` and the exit recorder above it; throws without either (kill(0) would be this test's own process group). */
function daemonAndRecorder(root: string): { daemon: number; recorder: number } {
  const daemon = daemonPid(root);
  const recorder = daemon > 0 ? recorderOf(daemon) : 0;
  if (recorder <= 0) throw new Error(`no daemon under an exit recorder runs in ${root} (daemon ${daemon})`);
  return { daemon, recorder };
}

/** SIGKILLs the daemon of `root`, waits until it is gone, and returns its exit recorder (still running). */
async function killDaemon(t: Test, root: string): Promise<number> {
  const { daemon, recorder } = daemonAndRecorder(root);
  process.kill(daemon, 'SIGKILL');
  await waitGone(daemon);
  t.notOk(isGone(recorder), 'the recorder outlives the daemon while its tasks run');
  return recorder;
}

t.test('runc and host tasks running across a daemon SIGKILL: the next daemon has their own exit codes, 7, and 137 for one SIGKILLed; nothing left after rm', opts, async (t) => {
  const root = daemonRoot(t);
  const gates = await gatedTasks(t, root, tmpDir(t), { runc: 'r7', host: 'h7' });
  await ok(t, root, 'run', '-d', '--name', 'rk', '--runtime', 'runc', 'sleep', '1000');
  await ok(t, root, 'run', '-d', '--name', 'hk', '--runtime', 'host', 'sleep', '1000');
  const recorder = await killDaemon(t, root);

  // The next command starts a daemon, which adopts the tasks; they end under it.
  t.equal(await ok(t, root, 'inspect', '-f', '{{.State.Status}}', 'r7', 'h7', 'rk', 'hk'), 'running\n'.repeat(4), 'adopted, running');
  gates.release('r7');
  gates.release('h7');
  t.equal(await ok(t, root, 'wait', 'r7', 'h7'), '7\n7\n', 'wait: their own exit code');
  await ok(t, root, 'kill', 'rk', 'hk');
  t.equal(await ok(t, root, 'wait', 'rk', 'hk'), '137\n137\n', 'SIGKILLed: 137');
  t.equal(await ok(t, root, 'inspect', '-f', '{{.Name}} {{.State.ExitCode}} {{.State.Error}}', 'r7', 'h7', 'rk', 'hk'), '/r7 7 \n/h7 7 \n/rk 137 \n/hk 137 \n', 'inspect: the codes, no error');

  await ok(t, root, 'rm', 'r7', 'h7', 'rk', 'hk');
  t.same(exitRecords(root), [], 'no exit record left');
  await waitGone(recorder);
  t.pass('the recorder of the killed daemon is gone once its tasks and their keepers are');
});

t.test('runc and host tasks that end while no daemon runs: the next daemon has their own exit code, 7', opts, async (t) => {
  const root = daemonRoot(t);
  const gates = await gatedTasks(t, root, tmpDir(t), { runc: 'r7', host: 'h7' });
  const pids = [await gates.pid('r7'), await gates.pid('h7')];
  const recorder = await killDaemon(t, root);
  gates.release('r7');
  gates.release('h7');
  for (const pid of pids) await waitGone(pid);

  t.equal(await ok(t, root, 'inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}', 'r7', 'h7'), 'exited 7 \nexited 7 \n', 'inspect: exited, its code');
  t.equal(await ok(t, root, 'wait', 'r7', 'h7'), '7\n7\n', 'wait: the same');
  await ok(t, root, 'rm', 'r7', 'h7');
  t.same(exitRecords(root), [], 'no exit record left');
  await waitGone(recorder);
});

t.test('the exit recorder killed too: the exit is unknown (255), and the daemon does not wait for a record', opts, async (t) => {
  const root = daemonRoot(t);
  const gates = await gatedTasks(t, root, tmpDir(t), { runc: 'r7', host: 'h7' });
  const gone = await gates.pid('h7');
  const { daemon, recorder } = daemonAndRecorder(root);
  process.kill(recorder, 'SIGKILL');
  await waitGone(recorder);
  process.kill(daemon, 'SIGKILL');
  await waitGone(daemon);
  // One ends while no daemon runs, the other once the next daemon adopted it.
  gates.release('h7');
  await waitGone(gone);
  t.equal(await ok(t, root, 'inspect', '-f', '{{.State.Status}}', 'r7', 'h7'), 'running\nexited\n', 'adopted: one runs, one exited');
  gates.release('r7');
  t.equal(await ok(t, root, 'wait', 'r7', 'h7'), '255\n255\n', 'wait: unknown');
  t.match(await ok(t, root, 'inspect', '-f', '{{.State.ExitCode}} {{.State.Error}}', 'r7', 'h7'), /^255 .*after a daemon restart.*\n255 .*exited while no daemon was running.*\n$/, 'inspect: unknown, and why');
  const log = fs.readFileSync(path.join(root, 'daemon.log'), 'utf8').split('\n');
  for (const id of ['r7', 'h7']) {
    const lines = log.filter((l) => l.includes(`"id":"${id}"`));
    t.ok(lines.some((l) => l.includes('no exit recorder lives that would have the exit status')), `${id}: the daemon saw no recorder that could have its status`);
    t.notOk(lines.some((l) => l.includes('"waitedMs"')), `${id}: and waited for none`);
  }
  await ok(t, root, 'rm', 'r7', 'h7');
});

t.test('a stopped exit recorder holds the next daemon\'s start for one wait, not one per exited task: it answers, the exits unknown (255)', opts, async (t) => {
  const root = daemonRoot(t);
  const dir = tmpDir(t);
  // Four: a wait of 10 s each would keep the daemon from answering within the client's 30 s.
  const ids = ['h1', 'h2', 'h3', 'h4'];
  for (const id of ids) {
    mkfifo(path.join(dir, id));
    await ok(t, root, 'run', '-d', '--name', id, '--runtime', 'host', 'sh', '-c', `read x < ${path.join(dir, id)}; exit 7`);
  }
  const pids = (await ok(t, root, 'inspect', '-f', '{{.State.Pid}}', ...ids)).trim().split('\n').map(Number);
  const { daemon, recorder } = daemonAndRecorder(root);
  process.kill(recorder, 'SIGSTOP');
  t.teardown(() => { try { process.kill(recorder, 'SIGCONT'); } catch { /* gone */ } });
  process.kill(daemon, 'SIGKILL');
  await waitGone(daemon);
  for (const id of ids) fs.writeFileSync(path.join(dir, id), 'go\n');
  for (const pid of pids) await waitGone(pid);

  t.equal(await ok(t, root, 'inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', ...ids), 'exited 255\n'.repeat(4), 'the next daemon answers: exited, unknown');
  const log = fs.readFileSync(path.join(root, 'daemon.log'), 'utf8');
  t.equal(log.split('\n').filter((l) => l.includes('"waitedMs"') && l.includes('recorded no exit status')).length, 1, 'one wait for the stopped recorder');
  t.equal(log.split('\n').filter((l) => l.includes('not waited for again')).length, 3, 'the other tasks: no wait, and the log says why');
  process.kill(recorder, 'SIGCONT');
  await ok(t, root, 'rm', ...ids);
  await waitGone(recorder);
});

t.test('the recorder passes SIGTERM on, outlives the daemon while a task runs, and exits with the daemon\'s code once none is left', opts, async (t) => {
  const root = daemonRoot(t);
  const { child, stderr } = await foregroundDaemon(root);
  const exited = exitOf(child);
  const daemon = daemonPid(root);
  t.equal(recorderOf(daemon), child.pid, 'the process started is the recorder; the daemon, holding the lock, its child');
  const dir = tmpDir(t);
  mkfifo(path.join(dir, 'h'));
  await ok(t, root, 'run', '-d', '--name', 'h', '--runtime', 'host', 'sh', '-c', `read x < ${path.join(dir, 'h')}; exit 7`);
  child.kill('SIGTERM');
  await waitGone(daemon);
  t.equal(child.exitCode, null, 'the daemon stopped; its recorder waits for the task');
  await eventually(() => /"processes":[1-9]\d*,"msg":"exit recorder: the daemon ended; this process stays/.test(stderr()), 'the recorder to say why it stays');
  t.pass('and says why it stays (a foreground one would seem to hang)');
  fs.writeFileSync(path.join(dir, 'h'), 'go\n');
  t.equal(await ok(t, root, 'wait', 'h'), '7\n', 'the next daemon has the task\'s code');
  await ok(t, root, 'rm', 'h');
  t.equal(await exited, 0, 'the recorder exits with the stopped daemon\'s 0 once its last child is gone');
  t.same(exitRecords(root), [], 'no exit record left');

  // The daemon the last commands started, stopped through its recorder: nothing of the root runs.
  const next = daemonAndRecorder(root).recorder;
  process.kill(next, 'SIGTERM');
  await waitGone(next);
  t.same(daemonProcesses(root), [], 'no daemon or recorder of the root left');

  // A daemon that dies by a signal: its recorder exits with 128 + n.
  const again = await foregroundDaemon(root);
  const killed = exitOf(again.child);
  process.kill(daemonAndRecorder(root).daemon, 'SIGKILL');
  t.equal(await killed, 137, 'SIGKILLed daemon, no task: the recorder exits 137');
});

t.test('a SIGTERM, SIGINT or SIGHUP sent to the recorder and the daemon at once (pkill, systemd, a hang-up) stops the daemon cleanly: exit 0', opts, async (t) => {
  const root = daemonRoot(t);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const { child, stderr } = await foregroundDaemon(root);
    const exited = exitOf(child);
    const { daemon, recorder } = daemonAndRecorder(root);
    process.kill(recorder, signal);
    process.kill(daemon, signal);
    t.equal(await exited, 0, `${signal}: the recorder exits with the daemon's 0`);
    t.match(stderr(), /taskio daemon stopping/, `${signal}: the daemon stopped as it does at one signal`);
  }
  // A hang-up of a foreground daemon's terminal reaches the recorder only; it passes it on.
  const { child, stderr } = await foregroundDaemon(root);
  const exited = exitOf(child);
  child.kill('SIGHUP');
  t.equal(await exited, 0, 'SIGHUP to the recorder alone: the daemon stopped cleanly, exit 0');
  t.match(stderr(), /taskio daemon stopping/, 'SIGHUP: the daemon said it stops');
  t.notOk(fs.existsSync(path.join(root, 'taskio.sock')), 'SIGHUP: its socket is gone');
});

t.test('at its start a daemon removes the exit records no task claims, and leaves anything else there', opts, async (t) => {
  const root = daemonRoot(t);
  const dir = path.join(root, 'exits');
  fs.mkdirSync(dir, { mode: 0o700 });
  const record = { pid: 4242, startTime: '17', status: 3, exitedAt: new Date().toISOString() };
  fs.writeFileSync(path.join(dir, '4242-17.json'), JSON.stringify(record));
  fs.writeFileSync(path.join(dir, 'notes'), 'mine\n');
  fs.symlinkSync('/etc/hostname', path.join(dir, '4243-18.json'));
  await ok(t, root, 'ps');
  t.same(fs.readdirSync(dir).sort(), ['4243-18.json', 'notes'], 'the record is gone; a file of another name and a symlink are left');
  t.match(fs.readFileSync(path.join(root, 'daemon.log'), 'utf8'), /"removed":\["4242-17\.json"\],"msg":"removed the exit records no task claims"/, 'the log names it');
});

t.test('a start that removes thousands of exit records names only a few of them in its log line', opts, async (t) => {
  const root = daemonRoot(t);
  const dir = path.join(root, 'exits');
  fs.mkdirSync(dir, { mode: 0o700 });
  for (let pid = 5000; pid < 7000; pid++) {
    fs.writeFileSync(path.join(dir, `${pid}-1.json`), JSON.stringify({ pid, startTime: '1', status: 0, exitedAt: new Date().toISOString() }));
  }
  await ok(t, root, 'ps');
  t.same(fs.readdirSync(dir), [], 'all removed');
  const line = fs.readFileSync(path.join(root, 'daemon.log'), 'utf8').split('\n').find((l) => l.includes('removed the exit records no task claims'));
  const logged = JSON.parse(line!) as { count: number; removed: string[] };
  t.equal(logged.count, 2000, 'the count is all of them');
  t.equal(logged.removed.length, 20, 'the names are a few');
  t.ok(line!.length < 2000, `one short line (${line!.length} characters)`);
});

t.test('records in an exits directory that is a symlink or group-writable are neither read nor removed, and the log says why', opts, async (t) => {
  const record = { pid: 4242, startTime: '17', status: 3, exitedAt: new Date().toISOString() };
  const elsewhere = tmpDir(t);
  fs.writeFileSync(path.join(elsewhere, '4242-17.json'), JSON.stringify(record));
  for (const [how, make, why] of [
    ['a symlink', (dir: string) => fs.symlinkSync(elsewhere, dir), /it is a symlink/],
    ['group-writable', (dir: string) => { fs.mkdirSync(dir); fs.chmodSync(dir, 0o770); fs.writeFileSync(path.join(dir, '4242-17.json'), JSON.stringify(record)); }, /writable by its group/],
  ] as const) {
    const root = daemonRoot(t);
    const dir = path.join(root, 'exits');
    make(dir);
    await ok(t, root, 'ps');
    t.same(fs.readdirSync(dir), ['4242-17.json'], `${how}: the record is left`);
    t.match(fs.readFileSync(path.join(root, 'daemon.log'), 'utf8'), why, `${how}: the log says why`);
  }
});
