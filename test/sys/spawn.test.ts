import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as sys from '../../src/sys/index.js';
import { Monitor } from '../../src/runtime/reaper/index.js';

/** A monitor for the test (posixSpawn's children are not libuv's: someone must reap them). */
function monitorFor(t: { teardown(fn: () => void): void }): { wait(pid: number): Promise<number> } {
  const monitor = new Monitor();
  const exits = monitor.subscribe();
  t.teardown(() => monitor.stop());
  return { wait: async (pid) => (await exits.wait(pid)).status };
}

function openFds(): string[] {
  return fs.readdirSync('/proc/self/fd');
}

t.test('posixSpawn: fds mapped even when a source is also a target, /dev/null for ignore, a session of its own, default signals', { timeout: 20_000 }, async (t) => {
  const monitor = monitorFor(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-spawn-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = fs.openSync(path.join(dir, 'out'), 'w');
  const a = fs.openSync(path.join(dir, 'a'), 'w');
  const b = fs.openSync(path.join(dir, 'b'), 'w');
  const before = openFds();
  // fd 3 of the child is b and fd 4 is a: with a and b at 3 and 4 here (or anywhere), a naive dup2
  // order would overwrite one before copying it.
  const script = [
    'echo three >&3', 'echo four >&4',
    'read x; echo "stdin=[$x]"', // /dev/null: EOF at once
    'set -- $(cat /proc/$$/stat); echo "pid=$$ sid=$6"',
    // exec: the shell's own mask, read by itself. A child reading /proc/<shell>/status could catch
    // dash blocking every signal around a fork.
    'exec grep -E "^Sig(Ign|Blk)" /proc/self/status',
  ].join('; ');
  const pid = sys.posixSpawn('sh', ['-c', script], { fds: ['ignore', out, 'ignore', b, a], setsid: true });
  t.same(openFds(), before, 'no fd of the spawn left open here');
  t.equal(await monitor.wait(pid), 0);
  for (const fd of [out, a, b]) fs.closeSync(fd);
  t.equal(fs.readFileSync(path.join(dir, 'b'), 'utf8'), 'three\n');
  t.equal(fs.readFileSync(path.join(dir, 'a'), 'utf8'), 'four\n');
  const text = fs.readFileSync(path.join(dir, 'out'), 'utf8');
  t.match(text, /^stdin=\[\]$/m);
  t.match(text, new RegExp(`^pid=${pid} sid=${pid}$`, 'm'), 'session leader (setsid)');
  // Node ignores SIGPIPE; the child must not inherit that, nor a blocked mask. Signals 32 and 33
  // are glibc's own (thread cancellation, setxid): its posix_spawn leaves them ignored, and every
  // glibc program installs its handlers for them when it needs them.
  const ignored = BigInt(`0x${/^SigIgn:\s+([0-9a-f]+)$/m.exec(text)?.[1] ?? 'ff'}`);
  t.equal(ignored & 0x7fffffffn, 0n, 'signals 1-31 at their default action');
  t.match(text, /^SigBlk:\s+0+$/m);
});

t.test('posixSpawn: environment given, PATH lookup, exit status through the monitor', { timeout: 20_000 }, async (t) => {
  const monitor = monitorFor(t);
  const p = sys.pipe2();
  t.teardown(() => fs.closeSync(p.read));
  const pid = sys.posixSpawn('sh', ['-c', 'echo "$ONLY $HOME"; exit 7'], { fds: ['ignore', p.write, 'ignore'], env: { ONLY: 'this', PATH: process.env['PATH'] } });
  fs.closeSync(p.write);
  t.equal(await monitor.wait(pid), 7);
  const buf = Buffer.alloc(100);
  t.equal(buf.subarray(0, fs.readSync(p.read, buf)).toString(), 'this \n', 'only the given variables');
});

t.test('posixSpawn: a binary that cannot run is a typed error naming it, and leaves no fd', { timeout: 20_000 }, async (t) => {
  const before = openFds();
  const err = t.throws(() => sys.posixSpawn('/nonexistent/taskio-x', [], { fds: ['ignore', 'ignore', 'ignore'] })) as sys.SysError;
  t.match(err, { code: 'ENOENT', syscall: 'posix_spawnp', path: '/nonexistent/taskio-x' });
  t.match(err.message, /^ENOENT: .*posix_spawnp '\/nonexistent\/taskio-x'$/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-spawn-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'plain'), 'not a program\n', { mode: 0o644 });
  fs.writeFileSync(path.join(dir, 'garbage'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0]), { mode: 0o755 });
  const before2 = openFds();
  t.equal((t.throws(() => sys.posixSpawn(path.join(dir, 'plain'), [], { fds: ['ignore', 'ignore', 'ignore'] })) as sys.SysError).code, 'EACCES');
  t.equal((t.throws(() => sys.posixSpawn(path.join(dir, 'garbage'), [], { fds: ['ignore', 'ignore', 'ignore'] })) as sys.SysError).code, 'ENOEXEC');
  t.same(openFds(), before2);
  const badFd = t.throws(() => sys.posixSpawn('true', [], { fds: ['ignore', 9999, 'ignore'] })) as sys.SysError;
  t.equal(badFd.code, 'EBADF');
  t.same(openFds(), before);
});
