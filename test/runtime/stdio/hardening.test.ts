/**
 * The process side never leaks an fd, never blocks on a planted file, never follows a planted
 * symlink, and every error it raises has a code.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { openFifoFd } from '../../../src/fifo/index.js';
import { createIO, parseTarget } from '../../../src/runtime/stdio/index.js';
import { BinarySink } from '../../../src/runtime/stdio/binarySink.js';
import { OutputFifo } from '../../../src/runtime/stdio/outputFifo.js';
import { fdCount, repoRoot, tmpDir } from '../../helpers/common.js';

const opts = { timeout: 30_000 };
const sinkOptions = { id: 'x', namespace: 'default', readyTimeout: 10_000, grace: 1000 };

t.test('binary://: an argument with a NUL is refused before anything opens', opts, async (t) => {
  const before = fdCount();
  await t.rejects(createIO({ terminal: false, stdin: '', stdout: 'binary:///bin/cat?a=%00b', stderr: '' }, { id: 'x' }),
    { code: 'ERR_INVALID_ARG_VALUE', message: /NUL/ });
  // Below the URI check, a spawn that throws at once (Node refuses the NUL) closes every pipe made for it.
  await t.rejects(BinarySink.start('/bin/cat', ['a\0b'], false, sinkOptions), { code: 'ERR_INVALID_ARG_VALUE' });
  t.equal(fdCount(), before, 'no fd left');
});

t.test('binary://: pipe2 failing half-way (EMFILE) leaves no fd', opts, async (t) => {
  // In a child with a low fd limit, filled up to two free fds: one pipe fits, the second fails.
  const script = `
    import fs from 'node:fs';
    import { BinarySink } from ${JSON.stringify(path.join(repoRoot, 'dist/runtime/stdio/binarySink.js'))};
    const held = [];
    for (;;) { try { held.push(fs.openSync('/dev/null', 'r')); } catch { break; } }
    fs.closeSync(held.pop()); fs.closeSync(held.pop());
    let code = null;
    try { await BinarySink.start('/bin/cat', [], false, { id: 'x', namespace: 'n', readyTimeout: 1000, grace: 100 }); } catch (e) { code = e.code; }
    let free = 0;
    for (let i = 0; i < 2; i++) { try { held.push(fs.openSync('/dev/null', 'r')); free++; } catch { break; } }
    process.stdout.write(JSON.stringify({ code, free }));
  `;
  const child = spawn('prlimit', ['--nofile=128', process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let said = '';
  child.stdout!.on('data', (d: Buffer) => { said += d; });
  await once(child, 'close');
  t.same(JSON.parse(said), { code: 'EMFILE', free: 2 }, 'the first pipe was closed again');
});

t.test('binary://: start is driven by the spawn and ready events, never by a timer', opts, async (t) => {
  const dir = tmpDir(t);
  // Ready by closing fd 5 without a byte (binary:// v1 accepts that), then a real logger's work.
  const logger = path.join(dir, 'logger.sh');
  fs.writeFileSync(logger, '#!/bin/sh\nexec 5>&-\ncat <&3 >/dev/null & cat <&4 >/dev/null\nwait\n', { mode: 0o755 });
  const realSetTimeout = globalThis.setTimeout;
  // Every timer armed from here on never fires: what start() waits for must be an event.
  globalThis.setTimeout = ((..._args: unknown[]) => realSetTimeout(() => undefined, 2 ** 31 - 1).unref()) as unknown as typeof setTimeout;
  let bound: NodeJS.Timeout | undefined;
  const stuck = new Promise<'stuck'>((resolve) => { bound = realSetTimeout(() => resolve('stuck'), 15_000); });
  try {
    const missing = await Promise.race([BinarySink.start(path.join(dir, 'no-such-logger'), [], false, sinkOptions).then(() => 'started', (e: { code?: string }) => e.code), stuck]);
    t.equal(missing, 'ERR_LOGGER_NOT_READY', 'a missing binary: the spawn error');
    const sink = await Promise.race([BinarySink.start(logger, [], false, sinkOptions), stuck]);
    t.not(sink, 'stuck', 'a logger that closed fd 5: ready at once');
    if (sink !== 'stuck') {
      globalThis.setTimeout = realSetTimeout;
      await sink.close();
    }
  } finally {
    globalThis.setTimeout = realSetTimeout;
    clearTimeout(bound);
  }
});

t.test('file://: a planted symlink, FIFO or directory is refused, never followed or blocked on', opts, async (t) => {
  const dir = tmpDir(t);
  const before = fdCount();
  const uri = (p: string) => ({ terminal: false, stdin: '', stdout: `file://${p}`, stderr: `file://${p}` });

  const target = path.join(dir, 'elsewhere');
  fs.writeFileSync(target, 'precious\n');
  const link = path.join(dir, 'link.log');
  fs.symlinkSync(target, link);
  await t.rejects(createIO(uri(link), { id: 'x' }), { code: 'ERR_NOT_REGULAR_FILE', message: /link\.log.*a symbolic link/ });
  t.equal(fs.readFileSync(target, 'utf8'), 'precious\n', 'the symlink was not followed');

  // A FIFO with a reader: a plain open would succeed and hand the task a pipe to someone else.
  const read = path.join(dir, 'read.log');
  execFileSync('mkfifo', [read]);
  const reader = openFifoFd(read, 'r');
  await t.rejects(createIO(uri(read), { id: 'x' }), { code: 'ERR_NOT_REGULAR_FILE', message: /read\.log.*a FIFO/ });
  fs.closeSync(reader);

  // A FIFO without a reader: a plain open would block this thread until someone reads it.
  const lonely = path.join(dir, 'lonely.log');
  execFileSync('mkfifo', [lonely]);
  await t.rejects(createIO(uri(lonely), { id: 'x' }), { code: 'ERR_NOT_REGULAR_FILE', message: /lonely\.log.*a FIFO/ });

  const sub = path.join(dir, 'dir.log');
  fs.mkdirSync(sub);
  await t.rejects(createIO(uri(sub), { id: 'x' }), { code: 'ERR_NOT_REGULAR_FILE', message: /dir\.log" is not a regular file \(it is a directory\)/ });
  t.same(fs.readdirSync(sub), [], 'nothing made in the directory');
  t.same(fs.readdirSync(dir).sort(), ['dir.log', 'elsewhere', 'link.log', 'lonely.log', 'read.log'], 'nothing made beside it');
  t.equal(fdCount(), before, 'no fd left');
});

t.test('file://: a log that cannot be opened leaves none of the directories the call made, and every one that was there', opts, async (t) => {
  const dir = tmpDir(t);
  const before = fdCount();
  // An empty directory that was there before: rmdir would take it, only what the call made may go.
  const was = path.join(dir, 'was-there');
  fs.mkdirSync(was);
  // mkdir makes new/sub, then the open fails: a name longer than NAME_MAX (255).
  const file = path.join(was, 'new', 'sub', `${'x'.repeat(300)}.log`);
  const uri = `file://${file}`;
  await t.rejects(createIO({ terminal: false, stdin: '', stdout: uri, stderr: uri }, { id: 'x' }), { code: 'ENAMETOOLONG', path: file });
  t.same(fs.readdirSync(dir), ['was-there'], 'the directory that was there stays');
  t.same(fs.readdirSync(was), [], 'the directories the call made are gone');
  t.equal(fdCount(), before, 'no fd left');
});

t.test('file://: a log written by taskio (terminal, options) gets its directories at its first write, not at createIO', opts, async (t) => {
  const dir = tmpDir(t);
  // A caller failing after createIO (a console that cannot be made) only closes the IO: nothing to remove.
  const io = await createIO({ terminal: true, stdin: '', stdout: `file://${path.join(dir, 'tty', 'task.log')}`, stderr: '' }, { id: 'x' });
  await io.close();
  t.same(fs.readdirSync(dir), [], 'nothing made before a write');
  const file = path.join(dir, 'cri', 'new', 'task.log');
  const cri = await createIO({ terminal: false, stdin: '', stdout: `file://${file}?format=cri`, stderr: '' }, { id: 'x' });
  t.teardown(() => cri.close());
  t.same(fs.readdirSync(dir), [], 'nothing made before the task runs');
  const child = spawn('/bin/sh', ['-c', 'echo made'], { stdio: [...cri.stdio] });
  cri.closeChildFds();
  await once(child, 'exit');
  await cri.drain();
  t.match(fs.readFileSync(file, 'utf8'), / stdout F made\n$/, 'made with its directories at the first write');
});

t.test('file://: a NUL, a bad escape, an escaped slash or an out-of-range option is refused before anything opens', opts, async (t) => {
  const dir = tmpDir(t);
  const before = fdCount();
  const cases: [string, { code: string; message: RegExp }][] = [
    [`file://${dir}/a%00b.log`, { code: 'ERR_INVALID_ARG_VALUE', message: /NUL.*a%00b\.log/ }],
    [`file://${dir}/a%00b.log?format=cri`, { code: 'ERR_INVALID_ARG_VALUE', message: /NUL.*a%00b\.log/ }],
    [`file://${dir}/a%ffb.log`, { code: 'ERR_INVALID_ARG_VALUE', message: /percent-encoding.*a%ffb\.log/ }],
    [`file://${dir}/a%2fb.log`, { code: 'ERR_INVALID_LOG_URI', message: /a%2fb\.log/ }],
    [`file://${dir}/ml.log?format=cri&maxLineSize=2GB`, { code: 'ERR_INVALID_LOG_OPTION', message: /maxLineSize/ }],
    [`file://${dir}/mf.log?maxSize=1&maxFiles=1000000000`, { code: 'ERR_INVALID_LOG_OPTION', message: /maxFiles/ }],
  ];
  for (const [uri, expected] of cases) {
    t.throws(() => parseTarget(uri), expected, `parseTarget ${uri}`);
    await t.rejects(createIO({ terminal: false, stdin: '', stdout: uri, stderr: uri }, { id: 'x' }), expected, `createIO ${uri}`);
  }
  t.same(fs.readdirSync(dir), [], 'nothing was made');
  t.equal(fdCount(), before, 'no fd left');
});

t.test('file://: a regular file gets a blocking append fd, as before', opts, async (t) => {
  const file = path.join(tmpDir(t), 'task.log');
  const io = await createIO({ terminal: false, stdin: '', stdout: `file://${file}`, stderr: '' }, { id: 'x' });
  t.teardown(() => io.close());
  const fd = io.stdio[1] as number;
  // /proc prints the open flags in octal.
  const octal = parseInt(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').match(/flags:\s+([0-7]+)/)![1]!, 8);
  t.equal(octal & fs.constants.O_NONBLOCK, 0, 'O_NONBLOCK cleared before the task gets it');
  t.equal(octal & fs.constants.O_APPEND, fs.constants.O_APPEND, 'O_APPEND');
});

t.test('an output FIFO used after close fails with a code', opts, async (t) => {
  const p = path.join(tmpDir(t), 'out');
  const sink = new OutputFifo(p);
  await sink.close();
  t.throws(() => sink.writable(), { code: 'ERR_STDIO_CLOSED', message: /is closed/ });
});

t.test('binary://: a stop waits for the logger\'s last words, and is not held by a process it left with its stderr', opts, async (t) => {
  const dir = tmpDir(t);
  const before = fdCount();
  // Last words on stderr, then an exit without ready: the message must carry them.
  const quiet = path.join(dir, 'quiet.sh');
  fs.writeFileSync(quiet, `#!/bin/sh\nprintf '%0512d' 0 >&2\necho " last words" >&2\nexec 5>&-\nexit 7\n`, { mode: 0o755 });
  for (let i = 0; i < 20; i++) {
    await t.rejects(BinarySink.start(quiet, [], true, sinkOptions), { code: 'ERR_LOGGER_NOT_READY', message: /exit status 7.*last words/s }, `run ${i}`);
  }
  // A logger that leaves a child holding its stderr: the stop ends anyway, with the fd closed.
  const pidFile = path.join(dir, 'orphan.pid');
  const leaver = path.join(dir, 'leaver.sh');
  fs.writeFileSync(leaver, `#!/bin/sh\nprintf r >&5\nexec 5>&- 3<&- 4<&-\nsleep 1000 </dev/null >/dev/null &\necho $! > ${JSON.stringify(pidFile)}\nexit 0\n`, { mode: 0o755 });
  const sink = await BinarySink.start(leaver, [], true, sinkOptions);
  t.teardown(() => {
    try { process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL'); } catch { /* gone */ }
  });
  await sink.drain();
  await sink.close();
  t.equal(fdCount(), before, 'no fd left open');
  const orphan = Number(fs.readFileSync(pidFile, 'utf8'));
  t.doesNotThrow(() => process.kill(orphan, 0), 'the stop returned while the process holding the stderr pipe still runs');
});
