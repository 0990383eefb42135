import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import {
  newCreator, newAttach, nullIO, load, withStreams, withTerminal, withFIFODir, withStdio, defaultFIFODir,
  nonRetaining, newFIFOSet, newFIFOSetInDir, type IO,
} from '../../src/index.js';
import { openFifoFd } from '../../src/fifo/index.js';
import { bytesReadable } from '../../src/sys/index.js';
import { Collector, tmpDir, fdCount, fdsUnder, sh, exitOf, sha256, untilBytes, until } from '../helpers/common.js';

t.setTimeout(120_000);

const closeAll = (t: { teardown(fn: () => unknown): void }, io: IO) => t.teardown(() => io.close());

t.test('a task reads stdin and writes stdout and stderr through the set', async (t) => {
  const dir = tmpDir(t);
  const out = new Collector(), err = new Collector();
  const io = await newCreator(withStreams(Readable.from(['hello ', 'world']), out, err), withFIFODir(dir))('task');
  closeAll(t, io);
  const c = io.config();
  t.equal(path.dirname(path.dirname(c.stdout)), dir);
  t.match(c, { terminal: false, stdin: /task-stdin$/, stdout: /task-stdout$/, stderr: /task-stderr$/ });
  const task = sh('cat < "$1" > "$2"; echo oops > "$3"', c.stdin, c.stdout, c.stderr);
  await io.wait();
  t.equal(await exitOf(task), 0);
  t.equal(out.text(), 'hello world');
  t.equal(err.text(), 'oops\n');
  await io.close();
  t.same(fs.readdirSync(dir), [], 'close removed the FIFO directory');
});

t.test('streams not given get blank paths and no FIFO', async (t) => {
  const dir = tmpDir(t);
  const out = new Collector();
  const io = await newCreator(withStreams(null, out, null), withFIFODir(dir))('task');
  closeAll(t, io);
  const c = io.config();
  t.equal(c.stdin, '');
  t.equal(c.stderr, '');
  t.same(fs.readdirSync(path.dirname(c.stdout)).sort(), ['task-stdout'], 'no lock file beside the FIFO: the lock is on the FIFO itself');
  sh('printf x > "$1"', c.stdout);
  await io.wait();
  t.equal(out.text(), 'x');
});

t.test('terminal mode has no stderr', async (t) => {
  const dir = tmpDir(t);
  const out = new Collector(), err = new Collector();
  const io = await newCreator(withStreams(null, out, err), withTerminal, withFIFODir(dir))('tty');
  closeAll(t, io);
  t.equal(io.config().terminal, true);
  t.equal(io.config().stderr, '');
  sh('printf tty > "$1"', io.config().stdout);
  await io.wait();
  t.equal(out.text(), 'tty');
  t.equal(err.bytes, 0);
});

t.test('attach with each stream left out', async (t) => {
  const root = tmpDir(t);
  for (let mask = 0; mask < 8; mask++) {
    const set = await newFIFOSetInDir(root, `m${mask}`, false);
    const inp = mask & 1 ? Readable.from(['in']) : null;
    const out = mask & 2 ? new Collector() : null;
    const err = mask & 4 ? new Collector() : null;
    const io = await newAttach(withStreams(inp, out, err))(set);
    const c = io.config();
    t.equal(c.stdin === '', !inp, `mask ${mask} stdin`);
    t.equal(c.stdout === '', !out, `mask ${mask} stdout`);
    t.equal(c.stderr === '', !err, `mask ${mask} stderr`);
    const task = sh('[ -z "$1" ] || cat "$1" > /dev/null; [ -z "$2" ] || printf o > "$2"; [ -z "$3" ] || printf e > "$3"', c.stdin, c.stdout, c.stderr);
    t.equal(await exitOf(task), 0);
    await io.wait();
    if (out) t.equal(out.text(), 'o');
    if (err) t.equal(err.text(), 'e');
    await io.close();
    t.notOk(fs.existsSync(path.dirname(set.config.stdout)), 'closing the IO closed the set');
  }
  await t.rejects(newAttach()(undefined as never), { code: 'ERR_INVALID_ARG_TYPE' });
});

t.test('attach takes terminal mode from the set', async (t) => {
  const set = await newFIFOSetInDir(tmpDir(t), 'tty', true);
  const out = new Collector(), err = new Collector();
  const io = await newAttach(withStreams(null, out, err))(set);
  closeAll(t, io);
  t.equal(io.config().terminal, true);
  t.equal(io.config().stderr, '');
});

t.test('cancel ends a pending stdin open and an idle copy; close removes the set', async (t) => {
  const dir = tmpDir(t);
  const before = fdCount();
  const stdin = new Readable({ read() {} });
  const io = await newCreator(withStreams(stdin, new Collector(), new Collector()), withFIFODir(dir))('idle');
  stdin.push('nobody will read this');
  io.cancel();
  await io.wait();
  io.cancel();
  await io.close();
  t.same(fs.readdirSync(dir), []);
  t.equal(fdCount(), before, 'no fd left');
  t.equal(stdin.destroyed, false, 'the caller\'s stream is not closed by taskio');
});

t.test('cancel, wait and close are idempotent and safe in any order', async (t) => {
  const dir = tmpDir(t);
  const orders = [['close', 'wait', 'cancel'], ['cancel', 'close', 'wait'], ['wait0', 'close', 'close'], ['cancel', 'cancel', 'wait']];
  for (const order of orders) {
    const io = await newCreator(withStreams(Readable.from([]), new Collector(), new Collector()), withFIFODir(dir))('o');
    const waits: Promise<void>[] = [];
    for (const step of order) {
      if (step === 'cancel') io.cancel();
      else if (step === 'close') waits.push(io.close());
      else if (step === 'wait') waits.push(io.wait());
      else waits.push(io.wait()); // wait before anything ended: must resolve once close runs
    }
    if (!order.includes('close')) waits.push(io.close());
    await Promise.all(waits);
    t.pass(order.join(' → '));
  }
  t.same(fs.readdirSync(dir), []);
});

t.test('closing while a task writes ends the copy and the task sees EPIPE', async (t) => {
  const dir = tmpDir(t);
  const out = new Collector();
  const io = await newCreator(withStreams(null, out, null), withFIFODir(dir))('busy');
  const task = sh('exec cat /dev/zero > "$1"', io.config().stdout);
  await untilBytes(out, 1 << 20);
  await io.close();
  await io.wait();
  t.not(await exitOf(task), 0, 'cat stopped on SIGPIPE/EPIPE');
  t.same(fs.readdirSync(dir), []);
});

t.test('a slow consumer stops the producer; memory stays bounded', async (t) => {
  const dir = tmpDir(t);
  let release: () => void = () => {};
  let held = 0, total = 0, released = false;
  const sink = new Writable({
    highWaterMark: 64 << 10,
    write(chunk: Buffer, _e, cb) {
      total += chunk.length;
      if (total < (2 << 20) || released) return cb();
      held++;
      release = () => { released = true; cb(); };
    },
  });
  const io = await newCreator(withStreams(null, sink, null), withFIFODir(dir))('slow');
  closeAll(t, io);
  const peek = openFifoFd(io.config().stdout, 'r');
  t.teardown(() => fs.closeSync(peek));
  const task = sh('head -c 67108864 /dev/zero > "$1"', io.config().stdout);
  // The pipe fills up once the sink stops acknowledging: the producer is then blocked.
  await until(() => held === 1 && bytesReadable(peek) >= 900 << 10, 20_000, 'a full pipe');
  t.ok(total <= (4 << 20), `the consumer took ${total} bytes, not the 64 MiB on offer`);
  t.equal(task.exitCode, null, 'the producer is blocked, not finished');
  t.equal(held, 1, 'no more writes while the sink holds one');
  release();
  await io.wait();
  t.equal(await exitOf(task), 0);
  t.equal(total, 64 << 20, 'everything arrives once the consumer resumes');
});

t.test('lent buffers (non-retaining sinks) and slab chunks (any other sink) both arrive intact', async (t) => {
  const dir = tmpDir(t);
  const data = randomBytes(8 << 20);
  const src = path.join(dir, 'src.bin');
  fs.writeFileSync(src, data);
  // A file stream is known not to keep chunks: it borrows buffers; the Collector gets slab pieces.
  const file = path.join(dir, 'out.bin');
  const fileSink = fs.createWriteStream(file);
  const hashes: string[] = [];
  const lent: Buffer[] = [];
  const marked = nonRetaining(new Writable({ write(c: Buffer, _e, cb) { lent.push(Buffer.from(c)); cb(); } }));
  for (const [name, sink] of [['fs.WriteStream', fileSink], ['marked', marked], ['collector', new Collector()]] as const) {
    const io = await newCreator(withStreams(null, sink, null), withFIFODir(dir))('big');
    sh('cat "$1" > "$2"', src, io.config().stdout);
    await io.wait();
    await io.close();
    const got = name === 'fs.WriteStream' ? fs.readFileSync(file) : name === 'marked' ? Buffer.concat(lent) : (sink as Collector).buffer();
    hashes.push(sha256(got));
    t.equal(got.length, data.length, `${name}: every byte written before wait() resolved`);
  }
  fileSink.end();
  t.same(hashes, [sha256(data), sha256(data), sha256(data)]);
});

t.test('detach mid-stream and reattach: every byte exactly once', async (t) => {
  const dir = tmpDir(t);
  const data = randomBytes(16 << 20);
  const src = path.join(dir, 'src.bin');
  fs.writeFileSync(src, data);
  const first = new Collector();
  const io1 = await newCreator(withStreams(null, first, null), withFIFODir(dir))('re');
  t.teardown(() => io1.close());
  const config = io1.config();
  // The task host's keep-alive fd: the task never sees EPIPE while no client reads.
  const keep = openFifoFd(config.stdout, 'rw');
  t.teardown(() => fs.closeSync(keep));
  const task = sh('cat "$1" > "$2"', src, config.stdout);
  await untilBytes(first, 5 << 20);
  io1.cancel();
  await io1.wait();
  const got1 = first.bytes;
  t.ok(got1 < data.length, `detached after ${got1} bytes`);
  // The task keeps writing into the pipe until it is full, then waits for a reader.
  const second = new Collector();
  const io2 = await newAttach(withStreams(null, second, null))(newFIFOSet(config));
  t.teardown(() => io2.close());
  await untilBytes(second, data.length - got1);
  t.equal(await exitOf(task), 0);
  t.equal(first.bytes + second.bytes, data.length, 'no byte repeated or lost');
  t.equal(sha256(Buffer.concat([first.buffer(), second.buffer()])), sha256(data));
});

t.test('1,000 create → 1-byte round trip → close cycles leave nothing behind', async (t) => {
  const dir = tmpDir(t);
  const before = fdCount();
  for (let i = 0; i < 1000; i++) {
    const out = new Collector();
    const io = await newCreator(withStreams(null, out, null), withFIFODir(dir))(`c${i}`);
    const fd = openFifoFd(io.config().stdout, 'w');
    fs.writeSync(fd, 'x');
    fs.closeSync(fd);
    await io.wait();
    if (out.text() !== 'x') t.fail(`cycle ${i} got ${JSON.stringify(out.text())}`);
    await io.close();
  }
  t.equal(fdCount(), before, 'fd count unchanged');
  t.same(fs.readdirSync(dir), [], 'FIFO dir as it was');
  t.same(fdsUnder(dir), []);
});

t.test('nullIO and load', async (t) => {
  const io = await nullIO('anything');
  t.same(io.config(), { terminal: false, stdin: '', stdout: '', stderr: '' });
  io.cancel();
  await io.wait();
  await io.close();
  const root = tmpDir(t);
  const set = await newFIFOSetInDir(root, 'l', false);
  const loaded = await load(set);
  t.same(loaded.config(), set.config);
  loaded.cancel();
  await loaded.wait();
  await Promise.all([loaded.close(), loaded.close()]);
  t.same(fs.readdirSync(root), [], 'load().close() closes the set');
});

t.test('options: defaults, withStdio, withFIFODir', async (t) => {
  t.equal(defaultFIFODir(), process.getuid?.() === 0 ? '/run/taskio/fifo' : defaultFIFODir());
  const s: Record<string, unknown> = {};
  withStdio(s);
  t.equal(s.stdin, process.stdin);
  t.equal(s.stdout, process.stdout);
  t.equal(s.stderr, process.stderr);
  // The default directory is the machine's: made by this test, it goes again (empty, never
  // recursively). Its parent stays: another test file may be using it meanwhile.
  const made = !fs.existsSync(defaultFIFODir());
  const io = await newCreator(withStreams(null, new Collector(), null))('default-dir');
  t.teardown(async () => {
    await io.close();
    if (made) fs.rmdirSync(defaultFIFODir());
  });
  t.ok(io.config().stdout.startsWith(`${defaultFIFODir()}/`), 'the default FIFO dir is used');
  await t.rejects(newCreator(withFIFODir(tmpDir(t)))('../escape'), { code: 'ERR_INVALID_ID' });
});
