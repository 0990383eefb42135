import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import {
  newAttach, newCreator, newFIFOSet, newFIFOSetInDir, withCoalescing, withFIFODir, withStdinClose, withStdio, withStreams,
  withTerminal, type Opt,
} from '../../src/index.js';
import { Pump } from '../../src/attach/index.js';
import { openFifoFd } from '../../src/fifo/index.js';
import { Collector, tmpDir, fdCount, fdsUnder, dirWithPlanted } from '../helpers/common.js';

t.setTimeout(60_000);

// The first copy of a process opens a few fds of its own for good (libuv, the native module): one
// round trip first, so that the counts below compare like with like.
t.before(async () => {
  const dir = fs.mkdtempSync(path.join('/tmp', 'taskio-warm-'));
  const io = await newCreator(withStreams(new PassThrough(), new Collector(), new Collector()), withFIFODir(dir))('warm');
  await io.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Two turns of the event loop: long enough for an error thrown from a callback to surface. */
const turns = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

t.test('withStreams refuses a stdin that is not a Readable, naming it; the process goes on', async (t) => {
  const dir = tmpDir(t);
  const before = fdCount();
  for (const bad of [{}, 'x', 42, { pipe() {}, on() {} }]) {
    t.throws(() => withStreams(bad as never), { code: 'ERR_INVALID_ARG_TYPE', message: /^stdin must be a Readable stream/ }, String(bad));
    // As the audit wrote it: before the fix the copy failed inside, then a detach threw out of the event loop.
    await t.rejects(async () => newCreator(withStreams(bad as never, new PassThrough()), withFIFODir(dir))('t'), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  await turns();
  t.same(fs.readdirSync(dir), [], 'nothing made');
  t.equal(fdCount(), before, 'no fd left');
});

t.test('withStreams refuses outputs that are not Writables, naming which', async (t) => {
  const dir = tmpDir(t);
  const before = fdCount();
  for (const bad of ['nope', {}, 7, { write() {} }]) {
    t.throws(() => withStreams(null, bad as never), { code: 'ERR_INVALID_ARG_TYPE', message: /^stdout must be a Writable stream/ });
    t.throws(() => withStreams(null, null, bad as never), { code: 'ERR_INVALID_ARG_TYPE', message: /^stderr must be a Writable stream/ });
    await t.rejects(async () => newCreator(withStreams(null, bad as never), withFIFODir(dir))('t'), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  await turns();
  t.same(fs.readdirSync(dir), []);
  t.equal(fdCount(), before, 'no fd left');
  for (const ok of [[], [null, null, null], [undefined, new Collector()], [Readable.from([]), new Collector(), process.stderr]] as const) {
    t.doesNotThrow(() => withStreams(...(ok as [])), 'streams, null and undefined are fine');
  }
});

// A destroyed or ended sink was taken, and the task's output went nowhere without a word.
t.test('a stream already destroyed, or an output already ended, is refused naming it: at withStreams and when an IO is made', async (t) => {
  const dir = tmpDir(t);
  const set = await newFIFOSetInDir(dir, 'gone', false);
  t.teardown(() => set.close());
  const before = fdCount();
  const destroyed = (): Collector => { const c = new Collector(); c.destroy(); return c; };
  const ended = (): Collector => { const c = new Collector(); c.end(); return c; };
  for (const [make, why] of [[destroyed, 'destroyed'], [ended, 'ended']] as const) {
    t.throws(() => withStreams(null, make()), { code: 'ERR_INVALID_ARG_VALUE', message: new RegExp(`^stdout stream is already ${why}: the task's output would be dropped`) });
    t.throws(() => withStreams(null, new Collector(), make()), { code: 'ERR_INVALID_ARG_VALUE', message: new RegExp(`^stderr stream is already ${why}`) });
    t.throws(() => newCreator((s) => { s.stdout = make(); }), { code: 'ERR_INVALID_ARG_VALUE', message: /^stdout/ }, 'a hand-written option');
  }
  const gone = new PassThrough();
  gone.destroy();
  t.throws(() => withStreams(gone), { code: 'ERR_INVALID_ARG_VALUE', message: /^stdin stream is already destroyed: the task's stdin would never end/ });
  const empty = Readable.from([]);
  empty.resume();
  await new Promise((resolve) => empty.once('end', resolve));
  t.ok(empty.destroyed, 'destroyed after its end (autoDestroy)');
  t.doesNotThrow(() => withStreams(empty), 'a stdin that ended is fine: the task reads EOF');

  // The creator and the attach are made while the streams work; they fail before the calls.
  for (const [name, pick] of [['stdout', (out: Collector) => [null, out]], ['stderr', (err: Collector) => [null, new Collector(), err]]] as const) {
    for (const stop of [(c: Collector) => c.destroy(), (c: Collector) => c.end()]) {
      const sink = new Collector();
      const create = newCreator(withStreams(...(pick(sink) as [])), withFIFODir(dir));
      const attach = newAttach(withStreams(...(pick(sink) as [])));
      stop(sink);
      await t.rejects(create('late'), { code: 'ERR_INVALID_ARG_VALUE', message: new RegExp(`^${name} stream is already`) });
      await t.rejects(attach(set), { code: 'ERR_INVALID_ARG_VALUE', message: new RegExp(`^${name} stream is already`) });
    }
  }
  await turns();
  t.same(fs.readdirSync(dir), [path.basename(path.dirname(set.config.stdout))], 'no FIFO set made');
  t.equal(fdCount(), before, 'no fd left');
});

t.test('withTerminal() and withStdio() called by mistake name the option; withTerminal itself works', async (t) => {
  for (const [opt, name] of [[withTerminal, 'withTerminal'], [withStdio, 'withStdio']] as const) {
    t.throws(() => (opt as unknown as () => Opt)(), { code: 'ERR_INVALID_ARG_TYPE', message: `${name} is an option itself: pass ${name}, not ${name}()` });
  }
  const dir = tmpDir(t);
  const io = await newCreator(withStreams(null, new Collector()), withTerminal, withFIFODir(dir))('tty');
  t.teardown(() => io.close());
  t.equal(io.config().terminal, true);
  t.equal(io.config().stderr, '', 'no stderr FIFO in terminal mode');
});

t.test('a hand-written option that sets a bad stream is refused before anything is made', async (t) => {
  const dir = tmpDir(t);
  const set = await newFIFOSetInDir(dir, 's', false);
  const before = fdCount();
  const badOut: Opt = (s) => { s.stdout = 'nope' as never; };
  const badIn: Opt = (s) => { s.stdin = {} as never; };
  t.throws(() => newCreator(badOut, withFIFODir(dir)), { code: 'ERR_INVALID_ARG_TYPE', message: /stdout.*"nope"/ });
  t.throws(() => newAttach(badIn), { code: 'ERR_INVALID_ARG_TYPE', message: /stdin/ });
  t.same(fs.readdirSync(dir), [path.basename(path.dirname(set.config.stdout))]);
  t.same(fs.readdirSync(path.dirname(set.config.stdout)), [], 'no FIFO made');
  t.equal(fdCount(), before);
  await set.close();
});

t.test('options that are no functions, and bad option values, are typed errors naming the value', async (t) => {
  for (const bad of ['x', null, undefined, 42]) {
    t.throws(() => newCreator(bad as never), { code: 'ERR_INVALID_ARG_TYPE', message: new RegExp(`option 1 .*got ${bad === 'x' ? '"x"' : String(bad)}$`) });
    t.throws(() => newAttach(withStreams(), bad as never), { code: 'ERR_INVALID_ARG_TYPE', message: /option 2 / });
  }
  for (const bad of [null, undefined, 42, {}]) {
    t.throws(() => withFIFODir(bad as never), { code: 'ERR_INVALID_ARG_TYPE', message: /FIFO directory/ }, String(bad));
  }
  for (const bad of ['', '/tmp/a\0b']) {
    t.throws(() => withFIFODir(bad), { code: 'ERR_INVALID_ARG_VALUE', message: /FIFO directory .*got "/ }, JSON.stringify(bad));
  }
  t.throws(() => withCoalescing('no' as never), { code: 'ERR_INVALID_ARG_TYPE', message: /"no"/ });
  t.throws(() => withStdinClose('x' as never), { code: 'ERR_INVALID_ARG_TYPE', message: /"x"/ });
  await t.rejects(newAttach(withStreams())('set' as never), { code: 'ERR_INVALID_ARG_TYPE', message: /newAttach needs a FIFOSet.*"set"/ });
  await t.rejects(newFIFOSetInDir('', 'id', false), { code: 'ERR_INVALID_ARG_VALUE' });
  await t.rejects(newFIFOSetInDir(null as never, 'id', false), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.rejects(newFIFOSetInDir(tmpDir(t), 'id', 'yes' as never), { code: 'ERR_INVALID_ARG_TYPE', message: /terminal/ });
});

t.test('a Pump whose constructor throws closes the fd it was given', async (t) => {
  const dir = tmpDir(t);
  const before = fdCount();
  for (const bad of ['nope', {}, { write() {}, on() { throw new Error('no listeners here'); } }]) {
    const fd = openFifoFd(path.join(dir, 'p'), 'r', { create: true });
    t.throws(() => new Pump(fd, bad as never));
  }
  await turns();
  t.same(fdsUnder(dir), [], 'no fd on the FIFO');
  t.equal(fdCount(), before);
});

t.test('a failed attach removes the FIFOs it made, and only those', async (t) => {
  const { dir, reg, old } = dirWithPlanted(t);
  const before = fdCount();
  // stdin a regular file: refused once stdout (made here, with its lock) and stderr (there before) are open.
  const set = newFIFOSet({ terminal: false, stdin: reg, stdout: path.join(dir, 'out'), stderr: old });
  await t.rejects(newAttach(withStreams(new PassThrough(), new Collector(), new Collector()))(set), { code: 'ERR_NOT_FIFO', message: /reg/ });
  t.same(fs.readdirSync(dir).sort(), ['old', 'reg'], 'the FIFO it made is gone, what was there stays');
  t.ok(fs.lstatSync(old).isFIFO());
  t.equal(fs.readFileSync(reg, 'utf8'), 'x');
  // stderr a regular file and stdin missing: stdout and stdin were made, and both go.
  const set2 = newFIFOSet({ terminal: false, stdin: path.join(dir, 'in'), stdout: path.join(dir, 'out'), stderr: reg });
  await t.rejects(newAttach(withStreams(new PassThrough(), new Collector(), new Collector()))(set2), { code: 'ERR_NOT_FIFO' });
  t.same(fs.readdirSync(dir).sort(), ['old', 'reg']);
  await turns();
  t.equal(fdCount(), before, 'no fd left');
  // The same set attaches once the file is a FIFO: the failure left nothing in the way.
  fs.unlinkSync(reg);
  const io = await newAttach(withStreams(new PassThrough(), new Collector(), new Collector()))(set);
  await io.close();
  t.same(fs.readdirSync(dir).sort(), ['old', 'out', 'reg'], 'a successful attach keeps what it made');
});
