import t from 'tap';
import crypto from 'node:crypto';
import { daemonRoot } from '../daemon/helpers.js';
import { daemonPid, processesWith, taskDirs, taskio } from './runSession.js';

const opts = { timeout: 60_000 };
const host = ['--runtime', 'host'];

t.test('run --rm: the task\'s exit code is the command\'s, output streamed, nothing left', opts, async (t) => {
  const root = daemonRoot(t);
  const r = await taskio(root, ['run', '--rm', ...host, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  t.equal(r.status, 3, 'exit 3');
  t.equal(r.stdout, 'out\n');
  t.equal(r.stderr, 'err\n', 'stderr to stderr');
  t.same(taskDirs(root), [], '--rm removed the task');
  const sig = await taskio(root, ['run', '--rm', ...host, '--', 'sh', '-c', 'kill -TERM $$']);
  t.equal(sig.status, 128 + 15, 'a signal death is 128 + n');
});

t.test('run: a missing command exits 127, a non-executable one 126, with one line naming it', opts, async (t) => {
  const root = daemonRoot(t);
  const missing = await taskio(root, ['run', '--rm', ...host, '--', 'taskio-no-such-command']);
  t.equal(missing.status, 127);
  t.match(missing.stderr, /^taskio run: taskio-no-such-command: command not found[^\n]*\n$/);
  const notExec = await taskio(root, ['run', '--rm', '--runtime', 'runc', '--', '/etc/passwd']);
  t.equal(notExec.status, 126, 'runc: a file that is not executable is 126');
  t.match(notExec.stderr, /^taskio run: \/etc\/passwd: permission denied[^\n]*\n$/);
  for (const cmd of ['/etc/passwd', '/tmp']) {
    const hostNotExec = await taskio(root, ['run', '--rm', ...host, '--', cmd]);
    t.equal(hostNotExec.status, 126, `host: ${cmd}, which cannot be run, is 126`);
    t.match(hostNotExec.stderr, new RegExp(`^taskio run: ${cmd.replace(/\//g, '\\/')}: permission denied[^\n]*\n$`));
  }
  t.same(taskDirs(root), [], 'a failed start leaves no task');
});

t.test('bad input: one line naming it, exit 125, nothing left behind', opts, async (t) => {
  const root = daemonRoot(t);
  const usage = await taskio(root, ['run']);
  t.equal(usage.status, 125);
  t.equal(usage.stderr, `taskio run: "taskio run" requires at least 1 argument. See 'taskio run --help'.\n`);
  const noTty = await taskio(root, ['run', '-it', '--rm', ...host, '--', 'sh'], '');
  t.equal(noTty.status, 125, '-it without a terminal on stdin');
  t.equal(noTty.stderr, 'taskio run: the input device is not a TTY\n');
  const rmD = await taskio(root, ['run', '-d', '--rm', ...host, '--', 'true']);
  t.equal(rmD.status, 125);
  t.match(rmD.stderr, /^taskio run: conflicting options: --rm and --detach[^\n]*\n$/);
  t.same(taskDirs(root), [], 'no task was made so far');
  t.equal(daemonPid(root), 0, 'a bad command line does not even start a daemon');

  const marker = `taskio-run-test-${crypto.randomBytes(4).toString('hex')}`;
  const first = await taskio(root, ['run', '-d', '-i', '--name', 'dup', ...host, '--', 'sh', '-c', `read x # ${marker}-1`]);
  t.equal(first.status, 0);
  const dup = await taskio(root, ['run', '--name', 'dup', ...host, '--', 'sh', '-c', `read x # ${marker}-2`]);
  t.equal(dup.status, 125, 'a name already in use');
  t.equal(dup.stderr, 'taskio run: task dup already exists\n');
  t.same(taskDirs(root), ['dup'], 'only the first task is there');
  t.same(processesWith(`${marker}-2`), [], 'no process of the second');
});
