/**
 * A `-t` task the command creates without attaching (`run -d -t`, `create -t`) starts with a
 * terminal size, as docker's (docker/cli#3619): the size of the command's stdout when that is a
 * terminal, else the daemon's 80x24 (the host runtime's), never a 0x0 pty where busybox's
 * `stty size` fails; so does a `-t` exec, detached or attached (the session's size, in the exec
 * request). Through the built command, in a real pty, on runc and runsc.
 */
import t, { type Test } from 'tap';
import crypto from 'node:crypto';
import { client, daemonRoot, eventually } from '../daemon/helpers.js';
import { ptyTaskio } from './runSession.js';
import { taskio } from './taskioCommand.js';

const root = daemonRoot(t);
const c = await client(root);
t.teardown(() => c.close());

/** The pty the command runs in: a size no default has. */
const pty = { cols: 101, rows: 33 };

/** A fresh task id, removed (forced) with the test, before the root goes. */
function taskId(t: Test, what: string): string {
  const id = `${what}-${crypto.randomBytes(3).toString('hex')}`;
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  return id;
}

/** Runs `taskio ARGS…` in the pty and checks it exited 0. */
async function inPty(t: Test, args: string[]): Promise<void> {
  const s = ptyTaskio(t, root, args, pty);
  t.equal((await s.done).status, 0, `${args[0]} in the pty`);
}

/** What the task's `stty size` printed: its whole log, once it exited (`logs -f` ends there). */
async function sttySize(t: Test, id: string): Promise<string> {
  const logs = await taskio(t, root, 'logs', '-f', id);
  t.same([logs.code, logs.stderr], [0, ''], `logs -f ${id}`);
  return logs.stdout.trim();
}

t.test('run -d -t typed in a terminal: the task\'s terminal starts with its size (runc, runsc)', { timeout: 120_000 }, async (t) => {
  for (const runtime of ['runc', 'runsc']) {
    const id = taskId(t, `d-${runtime}`);
    await inPty(t, ['run', '-d', '-t', '--name', id, '--runtime', runtime, '--', 'stty', 'size']);
    t.equal(await sttySize(t, id), `${pty.rows} ${pty.cols}`, runtime);
  }
});

t.test('create -t typed in a terminal, then start from elsewhere: the task starts with the size of create\'s terminal', { timeout: 60_000 }, async (t) => {
  const id = taskId(t, 'c-runc');
  await inPty(t, ['create', '-t', '--name', id, '--runtime', 'runc', '--', 'stty', 'size']);
  const started = await taskio(t, root, 'start', id);
  t.same([started.code, started.stderr], [0, ''], 'start');
  t.equal(await sttySize(t, id), `${pty.rows} ${pty.cols}`);
});

t.test('run -d -t with stdout not a terminal: the task\'s terminal starts at 80x24, as a host task\'s (runc, runsc)', { timeout: 120_000 }, async (t) => {
  for (const runtime of ['runc', 'runsc']) {
    const id = taskId(t, `p-${runtime}`);
    const made = await taskio(t, root, 'run', '-d', '-t', '--name', id, '--runtime', runtime, '--', 'stty', 'size');
    t.same([made.code, made.stdout, made.stderr], [0, `${id}\n`, ''], `run -d -t (${runtime})`);
    t.equal(await sttySize(t, id), '24 80', runtime);
  }
});

/** What `stty size` printed in an exec of `id` (to a file of the task's, read by another exec once there). */
async function execSttySize(t: Test, id: string): Promise<string> {
  let size = '';
  await eventually(async () => {
    size = (await taskio(t, root, 'exec', id, 'sh', '-c', 'cat /tmp/size 2>/dev/null && echo')).stdout.trim();
    return size !== '';
  }, `the exec's stty size in ${id}`, 100_000);
  return size;
}

t.test('exec -d -t typed in a terminal: the exec\'s terminal starts with its size, not the task\'s (runc, runsc)', { timeout: 120_000 }, async (t) => {
  for (const runtime of ['runc', 'runsc']) {
    const id = taskId(t, `e-${runtime}`);
    const made = await taskio(t, root, 'run', '-d', '-t', '--name', id, '--runtime', runtime, '--', 'sleep', '1000');
    t.same([made.code, made.stderr], [0, ''], `run -d -t (${runtime})`);
    await inPty(t, ['exec', '-d', '-t', id, 'sh', '-c', 'stty size > /tmp/s 2>&1; mv /tmp/s /tmp/size']);
    t.equal(await execSttySize(t, id), `${pty.rows} ${pty.cols}`, runtime);
  }
});

t.test('exec -t attached: the exec\'s terminal starts with the session\'s size, before the resize that follows the start (runc, runsc)', { timeout: 120_000 }, async (t) => {
  for (const runtime of ['runc', 'runsc']) {
    const id = taskId(t, `a-${runtime}`);
    const made = await taskio(t, root, 'run', '-d', '--name', id, '--runtime', runtime, '--', 'sleep', '1000');
    t.same([made.code, made.stderr], [0, ''], `run -d (${runtime})`);
    const s = ptyTaskio(t, root, ['exec', '-t', id, 'stty', 'size'], pty);
    t.equal((await s.done).status, 0, `exec -t (${runtime})`);
    t.match(s.output(), new RegExp(`\\n${pty.rows} ${pty.cols}\\r*\\n`), runtime);
  }
});

t.test('exec -d -t with stdout not a terminal: the exec\'s terminal starts at 80x24 (runc, runsc)', { timeout: 120_000 }, async (t) => {
  for (const runtime of ['runc', 'runsc']) {
    const id = taskId(t, `q-${runtime}`);
    const made = await taskio(t, root, 'run', '-d', '--name', id, '--runtime', runtime, '--', 'sleep', '1000');
    t.same([made.code, made.stderr], [0, ''], `run -d (${runtime})`);
    const exec = await taskio(t, root, 'exec', '-d', '-t', id, 'sh', '-c', 'stty size > /tmp/s 2>&1; mv /tmp/s /tmp/size');
    t.same([exec.code, exec.stderr], [0, ''], `exec -d -t (${runtime})`);
    t.equal(await execSttySize(t, id), '24 80', runtime);
  }
});
