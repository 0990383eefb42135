import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { daemonRoot, eventually, treeOf } from '../daemon/helpers.js';
import { ptyTaskio, shellCommand, taskio } from './runSession.js';
import { spawnEveryLine } from './inProcess.js';

// This file tests the command's own process: every line spawns it.
spawnEveryLine();

t.test('exec: exit code, stdin, -e, -w, -d, a missing command; no FIFO set left', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  const run = await taskio(root, ['run', '-d', '-i', '--name', 'box', '--runtime', 'host', '--', 'cat']);
  t.equal(run.status, 0);
  const code = await taskio(root, ['exec', 'box', 'sh', '-c', 'echo out; echo err >&2; exit 4']);
  t.equal(code.status, 4, 'the exec\'d process\'s exit code');
  t.equal(code.stdout, 'out\n');
  t.equal(code.stderr, 'err\n');
  const cat = await taskio(root, ['exec', '-i', 'box', 'cat'], 'x\ny\n');
  t.equal(cat.status, 0, 'the end of stdin ends the exec\'s stdin');
  t.equal(cat.stdout, 'x\ny\n');
  const env = await taskio(root, ['exec', '-e', 'GREETING=hi', '-w', '/tmp', 'box', 'sh', '-c', 'echo $GREETING; pwd']);
  t.equal(env.stdout, 'hi\n/tmp\n', '-e and -w');
  const marker = path.join(root, 'exec-d-ran');
  const d = await taskio(root, ['exec', '-d', 'box', 'sh', '-c', `echo > ${marker}`]);
  t.equal(d.status, 0);
  t.equal(d.stdout, '', 'exec -d prints nothing');
  await eventually(() => fs.existsSync(marker), 'the detached exec ran');
  const missing = await taskio(root, ['exec', 'box', 'taskio-no-such-command']);
  t.equal(missing.status, 127, 'a missing command');
  t.match(missing.stderr, /^taskio exec: [^\n]*taskio-no-such-command[^\n]*\n$/);
  const unknown = await taskio(root, ['exec', 'nosuch', 'true']);
  t.equal(unknown.status, 125);
  t.equal(unknown.stderr, 'taskio exec: no such task: nosuch\n');
  const noTty = await taskio(root, ['exec', '-it', 'box', 'sh'], '');
  t.equal(noTty.status, 125);
  t.equal(noTty.stderr, 'taskio exec: the input device is not a TTY\n');
  const fifo = path.join(root, 'fifo');
  t.same(fs.existsSync(fifo) ? fs.readdirSync(fifo) : [], [], 'every exec\'s FIFO set was removed');
});

t.test('exec of a task that does not exist, or exited: one line, exit 125, the root as it was', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  t.equal((await taskio(root, ['run', '--name', 'done', '--runtime', 'host', '--', 'true'])).status, 0);
  const before = treeOf(root);
  const unknown = await taskio(root, ['exec', 'nosuch', 'true']);
  t.same([unknown.status, unknown.stderr], [125, 'taskio exec: no such task: nosuch\n']);
  const exited = await taskio(root, ['exec', 'done', 'true']);
  t.equal(exited.status, 125);
  t.match(exited.stderr, /^taskio exec: [^\n]+\n$/, 'one line');
  t.same(treeOf(root), before, 'nothing made or removed under the root');
});

for (const runtime of ['runc', 'runsc'] as const) {
  t.test(`${runtime}: an exec that cannot start is one line (the runtime's own error text is not also printed); one that starts keeps its first output`, { timeout: 120_000 }, async (t) => {
    const root = daemonRoot(t);
    const run = await taskio(root, ['run', '-d', '--name', 'box', '--runtime', runtime, '--', 'sleep', '1000']);
    t.equal(run.status, 0);
    const [missing, denied, fileCwd, quick] = await Promise.all([
      taskio(root, ['exec', 'box', '/taskio-no-such-command']),
      taskio(root, ['exec', 'box', '/etc/passwd']),
      taskio(root, ['exec', '-w', '/etc/passwd', 'box', 'pwd']),
      taskio(root, ['exec', 'box', 'sh', '-c', 'echo err >&2; echo out; exit 3']),
    ]);
    t.equal(missing.status, 127);
    t.match(missing.stderr, /^taskio exec: \/taskio-no-such-command: command not found \([^\n]*\)\n$/, 'one line');
    t.equal(missing.stdout, '');
    if (runtime === 'runc') {
      t.equal(denied.status, 126);
      t.match(denied.stderr, /^taskio exec: \/etc\/passwd: permission denied \([^\n]*\)\n$/, 'one line');
    } else {
      t.not(denied.status, 0, 'runsc refuses it too');
      t.equal(denied.stderr.split('\n').length, 2, 'one line');
    }
    // runsc 2022-12 ran it, in the file (pwd printed /etc/passwd); runc and docker fail it.
    t.same([fileCwd.status, fileCwd.stdout], [125, ''], 'exec -w a file');
    t.match(fileCwd.stderr, /^taskio exec: working directory \/etc\/passwd: not a directory \([^\n]*\)\n$/, 'one line');
    t.same([quick.status, quick.stdout, quick.stderr], [3, 'out\n', 'err\n'], 'output written at once is kept');
    await taskio(root, ['rm', '-f', 'box']);
  });
}

t.test('exec -it in a real pty: the pty\'s size, exit 6', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  await taskio(root, ['run', '-d', '-i', '--name', 'box', '--runtime', 'host', '--', 'cat']);
  const s = ptyTaskio(t, root, ['exec', '-it', 'box', 'sh'], { cols: 77, rows: 22 });
  await s.started;
  let seen = '';
  await eventually(async () => (seen = await shellCommand(s, 'stty size', 500)) === '22 77', 'the exec\'s terminal size', 40_000);
  t.equal(seen, '22 77');
  s.term.write('exit 6\r');
  const r = await s.done;
  t.equal(r.status, 6);
  t.equal(r.after, r.before, 'the terminal mode is restored');
});
