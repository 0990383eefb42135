import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { newAttach, newCreator, withFIFODir, withStreams } from '../../../src/attach/index.js';
import { newFIFOSetInDir } from '../../../src/fifo/index.js';
import { createIO, parseTarget, type ProcessIO } from '../../../src/runtime/stdio/index.js';
import { Collector, exitOf, fdCount, tmpDir, untilBytes } from '../../helpers/common.js';

const opts = { timeout: 20_000 };

/** Runs `script` in sh with the IO's fds as its stdio, the way a runtime would get them. */
function run(io: ProcessIO, script: string) {
  const child = spawn('/bin/sh', ['-c', script], { stdio: [...io.stdio] });
  io.closeChildFds();
  return exitOf(child);
}

t.test('FIFO output reaches the client; stdout and stderr apart; drain ends the client', opts, async (t) => {
  const dir = tmpDir(t);
  const before = fdCount();
  const out = new Collector(), err = new Collector();
  const client = await newCreator(withFIFODir(dir), withStreams(null, out, err))('fifo1');
  t.teardown(() => client.close());
  const io = await createIO(client.config(), { id: 'fifo1' });
  t.equal(await run(io, 'echo to-out; echo to-err >&2'), 0);
  await io.drain();
  await client.wait();
  t.equal(out.text(), 'to-out\n');
  t.equal(err.text(), 'to-err\n');
  await io.close();
  await client.close();
  t.equal(fdCount(), before, 'no fd left open');
});

// An exec's output (keepOpen: false) with no reader at the start is opened as a task's too.
for (const keepOpen of [true, false]) {
  t.test(`no client${keepOpen ? '' : ' at the start of an exec'}: the task never gets EPIPE, and its output waits for a late client`, opts, async (t) => {
    const dir = tmpDir(t);
    const set = await newFIFOSetInDir(dir, 'late', false);
    t.teardown(() => set.close());
    const io = await createIO(set.config, { id: 'late', keepOpen });
    t.teardown(() => io.close());
    // 200 KiB: more than a default pipe, less than the 1 MiB the FIFO is raised to.
    t.equal(await run(io, 'i=0; while [ $i -lt 2000 ]; do echo 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789; i=$((i+1)); done'), 0, 'exited 0, no SIGPIPE');
    const drained = io.drain();
    const out = new Collector();
    const client = await newAttach(withStreams(null, out, new Collector()))(set);
    await drained;
    await client.wait();
    t.equal(out.bytes, 2000 * 101, 'every byte written before the client came');
    await client.close();
  });
}

t.test('keepOpen: false (an exec\'s): output reaches the client and ends with the process; a client that leaves gives it SIGPIPE', opts, async (t) => {
  const dir = tmpDir(t);
  const before = fdCount();
  const out = new Collector();
  const client = await newCreator(withFIFODir(dir), withStreams(null, out, null))('exec1');
  const io = await createIO(client.config(), { id: 'exec1', keepOpen: false });
  t.equal(await run(io, 'echo once'), 0);
  await client.wait(); // EOF as the process ended: nothing here holds the FIFO open
  t.equal(out.text(), 'once\n');
  await io.drain();
  await io.close();
  await client.close();
  const leaving = new Collector();
  const gone = await newCreator(withFIFODir(dir), withStreams(null, leaving, null))('exec2');
  const io2 = await createIO(gone.config(), { id: 'exec2', keepOpen: false });
  t.teardown(() => io2.close());
  leaving.once('bytes', () => { gone.cancel(); void gone.close(); });
  t.equal(await run(io2, 'while :; do echo more; done'), 128 + 13, 'SIGPIPE once the reader left, not a pipe nobody reads');
  await io2.close();
  t.equal(fdCount(), before, 'no fd left open');
});

t.test('stdin: a detaching client does not end input; closeStdin does', opts, async (t) => {
  const dir = tmpDir(t);
  const set = await newFIFOSetInDir(dir, 'stdin', false);
  t.teardown(() => set.close());
  const io = await createIO(set.config, { id: 'stdin' });
  t.teardown(() => io.close());
  const exited = run(io, 'cat');
  const out = new Collector();
  const input = new PassThrough();
  const first = await newAttach(withStreams(input, out, null))(set);
  input.end('from client\n');
  await untilBytes(out, 12);
  first.cancel(); // detaches: closes its stdin writer and readers, like a client that went away
  io.stdin()!.write('from host\n');
  const out2 = new Collector();
  const second = await newAttach(withStreams(null, out2, null))(set);
  await untilBytes(out2, 10);
  await io.closeStdin();
  t.equal(await exited, 0, 'cat saw EOF only after closeStdin');
  await io.drain();
  await second.wait();
  t.equal(out.text() + out2.text(), 'from client\nfrom host\n');
  await second.close();
});

t.test('file:// appends both streams, creates directories, keeps what was there', opts, async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'a', 'b', 'task.log');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, 'old\n');
  const uri = `file://${file}`;
  const io = await createIO({ terminal: false, stdin: '', stdout: uri, stderr: uri }, { id: 'f' });
  t.equal(await run(io, 'echo one; echo two >&2'), 0);
  await io.drain();
  await io.close();
  t.equal(fs.readFileSync(file, 'utf8'), 'old\none\ntwo\n');
  const nested = path.join(dir, 'x', 'y', 'new.log');
  const io2 = await createIO({ terminal: false, stdin: '', stdout: `file://${nested}`, stderr: '' }, { id: 'f' });
  t.equal(await run(io2, 'echo made'), 0);
  await io2.drain();
  await io2.close();
  t.equal(fs.readFileSync(nested, 'utf8'), 'made\n', 'directories created');
});

t.test('file://?format=cri goes through a pipe into the CRI log writer', opts, async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'cri.log');
  const uri = `file://${file}?format=cri`;
  const io = await createIO({ terminal: false, stdin: '', stdout: uri, stderr: uri }, { id: 'c' });
  t.equal(await run(io, 'echo hello; echo oops >&2'), 0);
  await io.drain();
  await io.close();
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').sort((a, b) => a.split(' ')[1]!.localeCompare(b.split(' ')[1]!));
  t.match(lines[1], /^\S+ stdout F hello$/);
  t.match(lines[0], /^\S+ stderr F oops$/);
});

t.test('binary:// starts the logger with fds 3, 4, 5 and only its two variables', opts, async (t) => {
  const dir = tmpDir(t);
  const logger = path.join(dir, 'logger.sh');
  fs.writeFileSync(logger, `#!/bin/sh
/bin/cat /proc/$$/environ > "$2"
echo "$@" > "$2.args"
printf r >&5
exec 5>&-
/bin/cat <&3 > "$2.out" &
/bin/cat <&4 > "$2.err"
wait
`, { mode: 0o755 });
  const out = path.join(dir, 'got');
  const uri = `binary://${logger}?path=${encodeURIComponent(out)}`;
  const before = fdCount();
  const io = await createIO({ terminal: false, stdin: '', stdout: uri, stderr: uri }, { id: 'task-1', namespace: 'ns1' });
  t.equal(await run(io, 'echo out; echo err >&2'), 0);
  await io.drain();
  await io.close();
  // tap's process-info hook adds its own variables to every child of a test; they are not ours.
  const env = fs.readFileSync(out, 'utf8').split('\0').filter((l) => l !== '').filter((l) => !/^(_TAPJS_|NODE_OPTIONS=)/.test(l));
  t.same(env.sort(), ['CONTAINER_ID=task-1', 'CONTAINER_NAMESPACE=ns1']);
  t.equal(fs.readFileSync(`${out}.args`, 'utf8'), `path ${out}\n`, 'the query as key value arguments');
  t.equal(fs.readFileSync(`${out}.out`, 'utf8'), 'out\n');
  t.equal(fs.readFileSync(`${out}.err`, 'utf8'), 'err\n');
  t.equal(fdCount(), before, 'no fd left open');
});

t.test('binary-v2:// needs the ready byte; a logger that never gets ready is stopped', opts, async (t) => {
  const dir = tmpDir(t);
  const quiet = path.join(dir, 'quiet.sh');
  fs.writeFileSync(quiet, '#!/bin/sh\necho "no ready for you" >&2\nexec 5>&-\nexit 3\n', { mode: 0o755 });
  await t.rejects(createIO({ terminal: false, stdin: '', stdout: `binary-v2://${quiet}`, stderr: '' }, { id: 'x' }),
    { code: 'ERR_LOGGER_NOT_READY', message: /did not call ready.*exit status 3.*no ready for you/ });
  // binary:// (v1) accepts the close alone, as containerd does.
  const io = await createIO({ terminal: false, stdin: '', stdout: `binary://${quiet}`, stderr: '' }, { id: 'x' });
  await io.close();
  const stuck = path.join(dir, 'stuck.sh');
  fs.writeFileSync(stuck, '#!/bin/sh\ntrap "" TERM\nwhile :; do sleep 1; done\n', { mode: 0o755 });
  const t0 = Date.now();
  await t.rejects(createIO({ terminal: false, stdin: '', stdout: `binary-v2://${stuck}`, stderr: '' }, { id: 'x', readyTimeout: 300, loggerGrace: 200 }),
    { code: 'ERR_LOGGER_NOT_READY', message: /did not call ready within 300 ms/ });
  t.ok(Date.now() - t0 < 5000, 'SIGKILL after the grace period');
  await t.rejects(createIO({ terminal: false, stdin: '', stdout: `binary:///no/such/logger`, stderr: '' }, { id: 'x' }),
    { code: 'ERR_LOGGER_NOT_READY', message: /cannot start logging binary \/no\/such\/logger/ });
});

// The README once showed createIO(config): a TypeError from inside ('reading logger'), after the
// FIFOs were opened. The id names the task to a binary:// logger and has no default.
t.test('createIO without the task id, or without a config, is refused before anything is opened', opts, async (t) => {
  const dir = tmpDir(t);
  const set = await newFIFOSetInDir(dir, 'noid', false);
  t.teardown(() => set.close());
  const before = fdCount();
  const bare = createIO as (config: unknown, opts?: unknown) => Promise<ProcessIO>;
  await t.rejects(bare(set.config), { code: 'ERR_INVALID_ARG_TYPE', message: /createIO needs the task's id .*\{ id \}.*got undefined/ });
  await t.rejects(bare(set.config, {}), { code: 'ERR_INVALID_ARG_TYPE', message: /\{ id \}.*got id undefined/ });
  await t.rejects(bare(set.config, { id: 7 }), { code: 'ERR_INVALID_ARG_TYPE', message: /got id 7/ });
  await t.rejects(bare(set.config, { id: '../up' }), { code: 'ERR_INVALID_ID', message: /"\.\.\/up"/ });
  await t.rejects(bare(undefined, { id: 'noid' }), { code: 'ERR_INVALID_ARG_TYPE', message: /config must be an object.*got undefined/ });
  await t.rejects(bare({ stdin: '', stdout: '', stderr: '' }, { id: 'noid' }), { code: 'ERR_INVALID_ARG_TYPE', message: /config must be an object/ });
  t.equal(fdCount(), before, 'no FIFO opened');
});

t.test('empty is /dev/null; unknown schemes are refused', opts, async (t) => {
  const io = await createIO({ terminal: false, stdin: '', stdout: '', stderr: '' }, { id: 'n' });
  t.same(io.stdio, ['ignore', 'ignore', 'ignore']);
  t.equal(io.stdin(), null);
  await io.drain();
  await io.close();
  t.throws(() => parseTarget('ftp://x/y'), { code: 'ERR_UNKNOWN_STDIO_SCHEME' });
  await t.rejects(createIO({ terminal: false, stdin: '', stdout: 'syslog://x', stderr: '' }, { id: 'n' }), { code: 'ERR_UNKNOWN_STDIO_SCHEME' });
  t.same(parseTarget('/run/x/y-stdout'), { kind: 'fifo', path: '/run/x/y-stdout' });
  t.same(parseTarget('fifo:///run/x/y'), { kind: 'fifo', path: '/run/x/y' });
});
