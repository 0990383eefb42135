import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { text } from 'node:stream/consumers';
import { DirectIO, newDirectIO, newFIFOSetInDir, FifoWriter } from '../../src/index.js';
import { tmpDir, sh, exitOf, fdCount } from '../helpers/common.js';

t.setTimeout(60_000);

t.test('DirectIO gives the FIFO set as streams', async (t) => {
  const root = tmpDir(t);
  const set = await newFIFOSetInDir(root, 'd', false);
  const io = await newDirectIO(set);
  t.type(io, DirectIO);
  t.type(io.stdin, FifoWriter);
  t.ok(io.stdout && io.stderr);
  t.same(io.config(), set.config);
  t.equal(await io.ioCreate('any'), io);
  t.equal(await io.ioAttach(set), io);
  const task = sh('read line < "$1"; echo "out:$line" > "$2"; echo "err:$line" > "$3"', set.config.stdin, set.config.stdout, set.config.stderr);
  io.stdin!.end('ping\n');
  const [out, err] = await Promise.all([text(io.stdout!), text(io.stderr!)]);
  t.equal(out, 'out:ping\n');
  t.equal(err, 'err:ping\n');
  t.equal(await exitOf(task), 0);
  await io.wait();
  await io.close();
  await io.close();
  t.same(fs.readdirSync(root), []);
});

t.test('terminal sets have no stderr stream', async (t) => {
  const set = await newFIFOSetInDir(tmpDir(t), 'tty', true);
  const io = await newDirectIO(set);
  t.teardown(() => io.close());
  t.equal(io.stderr, null);
  t.ok(io.stdout);
});

t.test('cancel aborts a pending stdin open and ends the output streams; nothing leaks', async (t) => {
  const root = tmpDir(t);
  const before = fdCount();
  const set = await newFIFOSetInDir(root, 'c', false);
  const io = await newDirectIO(set);
  const closed = once(io.stdin!, 'close');
  io.cancel();
  await closed;
  t.ok(io.stdin!.destroyed, 'stdin is destroyed');
  await io.wait();
  t.same([await text(io.stdout!), await text(io.stderr!)], ['', ''], 'the outputs end, holding nothing');
  await io.close();
  t.equal(fdCount(), before);
  t.same(fs.readdirSync(root), []);
});

t.test('an aborted signal fails at once and leaves nothing', async (t) => {
  const root = tmpDir(t);
  const set = await newFIFOSetInDir(root, 'a', false);
  await t.rejects(newDirectIO(set, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  const ac = new AbortController();
  const io = await newDirectIO(set, { signal: ac.signal });
  const failed = once(io.stdin!, 'error');
  ac.abort();
  t.equal((await failed)[0].name, 'AbortError', 'the caller\'s signal cancels the pending stdin open');
  await io.close();
  t.same(fs.readdirSync(root), []);
});

t.test('a non-FIFO in place of a FIFO fails with ERR_NOT_FIFO and releases the lock', async (t) => {
  const root = tmpDir(t);
  const set = await newFIFOSetInDir(root, 'n', false);
  t.teardown(() => set.close());
  fs.writeFileSync(set.config.stderr, 'a file');
  const before = fdCount();
  await t.rejects(newDirectIO(set), { code: 'ERR_NOT_FIFO', message: new RegExp(path.basename(set.config.stderr)) });
  t.equal(fdCount(), before, 'no fd left');
  fs.unlinkSync(set.config.stderr);
  const io = await newDirectIO(set);
  t.pass('the lock was released');
  await io.close();
});

t.test('cancel releases the reader lock, so another client can attach', async (t) => {
  const root = tmpDir(t);
  const set = await newFIFOSetInDir(root, 'l', false);
  const io = await newDirectIO(set);
  await t.rejects(newDirectIO(set), { code: 'EBUSY' });
  io.cancel();
  const again = await newDirectIO(set);
  await again.close();
  await io.close();
  t.same(fs.readdirSync(root), []);
});
