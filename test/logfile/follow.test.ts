import t, { type Test } from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { createHook } from 'node:async_hooks';
import { openLogWriter } from '../../src/logfile/logWriter.js';
import { followLog, type LogEntry } from '../../src/logfile/followLog.js';
import { criTimeMs, parseCriTime } from '../../src/logfile/criTime.js';
import { fdCount } from '../helpers/common.js';

function tmpDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-follow-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function stamp(sec: number): string {
  return `2026-03-01T10:00:${String(sec).padStart(2, '0')}.000000500Z`;
}

async function collect(it: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** Writes a rotated set by hand: file `name.2` (oldest) … `name` with entries at seconds 0..8. */
function craftSet(dir: string): string {
  const base = path.join(dir, 'c.log');
  const lines = (from: number, to: number): string =>
    Array.from({ length: to - from }, (_, i) => `${stamp(from + i)} ${i % 2 ? 'stderr' : 'stdout'} F line ${from + i}\n`).join('');
  fs.writeFileSync(`${base}.2`, lines(0, 3));
  fs.writeFileSync(`${base}.1`, lines(3, 6));
  fs.writeFileSync(base, lines(6, 9));
  return base;
}

t.test('reads every file of a rotated set, oldest first; tail and since pick the start', { timeout: 30000 }, async (t) => {
  const base = craftSet(tmpDir(t));
  const text = (es: LogEntry[]): string[] => es.map((e) => e.content.toString());
  t.same(text(await collect(followLog(base, { format: 'cri' }))), Array.from({ length: 9 }, (_, i) => `line ${i}`));
  t.same(text(await collect(followLog(base, { format: 'cri', tail: 2 }))), ['line 7', 'line 8']);
  t.same(text(await collect(followLog(base, { format: 'cri', tail: 4 }))), ['line 5', 'line 6', 'line 7', 'line 8'], 'tail reaches into name.1');
  t.same(text(await collect(followLog(base, { format: 'cri', tail: 100 }))).length, 9);
  t.same(text(await collect(followLog(base, { format: 'cri', tail: 0 }))), []);
  const since = await collect(followLog(base, { format: 'cri', since: new Date('2026-03-01T10:00:04Z') }));
  t.same(text(since), ['line 4', 'line 5', 'line 6', 'line 7', 'line 8']);
  t.equal(since[0]!.timestamp, stamp(4));
  t.equal(since[0]!.time.toISOString(), '2026-03-01T10:00:04.000Z');
  t.equal(since[0]!.stream, 'stderr');
  t.equal(since[1]!.stream, 'stdout');
  const both = await collect(followLog(base, { format: 'cri', since: new Date('2026-03-01T10:00:07Z'), tail: 5 }));
  t.same(text(both), ['line 7', 'line 8'], 'since and tail together: the later start wins');
});

t.test('CRI tail counts lines: the P entries of a counted line come with it, across a rotation and beside the other stream (podman#19545)', { timeout: 30000 }, async (t) => {
  const dir = tmpDir(t);
  const base = path.join(dir, 'p.log');
  const e = (sec: number, stream: string, tag: string, text: string): string => `${stamp(sec)} ${stream} ${tag} ${text}\n`;
  // name.1 ends inside a line: its P entries go on in name. A crash left name.1's last entry without its newline.
  fs.writeFileSync(`${base}.1`, e(0, 'stdout', 'F', 'zero') + e(1, 'stdout', 'P', 'on') + e(1, 'stdout', 'P', 'e ') + `${stamp(2)} stdout P cut`);
  fs.writeFileSync(base, [
    e(3, 'stdout', 'F', ' short'), e(4, 'stdout', 'P', 'name? '), e(5, 'stdout', 'F', ''), // the quiet-line rule's prompt, then EOF
    e(6, 'stdout', 'P', 'two'), e(6, 'stderr', 'F', 'err'), e(7, 'stdout', 'F', ' parts'),
    e(8, 'stdout', 'P', 'still being written'), `${stamp(9)} stdout F half an entr`,
  ].join(''));
  const got = async (tail: number): Promise<string[]> =>
    (await collect(followLog(base, { format: 'cri', tail }))).map((x) => `${x.stream?.[3]}${x.partial ? 'P' : 'F'} ${x.content.toString()}`);
  // The entry being written (no newline yet) is not counted; a reader that does not follow hands it out at the end.
  const last = ['oP two', 'eF err', 'oF  parts', 'oP still being written', 'oF half an entr'];
  t.same(await got(1), last, 'tail 1: the last line whole, the stderr line inside it along, and the line being written');
  t.same(await got(2), last, 'tail 2: the stderr line counted');
  t.same((await got(3)).slice(0, 2), ['oP name? ', 'oF '], 'tail 3: the prompt with its empty F');
  t.same((await got(4)).slice(0, 4), ['oP on', 'oP e ', 'oP cut', 'oF  short'], 'tail 4: a line begun in name.1 (its last entry cut by a crash counts as P)');
  t.same((await got(5))[0], 'oF zero');
  t.same((await got(50)).length, 12, 'more than there are: everything');
  t.same(await got(0), ['oF half an entr'], 'tail 0: only new output, the entry being written with it, as before');
});

t.test('reassemble joins P entries with their F, per stream', { timeout: 30000 }, async (t) => {
  const file = path.join(tmpDir(t), 'p.log');
  fs.writeFileSync(file, [
    `${stamp(1)} stdout P ab`, `${stamp(1)} stderr P x`, `${stamp(2)} stdout P cd`,
    `${stamp(2)} stderr F y`, `${stamp(3)} stdout F e`, `${stamp(4)} stdout F `, '',
  ].join('\n'));
  const es = await collect(followLog(file, { format: 'cri', reassemble: true }));
  t.same(es.map((e) => [e.stream, e.partial, e.content.toString(), e.timestamp]), [
    ['stderr', false, 'xy', stamp(1)], ['stdout', false, 'abcde', stamp(1)], ['stdout', false, '', stamp(4)],
  ]);
  const raw = await collect(followLog(file, { format: 'cri' }));
  t.same(raw.map((e) => e.partial), [true, true, true, false, false, false]);
});

t.test('bad options and relative paths fail with codes', async (t) => {
  const opts = [
    [{ tail: -1 }, /tail/], [{ format: 'json' }, /format/], [{ since: new Date() }, /since/],
    [{ format: 'cri', since: new Date('x') }, /since/], [{ reassemble: true }, /reassemble/],
  ] as const;
  for (const [o, re] of opts) {
    await t.rejects(followLog('/tmp/x.log', o as object).next(), { code: 'ERR_INVALID_LOG_OPTION', message: re });
  }
  await t.rejects(followLog('x.log').next(), { code: 'ERR_INVALID_LOG_PATH' });
});

t.test('options that are no object, or fields of the wrong type, are typed errors naming the value; nothing is opened', { timeout: 30000 }, async (t) => {
  const file = path.join(tmpDir(t), 'x.log');
  fs.writeFileSync(file, 'x\n');
  const fds = fdCount();
  for (const [o, re] of [[null, /got null/], [5, /got 5/], ['cri', /got "cri"/]] as const) {
    await t.rejects(followLog(file, o as unknown as object).next(), { code: 'ERR_INVALID_ARG_TYPE', message: re }, String(o));
  }
  const fields = [
    [{ follow: 'yes' }, /follow="yes": expected a boolean/], [{ format: 'cri', reassemble: 1 }, /reassemble=1/],
    [{ signal: {} }, /signal=\[object Object\]: expected an AbortSignal/], [{ until: 5 }, /until=5: expected a Promise/],
    [{ until: null }, /until=null/], [{ onStart: 'now' }, /onStart="now": expected a function/], [{ onGap: 1 }, /onGap=1: expected a function/],
    [{ format: Object.create(null) }, /format=\[object Object\]/], [{ format: 'cri', since: Symbol('s') }, /since=Symbol\(s\)/],
  ] as const;
  for (const [o, re] of fields) await t.rejects(followLog(file, o as object).next(), { code: 'ERR_INVALID_LOG_OPTION', message: re });
  t.equal(fdCount(), fds, 'no fd left');
});

interface Tally { count: number; hash: crypto.Hash }

function line(i: number): string {
  return `entry ${i} ${'z'.repeat(i % 97)}`;
}

t.test('follows rotation under continuous writes: every entry once (count and checksum)', { timeout: 120000 }, async (t) => {
  const file = path.join(tmpDir(t), 'rot.log');
  const total = 30000;
  const w = openLogWriter(file, { format: 'cri', maxSize: 64 * 1024, maxFiles: 4 });
  let rotations = 0;
  w.on('rotate', () => rotations++);
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const got: Tally = { count: 0, hash: crypto.createHash('sha256') };
  let readUpTo = 0;
  const readerMoved: { wake: (() => void) | null } = { wake: null };
  const reader = (async () => {
    for await (const e of followLog(file, { format: 'cri', follow: true, signal: ac.signal })) {
      got.count++;
      got.hash.update(e.content).update('\n');
      readUpTo = got.count;
      readerMoved.wake?.();
      if (got.count === total) return;
    }
  })();
  const want = crypto.createHash('sha256');
  const s = w.stream('stdout');
  for (let i = 0; i < total; i++) {
    const l = line(i);
    want.update(l).update('\n');
    if (!s.write(`${l}\n`)) await once(s, 'drain');
    // Keep the writer at most ~2 files ahead of the reader: with maxFiles 4 nothing may rotate out.
    while (i - readUpTo > 1500) await new Promise<void>((r) => { readerMoved.wake = r; });
  }
  s.end();
  await once(s, 'finish');
  await reader;
  await w.close();
  t.equal(got.count, total, 'count');
  t.equal(got.hash.digest('hex'), want.digest('hex'), 'checksum: each entry once, in order');
  t.ok(rotations >= 10, `rotated ${rotations} times while the reader followed`);
});

t.test('rotations faster than the reader lose and repeat nothing', { timeout: 60000 }, async (t) => {
  const file = path.join(tmpDir(t), 'fast.log');
  const w = openLogWriter(file, { format: 'cri', maxSize: 4096, maxFiles: 6 });
  let rotations = 0;
  w.on('rotate', () => rotations++);
  const s = w.stream('stderr');
  const write = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i++) if (!s.write(`${line(i)}\n`)) await once(s, 'drain');
    // Wait until it is in the file: a write callback fires only then.
    await new Promise<void>((r) => s.write('', () => r()));
  };
  await write(0, 20);
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const it = followLog(file, { format: 'cri', follow: true, signal: ac.signal })[Symbol.asyncIterator]();
  const seen: string[] = [];
  const first = await it.next();
  seen.push(first.value!.content.toString());
  // The reader now holds the first file open mid-way; rotate it away four times over.
  const before = rotations;
  await write(20, 200);
  t.ok(rotations - before >= 4, `${rotations - before} rotations while the reader waited`);
  while (seen.length < 200) {
    const r = await it.next();
    if (r.done) break;
    seen.push(r.value.content.toString());
  }
  ac.abort();
  await t.rejects(it.next(), { name: 'AbortError' });
  t.same(seen, Array.from({ length: 200 }, (_, i) => line(i)));
  await w.close();
});

t.test('a raw log followed from its last line sees that line, then new chunks', { timeout: 30000 }, async (t) => {
  const file = path.join(tmpDir(t), 'raw.log');
  fs.writeFileSync(file, 'older\nold\n');
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const it = followLog(file, { tail: 1, follow: true, signal: ac.signal })[Symbol.asyncIterator]();
  t.teardown(async () => { await it.return(); });
  t.equal((await it.next()).value?.content.toString(), 'old\n');
  const next = it.next();
  fs.appendFileSync(file, 'new bytes');
  const r = await next;
  t.equal(r.value?.content.toString(), 'new bytes');
  t.equal(r.value?.stream, null);
});

t.test('external logrotate: entries written between the rename and reopen() are read, each once', { timeout: 60000 }, async (t) => {
  const file = path.join(tmpDir(t), 'ext.log');
  const w = openLogWriter(file, { format: 'cri' });
  const s = w.stream('stdout');
  const write = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i++) if (!s.write(`${line(i)}\n`)) await once(s, 'drain');
    // The write callback fires once the bytes are in the file.
    await new Promise<void>((r) => s.write('', () => r()));
  };
  await write(0, 10);
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const seen: string[] = [];
  // The follower pulls all the time, as `kubectl logs -f` does: it sees the rename as it happens.
  const reader = (async () => {
    for await (const e of followLog(file, { format: 'cri', follow: true, signal: ac.signal })) seen.push(e.content.toString());
  })().catch((e: Error) => { if (e.name !== 'AbortError') throw e; });
  const readUntil = async (n: number): Promise<void> => {
    const t0 = Date.now();
    while (seen.length < n && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 10));
  };
  await readUntil(10);
  // logrotate with `create`: rename, create the new empty file; the writer still holds the old one.
  fs.renameSync(file, `${file}.1`);
  fs.writeFileSync(file, '', { mode: 0o640 });
  await write(10, 20);
  // Long enough for the follower to see the rename and the new file (it polls at least every second).
  await new Promise((r) => setTimeout(r, 1500));
  await write(20, 30);
  await w.reopen(); // logrotate's postrotate: the writer now appends to the new file
  await write(30, 40);
  await readUntil(40);
  // Nothing more comes: each entry once.
  await new Promise((r) => setTimeout(r, 300));
  t.same(seen, Array.from({ length: 40 }, (_, i) => line(i)), 'old file read to its end before the new one, each entry once');
  t.equal(fs.readFileSync(`${file}.1`, 'latin1').split('\n').length - 1, 30, 'entries 10–29 went to the renamed file');
  s.end();
  await w.close();
  ac.abort();
  await reader;
});

/** Counts the fs requests this process starts while `during` runs (async_hooks: counting, not timing). */
async function fsRequestsDuring(during: () => Promise<void>): Promise<number> {
  let n = 0;
  const hook = createHook({ init(_id, type) { if (type.startsWith('FSREQ')) n++; } }).enable();
  try {
    await during();
  } finally {
    hook.disable();
  }
  return n;
}

/** `n` fs requests one after the other: a window measured in threadpool round trips, not time. */
async function roundTrips(n: number, dir: string): Promise<void> {
  for (let i = 0; i < n; i++) await fs.promises.stat(dir);
}

t.test('while name is missing and name.1 exists, a follower waits instead of looking again and again', { timeout: 30000 }, async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'gap.log');
  // A writer renamed the live file and has not made a new one yet (or died there).
  fs.writeFileSync(`${file}.1`, 'old output\n');
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const it = followLog(file, { tail: 0, follow: true, signal: ac.signal })[Symbol.asyncIterator]();
  const first = it.next();
  // While this test makes 300 fs requests in a row, a waiting follower makes none (its 1 s poll
  // may add one look: about a dozen); one that looks for its start again and again keeps pace.
  // The first window lets the follower find its start (about 25 requests); the second one counts.
  const window = 300;
  await roundTrips(window, dir);
  const t0 = process.hrtime.bigint();
  const n = (await fsRequestsDuring(() => roundTrips(window, dir))) - window;
  // A loaded machine stretches the window: each second of it may hold one more poll.
  const polls = Math.ceil(Number(process.hrtime.bigint() - t0) / 1e9);
  t.ok(n < 18 + 12 * polls, `the follower made ${n} fs requests while the test made ${window} in ${polls} s`);
  fs.appendFileSync(`${file}.1`, 'appended to name.1 after the start\n');
  fs.writeFileSync(file, 'new file\n');
  const got: string[] = [];
  for (let r = await first; !r.done; r = await it.next()) {
    got.push(r.value.content.toString());
    if (got.join('').endsWith('new file\n')) break;
  }
  t.same(got.join(''), 'appended to name.1 after the start\nnew file\n', 'starts at the end of the newest file there is');
  await it.return(undefined);
});

t.test('without follow, a set with only name.1 ends at once (tail 0: nothing new)', { timeout: 30000 }, async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'gap.log');
  fs.writeFileSync(`${file}.1`, 'old output\n');
  t.same(await collect(followLog(file, { tail: 0 })), []);
  t.same((await collect(followLog(file, { tail: 1 }))).map((e) => e.content.toString()), ['old output\n']);
  t.same((await collect(followLog(file, { format: 'cri', tail: 0 }))), []);
});

t.test('without follow, a writer in another process rotating past the read: the read ends once the newest file of its start left the set (rule 22)', { timeout: 30000 }, async (t) => {
  const base = path.join(tmpDir(t), 'flood.log');
  const lines = (from: number): string => [0, 1, 2].map((i) => `${stamp((from + i) % 60)} stdout F line ${from + i}\n`).join('');
  fs.writeFileSync(`${base}.1`, lines(0));
  fs.writeFileSync(base, lines(3)); // the newest file when the read begins
  // A writer that announces nothing (another process, as the daemon is to `taskio logs`), keeping
  // two files: one rotation for each entry read, faster than the read goes.
  let rotations = 0;
  const rotate = (): void => {
    fs.renameSync(base, `${base}.1`);
    fs.writeFileSync(base, lines(6 + 3 * rotations++));
  };
  const fds = fdCount();
  const seen: string[] = [];
  for await (const e of followLog(base, { format: 'cri' })) {
    seen.push(e.content.toString());
    if (rotations < 200) rotate();
  }
  // The read started in name.1; by its end two rotations had removed the newest file of the start.
  t.same(seen, ['line 0', 'line 1', 'line 2'], 'ends after the file it was reading, with nothing of the start left to read');
  t.equal(rotations, 3, 'ended while the writer went on');
  t.equal(fdCount(), fds, 'no fd left');
});

t.test('reassemble: a line cut by a stop (P at the end of the log) is handed out as partial, not dropped', { timeout: 30000 }, async (t) => {
  const file = path.join(tmpDir(t), 'cut.log');
  fs.writeFileSync(file, [`${stamp(1)} stdout F whole`, `${stamp(2)} stdout P cut sh`, `${stamp(2)} stdout P ort`, ''].join('\n'));
  const es = await collect(followLog(file, { format: 'cri', reassemble: true }));
  t.same(es.map((e) => [e.stream, e.partial, e.content.toString(), e.timestamp]), [
    ['stdout', false, 'whole', stamp(1)], ['stdout', true, 'cut short', stamp(2)],
  ]);
});

t.test('a log truncated in place (copytruncate) is read again from its start: nothing lost, no line started mid-way', { timeout: 30000 }, async (t) => {
  const dir = tmpDir(t);
  for (const format of ['cri', 'raw'] as const) {
    const file = path.join(dir, `trunc-${format}.log`);
    const entry = (i: number, pad: number): string => `${format === 'cri' ? `${stamp(i)} stdout F ` : ''}line ${i}${'x'.repeat(pad)}\n`;
    fs.writeFileSync(file, entry(1, 100) + entry(2, 100) + entry(3, 100));
    const ac = new AbortController();
    t.teardown(() => ac.abort());
    let writerDone!: () => void;
    const until = new Promise<void>((r) => { writerDone = r; });
    const it = followLog(file, { format, follow: true, until, signal: ac.signal })[Symbol.asyncIterator]();
    let text = '';
    while (!text.includes('line 3')) text += (await it.next()).value!.content.toString() + (format === 'cri' ? '\n' : '');
    // The follower has read to the end; the file is emptied and written again, shorter than before
    // whenever the follower looks, so only its shrinking tells what happened.
    fs.truncateSync(file, 0);
    fs.appendFileSync(file, entry(4, 0));
    fs.appendFileSync(file, entry(5, 0) + entry(6, 0) + entry(7, 0));
    writerDone();
    for (let r = await it.next(); !r.done; r = await it.next()) text += r.value.content.toString() + (format === 'cri' ? '\n' : '');
    t.same(text.split('\n').filter(Boolean).map((l) => l.replace(/x+$/, '')), [1, 2, 3, 4, 5, 6, 7].map((i) => `line ${i}`), format);
  }
});

t.test('started before the log exists: onStart fires at once and the first output is read, whatever tail asks', { timeout: 30000 }, async (t) => {
  const dir = tmpDir(t);
  for (const tail of [0, 1]) {
    const file = path.join(dir, `new-${tail}.log`);
    const ac = new AbortController();
    t.teardown(() => ac.abort());
    let started!: () => void;
    const onStart = new Promise<void>((r) => { started = r; });
    const it = followLog(file, { format: 'cri', tail, follow: true, signal: ac.signal, onStart: () => started() })[Symbol.asyncIterator]();
    const first = it.next();
    await onStart; // no file yet: the start is known at once
    const w = openLogWriter(file, { format: 'cri' });
    t.teardown(() => w.close());
    const s = w.stream('stdout');
    s.write('first line\n');
    s.write('second line\n');
    s.write('third line\n');
    const got = [(await first).value!.content.toString()];
    while (got.length < 3) got.push((await it.next()).value!.content.toString());
    t.same(got, ['first line', 'second line', 'third line'], `tail ${tail}`);
    await it.return(undefined);
  }
  let calls = 0;
  t.same(await collect(followLog(path.join(dir, 'none.log'), { tail: 0, onStart: () => calls++ })), []);
  t.equal(calls, 1, 'not following: called once as well');
});

// fs.watch of a directory that is not there failed with ENOENT; a follower waits for it as for
// its first file (tail -F), made at once or level by level. A file where a directory should be is
// no log to come: refused, as without follow.
t.test('started before the log\'s directory exists: the follower waits for the directory, then reads the first output', { timeout: 30000 }, async (t) => {
  const dir = tmpDir(t);
  for (const how of ['at once', 'level by level']) {
    const top = path.join(dir, how.replace(/ /g, '-'));
    const file = path.join(top, 'b', 'c', 'task.log');
    const ac = new AbortController();
    t.teardown(() => ac.abort());
    let started!: () => void;
    const onStart = new Promise<void>((r) => { started = r; });
    const it = followLog(file, { format: 'cri', tail: 0, follow: true, signal: ac.signal, onStart: () => started() })[Symbol.asyncIterator]();
    const first = it.next();
    await onStart; // no file yet: the start is known at once, and the follower watches
    if (how === 'level by level') {
      fs.mkdirSync(top);
      fs.mkdirSync(path.join(top, 'b'));
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const w = openLogWriter(file, { format: 'cri' });
    t.teardown(() => w.close());
    const s = w.stream('stdout');
    s.write('first line\n');
    s.write('second line\n');
    const got = [(await first).value!.content.toString()];
    got.push((await it.next()).value!.content.toString());
    t.same(got, ['first line', 'second line'], how);
    await it.return(undefined);
  }
  const inTheWay = path.join(dir, 'file');
  fs.writeFileSync(inTheWay, 'not a directory\n');
  for (const follow of [false, true]) {
    await t.rejects(collect(followLog(path.join(inTheWay, 'task.log'), { follow })), { code: 'ENOTDIR' }, `a file in the way, follow ${follow}`);
  }
});

t.test('tail: a CRI entry cut short at the end of an older file counts once; a raw line going on in the next file too', { timeout: 30000 }, async (t) => {
  const dir = tmpDir(t);
  const base = path.join(dir, 'cut.log');
  const entries = (from: number, to: number): string => Array.from({ length: to - from }, (_, i) => `${stamp(from + i)} stdout F line ${from + i}\n`).join('');
  // name.1 ended mid-entry (its writer crashed); the entry is read all the same, so it is counted.
  fs.writeFileSync(`${base}.1`, `${entries(3, 5)}${stamp(5)} stdout F line 5`);
  fs.writeFileSync(base, entries(6, 9));
  const text = (es: LogEntry[]): string[] => es.map((e) => e.content.toString());
  t.same(text(await collect(followLog(base, { format: 'cri', tail: 4 }))), ['line 5', 'line 6', 'line 7', 'line 8']);
  t.same(text(await collect(followLog(base, { format: 'cri', tail: 3 }))), ['line 6', 'line 7', 'line 8']);
  t.same(text(await collect(followLog(base, { format: 'cri', tail: 5 }))), ['line 4', 'line 5', 'line 6', 'line 7', 'line 8']);
  fs.writeFileSync(base, '');
  t.same(text(await collect(followLog(base, { format: 'cri', tail: 0 }))), [], 'tail 0: the cut entry is old output');
  t.same(text(await collect(followLog(base, { format: 'cri', tail: 1 }))), ['line 5']);
  // A raw writer rotates at any byte: "b" and "c" are one line.
  const raw = path.join(dir, 'raw.log');
  fs.writeFileSync(`${raw}.1`, 'a\nb');
  fs.writeFileSync(raw, 'c\nd\n');
  t.same(text(await collect(followLog(raw, { tail: 2 }))).join(''), 'bc\nd\n');
  t.same(text(await collect(followLog(raw, { tail: 3 }))).join(''), 'a\nbc\nd\n');
});

t.test('a CRI line whose time does not exist is skipped, as kubelet skips it (no roll-over into the next month)', { timeout: 30000 }, async (t) => {
  const bad = [
    '2024-02-31T25:61:61.000000000Z', '2023-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2024-04-31T00:00:00Z',
    '2024-00-10T00:00:00Z', '2024-13-10T00:00:00Z', '2024-01-00T00:00:00Z', '2024-01-01T24:00:00Z',
    '2024-01-01T00:60:00Z', '2024-01-01T00:00:60Z', '2024-01-01T00:00:00+24:00', '2024-01-01T00:00:00-01:60',
  ];
  for (const text of bad) t.equal(parseCriTime(text), null, text);
  const good: [string, string][] = [
    ['2024-02-29T23:59:59.999999999Z', '2024-02-29T23:59:59.999Z'], ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
    ['2024-12-31T00:00:00Z', '2024-12-31T00:00:00.000Z'], ['2024-01-01T00:00:00+23:59', '2023-12-31T00:01:00.000Z'],
    ['2024-01-01T00:00:00-02:30', '2024-01-01T02:30:00.000Z'],
    // Years below 100 are those years, not 1900 and later (as Date.UTC would have them).
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'], ['0099-12-31T23:59:59Z', '0099-12-31T23:59:59.000Z'],
  ];
  for (const [text, iso] of good) t.equal(new Date(parseCriTime(text)!.ms).toISOString(), iso, text);
  const file = path.join(tmpDir(t), 'dates.log');
  fs.writeFileSync(file, `${stamp(1)} stdout F before\n2024-02-31T25:61:61.000000000Z stdout F impossible\n${stamp(2)} stdout F after\n`);
  t.same((await collect(followLog(file, { format: 'cri' }))).map((e) => e.content.toString()), ['before', 'after']);
});

t.test('criTimeMs, the reader\'s fast path, gives parseCriTime\'s milliseconds for every form, within a second and across seconds', { timeout: 30000 }, async (t) => {
  const texts = [
    '2026-12-05T10:14:07.123456789Z', '2026-12-05T10:14:07.999999999Z', '2026-12-05T10:14:08.000000001Z',
    '2026-12-05T10:14:08.00000000xZ', '2026-12-05T10:14:08.000000000+01:00', '2026-12-05T10:14:08.1Z', '2026-12-05T10:14:08Z',
    '1969-12-31T23:59:59.500000000Z', '1969-12-31T23:59:59.600000000Z', '0001-01-01T00:00:00.001000000Z',
    '2024-02-31T00:00:00.000000000Z', '2024-02-29T23:59:59.999999999Z', 'not a time at all, 30 chars.Z',
  ];
  for (const text of texts) t.equal(criTimeMs(text), parseCriTime(text)?.ms ?? null, text);
  // The same second again after others, and every fraction digit position.
  for (const text of [...texts].reverse()) t.equal(criTimeMs(text), parseCriTime(text)?.ms ?? null, `again: ${text}`);
  for (let i = 0; i < 9; i++) {
    const text = `2026-12-05T10:14:08.${'0'.repeat(i)}7${'0'.repeat(8 - i)}Z`;
    t.equal(criTimeMs(text), parseCriTime(text)!.ms, text);
  }
});
