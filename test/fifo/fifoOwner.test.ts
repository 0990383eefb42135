import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import pino from 'pino';
import { FifoWriter, ReaderLock, newFIFOSet, openFifo, openFifoFd, type Config } from '../../src/fifo/index.js';
import { newAttach, newDirectIO, withStreams } from '../../src/index.js';
import { createIO } from '../../src/runtime/stdio/index.js';
import { OutputKeepAlive } from '../../src/daemon/keepAlive.js';
import { OutputKeeper } from '../../src/daemon/outputKeeper.js';
import { LogCopy } from '../../src/daemon/logCopy.js';
import { mkfifo } from '../../src/sys/index.js';
import { Collector, fdCount, fdsUnder, testFile, tmpDir } from '../helpers/common.js';

// A FIFO another user could have planted — one of another user in a directory others can write, or
// one anybody can write — is refused by every open of a FIFO taskio did not just make: the task's
// output would go to a pipe that user reads too, or that user would feed it. Real FIFOs, a real
// other owner (uid 65534, nobody), and a real unprivileged process for what a non-root taskio trusts.

t.setTimeout(60_000);

const NOBODY = 65534;

/** A FIFO at `dir/name` with this owner and mode (chmod: past the umask). */
function plant(dir: string, name: string, uid: number, mode: number): string {
  const p = path.join(dir, name);
  mkfifo(p, 0o600);
  fs.chownSync(p, uid, uid);
  fs.chmodSync(p, mode);
  return p;
}

/** What must stay as it was: the FIFO (same file, owner, mode) and the directory's entries. */
function snapshot(t: Test, p: string): () => unknown {
  const take = (): unknown => {
    const st = fs.lstatSync(p);
    return { fifo: st.isFIFO(), ino: st.ino, uid: st.uid, mode: st.mode, entries: fs.readdirSync(path.dirname(p)).sort() };
  };
  const before = take();
  return () => t.same(take(), before, `${p} and its directory are untouched`);
}

/** The two ways a FIFO is untrusted, each made fresh: the path, and what the error says. */
function untrusted(t: Test): Array<[string, string, RegExp]> {
  const shared = tmpDir(t);
  fs.chmodSync(shared, 0o1777); // a shared temp directory, as /tmp
  const privateDir = tmpDir(t);
  return [
    ['a FIFO of uid 65534 in a directory others can write', plant(shared, 'out', NOBODY, 0o600),
      new RegExp(`^refusing FIFO "${shared}/out": it is owned by uid 65534 \\(mode 0600\\), not by uid 0, and another user could have put it in ${shared}: it is writable by its group \\(mode 1777\\)$`)],
    ['a FIFO of this user that others can write', plant(privateDir, 'out', 0, 0o666),
      new RegExp(`^refusing FIFO "${privateDir}/out": it is writable by others \\(mode 0666, owner uid 0\\)$`)],
  ];
}

/** Runs `entry` on `p`, which must refuse it with ERR_UNSAFE_DIR, leaving no fd and the FIFO as it was. */
async function refuses(t: Test, what: string, p: string, message: RegExp, entry: () => unknown): Promise<void> {
  const untouched = snapshot(t, p);
  const fds = fdCount();
  await t.rejects(async () => { await entry(); }, { code: 'ERR_UNSAFE_DIR', message }, what);
  t.equal(fdCount(), fds, `${what}: no fd left`);
  t.same(fdsUnder(path.dirname(p)), [], `${what}: nothing of the directory open`);
  untouched();
}

const only = (stream: 'stdin' | 'stdout' | 'stderr', p: string): Config => ({ terminal: false, stdin: '', stdout: '', stderr: '', [stream]: p });
const quiet = pino({ level: 'silent' });

t.test('every open of an existing FIFO refuses one another user could have planted', async (t) => {
  for (const [kind, p, message] of untrusted(t)) {
    const entries: Array<[string, () => unknown]> = [
      ['openFifoFd r', () => openFifoFd(p, 'r')],
      ['openFifoFd rw with create (the FIFO exists)', () => openFifoFd(p, 'rw', { create: true })],
      ['openFifoFd w, before any reader', () => openFifoFd(p, 'w')],
      ['openFifo r', () => openFifo(p, 'r')],
      ['openFifo w (a writer is refused before a reader exists)', () => openFifo(p, 'w')],
      ['new FifoWriter', () => new FifoWriter(p)],
      ['ReaderLock.acquire', () => ReaderLock.acquire(p)],
      ['newAttach reading it', () => newAttach(withStreams(null, new Collector(), null))(newFIFOSet(only('stdout', p)))],
      ['newAttach writing stdin into it', () => newAttach(withStreams(Readable.from(['x']), null, null))(newFIFOSet(only('stdin', p)))],
      ['newDirectIO reading it', () => newDirectIO(newFIFOSet(only('stderr', p)))],
      ['newDirectIO writing stdin into it', () => newDirectIO(newFIFOSet(only('stdin', p)))],
      ['the process side (createIO)', () => createIO(only('stdout', p), { id: 'planted' })],
      ['the daemon\'s keep-alive (FIFO mode, and adoption)', () => OutputKeepAlive.open([p])],
      ['the daemon\'s output keeper', () => OutputKeeper.spawn([p], null)],
      ['the daemon\'s log copy reopening an adopted task\'s set', () => LogCopy.start(only('stdout', p), path.join(tmpDir(t), 'log'), {}, true, quiet)],
    ];
    for (const [entry, run] of entries) await refuses(t, `${kind}: ${entry}`, p, message, run);
  }
});

t.test('an attach that made the set\'s other FIFOs removes them when one it found is refused', async (t) => {
  for (const [kind, planted, message] of untrusted(t)) {
    const dir = path.dirname(planted);
    const stdout = path.join(dir, 'made-stdout'), stdin = path.join(dir, 'made-stdin');
    const set = (): ReturnType<typeof newFIFOSet> => newFIFOSet({ terminal: false, stdin, stdout, stderr: planted });
    await refuses(t, `${kind}: newAttach`, planted, message, () => newAttach(withStreams(Readable.from([]), new Collector(), new Collector()))(set()));
    await refuses(t, `${kind}: newDirectIO`, planted, message, () => newDirectIO(set()));
    t.notOk(fs.existsSync(stdout) || fs.existsSync(stdin), `${kind}: the FIFOs the attach made are gone`);
  }
});

t.test('a FIFO swapped for another user\'s after a writer checked it is refused at the open (the fd is checked)', async (t) => {
  const shared = tmpDir(t);
  fs.chmodSync(shared, 0o1777);
  const p = path.join(shared, 'in');
  const fds = fdCount();
  const w = new FifoWriter(p, { create: true }); // ours: it passes, and waits for a reader
  // A writer waiting for a reader with nothing to write does not keep the process alive (by
  // design): without this, Node may exit before its next try finds the planted FIFO.
  const alive = setInterval(() => undefined, 1000);
  t.teardown(() => clearInterval(alive));
  const failed = once(w, 'error');
  fs.unlinkSync(p);
  plant(shared, 'in', NOBODY, 0o600);
  const reader = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK); // the planter's reader
  t.teardown(() => fs.closeSync(reader));
  const [err] = await failed;
  t.match(err, { code: 'ERR_UNSAFE_DIR', message: /it is owned by uid 65534/ });
  await t.rejects(w.opened, { code: 'ERR_UNSAFE_DIR' });
  t.equal(fdCount(), fds + 1, 'no fd left but the planter\'s reader');
  t.equal(fs.lstatSync(p).uid, NOBODY, 'the planted FIFO stays');
});

t.test('a FIFO made here with a perm others can write (umask 0) is refused and removed again', async (t) => {
  const dir = tmpDir(t);
  const old = process.umask(0);
  t.teardown(() => { process.umask(old); });
  const p = path.join(dir, 'f');
  const fds = fdCount();
  t.throws(() => openFifoFd(p, 'r', { create: true, perm: 0o666 }), { code: 'ERR_UNSAFE_DIR', message: /writable by others \(mode 0666/ });
  t.throws(() => new FifoWriter(p, { create: true, perm: 0o662 }), { code: 'ERR_UNSAFE_DIR', message: /writable by others \(mode 0662/ });
  t.same(fs.readdirSync(dir), [], 'what this call made is gone');
  t.equal(fdCount(), fds);
  const fd = openFifoFd(p, 'r', { create: true, perm: 0o664 });
  t.equal(fs.fstatSync(fd).mode & 0o777, 0o664, 'a perm others cannot write is made as asked');
  fs.closeSync(fd);
});

t.test('FIFOs still opened: this user\'s, and another user\'s in a directory only this user can write (runsc, runc chown a task\'s FIFOs to its user)', async (t) => {
  const privateDir = tmpDir(t); // 0700, root's
  const handedOver = plant(privateDir, 'task-stdout', NOBODY, 0o600);
  const lock = ReaderLock.acquire(handedOver);
  lock.release();
  const out = new Collector();
  const io = await newAttach(withStreams(null, out, null))(newFIFOSet(only('stdout', handedOver)));
  const w = openFifoFd(handedOver, 'w');
  fs.writeSync(w, 'from the task');
  fs.closeSync(w);
  await io.wait();
  t.equal(out.buffer().toString(), 'from the task', 'attached and read');
  await io.close();
  t.equal(fs.lstatSync(handedOver).uid, NOBODY, 'left as it was (a set made by bare paths removes nothing)');
  // The same directory once others can write it: the FIFO may be theirs now.
  fs.chmodSync(privateDir, 0o777);
  t.throws(() => openFifoFd(handedOver, 'r'), { code: 'ERR_UNSAFE_DIR', message: /owned by uid 65534 .* it is writable by its group \(mode 0777\)/ });
  // A directory of another user: that user could have made the FIFO.
  fs.chmodSync(privateDir, 0o700);
  fs.chownSync(privateDir, NOBODY, NOBODY);
  t.throws(() => openFifoFd(handedOver, 'r'), { code: 'ERR_UNSAFE_DIR', message: /it is owned by uid 65534, not 0$/ });
});

t.test('a taskio that is not root (a real process as uid 65534) trusts its own and root\'s FIFOs, not another user\'s', async (t) => {
  const shared = tmpDir(t);
  fs.chmodSync(shared, 0o1777);
  const fifos = {
    own: plant(shared, 'own', NOBODY, 0o600),
    root: plant(shared, 'root', 0, 0o644), // readable by others, so that nobody may open it at all
    other: plant(shared, 'other', 1000, 0o644),
  };
  const child = spawn('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, testFile('fifo/fixtures/openAsUser.mjs'), ...Object.values(fifos)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  for await (const chunk of child.stdout!) out += chunk;
  const [code] = (await once(child, 'exit')) as [number | null];
  t.equal(code, 0, 'the fixture ran');
  t.same(JSON.parse(out), {
    [fifos.own]: 'opened',
    [fifos.root]: 'opened',
    [fifos.other]: `ERR_UNSAFE_DIR refusing FIFO "${fifos.other}": it is owned by uid 1000 (mode 0644), neither by uid 65534 nor by root, and another user could have put it in ${shared}: it is writable by its group (mode 1777)`,
  });
});
