import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cliMain, daemonRoot } from '../daemon/helpers.js';
import { cliEnv, daemonClient, daemonPid, processesWith, taskDirs, taskio } from './runSession.js';
import { spawnEveryLine } from './inProcess.js';

// This file tests the command's own process: every line spawns it.
spawnEveryLine();

// Every case has a daemon root (and so a daemon) of its own, and waits mostly for it and for the
// commands: 4 run at a time. Each gets options of its own: tap keeps its state in them, and
// subtests running at once that share one object all report the output of one of them.
t.jobs = 4;
const opts = (): { timeout: number } => ({ timeout: 60_000 });
const host = ['--runtime', 'host'];

t.test('run --rm: the task\'s exit code is the command\'s, output streamed, nothing left', opts(), async (t) => {
  const root = daemonRoot(t);
  const r = await taskio(root, ['run', '--rm', ...host, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  t.equal(r.status, 3, 'exit 3');
  t.equal(r.stdout, 'out\n');
  t.equal(r.stderr, 'err\n', 'stderr to stderr');
  t.same(taskDirs(root), [], '--rm removed the task');
  const sig = await taskio(root, ['run', '--rm', ...host, '--', 'sh', '-c', 'kill -TERM $$']);
  t.equal(sig.status, 128 + 15, 'a signal death is 128 + n');
});

t.test('run --log none (FIFO mode) of a task that exits at once: its output, its code, and with --rm nothing left', opts(), async (t) => {
  const root = daemonRoot(t);
  for (const runtime of ['host', 'runc']) {
    // The task may be gone before the command opens its FIFOs: the output waits in the pipes, and
    // the attach ends once they are drained (no writer is left to send EOF).
    const rm = await taskio(root, ['run', '--log', 'none', '--rm', '--runtime', runtime, '--', 'sh', '-c', 'echo fifo; echo err >&2; exit 3']);
    t.equal(rm.status, 3, `${runtime}: exit 3`);
    t.equal(rm.stdout, 'fifo\n', `${runtime}: stdout`);
    t.equal(rm.stderr, 'err\n', `${runtime}: stderr`);
    t.same(taskDirs(root), [], `${runtime}: --rm removed it`);
  }
  const kept = await taskio(root, ['run', '--log', 'none', ...host, '--', 'sh', '-c', 'echo kept; exit 4']);
  t.equal(kept.status, 4);
  t.equal(kept.stdout, 'kept\n');
});

t.test('run -a: only the streams named are shown, the others still go to the log; -a with -d or a bad stream is refused', opts(), async (t) => {
  const root = daemonRoot(t);
  const script = ['sh', '-c', 'echo out; echo err >&2; exit 3'];
  const [out, err, none] = await Promise.all([
    taskio(root, ['run', '--name', 'a-out', ...host, '-a', 'stdout', '--', ...script]),
    taskio(root, ['run', '--name', 'a-err', ...host, '--attach=STDERR', '--', ...script]),
    taskio(root, ['run', '--rm', ...host, '-a', 'stdin', '--', ...script]),
  ]);
  t.same([out.status, out.stdout, out.stderr], [3, 'out\n', ''], '-a stdout: stdout only, the task\'s code');
  t.same([err.status, err.stdout, err.stderr], [3, '', 'err\n'], '-a STDERR: stderr only');
  t.same([none.status, none.stdout, none.stderr], [3, '', ''], '-a stdin: no output, the exit waited for');
  const logs = await taskio(root, ['logs', 'a-out']);
  t.same([logs.stdout, logs.stderr], ['out\n', 'err\n'], 'what was not shown is in the log');
  const input = await taskio(root, ['run', '--rm', '-i', ...host, '-a', 'stdout', '--', 'sh', '-c', 'cat; echo err >&2'], 'typed\n');
  t.same([input.status, input.stdout, input.stderr], [0, 'typed\n', ''], '-i attaches stdin whatever -a says');
  // FIFO mode: nothing else reads the task's pipe, so the stream not shown is read and dropped.
  const fifo = await taskio(root, ['run', '--rm', '--log', 'none', ...host, '-a', 'stderr', '--', 'sh', '-c', 'head -c 1000000 /dev/zero; echo err >&2; exit 6']);
  t.same([fifo.status, fifo.stdout, fifo.stderr], [6, '', 'err\n'], '--log none -a stderr: a megabyte of stdout does not stop the task');
  const bad: Array<[string[], string]> = [
    [['-d', '-a', 'stdout'], 'taskio run: conflicting options: -a and -d\n'],
    [['-a', 'stdall'], `taskio run: invalid argument "stdall" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR. See 'taskio run --help'.\n`],
  ];
  for (const [flags, line] of bad) {
    const r = await taskio(root, ['run', ...host, ...flags, '--', 'true']);
    t.same([r.status, r.stdout, r.stderr], [125, '', line], flags.join(' '));
  }
  t.same(taskDirs(root).sort(), ['a-err', 'a-out'], 'the refused ones made nothing');
});

t.test('run: a missing command exits 127, a non-executable one 126, with one line naming it', opts(), async (t) => {
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

t.test('run and create --entrypoint: docker\'s executable before the COMMAND (which may then be left out), "" for none', opts(), async (t) => {
  const root = daemonRoot(t);
  const runc = ['--runtime', 'runc'];
  const echo = await taskio(root, ['run', '--rm', ...runc, '--entrypoint', '/bin/echo', '--', 'hello', 'there']);
  t.same([echo.status, echo.stdout, echo.stderr], [0, 'hello there\n', ''], 'the operands are its arguments');
  const alone = await taskio(root, ['run', '--rm', ...runc, '-w', '/tmp', '--entrypoint', 'pwd']);
  t.same([alone.status, alone.stdout, alone.stderr], [0, '/tmp\n', ''], 'without a COMMAND');
  const none = await taskio(root, ['run', '--rm', ...host, '--entrypoint', '', '--', 'echo', 'x']);
  t.same([none.status, none.stdout], [0, 'x\n'], '"": the COMMAND alone');
  const oneWord = await taskio(root, ['run', '--rm', ...host, '--entrypoint', 'sh -c', '--', 'true']);
  t.equal(oneWord.status, 127, 'one executable, never split at spaces (as docker)');
  t.match(oneWord.stderr, /^taskio run: sh -c: command not found/);
  const made = await taskio(root, ['create', '--name', 'ep', ...runc, '--entrypoint', 'sh', '--', '-c', 'exit 3']);
  t.equal(made.status, 0, made.stderr);
  const args = await taskio(root, ['inspect', '-f', '{{json .args}}', 'ep']);
  t.equal(args.stdout, '["sh","-c","exit 3"]\n', 'the task\'s args: the entrypoint, then the COMMAND');
  t.equal((await taskio(root, ['start', '-a', 'ep'])).status, 3, 'and it runs them');
  const nothing = await taskio(root, ['run', '--rm', ...host, '--entrypoint', '']);
  t.same([nothing.status, nothing.stdout, nothing.stderr], [125, '', 'taskio run: no command specified: --entrypoint "" and no COMMAND\n'], 'nothing to run');
  t.same(taskDirs(root), ['ep'], 'nothing else made');
});

t.test('bad input: one line naming it, exit 125, nothing left behind', opts(), async (t) => {
  const root = daemonRoot(t);
  const usage = await taskio(root, ['run']);
  t.equal(usage.status, 125);
  t.equal(usage.stderr, `taskio run: "taskio run" requires at least 1 argument. See 'taskio run --help'.\n`);
  const noTty = await taskio(root, ['run', '-it', '--rm', ...host, '--', 'sh'], '');
  t.equal(noTty.status, 125, '-it without a terminal on stdin');
  t.equal(noTty.stderr, 'taskio run: the input device is not a TTY\n');
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

  // Refused by the daemon before anything is made or run (audit of 5 December).
  const ran = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-run-bad-')), 'ran');
  t.teardown(() => fs.rmSync(path.dirname(ran), { recursive: true, force: true }));
  const refused: Array<[string, string[], RegExp]> = [
    ['a rootfs for a host task', ['run', '--rm', ...host, '--rootfs', os.tmpdir(), '--', 'true'], /^taskio run: a rootfs needs runtime runsc or runc[^\n]*\n$/],
    ['a rootfs inside the state root', ['run', '--rm', '--runtime', 'runc', '--rootfs', path.join(root, 'tasks', 'dup'), '--', 'true'], /^taskio run: rootfs \S+\/tasks\/dup lies inside the daemon's state root[^\n]*\n$/],
    ['a log inside the state root', ['run', '--rm', ...host, '--log', `file://${root}/tasks/dup/task.json`, '--', 'true'], /^taskio run: log \S+\/tasks\/dup\/task\.json lies inside the daemon's state root[^\n]*\n$/],
    ['an attached run with a logging driver', ['run', ...host, '--log', 'binary:///bin/true', '--', 'sh', '-c', `touch ${ran}`], /^taskio run: task \S+ logs to a logging driver \(binary:\/\/\/bin\/true\): its output cannot be attached to[^\n]*\n$/],
    ['a variable longer than exec takes', ['run', '--rm', ...host, '--env-file', bigEnv(), '--', 'true'], /^taskio run: environment variable BIG is too long: 200004 bytes[^\n]*\n$/],
    ['a stop timeout past a Node timer', ['run', '-d', ...host, '--stop-timeout', '3000000', '--', 'true'], /^taskio run: invalid argument "3000000" for "--stop-timeout"[^\n]*24\.8 days[^\n]*\n$/],
  ];
  /** An env file with one variable too long for exec(2) (the command line itself could not carry it). */
  function bigEnv(): string {
    const file = path.join(path.dirname(ran), 'big.env');
    fs.writeFileSync(file, `BIG=${'x'.repeat(200_000)}\n`);
    return file;
  }
  for (const [what, args, message] of refused) {
    const r = await taskio(root, args);
    t.equal(r.status, 125, `${what}: 125`);
    t.match(r.stderr, message, `${what}: one line naming it`);
  }
  t.notOk(fs.existsSync(ran), 'the task with a logging driver never ran');
  t.same(taskDirs(root), ['dup'], 'no task was made by any of them');
  t.match(fs.readFileSync(path.join(root, 'tasks', 'dup', 'task.json'), 'utf8'), /"id": ?"dup"/, 'the first task\'s record is intact');
  const created = await taskio(root, ['create', '--name', 'driven', ...host, '--log', 'binary:///bin/true', '--', 'sh', '-c', `touch ${ran}`]);
  t.equal(created.status, 0);
  const startA = await taskio(root, ['start', '-a', 'driven']);
  t.equal(startA.status, 125, 'start -a of a task with a logging driver');
  t.match(startA.stderr, /^taskio start: task driven logs to a logging driver[^\n]*\n$/);
  t.notOk(fs.existsSync(ran), 'and it was not started');
});

t.test('a state root whose socket path would not fit a unix socket address is refused, and not made', opts(), async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-long-'));
  t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
  const root = path.join(base, 'd'.repeat(110));
  const r = await taskio(root, ['ps']);
  t.equal(r.status, 125);
  t.match(r.stderr, /^taskio ps: state root \S+ is too long: its socket \S+ would be \d+ bytes, a unix socket path takes at most 107\n$/);
  t.same(fs.readdirSync(base), [], 'no root, and no socket cut short beside it');
});

t.test('--rm is the daemon\'s AutoRemove: with -d, or after the command was SIGKILLed, the task goes once it exited', opts(), async (t) => {
  const root = daemonRoot(t);
  const c = daemonClient(t, root);
  const d = await taskio(root, ['run', '-d', '--rm', '-i', '--name', 'auto', ...host, '--', 'sh', '-c', 'read x; exit 3']);
  t.equal(d.status, 0, 'run -d --rm, as docker allows since its daemon removes');
  t.equal(d.stdout, 'auto\n');
  t.equal((await c.getTask('auto')).status, 'running');
  await c.closeStdin('auto');
  t.equal((await c.wait('auto', { condition: 'removed' })).exitCode, 3);
  t.same(taskDirs(root), [], 'removed once it exited');
  const w = await taskio(root, ['wait', 'auto']);
  t.equal(w.stdout, '3\n', 'taskio wait after the removal still prints the code');

  // An attached run --rm whose command is SIGKILLed: the task runs on, and goes when it exits.
  const child = spawn(process.execPath, [cliMain, 'run', '--rm', '--name', 'orphan', ...host, '--', 'sh', '-c', 'echo ready; exec sleep 600'], { env: cliEnv(root), stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  let out = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    const check = (d = ''): void => {
      out += d;
      if (out.includes('ready\n')) resolve();
      else if (child.exitCode !== null) reject(new Error(`run exited before the task printed: ${out}`));
      else child.stdout!.once('data', check);
    };
    check();
  });
  child.kill('SIGKILL');
  await once(child, 'exit');
  t.equal((await c.getTask('orphan')).status, 'running', 'the task outlives its command');
  const removed = c.wait('orphan', { condition: 'removed' });
  await c.kill('orphan', 'TERM');
  t.equal((await removed).exitCode, 128 + 15, 'gone once it exited, with its code');
  t.same(taskDirs(root), []);
});

t.test('run -v, --mount, --tmpfs, --read-only and -u as docker\'s; exec -u; bad values one line, exit 125, nothing left', { timeout: 90_000 }, async (t) => {
  const root = daemonRoot(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-run-v-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'in'), 'host file\n');
  fs.chmodSync(dir, 0o777); // the task's user (nobody) writes there
  const script = 'cat /src/in; echo out > /out/result; touch /src/x 2>/dev/null || echo src-ro; touch /t/x && echo tmpfs-rw; id -u; id -g';
  const r = await taskio(root, [
    'run', '--rm', '--runtime', 'runc', '-v', `${dir}:/src:ro`, '--mount', `type=bind,src=${dir},dst=/out`, '--tmpfs', '/t:size=1m',
    '-u', 'nobody:root', '--', 'sh', '-c', script,
  ]);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, 'host file\nsrc-ro\ntmpfs-rw\n65534\n0\n');
  t.equal(fs.readFileSync(path.join(dir, 'result'), 'utf8'), 'out\n', 'written through the --mount');
  const id = (await taskio(root, ['run', '-d', '--runtime', 'runc', '-u', '1234', '--', 'sleep', '1000'])).stdout.trim();
  t.equal((await taskio(root, ['exec', id, 'id'])).stdout, 'uid=1234 gid=0(root)\n', 'an exec runs as the task\'s user');
  t.equal((await taskio(root, ['exec', '-u', 'root', id, 'id', '-u'])).stdout, '0\n', 'exec -u');
  await taskio(root, ['rm', '-f', id]);
  const bad: [string[], string][] = [
    [['-v', 'cache:/cache'], 'taskio run: invalid argument "cache:/cache" for "-v, --volume" flag: "cache" is not a host path: taskio has no named volumes (give an absolute path, or one starting with "."). See \'taskio run --help\'.\n'],
    [['-v', `${dir}/missing:/m`], `taskio run: mounts[0] (bind at "/m"): source ${dir}/missing does not exist\n`],
    [['-u', 'ghost'], /^taskio run: invalid user "ghost": unable to find user ghost: no matching entries in .*\/etc\/passwd\n$/.source],
    [['--runtime', 'host', '--tmpfs', '/t'], 'taskio run: mounts need runtime runsc or runc: a host task sees the host\'s files as they are\n'],
  ];
  for (const [flags, line] of bad) {
    const b = await taskio(root, ['run', '--rm', ...(flags.includes('--runtime') ? [] : ['--runtime', 'runc']), ...flags, 'true']);
    t.equal(b.status, 125, flags.join(' '));
    if (line.startsWith('^')) t.match(b.stderr, new RegExp(line));
    else t.equal(b.stderr, line);
  }
  t.same(taskDirs(root), [], 'nothing left');
});
