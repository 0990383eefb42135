import t from 'tap';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cliMain, daemonRoot, fdsOf } from '../daemon/helpers.js';
import { bytesUnread, socketFd } from '../../src/sys/index.js';
import { cliEnv, daemonClient, daemonPid, taskio } from './runSession.js';
import { until } from '../helpers/common.js';
import { spawnEveryLine } from './inProcess.js';

// This file tests the command's own process: every line spawns it.
spawnEveryLine();

const opts = { timeout: 120_000 };
// Answers each line it reads, and exits 5 at "end".
const echoLoop = ['sh', '-c', 'while read x; do echo "got $x"; [ "$x" = end ] && exit 5; done; exit 9'];

/** `taskio attach [FLAGS…] ID` as a child whose stdin stays open; `printed(text)` resolves once it printed `text`. */
function attacher(root: string, id: string, flags: string[] = []) {
  const child = spawn(process.execPath, [cliMain, 'attach', ...flags, id], { env: cliEnv(root), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const printed = (text: string) => new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (out.includes(text)) resolve();
      else if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`attach exited without ${text}: ${out}`));
      else child.stdout!.once('data', check);
    };
    check();
  });
  return { child, printed };
}

t.test('attach after the first client was SIGKILLed: the task runs on, the second attach gets its exit code', opts, async (t) => {
  const root = daemonRoot(t);
  const started = await taskio(root, ['run', '-d', '-i', '--name', 'loop', '--runtime', 'host', '--', ...echoLoop]);
  t.equal(started.status, 0);
  const first = attacher(root, 'loop');
  t.teardown(() => first.child.kill('SIGKILL'));
  // The attach is live once a line typed into it comes back.
  first.child.stdin!.write('one\n');
  await first.printed('got one');
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  const second = await taskio(root, ['attach', 'loop'], 'two\nend\n');
  t.equal(second.stdout, 'got two\ngot end\n', 'the task kept its stdin and reads the second client');
  t.equal(second.status, 5, 'the task\'s exit code');
  const c = daemonClient(t, root);
  t.equal((await c.getTask('loop')).status, 'exited');
});

/** The sockets the daemon of `root` holds open (its listener, and one per connection), as `socket:[inode]`. */
function daemonSockets(root: string): Set<string> {
  const dir = `/proc/${daemonPid(root)}/fd`;
  const sockets = new Set<string>();
  for (const fd of fs.readdirSync(dir)) {
    try {
      const link = fs.readlinkSync(`${dir}/${fd}`);
      if (link.startsWith('socket:')) sockets.add(link);
    } catch {
      // closed meanwhile
    }
  }
  return sockets;
}

/**
 * Whether the daemon holds no socket beyond `before`: every connection made since is closed. Sets,
 * not counts: a connection of an earlier command that the daemon has not yet seen close may be in
 * `before` and go meanwhile, which a count would take for the new one.
 */
const onlySocketsOf = (root: string, before: Set<string>) => (): boolean => [...daemonSockets(root)].every((s) => before.has(s));

t.test('a client gone without a word leaves no connection in the daemon: a SIGKILLed attach of a silent task, run -i whose input outlives the task', opts, async (t) => {
  const root = daemonRoot(t);
  await taskio(root, ['run', '-d', '--name', 'quiet', '--runtime', 'host', '--', 'sh', '-c', 'echo ready; exec sleep 1000']);
  const before = daemonSockets(root);
  // No stdin: the daemon never reads this connection, and the task writes nothing more to it.
  const quiet = attacher(root, 'quiet', ['--logs', '--no-stdin']);
  t.teardown(() => quiet.child.kill('SIGKILL'));
  await quiet.printed('ready');
  t.ok(!onlySocketsOf(root, before)(), 'the attach holds a connection');
  quiet.child.kill('SIGKILL');
  await once(quiet.child, 'exit');
  await until(onlySocketsOf(root, before), 10_000, 'the daemon to close the killed attach\'s connection');
  t.pass('the connection of the killed attach is closed');
  // Input that goes on after the task exited: the daemon stopped reading it, with more queued.
  const beforeRun = daemonSockets(root);
  const fed = spawn(process.execPath, [cliMain, 'run', '-i', '--rm', '--runtime', 'host', '--', 'sh', '-c', 'head -c 10 >/dev/null; exit 7'], { env: cliEnv(root), stdio: ['pipe', 'ignore', 'ignore'] });
  t.teardown(() => fed.kill('SIGKILL'));
  fed.stdin!.on('error', () => undefined); // EPIPE once the command exited
  const feed = (err?: Error | null): void => { if (!err) fed.stdin!.write(Buffer.alloc(65536, 'y'), feed); };
  feed();
  const [code] = await once(fed, 'exit') as [number];
  t.equal(code, 7, 'the task\'s exit code');
  await until(onlySocketsOf(root, beforeRun), 10_000, 'the daemon to close the run\'s connection');
  t.pass('the connection of the finished run is closed');
  t.equal((await daemonClient(t, root).getTask('quiet')).status, 'running', 'the task runs on');
});

/** The daemon's fds on `file`. */
function daemonFdsOn(root: string, file: string): number {
  return fdsOf(daemonPid(root)).filter((l) => l === file).length;
}

t.test('a SIGKILLed attach whose input filled the stdin of a task that does not read leaves no stdin fd in the daemon', opts, async (t) => {
  const root = daemonRoot(t);
  await taskio(root, ['run', '-d', '-i', '--name', 'deaf', '--runtime', 'host', '--', 'sh', '-c', 'echo ready; exec sleep 1000']);
  const stdinFifo = `${root}/tasks/deaf/deaf-stdin`;
  const before = daemonFdsOn(root, stdinFifo); // the task's own input keeper
  const typing = attacher(root, 'deaf', ['--logs']);
  t.teardown(() => typing.child.kill('SIGKILL'));
  await typing.printed('ready');
  typing.child.stdin!.on('error', () => undefined); // EPIPE once it was killed
  const type = (err?: Error | null): void => { if (!err && !typing.child.killed) typing.child.stdin!.write(Buffer.alloc(65536, 'y\n'), type); };
  type();
  // The task's stdin full (a write of a byte of ours into it fails), and the input backed up to
  // the command behind it: the daemon's writer holds input it cannot put in.
  const probe = fs.openSync(stdinFifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  t.teardown(() => fs.closeSync(probe));
  const full = (): boolean => {
    try {
      fs.writeSync(probe, 'y');
      return false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return true;
      throw err;
    }
  };
  const feed = socketFd(typing.child.stdin)!;
  await until(() => full() && bytesUnread(feed) >= 100_000, 30_000, 'the input to back up to the command');
  typing.child.kill('SIGKILL');
  await once(typing.child, 'exit');
  // The old daemon's writer kept waiting to put the rest in, its FIFO open until rm.
  await until(() => daemonFdsOn(root, stdinFifo) <= before, 10_000, 'the daemon to let go of the stdin FIFO');
  t.pass(`the daemon holds ${before} fd(s) on the task's stdin, as before the attach`);
  t.equal((await daemonClient(t, root).getTask('deaf')).status, 'running', 'the task runs on');
});

t.test('attach --logs replays the log; a signal death is 128 + n; --no-stdin', opts, async (t) => {
  const root = daemonRoot(t);
  const c = daemonClient(t, root);
  await taskio(root, ['run', '-d', '-i', '--name', 'replay', '--runtime', 'host', '--', 'sh', '-c', 'echo early; exec cat']);
  const child = spawn(process.execPath, [cliMain, 'attach', '--logs', '--no-stdin', 'replay'], { env: cliEnv(root), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  await new Promise<void>((resolve) => { const check = (): void => { if (out.includes('early\n')) resolve(); else child.stdout!.once('data', check); }; check(); });
  t.pass('the log from its start');
  await c.kill('replay', 'TERM');
  const [code] = await once(child, 'exit') as [number];
  t.equal(code, 128 + 15, 'killed by TERM while attached: 143');
});

t.test('FIFO mode: one reader at a time; a second attach names the holder\'s pid', opts, async (t) => {
  const root = daemonRoot(t);
  await taskio(root, ['run', '-d', '-i', '--log', 'none', '--name', 'fifo', '--runtime', 'host', '--', ...echoLoop]);
  const first = attacher(root, 'fifo');
  t.teardown(() => first.child.kill('SIGKILL'));
  first.child.stdin!.write('one\n');
  await first.printed('got one');
  const second = await taskio(root, ['attach', 'fifo'], '');
  t.equal(second.status, 125);
  t.match(second.stderr, new RegExp(`^taskio attach: task fifo is already attached by pid ${first.child.pid}[^\\n]*\\n$`));
  first.child.stdin!.end('end\n');
  const [code] = await once(first.child, 'exit') as [number];
  t.equal(code, 5, 'the first attach still gets the exit code');
});

t.test('attach bad input: unknown id, exited task, missing argument -> 125, one line', opts, async (t) => {
  const root = daemonRoot(t);
  const usage = await taskio(root, ['attach']);
  t.equal(usage.status, 125);
  t.equal(usage.stderr, `taskio attach: "taskio attach" requires exactly 1 argument. See 'taskio attach --help'.\n`);
  const unknown = await taskio(root, ['attach', 'nosuch']);
  t.equal(unknown.status, 125);
  t.equal(unknown.stderr, 'taskio attach: no such task: nosuch\n');
  await taskio(root, ['run', '--name', 'done', '--runtime', 'host', '--', 'true']);
  const exited = await taskio(root, ['attach', 'done']);
  t.equal(exited.status, 125);
  t.equal(exited.stderr, 'taskio attach: task done is not running\n');
});

t.test('a paused task: attach and start (-a or not) are refused, as docker\'s, and the task stays paused', opts, async (t) => {
  const root = daemonRoot(t);
  const c = daemonClient(t, root);
  await taskio(root, ['run', '-d', '-i', '--name', 'frozen', '--runtime', 'host', '--', 'sleep', '1000']);
  await c.pause('frozen');
  // Each of them used to wait for output that never came (start: answered 0 and did nothing).
  const attached = await taskio(root, ['attach', 'frozen'], 'x\n');
  t.equal(attached.status, 125);
  t.equal(attached.stderr, 'taskio attach: you cannot attach to paused task frozen: unpause it first\n');
  for (const args of [['start', '-a', 'frozen'], ['start', 'frozen']]) {
    const started = await taskio(root, args);
    t.equal(started.status, 125, args.join(' '));
    t.match(started.stderr, /^taskio start: cannot start paused task frozen: unpause it instead\n$/m, args.join(' '));
  }
  t.equal((await c.getTask('frozen')).status, 'paused');
});
