import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { newAttach, newCreator, newDirectIO, newFIFOSet, withFIFODir, withStreams } from '../../src/index.js';
import { openFifoFd } from '../../src/fifo/index.js';
import { Collector, tmpDir, exitOf, repoRoot, untilBytes } from '../helpers/common.js';

t.setTimeout(60_000);

/** Starts a client in another process; resolves with what it printed first ('attached' or a code). */
async function otherClient(t: { teardown(fn: () => unknown): void }, config: { stdin: string; stdout: string; stderr: string }) {
  const child = spawn(process.execPath, [path.join(repoRoot, 'test/helpers/attacher.mjs'), config.stdin, config.stdout, config.stderr], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const [line] = await once(child.stdout!, 'data');
  return { child, said: String(line).trim() };
}

t.test('a second reader in this process fails with EBUSY; after cancel it succeeds', async (t) => {
  const io = await newCreator(withStreams(null, new Collector(), new Collector()), withFIFODir(tmpDir(t)))('one');
  t.teardown(() => io.close());
  const set = newFIFOSet(io.config());
  await t.rejects(newAttach(withStreams(null, new Collector(), null))(set), { code: 'EBUSY', message: /already attached/ });
  await t.rejects(newDirectIO(set), { code: 'EBUSY', message: /already attached/ });
  await t.rejects(newAttach(withStreams(null, null, new Collector()))(set), { code: 'EBUSY' }, 'a stderr-only reader of the set is excluded too');
  io.cancel();
  const again = await newAttach(withStreams(null, new Collector(), null))(set);
  t.pass('attached after the first one detached');
  await again.close();
});

t.test('the lock outlives the stdout copy that shares its open: after EOF a second reader still gets EBUSY', async (t) => {
  const out = new Collector();
  const io = await newCreator(withStreams(null, out, null), withFIFODir(tmpDir(t)))('eof');
  t.teardown(() => io.close());
  const w = openFifoFd(io.config().stdout, 'w');
  fs.writeSync(w, 'bye');
  fs.closeSync(w);
  await io.wait(); // the copy saw EOF and closed its fd
  t.equal(out.buffer().toString(), 'bye');
  const set = newFIFOSet(io.config());
  await t.rejects(newAttach(withStreams(null, new Collector(), null))(set), { code: 'EBUSY' }, 'still attached until cancel');
  io.cancel();
  const again = await newAttach(withStreams(null, new Collector(), null))(set);
  await again.close();
});

t.test('a writer-only attach (stdin alone) takes no lock', async (t) => {
  const io = await newCreator(withStreams(null, new Collector(), null), withFIFODir(tmpDir(t)))('w');
  t.teardown(() => io.close());
  const { Readable } = await import('node:stream');
  const writer = await newAttach(withStreams(Readable.from([]), null, null))(newFIFOSet({ ...io.config(), stdin: path.join(path.dirname(io.config().stdout), 'w-stdin') }));
  await writer.close();
  t.pass();
});

t.test('a second attach from another process fails with EBUSY, and succeeds after the holder is SIGKILLed', async (t) => {
  const root = tmpDir(t);
  const io = await newCreator(withStreams(null, new Collector(), new Collector()), withFIFODir(root))('x');
  const config = io.config();
  io.cancel(); // detach: the set stays on disk for others
  t.teardown(() => io.close());
  const first = await otherClient(t, config);
  t.equal(first.said, 'attached');
  const second = await otherClient(t, config);
  t.equal(second.said, 'EBUSY');
  t.equal(await exitOf(second.child), 0);
  await t.rejects(newAttach(withStreams(null, new Collector(), null))(newFIFOSet(config)),
    { code: 'EBUSY', message: new RegExp(`${config.stdout.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*pid ${first.child.pid}`) },
    'and from this process, naming the FIFO and the holder\'s pid');
  first.child.kill('SIGKILL');
  await exitOf(first.child);
  const third = await otherClient(t, config);
  t.equal(third.said, 'attached', 'the kernel dropped the dead holder\'s lock');
  third.child.kill('SIGKILL');
  await exitOf(third.child);
  await io.close();
  t.same(fs.readdirSync(root), [], 'close removed the FIFOs and the directory');
});

t.test('a second reader in this process is told the lock is held here', async (t) => {
  const io = await newCreator(withStreams(null, new Collector(), null), withFIFODir(tmpDir(t)))('here');
  t.teardown(() => io.close());
  await t.rejects(newDirectIO(newFIFOSet(io.config())), { code: 'EBUSY', message: new RegExp(`in this process \\(pid ${process.pid}\\)`) });
});

/** Makes a FIFO set the way containerd does: its own directory, its own FIFOs. */
function containerdSet(t: { teardown(fn: () => unknown): void }, id: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-ctrd-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = { terminal: false, stdin: path.join(dir, `${id}-stdin`), stdout: path.join(dir, `${id}-stdout`), stderr: path.join(dir, `${id}-stderr`) };
  for (const p of [config.stdin, config.stdout, config.stderr]) execFileSync('mkfifo', ['-m', '0600', p]);
  return { dir, config };
}

/** What containerd does when the task is gone: unlink its FIFOs, then remove the directory (it must be empty). */
function removeAsContainerd(dir: string, config: { stdin: string; stdout: string; stderr: string }): void {
  for (const p of [config.stdin, config.stdout, config.stderr]) fs.unlinkSync(p);
  fs.rmdirSync(dir);
}

t.test('attach, detach: taskio leaves nothing in a FIFO directory it did not make', async (t) => {
  const { dir, config } = containerdSet(t, 'ctr');
  // The task side: a writer on stdout and stderr, as containerd's shim holds them.
  const keep = [openFifoFd(config.stdout, 'rw'), openFifoFd(config.stderr, 'rw')];
  t.teardown(() => keep.forEach((fd) => fs.closeSync(fd)));
  fs.writeSync(keep[0]!, 'out\n');
  const out = new Collector();
  const io = await newAttach(withStreams(new PassThrough(), out, new Collector()))(newFIFOSet(config));
  await untilBytes(out, 4);
  io.cancel();
  await io.close(); // a set of bare paths: closing it removes nothing
  const direct = await newDirectIO(newFIFOSet(config));
  direct.cancel();
  await direct.close();
  t.same(fs.readdirSync(dir).sort(), ['ctr-stderr', 'ctr-stdin', 'ctr-stdout'], 'only containerd\'s FIFOs');
  removeAsContainerd(dir, config);
  t.notOk(fs.existsSync(dir), 'containerd\'s rmdir succeeded: the directory was empty');
});

t.test('the lock dies with its holder: a killed client\'s set is attachable and removable at once', async (t) => {
  const { dir, config } = containerdSet(t, 'gone');
  const first = await otherClient(t, config);
  t.equal(first.said, 'attached');
  first.child.kill('SIGKILL');
  await exitOf(first.child);
  const io = await newAttach(withStreams(null, new Collector(), new Collector()))(newFIFOSet(config));
  io.cancel();
  removeAsContainerd(dir, config);
  t.notOk(fs.existsSync(dir));
});
