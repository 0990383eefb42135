import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { DaemonClient } from '../../src/daemon/index.js';
import { exitOf, testFile } from '../helpers/common.js';
import { isGone } from '../fixtures/oci.js';
import { cliMain, client, daemonPid, daemonProcesses, daemonRoot, eventually, foregroundDaemon, recorderOf, waitGone } from './helpers.js';

const fixture = (name: string) => testFile(`daemon/fixtures/${name}`);

t.test('a client starts the daemon on demand: root 0700, socket 0600, one lock', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  fs.rmdirSync(root); // the client makes it
  const c = await client(root);
  t.teardown(() => c.close());
  const v = await c.version();
  t.equal(v.root, root);
  t.equal(v.pid, daemonPid(root), 'the lock file names the daemon');
  t.equal(fs.statSync(root).mode & 0o777, 0o700);
  t.equal(fs.statSync(path.join(root, 'taskio.sock')).mode & 0o777, 0o600);
  t.ok(fs.existsSync(path.join(root, 'daemon.log')), 'its stdio goes to daemon.log');
  // A second daemon on the same root is refused, naming the first one's pid.
  const second = spawnSync(process.execPath, [cliMain, 'daemon', '--root', root], { encoding: 'utf8', timeout: 30_000 });
  t.equal(second.status, 3);
  t.match(second.stderr, new RegExp(`a taskio daemon \\(pid ${v.pid}\\) already runs on ${root}`));
  t.equal((await c.version()).pid, v.pid, 'the first one still serves');
});

t.test('a daemon started by a command keeps none of the fds that command inherited, nor do its tasks', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  // fd 20 of the command: a pipe of this test, as a CI runner's or an ssh session's would be. Node
  // makes its inherited fds 0-15 close-on-exec at start, not the ones above.
  const cmd = spawn(process.execPath, [cliMain, 'run', '-d', '--name', 'fds', '--runtime', 'host', '--', 'sleep', '1000'], {
    env: { ...process.env, TASKIO_ROOT: root }, stdio: ['ignore', 'pipe', 'inherit', ...Array<'ignore'>(17).fill('ignore'), 'pipe'],
  });
  const extra = (cmd.stdio as unknown as net.Socket[])[20]!;
  const ended = new Promise<void>((resolve) => { extra.on('end', resolve).on('close', resolve).resume(); });
  t.equal(await exitOf(cmd), 0);
  const pid = daemonPid(root);
  const cloexec = (p: number, fd: string) => (Number.parseInt(/^flags:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${p}/fdinfo/${fd}`, 'utf8'))![1]!, 8) & 0o2000000) !== 0;
  const open = (p: number) => fs.readdirSync(`/proc/${p}/fd`).filter((fd) => Number(fd) > 2);
  t.same(open(pid).filter((fd) => { try { return !cloexec(pid, fd); } catch { return false; } }), [], 'every fd of the daemon above 2 is close-on-exec');
  const c = await client(root);
  t.teardown(() => c.close());
  const task = await c.getTask('fds');
  t.same(open(task.pid), [], 'the task has its stdio and nothing else');
  await ended; // so nobody holds the command's fd 20 any more
  t.match(fs.readFileSync(path.join(root, 'daemon.log'), 'utf8'), /"closedInheritedFds":\[[^\]]*\b20\b/, 'and the daemon says what it closed');
});

t.test('two client processes racing to start the daemon end with one daemon', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  const run = () => {
    const p = spawn(process.execPath, [fixture('connect.mjs'), root], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    return exitOf(p).then((code) => ({ code, pid: Number(out.trim()) }));
  };
  const [a, b] = await Promise.all([run(), run()]);
  t.equal(a.code, 0);
  t.equal(b.code, 0);
  t.ok(a.pid > 0);
  t.equal(a.pid, b.pid, 'both talk to the same daemon');
  t.equal(daemonPid(root), a.pid);
  // The daemon and the exit recorder above it (the same command); the loser and its recorder go.
  const recorder = recorderOf(a.pid);
  t.ok(recorder > 0, 'the daemon runs under its exit recorder');
  const daemons = (): number[] => daemonProcesses(root).sort((x, y) => x - y);
  // The loser may still be loading when both clients already got their answer.
  await eventually(() => daemons().length === 2, 'the loser of the lock and its recorder to exit');
  t.same(daemons(), [a.pid, recorder].sort((x, y) => x - y), 'one daemon runs, under its recorder');
});

t.test('a root that is not ours is refused', { timeout: 60_000 }, async (t) => {
  const base = daemonRoot(t);
  const open = path.join(base, 'open');
  fs.mkdirSync(open, { mode: 0o700 });
  fs.chmodSync(open, 0o777);
  const r1 = spawnSync(process.execPath, [cliMain, 'daemon', '--root', open], { encoding: 'utf8', timeout: 30_000 });
  t.equal(r1.status, 1);
  t.match(r1.stderr, `refusing directory ${open}: it is writable by its group`);
  const other = path.join(base, 'other');
  fs.mkdirSync(other, { mode: 0o700 });
  fs.chownSync(other, 65534, 65534);
  const r2 = spawnSync(process.execPath, [cliMain, 'daemon', '--root', other], { encoding: 'utf8', timeout: 30_000 });
  t.equal(r2.status, 1);
  t.match(r2.stderr, `refusing directory ${other}: it is owned by uid 65534, not 0`);
  t.same(fs.readdirSync(open), [], 'nothing was made in it');
  t.same(fs.readdirSync(other), []);
  const bad = spawnSync(process.execPath, [cliMain, 'daemon', '--bogus'], { encoding: 'utf8' });
  t.equal(bad.status, 125, 'a bad flag is a usage error of the command');
  t.match(bad.stderr, 'unknown flag: --bogus');
});

t.test('a user other than the owner cannot connect to the socket', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  const c = await client(root);
  t.teardown(() => c.close());
  await c.version();
  const probe = spawnSync(process.execPath, ['-e', `
    const s = require('node:net').connect(${JSON.stringify(path.join(root, 'taskio.sock'))});
    s.on('connect', () => { console.log('connected'); process.exit(0); });
    s.on('error', (e) => { console.log(e.code); process.exit(0); });
  `], { encoding: 'utf8', uid: 65534, gid: 65534, timeout: 30_000 });
  t.equal(probe.stdout.trim(), 'EACCES');
});

t.test('SIGTERM stops the daemon and leaves its tasks running; the next daemon takes them over', { timeout: 90_000 }, async (t) => {
  const root = daemonRoot(t);
  const { child } = await foregroundDaemon(root);
  const c = new DaemonClient(root, { start: false });
  t.teardown(() => c.close());
  const task = await c.createTask({ id: 'live', runtime: 'host', args: ['sh', '-c', 'echo before; exec sleep 1000'] });
  // The command started is the daemon's exit recorder: it passes the SIGTERM on, and exits with the
  // daemon's code once the task it was left is gone too.
  const daemon = daemonPid(root);
  const exited = exitOf(child);
  child.kill('SIGTERM');
  await waitGone(daemon);
  t.notOk(isGone(task.pid), 'the task still runs');
  t.notOk(fs.existsSync(path.join(root, 'taskio.sock')), 'the socket is gone');
  await t.rejects(c.version(), { code: 'ENOENT' }, 'no daemon answers (start: false)');
  // The next client starts a daemon, which adopts the task.
  const c2 = await client(root);
  t.teardown(() => c2.close());
  const again = await c2.getTask('live');
  t.equal(again.status, 'running');
  t.equal(again.adopted, true);
  t.equal(again.pid, task.pid);
  const out: Buffer[] = [];
  await c2.logs('live', { stdout: new (await import('node:stream')).Writable({ write(ch, _e, cb) { out.push(Buffer.from(ch)); cb(); } }) });
  t.equal(Buffer.concat(out).toString(), 'before\n');
  await c2.remove('live', { force: true });
  await eventually(() => isGone(task.pid), 'the task to be gone');
  t.same(fs.readdirSync(path.join(root, 'tasks')), []);
  t.equal(await exited, 0, 'the stopped daemon\'s 0, once its task is gone');
});

t.test('net: the socket speaks plain HTTP/1.1 (curl-compatible)', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  const c = await client(root);
  t.teardown(() => c.close());
  const raw = await new Promise<string>((resolve, reject) => {
    const s = net.connect(path.join(root, 'taskio.sock'));
    let got = '';
    s.on('data', (d) => { got += d.toString(); });
    s.on('end', () => resolve(got));
    s.on('error', reject);
    s.end('GET /version HTTP/1.1\r\nHost: taskio\r\nConnection: close\r\n\r\n');
  });
  t.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
  t.match(raw, /"apiVersion":1/);
});

t.test('a runtime that is not installed is refused; the default falls back', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  // As on a machine without runsc: the default is runc, and asking for runsc names what is missing.
  await foregroundDaemon(root, { ...process.env, TASKIO_RUNSC: '' });
  const c = new DaemonClient(root, { start: false });
  t.teardown(() => c.close());
  const v = await c.version();
  t.equal(v.runtimes.runsc, null);
  t.equal(v.runtimes.default, 'runc');
  await t.rejects(c.createTask({ runtime: 'runsc', args: ['true'] }), { code: 'ERR_RUNTIME_UNAVAILABLE', status: 400, message: /runtime runsc is not installed/ });
  t.same(fs.existsSync(path.join(root, 'tasks')) ? fs.readdirSync(path.join(root, 'tasks')) : [], [], 'nothing left');
});
