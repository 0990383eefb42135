/**
 * `taskio create` (docker's create) against a real daemon: the task is made but not run — `created`
 * in `ps -a`, refused where only a running task makes sense, its limits still changeable — until
 * `taskio start` runs it; a `wait` sent before waits for that first run; removing it, or a daemon
 * killed meanwhile, leaves things as docker users expect.
 */
import t from 'tap';
import type { DaemonClient } from '../../src/daemon/index.js';
import { Collector } from '../helpers/common.js';
import { client, daemonPid, daemonRoot, eventually, taskDirs, waitGone } from '../daemon/helpers.js';
import { ptyTaskio } from './runSession.js';
import { spawnTaskio, taskio } from './taskioCommand.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

const MiB = 1024 * 1024;

t.test('create prints the id and runs nothing; ps -a shows it Created; start runs it and a wait sent before gets its exit', { timeout: 60_000 }, async (t) => {
  const made = await taskio(t, root, 'create', '--name', 'cr-host', '--runtime', 'host', '-l', 'app=x', 'sh', '-c', 'echo hi; exit 3');
  t.teardown(() => c.remove('cr-host', { force: true }).catch(() => undefined));
  t.same([made.code, made.stdout, made.stderr], [0, 'cr-host\n', '']);
  t.match(await c.getTask('cr-host'), { status: 'created', pid: 0, started: null, labels: { app: 'x' } });
  t.notMatch((await taskio(t, root, 'ps')).stdout, /cr-host/, 'not in ps: it does not run');
  t.match((await taskio(t, root, 'ps', '-a')).stdout, /\ncr-host +host +"sh -c echo hi; exit…" +.* ago +Created +\n/);
  t.equal((await taskio(t, root, 'ps', '-q', '-f', 'status=created')).stdout, 'cr-host\n', 'docker\'s status filter');

  const waited = c.wait('cr-host');
  const started = await taskio(t, root, 'start', 'cr-host');
  t.same([started.code, started.stdout, started.stderr], [0, 'cr-host\n', '']);
  t.match(await waited, { exitCode: 3 }, 'the wait sent before the start answers with the first run\'s exit');
  t.equal((await taskio(t, root, 'logs', 'cr-host')).stdout, 'hi\n');
  t.match(await c.getTask('cr-host'), { status: 'exited', exit: { exitCode: 3 } });
  t.match((await taskio(t, root, 'ps', '-a')).stdout, /\ncr-host +.* Exited \(3\) /);
});

t.test('a created task refuses kill, pause, exec and attach, naming it; stop leaves it created; update changes what its first run gets', { timeout: 90_000 }, async (t) => {
  await taskio(t, root, 'create', '--name', 'cr-runc', '--runtime', 'runc', '-m', '64m', 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes');
  t.teardown(() => c.remove('cr-runc', { force: true }).catch(() => undefined));
  for (const [verb, what] of [['kill', 'kill'], ['pause', 'pause'], ['exec', 'exec in'], ['attach', 'attach to']] as const) {
    const r = await taskio(t, root, verb, 'cr-runc', ...(verb === 'exec' ? ['true'] : []));
    t.equal(r.code, 125, verb);
    t.match(r.stderr, new RegExp(`^taskio ${verb}: .*cannot ${what} .*(a created task|cr-runc): it was never started \\(start it first\\)\\n$`), verb);
  }
  const stopped = await taskio(t, root, 'stop', 'cr-runc');
  t.same([stopped.code, stopped.stdout], [0, 'cr-runc\n'], 'stop: nothing to stop (docker says the same)');
  const updated = await taskio(t, root, 'update', '--memory', '40m', 'cr-runc');
  t.same([updated.code, updated.stderr], [0, '']);
  t.match(await c.getTask('cr-runc'), { status: 'created', limits: { memory: 40 * MiB } });

  t.equal((await taskio(t, root, 'start', 'cr-runc')).code, 0);
  t.match(await c.wait('cr-runc'), { exitCode: 0 });
  t.equal((await taskio(t, root, 'logs', 'cr-runc')).stdout, `${40 * MiB}\n`, 'the first run had the limit update gave');
});

t.test('DaemonClient.attach to a created FIFO-mode task (attached by the client itself, not the daemon): refused, and the set is left free for the attach after its start', { timeout: 60_000 }, async (t) => {
  await c.createTask({ id: 'cr-fifo', runtime: 'host', log: 'none', start: false, args: ['sh', '-c', 'echo from-fifo'] });
  t.teardown(() => c.remove('cr-fifo', { force: true }).catch(() => undefined));
  await t.rejects(c.attach('cr-fifo', { stdout: new Collector() }), { code: 'ERR_INVALID_STATE', message: 'cannot attach to task cr-fifo: it was never started (start it first)' });
  const out = new Collector();
  await c.start('cr-fifo');
  const att = await c.attach('cr-fifo', { stdout: out });
  t.equal(await att.done, 'exited');
  t.equal(Buffer.concat(out.chunks).toString(), 'from-fifo\n', 'the output of its run, through the set the refused attach never opened');
});

t.test('rm of a created task leaves nothing and answers its waiters; create --rm goes once its first run exited', { timeout: 60_000 }, async (t) => {
  await taskio(t, root, 'create', '--name', 'cr-gone', '--runtime', 'runc', 'true');
  t.ok(taskDirs(root).includes('cr-gone'));
  const waited = c.wait('cr-gone');
  const removed = c.wait('cr-gone', { condition: 'removed' });
  const rm = await taskio(t, root, 'rm', 'cr-gone');
  t.same([rm.code, rm.stdout, rm.stderr], [0, 'cr-gone\n', '']);
  t.match(await waited, { exitCode: null, reason: 'the task was removed before it was started' });
  t.match(await removed, { exitCode: null });
  t.notOk(taskDirs(root).includes('cr-gone'), 'its directory, bundle and record are gone');

  await taskio(t, root, 'create', '--rm', '--name', 'cr-rm', '--runtime', 'host', 'sh', '-c', 'echo once');
  const gone = c.wait('cr-rm', { condition: 'removed' });
  t.equal((await taskio(t, root, 'start', 'cr-rm')).code, 0);
  t.match(await gone, { exitCode: 0 });
  await eventually(() => !taskDirs(root).includes('cr-rm'), 'the --rm task to go');
  const again = await taskio(t, root, 'create', '--rm', '--restart', 'always', 'true');
  t.same([again.code, again.stderr], [125, 'taskio create: conflicting options: --restart and --rm\n']);
});

t.test('an attached create cannot leave its task unstarted: refused, nothing made', { timeout: 30_000 }, async (t) => {
  await t.rejects(c.createAttached({ id: 'cr-att', runtime: 'host', args: ['true'], start: false }), { code: 'ERR_INVALID_FIELD' });
  t.notOk(taskDirs(root).includes('cr-att'));
  await t.rejects(c.getTask('cr-att'), { code: 'ERR_NOT_FOUND' });
});

t.test('daemon SIGKILLed while a runsc task waits created: the next daemon keeps it created and start runs it', { timeout: 120_000 }, async (t) => {
  await taskio(t, root, 'create', '--name', 'cr-adopt', '--runtime', 'runsc', 'sh', '-c', 'echo adopted; exit 6');
  t.teardown(() => c.remove('cr-adopt', { force: true }).catch(() => undefined));
  const first = daemonPid(root);
  process.kill(first, 'SIGKILL');
  await waitGone(first);
  const tasks = await c.listTasks({ all: true });
  t.not(daemonPid(root), first, 'a new daemon');
  t.match(tasks.find((x) => x.id === 'cr-adopt'), { status: 'created', pid: 0 });
  t.equal((await taskio(t, root, 'start', 'cr-adopt')).code, 0);
  t.match(await c.wait('cr-adopt'), { exitCode: 6 });
  t.equal((await taskio(t, root, 'logs', 'cr-adopt')).stdout, 'adopted\n');
});

t.test('start -a: the run\'s output from its very start, stdout and stderr apart, and its exit code; a second start -a shows only its own run', { timeout: 60_000 }, async (t) => {
  await taskio(t, root, 'create', '--name', 'sa-host', '--runtime', 'host', 'sh', '-c', 'echo out; echo err >&2; exit 4');
  t.teardown(() => c.remove('sa-host', { force: true }).catch(() => undefined));
  const first = await taskio(t, root, 'start', '-a', 'sa-host');
  t.same([first.code, first.stdout, first.stderr], [4, 'out\n', 'err\n']);
  const second = await taskio(t, root, 'start', '-a', 'sa-host');
  t.same([second.code, second.stdout, second.stderr], [4, 'out\n', 'err\n'], 'not the first run\'s output again');
  t.equal((await taskio(t, root, 'logs', 'sa-host')).stdout, 'out\nout\n', 'the log has both runs');
  const many = await taskio(t, root, 'start', '-a', 'sa-host', 'cr-other');
  t.same([many.code, many.stderr], [125, 'taskio start: you cannot start and attach multiple tasks at once\n']);
});

t.test('start -ai: stdin into the task, its end closes the task\'s stdin (runc); FIFO mode and --rm as well', { timeout: 90_000 }, async (t) => {
  await taskio(t, root, 'create', '-i', '--name', 'sa-runc', '--runtime', 'runc', 'sh', '-c', 'cat; echo done');
  t.teardown(() => c.remove('sa-runc', { force: true }).catch(() => undefined));
  const typed = await spawnTaskio(root, ['start', '-ai', 'sa-runc'], 'typed\n').result;
  t.same([typed.code, typed.stdout, typed.stderr], [0, 'typed\ndone\n', '']);

  await taskio(t, root, 'create', '--log', 'none', '--name', 'sa-fifo', '--runtime', 'host', 'sh', '-c', 'echo fifo; exit 2');
  t.teardown(() => c.remove('sa-fifo', { force: true }).catch(() => undefined));
  const fifo = await taskio(t, root, 'start', '-a', 'sa-fifo');
  t.same([fifo.code, fifo.stdout, fifo.stderr], [2, 'fifo\n', ''], 'FIFO mode: the daemon relays the set');

  await taskio(t, root, 'create', '--rm', '--name', 'sa-rm', '--runtime', 'host', 'sh', '-c', 'echo once; exit 1');
  const rm = await taskio(t, root, 'start', '-a', 'sa-rm');
  t.same([rm.code, rm.stdout, rm.stderr], [1, 'once\n', '']);
  await eventually(() => !taskDirs(root).includes('sa-rm'), 'the --rm task to go after its attach');
});

t.test('startAttached (POST /tasks/:id/start upgraded): the output and the exit in one stream', { timeout: 30_000 }, async (t) => {
  await c.createTask({ id: 'sa-api', runtime: 'host', args: ['sh', '-c', 'echo api; exit 9'], start: false });
  t.teardown(() => c.remove('sa-api', { force: true }).catch(() => undefined));
  const out = new Collector();
  const attached = await c.startAttached('sa-api', { stdout: out, stderr: out, exit: true });
  t.equal(await attached.done, 'exited');
  t.match(await attached.exit, { exitCode: 9 });
  t.equal(out.text(), 'api\n');
  await t.rejects(c.startAttached('sa-api', { stdout: out, stderr: out, detachKeys: 'nonsense' }), { code: 'ERR_INVALID_DETACH_KEYS' }, 'a bad query: refused before anything started');
  t.match(await c.getTask('sa-api'), { status: 'exited', exit: { exitCode: 9 } });
});

t.test('start -ai of a created -it task in a real pty: its prompt, what is typed, its exit code', { timeout: 60_000 }, async (t) => {
  await taskio(t, root, 'create', '-it', '--name', 'sa-tty', '--runtime', 'host', 'sh', '-c', 'echo ready; read x; echo "got $x"; exit 7');
  t.teardown(() => c.remove('sa-tty', { force: true }).catch(() => undefined));
  const s = ptyTaskio(t, root, ['start', '-ai', 'sa-tty']);
  await s.waitFor(/ready\r*\n/);
  s.term.write('hello\r');
  await s.waitFor(/got hello\r*\n/);
  const end = await s.done;
  t.equal(end.status, 7);
  t.equal(end.after, end.before, 'the terminal mode is put back');
});
