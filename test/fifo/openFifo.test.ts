import t from 'tap';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { openFifo, isFifo, openFifoFd, FifoWriter, pipeSize } from '../../src/fifo/index.js';
import { getPipeSize } from '../../src/sys/index.js';
import { tmpDir, fdCount, fdsUnder, repoRoot } from '../helpers/common.js';

t.setTimeout(60_000);

async function readAll(s: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const c of s) out += c;
  return out;
}

t.test('reader opens at once and waits for a writer without a false EOF', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'f');
  const r = await openFifo(p, 'r', { create: true });
  t.ok(fs.lstatSync(p).isFIFO());
  t.equal(fs.lstatSync(p).mode & 0o777, 0o600);
  const got = readAll(r);
  // The writer comes later, from another process, with a blocking open like a runtime would.
  setTimeout(() => execFileSync('/bin/sh', ['-c', `printf 'hello' > ${p}`]), 50);
  t.equal(await got, 'hello');
});

t.test('writer resolves before a reader exists and its writes arrive once one does', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'f');
  const w = await openFifo(p, 'w', { create: true });
  t.type(w, FifoWriter);
  w.write('buffered ');
  w.end('then flushed');
  const r = await openFifo(p, 'r');
  t.equal(await readAll(r), 'buffered then flushed');
});

t.test('reads and writes across the two sides, in both orders', async (t) => {
  const dir = tmpDir(t);
  for (const order of ['rw', 'wr']) {
    const p = path.join(dir, `f-${order}`);
    let r, w;
    if (order === 'rw') { r = await openFifo(p, 'r', { create: true }); w = await openFifo(p, 'w'); }
    else { w = await openFifo(p, 'w', { create: true }); r = await openFifo(p, 'r'); }
    const got = readAll(r);
    for (let i = 0; i < 100; i++) w.write(`${i},`);
    w.end();
    t.equal(await got, Array.from({ length: 100 }, (_, i) => `${i},`).join(''), order);
  }
});

t.test('rw never blocks and holds data while nobody else reads', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'f');
  // The task host's keep-alive: an O_RDWR fd that is never read from.
  const keep = openFifoFd(p, 'rw', { create: true });
  t.teardown(() => fs.closeSync(keep));
  fs.writeSync(keep, 'kept in the pipe');
  const r = await openFifo(p, 'r');
  const [chunk] = await once(r, 'data');
  t.equal(String(chunk), 'kept in the pipe');
  r.destroy();
  // As a stream, 'rw' both writes and reads its own FIFO.
  const rw = await openFifo(p, 'rw');
  rw.write('echo');
  const [own] = await once(rw, 'data');
  t.equal(String(own), 'echo');
  rw.destroy();
});

t.test('the pipe is raised to 1 MiB', async (t) => {
  const dir = tmpDir(t);
  const fd = openFifoFd(path.join(dir, 'f'), 'r', { create: true });
  t.teardown(() => fs.closeSync(fd));
  t.equal(getPipeSize(fd), pipeSize);
  t.equal(pipeSize, 1 << 20);
});

t.test('aborting a pending writer open ends it with an AbortError and leaves no fd', async (t) => {
  const dir = tmpDir(t);
  const before = fdsUnder(dir).length;
  const ac = new AbortController();
  const w = await openFifo(path.join(dir, 'f'), 'w', { create: true, signal: ac.signal });
  const failed = once(w, 'error');
  setTimeout(() => ac.abort(), 20);
  const [err] = await failed;
  t.equal(err.name, 'AbortError');
  t.equal(err.code, 'ABORT_ERR');
  t.equal(fdsUnder(dir).length, before);
  await t.rejects(openFifo(path.join(dir, 'f'), 'r', { signal: ac.signal }), { name: 'AbortError' }, 'an aborted signal fails at once');
});

t.test('destroy cancels a pending writer open at once', async (t) => {
  const dir = tmpDir(t);
  const w = await openFifo(path.join(dir, 'f'), 'w', { create: true });
  w.write('never delivered');
  w.destroy();
  await once(w, 'close');
  // A reader arriving afterwards sees no writer: EOF as soon as the test's own writer closes.
  const r = await openFifo(path.join(dir, 'f'), 'r');
  const w2 = await openFifo(path.join(dir, 'f'), 'w');
  w2.end('only this');
  t.equal(await readAll(r), 'only this');
  t.same(fdsUnder(dir), []);
});

t.test('closing a reader while it reads ends it without hanging', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'f');
  const r = await openFifo(p, 'r', { create: true });
  const w = await openFifo(p, 'w');
  w.write('x');
  await once(r, 'data');
  r.destroy();
  await once(r, 'close');
  const failed = once(w, 'error');
  w.write('y'.repeat(1 << 16));
  const [err] = await failed;
  t.equal(err.code, 'EPIPE', 'the writer learns that the reader left');
});

t.test('the path can be removed while both sides are open', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'f');
  const r = await openFifo(p, 'r', { create: true });
  const w = await openFifo(p, 'w');
  await w.opened;
  fs.unlinkSync(p);
  const got = readAll(r);
  w.end('still flows');
  t.equal(await got, 'still flows');
});

t.test('wrong-direction use fails clearly', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'f');
  const r = await openFifo(p, 'r', { create: true });
  t.teardown(() => r.destroy());
  const w = await openFifo(p, 'w');
  t.teardown(() => w.destroy());
  const failed = once(r, 'error');
  r.write('x');
  const [err] = await failed;
  t.equal(err.code, 'ERR_STREAM_WRITE_AFTER_END', 'a reader cannot be written');
  t.equal((w as unknown as { read?: unknown }).read, undefined, 'a writer has no read side');
  await t.rejects(openFifo(p, 'x' as 'r'), { code: 'ERR_INVALID_ARG_VALUE', message: /"x"/ });
});

t.test('non-FIFO paths, symlinks and missing paths', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'file'), sub = path.join(dir, 'sub'), fifo = path.join(dir, 'fifo'), link = path.join(dir, 'link');
  fs.writeFileSync(file, 'x');
  fs.mkdirSync(sub);
  execFileSync('mkfifo', [fifo]);
  fs.symlinkSync(fifo, link);
  const before = fdCount();
  for (const mode of ['r', 'w', 'rw'] as const) {
    await t.rejects(openFifo(file, mode), { code: 'ERR_NOT_FIFO', message: new RegExp(`${file}.*regular file`) });
    await t.rejects(openFifo(file, mode, { create: true }), { code: 'ERR_NOT_FIFO' });
    await t.rejects(openFifo(sub, mode, { create: true }), { code: 'ERR_NOT_FIFO', message: /directory/ });
    await t.rejects(openFifo(link, mode, { create: true }), { code: 'ERR_NOT_FIFO', message: /symbolic link/ });
    await t.rejects(openFifo(path.join(dir, 'missing'), mode), { code: 'ENOENT', message: /missing/ });
  }
  t.equal(fdCount(), before, 'no fd left behind');
  t.equal(fs.readFileSync(file, 'utf8'), 'x', 'the file is untouched');
  t.same(fs.readdirSync(dir).sort(), ['fifo', 'file', 'link', 'sub']);
  t.equal(await isFifo(fifo), true);
  t.equal(await isFifo(file), false);
  t.equal(await isFifo(link), false, 'a symlink is not followed');
  t.equal(await isFifo(path.join(dir, 'missing')), false);
  t.equal(await isFifo(path.join(file, 'below')), false);
});

t.test('200 pending opens leave the threadpool free', async (t) => {
  const dir = tmpDir(t);
  const writers: FifoWriter[] = [];
  t.teardown(() => writers.forEach((w) => w.destroy()));
  for (let i = 0; i < 200; i++) {
    const w = await openFifo(path.join(dir, `f${i}`), 'w', { create: true });
    w.on('error', () => {});
    writers.push(w);
  }
  // More calls at once than libuv has threadpool threads (4): had any open taken a thread, it would
  // hold it until a reader came, and these would never all answer. No clock: that is the bench's job.
  const stats = await Promise.all(Array.from({ length: 16 }, () => fsp.stat(dir)));
  t.equal(stats.length, 16, 'the threadpool answered every call');
  // And a reader arriving now gets its writer's data.
  const r = await openFifo(path.join(dir, 'f7'), 'r');
  writers[7]!.end('seven');
  t.equal(await readAll(r), 'seven');
});

/** Runs test/helpers/pendingOpens.mjs; killed with the test if it is still there. */
function pendingOpens(t: { teardown(fn: () => unknown): void }, dir: string, n: number, mode: 'exit' | 'idle' | 'written') {
  const child = spawn(process.execPath, [path.join(repoRoot, 'test/helpers/pendingOpens.mjs'), dir, String(n), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return { child, exited, pending: once(child.stdout!, 'data') };
}

t.test('a process with pending opens exits when asked', { timeout: 30_000 }, async (t) => {
  const { exited } = pendingOpens(t, tmpDir(t), 50, 'exit');
  t.equal(await exited, 0);
});

t.test('pending opens with nothing written do not keep the process alive', { timeout: 30_000 }, async (t) => {
  // No process.exit(): the child ends only if its retry timers are unref'd.
  const { exited } = pendingOpens(t, tmpDir(t), 20, 'idle');
  t.equal(await exited, 0, 'exited on its own');
});

t.test('a writer with data pending keeps the process alive until a reader takes it', { timeout: 30_000 }, async (t) => {
  const dir = tmpDir(t);
  const { exited, pending } = pendingOpens(t, dir, 10, 'written');
  await pending;
  const r = await openFifo(path.join(dir, 'f0'), 'r');
  const first = await Promise.race([readAll(r), exited.then((code) => `exited (${code}) before a reader came`)]);
  t.equal(first, 'data', 'the data waited for the reader');
  t.equal(await exited, 0, 'and then the process ended by itself');
});

t.test('closing a reader that waits for a writer ends it at once, without data or error', async (t) => {
  const dir = tmpDir(t);
  const r = await openFifo(path.join(dir, 'f'), 'r', { create: true });
  let data = 0;
  r.on('data', () => data++);
  r.on('error', (err) => t.fail(String(err)));
  const closed = once(r, 'close');
  r.destroy();
  await closed;
  t.equal(data, 0);
  t.same(fdsUnder(dir), []);
});

t.test('an rw end feeds other readers and their EOF comes when it closes', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'f');
  const rwFd = openFifoFd(p, 'rw', { create: true });
  const r1 = await openFifo(p, 'r');
  fs.writeSync(rwFd, 'barbar');
  t.equal(String((await once(r1, 'data'))[0]), 'barbar');
  r1.destroy();
  fs.writeSync(rwFd, 'bar456');
  const r2 = await openFifo(p, 'r');
  const rest = readAll(r2);
  fs.closeSync(rwFd);
  t.equal(await rest, 'bar456', 'data written with no reader waited in the pipe; EOF followed the close');
});

t.test('using a stream after close fails clearly', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'f');
  const w = await openFifo(p, 'w', { create: true });
  w.destroy();
  const err = await new Promise<NodeJS.ErrnoException | null | undefined>((resolve) => w.write('hello world!', resolve));
  t.equal(err?.code, 'ERR_STREAM_DESTROYED');
  const r = await openFifo(p, 'r');
  r.destroy();
  t.equal(r.read(), null, 'a closed reader yields nothing');
});
