import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import net from 'node:net';
import * as sys from '../../src/sys/index.js';

t.test('mkfifo creates a FIFO and reports EEXIST like Node', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-sys-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = path.join(dir, 'f');
  sys.mkfifo(p, 0o600);
  const st = fs.statSync(p);
  t.ok(st.isFIFO());
  t.equal(st.mode & 0o777, 0o600 & ~process.umask());
  const err = t.throws(() => sys.mkfifo(p)) as sys.SysError;
  t.match(err, { code: 'EEXIST', errno: -17, syscall: 'mkfifo', path: p });
  t.match(err.message, /^EEXIST: file exists, mkfifo '.*\/f'$/);
});

t.test('unlinkIfPresent removes a name, tells a missing one, and throws like Node otherwise', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-sys-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = path.join(dir, 'f');
  sys.mkfifo(p);
  t.equal(sys.unlinkIfPresent(p), true);
  t.notOk(fs.existsSync(p));
  t.equal(sys.unlinkIfPresent(p), false);
  fs.mkdirSync(p);
  const err = t.throws(() => sys.unlinkIfPresent(p)) as sys.SysError;
  t.match(err, { code: 'EISDIR', syscall: 'unlink', path: p });
  t.ok(fs.statSync(p).isDirectory(), 'a directory is never removed');
});

t.test('pipe2 makes a real pipe whose size can be raised', async (t) => {
  const p = sys.pipe2();
  t.teardown(() => { fs.closeSync(p.read); fs.closeSync(p.write); });
  t.ok(fs.fstatSync(p.read).isFIFO(), 'a pipe, not a socketpair');
  t.equal(sys.getPipeSize(p.read), 65536);
  t.equal(sys.setPipeSize(p.write, 1 << 20), 1 << 20);
  t.equal(sys.getPipeSize(p.read), 1 << 20);
  t.equal(sys.getFileFlags(p.read) & fs.constants.O_NONBLOCK, 0);
  sys.setFileFlags(p.read, sys.getFileFlags(p.read) | fs.constants.O_NONBLOCK);
  t.not(sys.getFileFlags(p.read) & fs.constants.O_NONBLOCK, 0);
  fs.writeSync(p.write, Buffer.from('hello'));
  t.equal(sys.bytesReadable(p.read), 5);
  const err = t.throws(() => sys.getPipeSize(9999)) as sys.SysError;
  t.equal(err.code, 'EBADF');
});

t.test('flock is exclusive between open file descriptions', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-sys-'));
  const a = fs.openSync(path.join(dir, 'l'), 'w'), b = fs.openSync(path.join(dir, 'l'), 'r');
  t.teardown(() => { fs.closeSync(a); fs.closeSync(b); fs.rmSync(dir, { recursive: true }); });
  t.ok(sys.tryLockExclusive(a));
  t.notOk(sys.tryLockExclusive(b));
  sys.unlock(a);
  t.ok(sys.tryLockExclusive(b));
});

t.test('subreaper peeks and reaps an orphaned grandchild', async (t) => {
  sys.setChildSubreaper(true);
  t.ok(sys.isChildSubreaper());
  // The shell forks a grandchild that outlives it, then exits: the grandchild is re-parented to us.
  const sh = spawn('/bin/sh', ['-c', 'sleep 1000 >/dev/null 2>&1 & echo $!'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  for await (const c of sh.stdout) out += c;
  const pid = Number(out.trim());
  t.ok(pid > 0);
  while (!fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(` ${process.pid} `)) await new Promise((r) => setTimeout(r, 5));
  t.equal(sys.peekExited(pid), null, 'still running');
  process.kill(pid, 'SIGTERM');
  let seen: sys.ExitedChild | null = null;
  while (!(seen = sys.peekExited(pid))) await new Promise((r) => setTimeout(r, 5));
  t.same(seen, { pid, status: 128 + 15 });
  t.same(sys.peekExited(pid), seen, 'peeking does not reap');
  t.equal(sys.reap(pid), 128 + 15);
  t.throws(() => sys.reap(pid), { code: 'ECHILD' });
  for (const bad of [0, -1, 1.5, NaN, 2 ** 31, '7' as unknown as number]) {
    t.throws(() => sys.reap(bad), { name: 'TaskioError', code: 'ERR_INVALID_ARG_VALUE' }, `reap(${String(bad)}) is refused with a code`);
  }
});

t.test('decodeWaitStatus', async (t) => {
  t.equal(sys.decodeWaitStatus(42 << 8), 42);
  t.equal(sys.decodeWaitStatus(9), 137);
});

t.test('pidfd_open', async (t) => {
  const fd = sys.pidfdOpen(process.pid);
  t.ok(fd > 2);
  fs.closeSync(fd);
  t.throws(() => sys.pidfdOpen(2 ** 22 + 12345), { code: 'ESRCH', syscall: 'pidfd_open' });
});

t.test('winsize on a pty', async (t) => {
  const pty = await import('node-pty');
  const term = pty.spawn('/bin/sh', ['-c', 'read x'], { cols: 80, rows: 24 });
  t.teardown(() => term.kill());
  const fd = (term as unknown as { _fd: number })._fd;
  t.same(sys.getWinSize(fd), { cols: 80, rows: 24 });
  sys.setWinSize(fd, { cols: 123, rows: 45 });
  t.same(sys.getWinSize(fd), { cols: 123, rows: 45 });
});

t.test('recvFd receives an fd over a unix socket', async (t) => {
  // pauseOnConnect keeps libuv from reading the socket, so recvmsg sees the message first.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-sys-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sockPath = path.join(dir, 's');
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(sockPath, r));
  t.teardown(() => server.close());
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect(sockPath);
  t.teardown(() => client.destroy());
  const conn = await accepted;
  t.teardown(() => conn.destroy());
  client.write('no fd here');
  const fd = (conn as unknown as { _handle: { fd: number } })._handle.fd;
  let got: sys.ReceivedFd | undefined;
  while (!got) {
    try { got = sys.recvFd(fd); } catch (e) { if (!sys.isCode(e, 'EAGAIN')) throw e; await new Promise((r) => setTimeout(r, 2)); }
  }
  t.same(got.fds, []);
  t.equal(got.truncated, false);
  t.equal(got.data.toString(), 'no fd here');
  t.throws(() => sys.recvFd(fd), { code: 'EAGAIN', syscall: 'recvmsg' });
});

t.test('pollReadable goes on while signals arrive: an interrupted ppoll is made again, not thrown (EINTR)', { timeout: 60_000 }, async (t) => {
  // The daemon polls pidfds while SIGCHLD comes at any time; a ppoll that found no fd ready with a
  // signal pending failed with EINTR, which killed the daemon. A flood of signals makes that likely
  // within a few calls.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-sys-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'f');
  sys.mkfifo(fifo);
  const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK); // never readable: nothing is written
  t.teardown(() => fs.closeSync(fd));
  let signalled!: () => void;
  const arriving = new Promise<void>((resolve) => { signalled = resolve; });
  const onSignal = (): void => signalled();
  // The handler stays for the rest of this process: a SIGUSR2 the sender sent as it was killed
  // would otherwise end it. The sender is unref'd and its exit not waited for: libuv's signal pipe
  // fills under the flood while the loop below holds the thread, and its SIGCHLD may be dropped.
  process.on('SIGUSR2', onSignal);
  const sender = spawn('/bin/sh', ['-c', `while kill -USR2 ${process.pid}; do :; done`], { stdio: 'ignore' });
  sender.unref();
  t.teardown(() => { sender.kill('SIGKILL'); });
  // A ref'd bound keeps this process up until the first signal (the sender and the handler do not).
  let bound: NodeJS.Timeout | undefined;
  await Promise.race([arriving, new Promise((_, reject) => { bound = setTimeout(() => reject(new Error('no SIGUSR2 came within 30 s')), 30_000); })]);
  clearTimeout(bound);
  let calls = 0;
  t.doesNotThrow(() => { for (; calls < 20_000; calls++) if (sys.pollReadable([fd])[0]) throw new Error('an idle FIFO read as readable'); }, 'no EINTR');
  t.equal(calls, 20_000, 'every call made');
});
