import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ReaderLock, newFIFOSetInDir } from '../../src/fifo/index.js';
import { fifoSetOf, removeFifoSet } from '../../src/daemon/fifoSetRemoval.js';
import type { LogSink } from '../../src/log.js';
import { mkfifo } from '../../src/sys/index.js';
import { tmpDir } from '../helpers/common.js';

// removeFifoSet on real sets, FIFOs and locks: what a daemon may remove of a set a client left.

t.setTimeout(30_000);

/** A logger that keeps its warnings, each as `<dir>: <message>`. */
function warnings(): LogSink & { seen: string[] } {
  const seen: string[] = [];
  const discard = (): void => undefined;
  const warn = (fields: { dir: string }, msg: string): void => { seen.push(`${fields.dir}: ${msg}`); };
  return { seen, debug: discard, info: discard, error: discard, warn: warn as unknown as LogSink['warn'] };
}

/** A set as cio's Creator makes it in `root`, with its stdout and stderr FIFOs made. */
async function clientSet(root: string, id: string): Promise<{ name: string; stdio: { stdin: string; stdout: string; stderr: string } }> {
  const set = await newFIFOSetInDir(root, id, false);
  mkfifo(set.config.stdout, 0o600);
  mkfifo(set.config.stderr, 0o600);
  return { name: path.basename(path.dirname(set.config.stdout)), stdio: set.config };
}

t.test('the set an exec\'s paths name: only one directory of the FIFO directory, each path its stream\'s', async (t) => {
  const root = tmpDir(t);
  const { name, stdio } = await clientSet(root, 'exec-1');
  t.equal(fifoSetOf(root, stdio), name);
  t.equal(fifoSetOf(root, { ...stdio, stdin: '', stderr: '' }), name, 'blank streams are left out');
  t.equal(fifoSetOf(root, { stdin: '', stdout: '', stderr: '' }), null, 'no stream: no set');
  const dir = path.join(root, name);
  const cases: Array<[string, Partial<typeof stdio>]> = [
    ['a path outside the FIFO directory', { stdout: '/tmp/exec-1-Abc123/exec-1-stdout' }],
    ['a path that climbs out', { stdout: path.join(dir, '..', '..', 'x-Abc123', 'exec-1-stdout') }],
    ['a path two levels down', { stdout: path.join(dir, 'sub-Abc123', 'sub-stdout') }],
    ['the FIFO directory itself', { stdout: path.join(root, 'exec-1-stdout') }],
    ['another stream\'s name', { stdout: path.join(dir, 'exec-1-stderr') }],
    ['another id\'s name', { stdout: path.join(dir, 'exec-2-stdout') }],
    ['two directories', { stderr: path.join(root, 'exec-1-Zzz999', 'exec-1-stderr') }],
    ['a relative path', { stdout: path.relative(process.cwd(), stdio.stdout) }],
    ['a directory no Creator names', { stdout: path.join(root, 'exec-1', 'exec-1-stdout') }],
  ];
  for (const [what, change] of cases) t.equal(fifoSetOf(root, { ...stdio, ...change }), null, what);
});

t.test('a set nobody reads is removed: its FIFOs, then its directory', async (t) => {
  const root = tmpDir(t);
  const { name } = await clientSet(root, 'exec-1');
  const log = warnings();
  t.equal(removeFifoSet(root, name, log), 'removed');
  t.same(fs.readdirSync(root), []);
  t.same(log.seen, []);
  t.equal(removeFifoSet(root, name, log), 'gone', 'once more: nothing there');
});

t.test('a set whose reader lock a client holds stays as it is', async (t) => {
  const root = tmpDir(t);
  const { name, stdio } = await clientSet(root, 'exec-1');
  const lock = ReaderLock.acquire(stdio.stdout, { create: false });
  t.teardown(() => lock.release());
  t.equal(removeFifoSet(root, name, warnings()), 'read');
  t.same(fs.readdirSync(path.join(root, name)).sort(), ['exec-1-stderr', 'exec-1-stdout']);
  lock.release();
  t.equal(removeFifoSet(root, name, warnings()), 'removed', 'once the reader let go');
});

t.test('a set whose FIFOs the runtime handed to the exec\'s user (runsc: 65534) is removed: its directory is private', async (t) => {
  const root = tmpDir(t);
  const { name } = await clientSet(root, 'exec-1');
  for (const f of ['exec-1-stdout', 'exec-1-stderr']) fs.lchownSync(path.join(root, name, f), 65534, 65534);
  t.equal(removeFifoSet(root, name, warnings()), 'removed');
  t.notOk(fs.existsSync(path.join(root, name)));
});

t.test('anything but the set\'s own FIFOs keeps the directory as it is, with a warning naming it', async (t) => {
  const root = tmpDir(t);
  const plant: Array<[string, (dir: string) => void]> = [
    ['a regular file', (dir) => fs.writeFileSync(path.join(dir, 'notes'), 'x')],
    ['a regular file in a FIFO\'s name', (dir) => { fs.unlinkSync(path.join(dir, 'exec-1-stdout')); fs.writeFileSync(path.join(dir, 'exec-1-stdout'), 'x'); }],
    ['a symlink in a FIFO\'s name', (dir) => { fs.unlinkSync(path.join(dir, 'exec-1-stdout')); fs.symlinkSync('/etc/hostname', path.join(dir, 'exec-1-stdout')); }],
    ['a FIFO of another name', (dir) => mkfifo(path.join(dir, 'other'), 0o600)],
    ['a FIFO others can write (refused by its reader lock)', (dir) => fs.chmodSync(path.join(dir, 'exec-1-stdout'), 0o666)],
    ['a directory', (dir) => fs.mkdirSync(path.join(dir, 'exec-1-stdin'))],
  ];
  for (const [what, change] of plant) {
    const { name } = await clientSet(root, 'exec-1');
    const dir = path.join(root, name);
    change(dir);
    const before = fs.readdirSync(dir).sort();
    const log = warnings();
    t.equal(removeFifoSet(root, name, log), 'left', what);
    t.same(fs.readdirSync(dir).sort(), before, `${what}: nothing removed`);
    t.match(log.seen, [new RegExp(`^${dir}: an exec FIFO set directory is left as it is`)], `${what}: one warning naming it`);
  }
  // The directory itself: a symlink to a set, one of another user, one no Creator names.
  const { name } = await clientSet(root, 'exec-2');
  fs.symlinkSync(path.join(root, name), path.join(root, 'link-Abc123'));
  const theirs = await clientSet(root, 'exec-3');
  fs.lchownSync(path.join(root, theirs.name), 65534, 65534);
  fs.mkdirSync(path.join(root, 'mine'));
  for (const entry of ['link-Abc123', theirs.name, 'mine']) t.equal(removeFifoSet(root, entry, warnings()), 'left', entry);
  t.same(fs.readdirSync(path.join(root, name)).sort(), ['exec-2-stderr', 'exec-2-stdout'], 'the set behind the symlink is untouched');
  t.same(fs.readdirSync(path.join(root, theirs.name)).sort(), ['exec-3-stderr', 'exec-3-stdout']);
});
