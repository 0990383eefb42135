import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { openLogWriter } from '../../src/logfile/logWriter.js';
import { followLog } from '../../src/logfile/followLog.js';
import { mkfifo, pipe2 } from '../../src/sys/index.js';
import { fdCount, tmpDir } from '../helpers/common.js';

// libuv has 4 threadpool threads: this many blocked opens would freeze every fs call.
const threadpool = 4;

t.test('a FIFO planted at a log path: the writer refuses it at once, no threadpool thread blocks', { timeout: 30_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-logfifo-');
  const fdsBefore = fdCount();
  const writers = Array.from({ length: threadpool }, (_, i) => {
    const file = path.join(dir, `planted-${i}.log`);
    mkfifo(file, 0o600);
    return openLogWriter(file, { format: 'cri' });
  });
  const errors = await Promise.all(writers.map(async (w) => {
    const failed = once(w, 'error');
    const s = w.stream('stdout');
    s.on('error', () => undefined); // the held line fails when close() gives up on the file
    s.write('a line\n');
    return (await failed)[0] as NodeJS.ErrnoException;
  }));
  for (const [i, err] of errors.entries()) {
    t.match(err, { code: 'ERR_NOT_REGULAR_FILE', message: new RegExp(`planted-${i}\\.log.*FIFO`) }, `writer ${i}: typed error naming the path`);
  }
  // Were an open blocked on any FIFO, this would wait for it (all four threads taken).
  t.ok((await fs.promises.stat(dir)).isDirectory(), 'the threadpool still answers');
  await Promise.all(writers.map((w) => t.rejects(w.close(), { code: 'ERR_NOT_REGULAR_FILE' }, 'closing reports the held output')));
  t.equal(fdCount(), fdsBefore, 'no fd left');
});

t.test('a FIFO with a reader planted at a log path is refused too (the open itself would succeed)', { timeout: 30_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-logfifo-');
  const file = path.join(dir, 'read.log');
  mkfifo(file, 0o600);
  const reader = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  t.teardown(() => fs.closeSync(reader));
  const w = openLogWriter(file);
  const failed = once(w, 'error');
  const s = w.stream('stderr');
  const held = once(s, 'error');
  s.write('secret\n');
  t.match((await failed)[0], { code: 'ERR_NOT_REGULAR_FILE', message: /read\.log.*FIFO/ });
  await t.rejects(w.close(), { code: 'ERR_NOT_REGULAR_FILE' });
  t.match((await held)[0], { code: 'ERR_NOT_REGULAR_FILE' }, 'the held write fails with it');
  const buf = Buffer.alloc(64);
  // No writer holds it now, so an empty FIFO reads as EOF.
  t.equal(fs.readSync(reader, buf), 0, 'nothing reached the FIFO');
});

t.test('a symlink planted at a log path does not redirect the writes', { timeout: 30_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-loglink-');
  const target = path.join(dir, 'elsewhere');
  fs.writeFileSync(target, 'precious\n');
  const file = path.join(dir, 'task.log');
  fs.symlinkSync(target, file);
  const dangling = path.join(dir, 'dangling.log');
  fs.symlinkSync(path.join(dir, 'would-be-created'), dangling);
  for (const p of [file, dangling]) {
    const w = openLogWriter(p);
    const failed = once(w, 'error');
    const s = w.stream('stdout');
    s.on('error', () => undefined);
    s.write('attacker wants this in the target\n');
    t.match((await failed)[0], { code: 'ERR_NOT_REGULAR_FILE', message: new RegExp(`${path.basename(p)}.*symbolic link`) });
    await t.rejects(w.close(), { code: 'ERR_NOT_REGULAR_FILE' });
  }
  t.equal(fs.readFileSync(target, 'utf8'), 'precious\n', 'the target is untouched');
  t.notOk(fs.existsSync(path.join(dir, 'would-be-created')), 'a dangling link creates nothing');
});

t.test('writing to a closed log writer fails with a code', { timeout: 30_000 }, async (t) => {
  const w = openLogWriter(path.join(tmpDir(t, 'taskio-logclosed-'), 'x.log'));
  await w.close();
  const s = w.stream('stdout');
  const failed = once(s, 'error');
  s.write('late\n');
  t.match((await failed)[0], { code: 'ERR_LOG_CLOSED', message: /x\.log/ });
  const p = pipe2();
  t.teardown(() => fs.closeSync(p.write));
  await t.rejects(w.copyFrom('stdout', p.read), { code: 'ERR_LOG_CLOSED' }, 'a copy into a closed writer is refused');
  t.throws(() => fs.fstatSync(p.read), { code: 'EBADF' }, 'and its fd closed (copyFrom owns it)');
});

t.test('followLog never opens a FIFO or follows a symlink in the rotation set', { timeout: 30_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-followunsafe-');
  const secret = path.join(dir, 'secret');
  fs.writeFileSync(secret, 'root-only contents\n');
  const linked = path.join(dir, 'l.log');
  fs.writeFileSync(linked, 'mine\n');
  fs.symlinkSync(secret, `${linked}.1`);
  const read = async (file: string): Promise<string> => {
    let s = '';
    for await (const e of followLog(file)) s += e.content.toString();
    return s;
  };
  await t.rejects(read(linked), { code: 'ERR_NOT_REGULAR_FILE', message: /l\.log\.1.*symbolic link/ });
  const fifos = Array.from({ length: threadpool }, (_, i) => {
    const f = path.join(dir, `f${i}.log`);
    mkfifo(f, 0o600);
    return f;
  });
  for (const f of fifos) await t.rejects(read(f), { code: 'ERR_NOT_REGULAR_FILE', message: /FIFO/ });
  t.ok((await fs.promises.stat(dir)).isDirectory(), 'the threadpool still answers');
});

t.test('a directory at a log path: the writer stalls on ERR_NOT_REGULAR_FILE naming it, nothing left open', { timeout: 30_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-logdir-');
  const file = path.join(dir, 'dir.log');
  fs.mkdirSync(file);
  const fdsBefore = fdCount();
  for (const format of ['raw', 'cri'] as const) {
    const w = openLogWriter(file, { format });
    const failed = once(w, 'error');
    const s = w.stream('stdout');
    const held = new Promise((resolve) => s.write('a line\n', resolve));
    const err = (await failed)[0] as NodeJS.ErrnoException;
    t.match(err, { code: 'ERR_NOT_REGULAR_FILE', message: /dir\.log" is not a regular file \(it is a directory\)/ }, `${format}: typed, naming the path`);
    await t.rejects(w.close(), { code: 'ERR_NOT_REGULAR_FILE' }, `${format}: closing reports the held output`);
    t.match(await held, { code: 'ERR_NOT_REGULAR_FILE' });
  }
  t.equal(fdCount(), fdsBefore, 'no fd left');
  t.same(fs.readdirSync(file), [], 'nothing made in the directory');
});
