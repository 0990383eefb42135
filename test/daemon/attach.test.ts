import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, Writable } from 'node:stream';
import type { DaemonClient } from '../../src/daemon/index.js';
import { bytesReadable, getPipeSize, mkfifo } from '../../src/sys/index.js';
import { Collector, exitOf, sha256, testFile } from '../helpers/common.js';
import { UnixHttpClient } from '../../src/daemon/unixHttp.js';
import { badConsoleSizes, client, daemonRoot, eventually, fdsOf, taskDirs } from './helpers.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());
const fixture = (name: string) => testFile(`daemon/fixtures/${name}`);

/**
 * 24 MiB of deterministic bytes (xorshift32), written once for the file: many times the 1 MiB pipe,
 * and each client below takes 4 MiB of it (more cost most of this file's time on a loaded machine).
 */
const dataFile = path.join(root, 'data.bin');
const data = (() => {
  const words = new Uint32Array(6 * 1024 * 1024);
  let x = 2463534242;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    words[i] = x;
  }
  return Buffer.from(words.buffer);
})();
fs.writeFileSync(dataFile, data);

/** A client process (fixtures/attach.mjs) whose output goes to `out`. */
function attacher(id: string, out: string, ...flags: string[]): { p: ChildProcess; exit: Promise<number>; stderr: () => string; size: () => number } {
  const fd = fs.openSync(out, 'w');
  const p = spawn(process.execPath, [fixture('attach.mjs'), root, id, ...flags], { stdio: ['pipe', fd, 'pipe'] });
  fs.closeSync(fd);
  let err = '';
  p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return { p, exit: exitOf(p), stderr: () => err, size: () => fs.statSync(out).size };
}

t.test('FIFO mode: 24 MiB exactly once across detach keys, SIGINT and SIGTERM detaches', { timeout: 180_000 }, async (t) => {
  await c.createTask({ id: 'big', runtime: 'host', log: 'none', args: ['cat', dataFile] });
  const parts: string[] = [];
  for (const how of ['keys', 'SIGINT', 'SIGTERM']) {
    const out = path.join(root, `part-${how}`);
    parts.push(out);
    const a = attacher('big', out, '--pause-after', String(4 << 20), ...(how === 'keys' ? ['--stdin'] : []));
    await eventually(() => a.stderr().includes('attached') && a.size() >= 4 << 20, `${how}: 4 MiB received`, 60_000);
    if (how === 'keys') a.p.stdin!.write('\x10\x11');
    else a.p.kill(how as NodeJS.Signals);
    t.equal(await a.exit, 0, `${how}: the client exits`);
    t.match(a.stderr(), /detached/, `${how}: it detached`);
  }
  const last = path.join(root, 'part-last');
  parts.push(last);
  const d = attacher('big', last);
  t.equal(await d.exit, 0, 'the last client gets the exit code (cat: 0)');
  t.match(d.stderr(), /exit=0/);
  const got = Buffer.concat(parts.map((p) => fs.readFileSync(p)));
  t.equal(got.length, data.length, '24 MiB in all');
  t.equal(sha256(got), sha256(data), 'each byte exactly once, in order');
  t.comment(`parts: ${parts.map((p) => fs.statSync(p).size).join(', ')} bytes`);
  await c.remove('big');
});

t.test('FIFO mode: a client SIGKILLed mid-stream loses at most the read it held, duplicates nothing', { timeout: 120_000 }, async (t) => {
  await c.createTask({ id: 'killed', runtime: 'host', log: 'none', args: ['cat', dataFile] });
  const e = attacher('killed', path.join(root, 'e'), '--pause-after', String(4 << 20));
  await eventually(() => e.stderr().includes('attached') && e.size() >= 4 << 20, '4 MiB received', 60_000);
  // A second reader is refused while the first holds the set, naming it.
  await t.rejects(c.attach('killed', { stdout: new PassThrough() }), { code: 'EBUSY', message: new RegExp(`task killed is already attached by pid ${e.p.pid}`) });
  e.p.kill('SIGKILL');
  await e.exit;
  const f = attacher('killed', path.join(root, 'f'));
  t.equal(await f.exit, 0);
  const first = fs.readFileSync(path.join(root, 'e')), second = fs.readFileSync(path.join(root, 'f'));
  const missing = data.length - first.length - second.length;
  t.ok(first.equals(data.subarray(0, first.length)), 'the killed client got a prefix');
  t.ok(second.equals(data.subarray(data.length - second.length)), 'the next one the rest, from where it stands');
  t.ok(missing >= 0, 'nothing duplicated');
  t.ok(missing <= 1 << 20, `at most one read (1 MiB) missing: ${missing} bytes`);
  t.comment(`bytes missing after a client SIGKILL: ${missing}`);
  await c.remove('killed');
});

t.test('FIFO mode: runc and runsc chown a task\'s FIFOs to its user, and the set is still attached to (its private directory proves them ours)', { timeout: 120_000 }, async (t) => {
  for (const runtime of ['runc', 'runsc'] as const) {
    const id = `handed-${runtime}`;
    // /dev/stdout is a reopen of the FIFO: nobody may do it only because runc made it the owner.
    await c.createTask({ id, runtime, log: 'none', user: 'nobody', args: ['sh', '-c', 'echo hi; echo reopened > /dev/stdout'] });
    t.equal((await c.wait(id)).exitCode, 0, `${runtime}: the task ran`);
    const stdout = (await c.getTask(id)).stdio.stdout;
    t.equal(fs.lstatSync(stdout).uid, 65534, `${runtime}: its stdout FIFO is nobody's now`);
    let s = '';
    const att = await c.attach(id, { stdout: new Writable({ write(ch, _e, cb) { s += ch; cb(); } }) });
    t.equal(await att.done, 'exited');
    t.equal(s, 'hi\nreopened\n', `${runtime}: attached and read`);
    await c.remove(id);
  }
});

t.test('FIFO mode: the last output of a task that exited while detached is read once', { timeout: 60_000 }, async (t) => {
  await c.createTask({ id: 'gone', runtime: 'host', log: 'none', args: ['sh', '-c', 'echo last words; exit 3'] });
  t.equal((await c.wait('gone')).exitCode, 3);
  const read = async (): Promise<string> => {
    let s = '';
    const att = await c.attach('gone', { stdout: new Writable({ write(ch, _e, cb) { s += ch; cb(); } }) });
    t.equal(await att.done, 'exited');
    return s;
  };
  t.equal(await read(), 'last words\n', 'the first attach gets it');
  t.equal(await read(), '', 'the next one nothing: exactly once');
  // Through the daemon's relay too.
  let relayed = '';
  const r = await c.attach('gone', { relay: true, stdout: new Writable({ write(ch, _e, cb) { relayed += ch; cb(); } }) });
  t.equal(await r.done, 'exited');
  t.equal(relayed, '');
  await c.remove('gone');
});

for (const mode of ['log', 'fifo'] as const) {
  t.test(`${mode} mode: a task started by one client process, attached by another, with stdin and exit code`, { timeout: 90_000 }, async (t) => {
    const id = `chat-${mode}`;
    const create = spawn(process.execPath, [fixture('create.mjs'), root, JSON.stringify({
      id, runtime: 'host', stdin: true, ...(mode === 'fifo' ? { log: 'none' } : {}),
      args: ['sh', '-c', 'while read l; do echo "got:$l"; [ "$l" = quit ] && exit 5; done'],
    })], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.equal(await exitOf(create), 0, 'the creating client exited');
    const out = path.join(root, `chat-${mode}.out`);
    const a = attacher(id, out, '--stdin');
    await eventually(() => a.stderr().includes('attached'), 'attached');
    a.p.stdin!.write('hello\n');
    await eventually(() => fs.readFileSync(out, 'utf8').includes('got:hello\n'), 'live output of what was typed');
    a.p.stdin!.write('quit\n');
    t.equal(await a.exit, 5, 'the attached client exits with the task\'s code');
    t.equal(fs.readFileSync(out, 'utf8'), 'got:hello\ngot:quit\n');
    t.match(a.stderr(), /exit=5/);
    await c.remove(id);
  });
}

t.test('log mode: 200,000 lines while attached and detached in turns', { timeout: 120_000 }, async (t) => {
  // A producer that paces itself (bursts of 1000 lines, 10 ms apart: some 2 s in all, each turn below
  // spanning a few bursts), so attaches and detaches fall mid-run.
  const producer = `let n = 0; const burst = () => { let s = ''; for (let i = 0; i < 1000 && n < 200000; i++) s += String(++n).padStart(6, '0') + '\\n'; process.stdout.write(s, () => n < 200000 ? setTimeout(burst, 10) : undefined); }; burst();`;
  const task = await c.createTask({ id: 'lines', runtime: 'host', args: [process.execPath, '-e', producer] });
  // The lines whole in the log: its F entries, read as the file grows. (A line is not always one
  // entry: one the producer wrote in two parts, with the pipe empty and quiet in between, is a P
  // entry and then an F one.)
  let wholeLines = 0, readTo = 0;
  const logLines = (): number => {
    const text = fs.readFileSync(task.logPath!, 'latin1').slice(readTo);
    const whole = text.slice(0, text.lastIndexOf('\n') + 1);
    wholeLines += whole.split('\n').filter((entry) => entry.split(' ')[2] === 'F').length;
    readTo += whole.length;
    return wholeLines;
  };
  const seen: number[][] = [];
  let turn = 0;
  for (;;) {
    const before = logLines();
    let text = '';
    const att = await c.attach('lines', { stdout: new Writable({ write(ch, _e, cb) { text += ch; cb(); } }) });
    // Stay for a few bursts (or to the end), then detach. (Not a race with att.done: the losing
    // wait would poll on for a minute and hold the file open after its last test.)
    let ended = false;
    void att.done.then(() => { ended = true; });
    await eventually(() => ended || text.split('\n').length > 3000, 'attached output', 60_000);
    att.detach();
    const end = await att.done;
    const nums = text.split('\n').filter((l) => l.length === 6).map(Number);
    t.ok(nums.length > 0 || end === 'exited', `turn ${turn}: output`);
    if (nums.length > 0) {
      t.ok(nums[0]! > before, `turn ${turn}: nothing from before the attach (first ${nums[0]}, log had ${before})`);
      t.ok(nums.every((n, i) => i === 0 || n === nums[i - 1]! + 1), `turn ${turn}: contiguous`);
      if (end === 'exited') t.equal(nums[nums.length - 1], 200_000, `turn ${turn}: an attach to the end gets all of it`);
      seen.push(nums);
    }
    turn++;
    if (end === 'exited' || (await c.getTask('lines')).status === 'exited') break;
    // Detached for a while: the log goes on without us.
    const mark = logLines();
    await eventually(() => logLines() > mark + 2000 || logLines() === 200_000, 'output while detached');
  }
  t.ok(turn >= 2, `several turns (${turn})`);
  t.equal((await c.wait('lines')).exitCode, 0);
  // The log: every line exactly once, in order.
  let logged = '';
  await c.logs('lines', { stdout: new Writable({ write(ch, _e, cb) { logged += ch; cb(); } }) });
  const all = logged.split('\n').filter(Boolean).map(Number);
  t.equal(all.length, 200_000, '200,000 lines');
  t.ok(all.every((n, i) => n === i + 1), 'each exactly once, in order');
  await c.remove('lines');
});

t.test('attach given the view the caller has (createTask\'s): the output in both modes; a view of another id or of a removed task is not trusted', { timeout: 60_000 }, async (t) => {
  const text = (): Writable & { text: string } => {
    const w = new Writable({ write(ch, _e, cb) { w.text += ch; cb(); } }) as Writable & { text: string };
    w.text = '';
    return w;
  };
  const logView = await c.createTask({ id: 'viewlog', runtime: 'host', args: ['sh', '-c', 'echo out; echo err >&2'] });
  const out = text(), err = text();
  const a = await c.attach('viewlog', { view: logView, stdout: out, stderr: err, logs: true });
  t.equal(await a.done, 'exited');
  t.equal(out.text, 'out\n', 'log mode: stdout replayed');
  t.equal(err.text, 'err\n', 'log mode: stderr replayed');
  const fifoView = await c.createTask({ id: 'viewfifo', runtime: 'host', log: 'none', args: ['sh', '-c', 'echo fifo'] });
  const fifoOut = text();
  const f = await c.attach('viewfifo', { view: fifoView, stdout: fifoOut });
  t.equal(await f.done, 'exited');
  t.equal(fifoOut.text, 'fifo\n', 'FIFO mode: the cio attach on the set the view names');
  // The view is the task's only when the ids match: another id is looked up (and not found).
  await t.rejects(c.attach('nosuchtask', { view: logView, stdout: text() }), { code: 'ERR_NOT_FOUND' });
  await c.remove('viewlog');
  await t.rejects(c.attach('viewlog', { view: logView, stdout: text() }), { code: 'ERR_NOT_FOUND' }, 'a stale view: the daemon refuses the attach');
  await c.remove('viewfifo');
});

t.test('POST /tasks upgraded: created, started and attached in one round trip; its refusals as a create\'s; nothing left of a refused one', { timeout: 60_000 }, async (t) => {
  const out = new Collector(), err = new Collector();
  const input = new PassThrough();
  const a = await c.createAttached({ id: 'oneTrip', runtime: 'host', args: ['sh', '-c', 'echo out; echo err >&2; read x; echo "got $x"; exit 4'], stdin: true }, {
    stdin: input, stdout: out, stderr: err, logs: true, stdinOnce: true,
  });
  t.equal(a.id, 'oneTrip', 'the 101 names the task');
  input.end('typed\n');
  t.equal(await a.done, 'exited');
  t.equal(out.text(), 'out\ngot typed\n', 'output from the start, stdin in');
  t.equal(err.text(), 'err\n');
  t.equal((await c.wait('oneTrip')).exitCode, 4);
  await c.remove('oneTrip');
  // A name chosen by the daemon.
  const anon = await c.createAttached({ runtime: 'host', args: ['true'], autoRemove: true }, { stdout: new Collector() });
  t.match(anon.id, /^[0-9a-f]{16}$/);
  t.equal(await anon.done, 'exited');
  t.equal((await c.wait(anon.id, { condition: 'removed' })).exitCode, 0);
  // Refused as POST /tasks refuses: the code, and no task, no directory, no fd (the log, opened
  // while the runtime started, is let go of with the failed start).
  const daemonPid = (await c.version()).pid;
  const fdsBefore = fdsOf(daemonPid).length;
  for (let i = 0; i < 5; i++) {
    await t.rejects(c.createAttached({ id: 'nocmd', runtime: 'host', args: ['no-such-command'], autoRemove: true }, { stdout: new Collector() }), { code: 'ERR_COMMAND_NOT_FOUND' });
  }
  await eventually(() => fdsOf(daemonPid).length <= fdsBefore, `the daemon's fds back to ${fdsBefore} after 5 refused creates`);
  await t.rejects(c.createAttached({ id: 'bad/id', runtime: 'host', args: ['true'] }, { stdout: new Collector() }), { code: 'ERR_INVALID_ID' });
  await t.rejects(c.getTask('nocmd'), { code: 'ERR_NOT_FOUND' });
  t.same(taskDirs(root).filter((d) => d === 'nocmd'), [], 'no directory left');
  // A chunked body cannot be read off an upgraded connection: 411.
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = http.request({ socketPath: path.join(root, 'taskio.sock'), path: '/tasks', method: 'POST', headers: { Connection: 'Upgrade', Upgrade: 'tcp', 'Transfer-Encoding': 'chunked' } });
    req.once('response', (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.once('upgrade', () => reject(new Error('upgraded')));
    req.once('error', reject);
    req.end('{}');
  });
  t.equal(chunked, 411);
});

t.test('POST /tasks upgraded with autoRemove: a removal wait sent at once is answered only once the creator\'s attach is over', { timeout: 60_000 }, async (t) => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  let got = 0;
  // A sink that takes nothing until released, and more output than the connection buffers: the
  // daemon cannot hand all of it over before that.
  const sink = new Writable({ write(chunk: Buffer, _e, cb) { got += chunk.length; void held.then(() => cb()); } });
  const a = await c.createAttached({ runtime: 'host', args: ['sh', '-c', 'yes 0123456789abcde | head -c 4194304'], autoRemove: true }, { stdout: sink, logs: true });
  let removed = false;
  const waiting = c.wait(a.id, { condition: 'removed' }).then((e) => { removed = true; return e; });
  await eventually(async () => (await c.getTask(a.id)).status === 'exited', 'the task to exit');
  t.equal(removed, false, 'not removed while the attach that made it still has output to hand over');
  release();
  t.equal(await a.done, 'exited');
  t.equal((await waiting).exitCode, 0, 'then removed, with its code');
  t.equal(got, 4194304, 'all of the output first');
  await t.rejects(c.getTask(a.id), { code: 'ERR_NOT_FOUND' });
});

t.test('POST /tasks upgraded with exit=1: the exit after the output in the same stream, the removal\'s with autoRemove; none for a terminal or a detach', { timeout: 60_000 }, async (t) => {
  const out = new Collector();
  const a = await c.createAttached({ runtime: 'host', args: ['sh', '-c', 'echo last words; exit 3'] }, { stdout: out, logs: true, exit: true });
  t.equal(await a.done, 'exited');
  t.match(await a.exit, { exitCode: 3 }, 'the exit record, from the stream');
  t.equal(out.text(), 'last words\n', 'and all of the output before it');
  t.equal((await c.getTask(a.id)).status, 'exited', 'without autoRemove the task stays');
  await c.remove(a.id);
  // autoRemove: the record comes once the task is gone, as wait?condition=removed answers.
  const rm = await c.createAttached({ runtime: 'host', args: ['sh', '-c', 'exit 5'], autoRemove: true }, { stdout: new Collector(), logs: true, exit: true });
  t.match(await rm.exit, { exitCode: 5 });
  await t.rejects(c.getTask(rm.id), { code: 'ERR_NOT_FOUND' }, 'removed before the exit was sent');
  // A terminal's stream is raw: no exit in it.
  const tty = await c.createAttached({ runtime: 'host', args: ['sh', '-c', 'exit 6'], terminal: true }, { stdout: new Collector(), logs: true, exit: true });
  t.equal(await tty.done, 'exited');
  t.equal(await tty.exit, null, 'a terminal task: ask wait');
  t.equal((await c.wait(tty.id)).exitCode, 6);
  await c.remove(tty.id);
  // Detached before the output ended: nothing more is sent.
  const long = await c.createAttached({ runtime: 'host', args: ['sh', '-c', 'echo started; exec sleep 1000'] }, { stdout: new Collector(), logs: true, exit: true });
  long.detach();
  t.equal(await long.done, 'detached');
  t.equal(await long.exit, null);
  await c.remove(long.id, { force: true });
  // Only create-and-attach takes it: an attach to a task refuses the parameter.
  const h = new UnixHttpClient(path.join(root, 'taskio.sock'));
  t.teardown(() => h.close());
  const refused = await h.call({ method: 'POST', path: `/tasks/${a.id}/attach?exit=1` });
  t.equal(refused.status, 400);
  const chunks: Buffer[] = [];
  for await (const chunk of refused.body) chunks.push(chunk as Buffer);
  t.match(JSON.parse(Buffer.concat(chunks).toString()), { code: 'ERR_UNKNOWN_FIELD', message: /"exit"/ });
});

t.test('consoleSize: a terminal task starts with the size asked, before anything it runs asks (host, runc); a bad one is refused', { timeout: 120_000 }, async (t) => {
  // Not runsc: runsc 2022-12-19 does not size its terminal from process.consoleSize. The daemon
  // sizes the pty's master as it arrives, which is before runsc starts the process only because
  // runsc sends the master first and then boots the sandbox: an order of runsc's, not a promise
  // this test could rely on (runTty's runsc scenario checks the size once the shell runs).
  for (const runtime of ['host', 'runc'] as const) {
    const out = new Collector();
    const a = await c.createAttached({ runtime, args: ['sh', '-c', 'stty size'], terminal: true, consoleSize: { height: 33, width: 97 }, autoRemove: true }, { stdout: out, logs: true });
    t.equal(await a.done, 'exited');
    t.equal(out.text().trim(), '33 97', `${runtime}: the first command in the terminal sees it`);
  }
  for (const [consoleSize, message] of badConsoleSizes) {
    await t.rejects(c.createTask({ runtime: 'host', args: ['true'], terminal: true, consoleSize } as never), { code: /^ERR_INVALID_(FIELD|BODY)$|^ERR_UNKNOWN_FIELD$/, message });
  }
});

t.test('close-stdin: an attach whose client already ended its input writes all of it first; one still sending is cut', { timeout: 60_000 }, async (t) => {
  // The task reads nothing until the gate opens, so its stdin pipe and FIFO fill up and a second
  // client's input stays in its connection, unread by the daemon, when close-stdin comes in (the
  // order `run -i` gives: input ended, connection half-closed, then close-stdin on another
  // connection, which the daemon may serve first).
  const gate = path.join(root, 'gate');
  mkfifo(gate);
  t.teardown(() => fs.rmSync(gate, { force: true }));
  const id = 'closeAfterInput';
  const view = await c.createTask({ id, runtime: 'host', stdin: true, args: ['sh', '-c', `read g < ${gate}; tr -cd b | wc -c`] });
  const first = new PassThrough();
  const still = await c.attach(id, { stdin: first, detachKeys: '' });
  first.write(Buffer.alloc(8 << 20, 'a')); // more than the pipe, the FIFO and the connection hold; never ended
  const full = (p: string): boolean => {
    const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    // Full by its pages: a page partly written holds less than its size.
    try { return bytesReadable(fd) > getPipeSize(fd) - (64 << 10); } finally { fs.closeSync(fd); }
  };
  await eventually(() => full(`/proc/${view.pid}/fd/0`) && full(view.stdio.stdin), 'the task\'s stdin pipe and FIFO to be full');
  // More than a writer queues in one go, little enough for the connection to take all of it.
  const sent = 192 << 10;
  const out = new Collector();
  const second = new PassThrough();
  const ended = await c.attach(id, { stdin: second, stdout: out, detachKeys: '' });
  second.end(Buffer.alloc(sent, 'b'));
  await ended.inputSent;
  await c.closeStdin(id);
  await fs.promises.writeFile(gate, 'go\n');
  t.equal((await c.wait(id)).exitCode, 0, 'the task read to EOF');
  t.equal(await ended.done, 'exited');
  t.equal(out.text().trim(), String(sent), 'every byte of the ended input reached the task');
  t.equal(await still.done, 'exited', 'the attach still sending was cut, and ends with the task');
  await c.remove(id);
});
