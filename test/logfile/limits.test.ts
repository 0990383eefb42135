/**
 * Bad writer options and fds are refused where they enter, with a typed error and nothing left
 * behind: bounds on maxFiles and maxLineSize, the file mode, copyFrom's fd; and close() of a
 * stalled writer crashes no caller who handled the errors it documents.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { openLogWriter } from '../../src/logfile/logWriter.js';
import { maxMaxFiles, maxMaxLineSize, parseLogOptions } from '../../src/logfile/options.js';
import { pipe2 } from '../../src/sys/index.js';
import { fdCount, tmpDir } from '../helpers/common.js';

const opts = { timeout: 30_000 };

t.test('maxFiles above 1000 and maxLineSize above 64 MiB are ERR_INVALID_LOG_OPTION, in code and in a URI', opts, async (t) => {
  const dir = tmpDir(t, 'taskio-loglimits-');
  const file = path.join(dir, 'big.log');
  t.equal(maxMaxFiles, 1000);
  t.equal(maxMaxLineSize, 64 * 1024 * 1024);
  // The reproducers: a billion files made the first rotation spin; 2 GiB lines threw a RangeError at the first write.
  t.throws(() => openLogWriter(file, { maxSize: 4, maxFiles: 1e9 }), { code: 'ERR_INVALID_LOG_OPTION', message: /maxFiles="1000000000".*at most 1000/ });
  t.throws(() => openLogWriter(file, { maxSize: 4, maxFiles: 1001 }), { code: 'ERR_INVALID_LOG_OPTION', message: /maxFiles="1001"/ });
  t.throws(() => openLogWriter(file, { format: 'cri', maxLineSize: 2 * 1024 ** 3 }), { code: 'ERR_INVALID_LOG_OPTION', message: /maxLineSize="2147483648"/ });
  t.throws(() => openLogWriter(file, { format: 'cri', maxLineSize: maxMaxLineSize + 1 }), { code: 'ERR_INVALID_LOG_OPTION', message: /maxLineSize/ });
  t.throws(() => parseLogOptions(new URL('file:///x.log?maxSize=1&maxFiles=1000000000')), { code: 'ERR_INVALID_LOG_OPTION', message: /maxFiles/ });
  t.throws(() => parseLogOptions(new URL('file:///x.log?format=cri&maxLineSize=2GB')), { code: 'ERR_INVALID_LOG_OPTION', message: /maxLineSize/ });
  // The bounds themselves are accepted.
  t.same(parseLogOptions(new URL('file:///x.log?format=cri&maxSize=1&maxFiles=1000&maxLineSize=64MiB')),
    { path: '/x.log', format: 'cri', maxSize: 1, maxFiles: 1000, maxLineSize: maxMaxLineSize });
  await openLogWriter(file, { maxSize: 4, maxFiles: maxMaxFiles }).close();
  t.same(fs.readdirSync(dir), [], 'nothing was made');
});

t.test('a writer at maxFiles 1000 rotates a full set promptly', opts, async (t) => {
  const dir = tmpDir(t, 'taskio-loglimits-');
  const file = path.join(dir, 'r.log');
  const w = openLogWriter(file, { maxSize: 4, maxFiles: maxMaxFiles });
  const s = w.stream('stdout');
  for (let i = 0; i < 3; i++) {
    const rotated = once(w, 'rotate');
    s.write(`abc${i}`);
    s.write('d');
    await rotated;
  }
  await w.close();
  const names = fs.readdirSync(dir);
  t.ok(names.length >= 4 && names.length < 10, `a few files: ${names.join(' ')}`);
  const oldestFirst = names.map((n) => Number(n.split('.')[2] ?? 0)).sort((a, b) => b - a);
  const all = oldestFirst.map((i) => fs.readFileSync(i === 0 ? file : `${file}.${i}`, 'utf8')).join('');
  t.equal(all, 'abc0dabc1dabc2d', 'every byte kept, in order');
});

t.test('mode: permission bits only; anything else is refused before a file is made', opts, async (t) => {
  const dir = tmpDir(t, 'taskio-loglimits-');
  const file = path.join(dir, 'm.log');
  t.throws(() => openLogWriter(file, { mode: 0o4777 }), { code: 'ERR_INVALID_ARG_VALUE', message: /0o4777/ }, 'no setuid log');
  t.throws(() => openLogWriter(file, { mode: -1 }), { code: 'ERR_INVALID_ARG_VALUE', message: /-1/ });
  t.throws(() => openLogWriter(file, { mode: 0o640 + 0.5 }), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => openLogWriter(file, { mode: 'abc' as unknown as number }), { code: 'ERR_INVALID_ARG_TYPE', message: /"abc"/ });
  t.throws(() => openLogWriter(file, null as unknown as object), { code: 'ERR_INVALID_ARG_TYPE', message: /null/ });
  t.same(fs.readdirSync(dir), [], 'nothing was made');
  const old = process.umask(0);
  t.teardown(() => process.umask(old));
  const w = openLogWriter(file, { mode: 0o600 });
  await new Promise<void>((resolve, reject) => w.stream('stdout').write('x', (err) => (err ? reject(err) : resolve())));
  await w.close();
  t.equal(fs.statSync(file).mode & 0o7777, 0o600);
});

t.test('copyFrom never throws: a bad fd or name rejects, and the fd it owns is closed', opts, async (t) => {
  const dir = tmpDir(t, 'taskio-loglimits-');
  const w = openLogWriter(path.join(dir, 'c.log'), { format: 'cri' });
  t.teardown(() => w.close().catch(() => undefined));
  const before = fdCount();
  const cases: [string, () => number, { code: string; message: RegExp }][] = [
    ['a regular file', () => fs.openSync(path.join(dir, 'plain'), 'w'), { code: 'ERR_INVALID_FD_TYPE', message: /fd \d+ is a regular file/ }],
    ['/dev/null', () => fs.openSync('/dev/null', 'r'), { code: 'ERR_INVALID_FD_TYPE', message: /character device/ }],
    ['a directory', () => fs.openSync(dir, 'r'), { code: 'ERR_INVALID_FD_TYPE', message: /directory/ }],
  ];
  for (const [what, open, expected] of cases) {
    const fd = open();
    let p: Promise<number> | undefined;
    t.doesNotThrow(() => { p = w.copyFrom('stdout', fd); }, `${what}: no synchronous throw`);
    await t.rejects(p!, expected, what);
    t.throws(() => fs.fstatSync(fd), { code: 'EBADF' }, `${what}: the fd is closed`);
  }
  const { read, write } = pipe2();
  fs.closeSync(write);
  await t.rejects(w.copyFrom('stdin' as 'stdout', read), { code: 'ERR_INVALID_ARG_VALUE', message: /"stdin"/ }, 'a bad stream name rejects');
  t.throws(() => fs.fstatSync(read), { code: 'EBADF' }, 'and closes the pipe it was given');
  await t.rejects(w.copyFrom('stdout', 'x' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
  await t.rejects(w.copyFrom('stdout', 1.5), { code: 'ERR_INVALID_ARG_VALUE' });
  t.equal(fdCount(), before, 'no fd left');
});

t.test('close() of a writer stalled on a planted symlink: no stream error escapes, nothing written through the link', opts, async (t) => {
  const dir = tmpDir(t, 'taskio-loglimits-');
  const target = path.join(dir, 'target');
  fs.writeFileSync(target, 'keep');
  for (const format of ['raw', 'cri'] as const) {
    const file = path.join(dir, `${format}.log`);
    fs.symlinkSync(target, file);
    const before = fdCount();
    const w = openLogWriter(file, { format });
    const errors: string[] = [];
    w.on('error', (err: NodeJS.ErrnoException) => errors.push(err.code!));
    const out = w.stream('stdout'), err = w.stream('stderr');
    // Every documented error is handled: the writer's 'error' and close()'s rejection; the
    // streams have no 'error' listener, as a caller who only writes them has none.
    const outDone = new Promise<Error | null | undefined>((resolve) => out.write('a line\n', resolve));
    out.write('more\n');
    err.write('partial');
    err.end();
    await once(w, 'error');
    await t.rejects(w.close(), { code: 'ERR_NOT_REGULAR_FILE', message: new RegExp(`${format}\\.log.*symbolic link`) });
    t.match(await outDone, { code: 'ERR_NOT_REGULAR_FILE' }, `${format}: a pending write's callback gets the error`);
    // An unhandled 'error' would surface as an uncaught exception on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
    t.ok(out.destroyed && err.destroyed, `${format}: the streams are destroyed`);
    t.same(errors, ['ERR_NOT_REGULAR_FILE'], `${format}: the stall was reported once`);
    t.equal(fs.readFileSync(target, 'utf8'), 'keep', `${format}: nothing written through the symlink`);
    t.equal(fdCount(), before, `${format}: no fd left`);
  }
  // A stream with an 'error' listener still hears the loss there.
  const file = path.join(dir, 'heard.log');
  fs.symlinkSync(target, file);
  const w = openLogWriter(file);
  w.on('error', () => undefined);
  const s = w.stream('stdout');
  const heard = once(s, 'error');
  s.write('held\n');
  await t.rejects(w.close(), { code: 'ERR_NOT_REGULAR_FILE' });
  t.match((await heard)[0], { code: 'ERR_NOT_REGULAR_FILE' }, 'a listening stream gets the error');
  t.equal(fs.readFileSync(target, 'utf8'), 'keep');
});

t.test('a write after close() is still the stream\'s ERR_LOG_CLOSED error', opts, async (t) => {
  const dir = tmpDir(t, 'taskio-loglimits-');
  const w = openLogWriter(path.join(dir, 'after.log'));
  const s = w.stream('stdout');
  await w.close();
  const failed = once(s, 'error');
  s.write('late');
  t.match((await failed)[0], { code: 'ERR_LOG_CLOSED' });
});
