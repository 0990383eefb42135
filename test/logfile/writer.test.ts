import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { openLogWriter, type LogWriter } from '../../src/logfile/logWriter.js';
import { followLog } from '../../src/logfile/followLog.js';
import { quietLineMs } from '../../src/logfile/quietLine.js';
import { bytesReadable, pipe2 } from '../../src/sys/index.js';
import { until } from '../helpers/common.js';

const criLine = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z) (stdout|stderr) ([PF]) /;

function tmpDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-logw-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Splits a CRI file into entries, checking every header; content stays bytes. */
function entries(file: string): { stream: string; tag: string; content: Buffer }[] {
  const data = fs.readFileSync(file);
  const out: { stream: string; tag: string; content: Buffer }[] = [];
  let pos = 0;
  while (pos < data.length) {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) throw new Error(`entry without newline at ${pos}`);
    const line = data.subarray(pos, nl);
    const m = criLine.exec(line.subarray(0, 50).toString('latin1'));
    if (!m) throw new Error(`bad CRI entry: ${line.subarray(0, 80).toString('latin1')}`);
    out.push({ stream: m[2]!, tag: m[3]!, content: line.subarray(m[0].length) });
    pos = nl + 1;
  }
  return out;
}

async function writeAll(w: LogWriter, name: 'stdout' | 'stderr', chunks: (string | Buffer)[], end = true): Promise<void> {
  const s = w.stream(name);
  for (const c of chunks) {
    if (!s.write(c)) await once(s, 'drain');
  }
  if (end) {
    s.end();
    await once(s, 'finish');
  }
}

t.test('raw logs keep the bytes exactly, in order', { timeout: 30000 }, async (t) => {
  const file = path.join(tmpDir(t), 'sub', 'raw.log');
  const w = openLogWriter(file);
  const chunks: Buffer[] = [];
  for (let i = 0; i < 200; i++) chunks.push(crypto.randomBytes(1 + Math.floor(Math.random() * 20000)));
  await writeAll(w, 'stdout', chunks);
  await w.close();
  t.ok(fs.readFileSync(file).equals(Buffer.concat(chunks)), 'byte-exact');
  t.equal(fs.statSync(file).mode & 0o777, 0o640);
});

t.test('CRI: short lines, cut only by maxLineSize, never by read boundaries', { timeout: 30000 }, async (t) => {
  const file = path.join(tmpDir(t), 'cri.log');
  const w = openLogWriter(file, { format: 'cri' });
  // Lines split across writes at awkward places must come out whole.
  await writeAll(w, 'stdout', ['hel', 'lo\nwor', 'ld\n', '\n', 'a\nb\nc', '\n']);
  await w.close();
  const e = entries(file);
  t.same(e.map((x) => `${x.stream} ${x.tag} ${x.content.toString()}`),
    ['stdout F hello', 'stdout F world', 'stdout F ', 'stdout F a', 'stdout F b', 'stdout F c']);
});

t.test('CRI: a 100 KiB line without newline becomes P entries and a final F', { timeout: 30000 }, async (t) => {
  const file = path.join(tmpDir(t), 'cri.log');
  const w = openLogWriter(file, { format: 'cri' });
  const line = crypto.randomBytes(100 * 1024).map((b) => (b === 0x0a ? 0x41 : b));
  // Written in uneven pieces: the cuts must still fall every 16 KiB.
  const pieces: Buffer[] = [];
  for (let pos = 0; pos < line.length;) {
    const n = Math.min(line.length - pos, 1000 + Math.floor(Math.random() * 9000));
    pieces.push(Buffer.from(line.subarray(pos, pos + n)));
    pos += n;
  }
  await writeAll(w, 'stderr', pieces);
  await w.close();
  const e = entries(file);
  t.equal(e.length, Math.ceil(line.length / 16384));
  t.same(e.map((x) => x.tag), [...Array(e.length - 1).fill('P'), 'F']);
  t.ok(e.slice(0, -1).every((x) => x.content.length === 16384), 'P entries hold exactly maxLineSize');
  t.ok(e.every((x) => x.stream === 'stderr'));
  t.ok(Buffer.concat(e.map((x) => x.content)).equals(line), 'content byte-exact');
});

t.test('CRI: a line of exactly maxLineSize is one F entry; one byte more is P + F', { timeout: 30000 }, async (t) => {
  const file = path.join(tmpDir(t), 'cri.log');
  const w = openLogWriter(file, { format: 'cri', maxLineSize: 8 });
  await writeAll(w, 'stdout', ['12345678', '\n', '123456789\n', '1234567812345678']);
  await w.close();
  t.same(entries(file).map((x) => `${x.tag} ${x.content.toString()}`),
    ['F 12345678', 'P 12345678', 'F 9', 'P 12345678', 'F 12345678']);
});

t.test('CRI: CRLF and invalid UTF-8 are kept as content bytes', { timeout: 30000 }, async (t) => {
  const file = path.join(tmpDir(t), 'cri.log');
  const w = openLogWriter(file, { format: 'cri' });
  const bad = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x61, 0xe2, 0x82]);
  await writeAll(w, 'stdout', ['dos line\r\n', Buffer.concat([bad, Buffer.from('\n')]), Buffer.from([0xe2]), Buffer.from([0x82, 0xac, 0x0a])]);
  await w.close();
  const e = entries(file);
  t.same(e.map((x) => x.content), [Buffer.from('dos line\r'), bad, Buffer.from('€')]);
});

t.test('CRI: interleaved stdout and stderr keep each stream\'s lines whole', { timeout: 30000 }, async (t) => {
  const file = path.join(tmpDir(t), 'cri.log');
  const w = openLogWriter(file, { format: 'cri' });
  const out = w.stream('stdout'), err = w.stream('stderr');
  const want: Record<string, string[]> = { stdout: [], stderr: [] };
  for (let i = 0; i < 2000; i++) {
    const o = `out-${i}-${'o'.repeat(i % 50)}`, e = `err-${i}-${'e'.repeat(i % 70)}`;
    want.stdout!.push(o);
    want.stderr!.push(e);
    // Each line is written in two halves, alternating streams between the halves.
    out.write(o.slice(0, 3));
    err.write(e.slice(0, 4));
    out.write(`${o.slice(3)}\n`);
    err.write(`${e.slice(4)}\n`);
  }
  out.end();
  err.end();
  await Promise.all([once(out, 'finish'), once(err, 'finish')]);
  await w.close();
  const e = entries(file);
  t.ok(e.every((x) => x.tag === 'F'));
  t.same(e.filter((x) => x.stream === 'stdout').map((x) => x.content.toString()), want.stdout);
  t.same(e.filter((x) => x.stream === 'stderr').map((x) => x.content.toString()), want.stderr);
});

t.test('copyFrom copies a real pipe, raw and CRI', { timeout: 30000 }, async (t) => {
  const dir = tmpDir(t);
  for (const format of ['raw', 'cri'] as const) {
    const file = path.join(dir, `${format}.log`);
    const w = openLogWriter(file, { format });
    const p = pipe2();
    const copied = w.copyFrom('stdout', p.read);
    const payload = Buffer.from(Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join('') + 'last');
    // Write from a child-like writer in pieces; the pipe is blocking, so write synchronously in a loop.
    for (let pos = 0; pos < payload.length; pos += 7777) fs.writeSync(p.write, payload.subarray(pos, pos + 7777));
    fs.closeSync(p.write);
    t.equal(await copied, payload.length);
    await w.close();
    if (format === 'raw') t.ok(fs.readFileSync(file).equals(payload));
    else {
      const e = entries(file);
      t.equal(e.length, 5001);
      t.equal(e[5000]!.content.toString(), 'last');
      t.equal(e[5000]!.tag, 'F');
    }
  }
});

t.test('relative paths and bad options fail with codes', async (t) => {
  t.throws(() => openLogWriter('rel/x.log'), { code: 'ERR_INVALID_LOG_PATH', message: /rel\/x\.log/ });
  t.throws(() => openLogWriter('/tmp/x.log', { maxFiles: 3 }), { code: 'ERR_INVALID_LOG_OPTION', message: /maxFiles/ });
  t.throws(() => openLogWriter('/tmp/x.log', { format: 'json' as 'raw' }), { code: 'ERR_INVALID_LOG_OPTION', message: /format/ });
  t.throws(() => openLogWriter('/tmp/x.log', { format: 'cri', maxLineSize: 0 }), { code: 'ERR_INVALID_LOG_OPTION', message: /maxLineSize/ });
  t.throws(() => openLogWriter('/tmp/x.log').stream('stdin' as 'stdout'), { code: 'ERR_INVALID_ARG_VALUE' });
});

t.test('CRI copyFrom: after the pause that follows a small read, a line reaches the file with no further write, and is never split', { timeout: 60000 }, async (t) => {
  const file = path.join(tmpDir(t), 'slow.log');
  const w = openLogWriter(file, { format: 'cri' });
  const p = pipe2();
  const copied = w.copyFrom('stdout', p.read);
  for (let i = 0; i < 20; i++) {
    // Half a line; once the copy has read it (it holds it: the pipe is empty), the rest. After line
    // i - 1 the copy pauses (its read was small): it must read again by itself, not on more input.
    fs.writeSync(p.write, `line ${i} `);
    await until(() => bytesReadable(p.read) === 0, 10_000, `the copy to read the first half of line ${i}`);
    fs.writeSync(p.write, 'end\n');
    // Nothing more is written, and the pipe stays open: the line must reach the file on its own.
    // (How soon is a speed figure: `npm run bench -- logs`, logs-cri-line-latency.)
    await until(() => fs.existsSync(file) && entries(file).length > i, 10_000, `line ${i} in the file with no write after it`);
  }
  fs.closeSync(p.write);
  await copied;
  await w.close();
  t.same(entries(file).map((e) => `${e.tag} ${e.content.toString()}`), Array.from({ length: 20 }, (_, i) => `F line ${i} end`));
});

t.test('close() stops a CRI copy: the copy resolves and its unfinished line is a P entry (cut, not ended)', { timeout: 30000 }, async (t) => {
  const file = path.join(tmpDir(t), 'stop.log');
  const w = openLogWriter(file, { format: 'cri' });
  const p = pipe2();
  t.teardown(() => fs.closeSync(p.write));
  const copied = w.copyFrom('stderr', p.read);
  fs.writeSync(p.write, 'whole\nunfinished');
  // Wait until the whole line is in the file: the copy has read both parts by then.
  for (let i = 0; i < 500 && !(fs.existsSync(file) && fs.statSync(file).size > 0); i++) await new Promise((r) => setTimeout(r, 10));
  await w.close();
  t.equal(await copied, 16, 'resolves with the bytes read');
  t.same(entries(file).map((e) => `${e.stream} ${e.tag} ${e.content.toString()}`), ['stderr F whole', 'stderr P unfinished']);
});

t.test('raw copyFrom keeps 32 MiB of random bytes exact while reading and writing overlap', { timeout: 60000 }, async (t) => {
  const dir = tmpDir(t);
  const data = crypto.randomBytes(32 << 20);
  const src = path.join(dir, 'src.bin');
  fs.writeFileSync(src, data);
  const file = path.join(dir, 'raw.log');
  const w = openLogWriter(file, { format: 'raw' });
  const p = pipe2();
  const copied = w.copyFrom('stdout', p.read);
  // A separate producer writing as fast as it can: reads fill the buffers while writes are queued.
  const producer = spawn('cat', [src], { stdio: ['ignore', p.write, 'inherit'] });
  fs.closeSync(p.write);
  await new Promise((resolve) => producer.on('exit', resolve));
  t.equal(await copied, data.length);
  await w.close();
  const got = fs.readFileSync(file);
  t.equal(got.length, data.length);
  t.ok(got.equals(data), 'byte-exact, in order');
});

t.test('a copy stopped by its signal: rejects with AbortError, its unfinished line is a P entry', { timeout: 30000 }, async (t) => {
  const file = path.join(tmpDir(t), 'abort.log');
  const w = openLogWriter(file, { format: 'cri' });
  const p = pipe2();
  t.teardown(() => fs.closeSync(p.write));
  const ac = new AbortController();
  const copied = w.copyFrom('stdout', p.read, { signal: ac.signal });
  fs.writeSync(p.write, 'whole\ncut sho');
  for (let i = 0; i < 500 && !(fs.existsSync(file) && fs.statSync(file).size > 0); i++) await new Promise((r) => setTimeout(r, 10));
  ac.abort();
  await t.rejects(copied, { name: 'AbortError' });
  await w.close();
  t.same(entries(file).map((e) => `${e.tag} ${e.content.toString()}`), ['F whole', 'P cut sho']);
});

t.test('close() with a stream not ended: its unfinished line is a P entry; an ended one is F', { timeout: 30000 }, async (t) => {
  const file = path.join(tmpDir(t), 'streams.log');
  const w = openLogWriter(file, { format: 'cri' });
  await writeAll(w, 'stdout', ['out line\nout unfinished'], false);
  await writeAll(w, 'stderr', ['err line\nerr ended without newline'], true);
  await w.close();
  t.same(entries(file).map((e) => `${e.stream} ${e.tag} ${e.content.toString()}`).sort(), [
    'stderr F err ended without newline', 'stderr F err line', 'stdout F out line', 'stdout P out unfinished',
  ]);
});

t.test('close() right after writes to a stream: all written before it reaches the file, raw and CRI', { timeout: 30000 }, async (t) => {
  const dir = tmpDir(t);
  for (const format of ['raw', 'cri'] as const) {
    const file = path.join(dir, `${format}.log`);
    const w = openLogWriter(file, { format });
    // No 'error' listener on the streams: a caller who only writes has none.
    const out = w.stream('stdout');
    const results: string[] = [];
    const lines = Array.from({ length: 5 }, (_, i) => `line ${i}\n`);
    for (const [i, l] of lines.entries()) out.write(l, (e) => results.push(`${i} ${(e as NodeJS.ErrnoException | null)?.code ?? 'ok'}`));
    t.ok(out.writableLength > lines[0]!.length, `${format}: writes are still buffered behind the first when close() is called`);
    let ended: Promise<unknown> | null = null;
    if (format === 'cri') {
      // Ended before close(): its unfinished last line is ended by its stream (F), not cut.
      const err = w.stream('stderr');
      err.write('err whole\n');
      err.write('err ended');
      err.end();
      ended = once(err, 'finish');
    }
    await w.close();
    await ended;
    t.same(results, lines.map((_, i) => `${i} ok`), `${format}: every write callback succeeds`);
    if (format === 'raw') t.equal(fs.readFileSync(file, 'utf8'), lines.join(''));
    else {
      t.same(entries(file).map((e) => `${e.stream} ${e.tag} ${e.content.toString()}`).sort(), [
        'stderr F err ended', 'stderr F err whole', ...lines.map((l) => `stdout F ${l.trim()}`),
      ]);
    }
  }
});

t.test('a write after close() fails in its callback, never as an uncaught error; corked writes from before are kept', { timeout: 30000 }, async (t) => {
  const file = path.join(tmpDir(t), 'late.log');
  const w = openLogWriter(file, { format: 'cri' });
  const out = w.stream('stdout'), err = w.stream('stderr');
  out.write('held 0\n');
  out.cork();
  out.write('held 1\n');
  const closed = w.close();
  // stderr held nothing from before: this write is refused although held stdout output is still
  // being written to the open file.
  const late = new Promise((resolve) => err.write('late\n', resolve));
  t.match(await late, { code: 'ERR_LOG_CLOSED', message: /late\.log/ });
  await closed;
  const later = new Promise((resolve) => out.write('later\n', resolve));
  t.match(await later, { code: 'ERR_LOG_CLOSED' });
  // An unhandled 'error' would surface as an uncaught exception on a later tick.
  await new Promise((resolve) => setImmediate(resolve));
  t.ok(err.destroyed && out.destroyed, 'the streams are destroyed quietly');
  t.same(entries(file).map((e) => `${e.stream} ${e.tag} ${e.content.toString()}`), ['stdout F held 0', 'stdout F held 1']);
});

t.test('a CRI writer opened on a torn last entry starts on a new line; a raw writer appends the bytes as they are', { timeout: 30000 }, async (t) => {
  const dir = tmpDir(t);
  // A writer that died (or gave up on a full disk) in the middle of an entry.
  const torn = '2026-01-01T00:00:00.000000000Z stdout F whole\n2026-01-01T00:00:00.000000001Z stdout F torn in the mid';
  const cri = path.join(dir, 'cri.log');
  fs.writeFileSync(cri, torn);
  const w = openLogWriter(cri, { format: 'cri' });
  await writeAll(w, 'stdout', ['next writer\n']);
  await w.close();
  t.same(entries(cri).map((e) => `${e.tag} ${e.content.toString()}`), ['F whole', 'F torn in the mid', 'F next writer']);
  // A file that ends with its newline gets nothing more.
  const whole = fs.readFileSync(cri);
  const w2 = openLogWriter(cri, { format: 'cri' });
  await writeAll(w2, 'stdout', ['third\n']);
  await w2.close();
  t.equal(fs.readFileSync(cri).subarray(0, whole.length).compare(whole), 0);
  t.equal(entries(cri).length, 4, 'no empty line between');
  // Raw logs are the task's bytes: a prompt without a newline goes on where it stopped.
  const raw = path.join(dir, 'raw.log');
  fs.writeFileSync(raw, 'password: ');
  const r = openLogWriter(raw);
  await writeAll(r, 'stdout', ['(typed)\n']);
  await r.close();
  t.equal(fs.readFileSync(raw, 'utf8'), 'password: (typed)\n');
});

t.test('a CRI writer of a user who may write its file but not read it (mode 0200, not root) logs without the torn-line check', { timeout: 30000 }, async (t) => {
  const dir = tmpDir(t);
  fs.chmodSync(dir, 0o755);
  const cri = path.join(dir, 'writeonly.log');
  fs.writeFileSync(cri, '2026-01-01T00:00:00.000000000Z stdout F before\n', { mode: 0o200 });
  fs.chownSync(cri, 65534, 65534); // nobody
  // As nobody (root reads any file): the writer writes one entry and closes; its errors are printed.
  const writerModule = path.resolve('dist/logfile/logWriter.js');
  const script = `
    const { openLogWriter } = await import(${JSON.stringify(writerModule)});
    const w = openLogWriter(${JSON.stringify(cri)}, { format: 'cri' });
    const errors = [];
    w.on('error', (e) => { errors.push(e.code); w.close(); });
    w.stream('stdout').end('after\\n');
    await w.close();
    console.log(JSON.stringify({ uid: process.getuid(), errors }));`;
  const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const [code] = await once(child, 'exit') as [number];
  t.equal(code, 0);
  t.same(JSON.parse(out), { uid: 65534, errors: [] }, 'as nobody, no stall');
  t.same(entries(cri).map((e) => `${e.tag} ${e.content.toString()}`), ['F before', 'F after']);
});

/** Resolves once the CRI file holds `n` entries (the copy runs in this process: poll between its turns). */
async function entriesIn(file: string, n: number): Promise<ReturnType<typeof entries>> {
  for (;;) {
    const e = fs.existsSync(file) ? entries(file) : [];
    if (e.length >= n) return e;
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('CRI: a line that stays unfinished (a prompt waiting for its answer) is written as a P entry; readers join it with its F', { timeout: 30000 }, async (t) => {
  const dir = tmpDir(t);
  // The other side of the rule: unread bytes in the pipe, or a write still being done, are no quiet.
  await t.test('copyFrom: a line written in two writes stays one F entry, also when the copy read between them and its turn came late', async (t) => {
    const file = path.join(dir, 'two.log');
    const w = openLogWriter(file, { format: 'cri' });
    const p = pipe2();
    const copied = w.copyFrom('stdout', p.read);
    fs.writeSync(p.write, 'first half, ');
    // The copy has read the first half (the pipe is empty) and holds it.
    while (bytesReadable(p.read) > 0) await new Promise((r) => setImmediate(r));
    // This process (the copy's) stalls past the quiet time before the second half comes, as a loaded
    // machine may stall it: the pipe is not quiet then, only unread, and the line is not cut.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, quietLineMs + 10);
    fs.writeSync(p.write, 'second half\n');
    fs.closeSync(p.write);
    await copied;
    await w.close();
    t.same(entries(file).map((e) => `${e.tag} ${e.content.toString()}`), ['F first half, second half']);
  });
  await t.test('stream: a line written in two writes stays one F entry, also when the first write took the file long', async (t) => {
    const file = path.join(dir, 'two-stream.log');
    const w = openLogWriter(file, { format: 'cri' });
    const s = w.stream('stdout');
    // The first write has an entry for the file (the line before) and the first half to hold; the
    // second waits in the stream behind it until the file took the first. This process stalls past
    // the quiet time meanwhile: the producer waiting for its callback is no quiet.
    s.write('whole\nfirst half, ');
    s.end('second half\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, quietLineMs + 10);
    await once(s, 'finish');
    await w.close();
    t.same(entries(file).map((e) => `${e.tag} ${e.content.toString()}`), ['F whole', 'F first half, second half']);
  });
  for (const source of ['copyFrom', 'stream'] as const) {
    const file = path.join(dir, `${source}.log`);
    const w = openLogWriter(file, { format: 'cri' });
    let write: (s: string) => void;
    let end: () => Promise<unknown>;
    if (source === 'copyFrom') {
      const p = pipe2();
      const copied = w.copyFrom('stdout', p.read);
      write = (s) => { fs.writeSync(p.write, s); };
      end = () => { fs.closeSync(p.write); return copied; };
    } else {
      const s = w.stream('stdout');
      write = (c) => { s.write(c); };
      end = () => { s.end(); return once(s, 'finish'); };
    }
    write('hello\nname? ');
    // Nothing comes after the prompt's bytes, neither a newline nor the end of the stream.
    t.same((await entriesIn(file, 2)).map((e) => `${e.tag} ${e.content.toString()}`), ['F hello', 'P name? '], `${source}: the prompt`);
    write('bob\n');
    await end();
    await w.close();
    t.same(entries(file).map((e) => `${e.tag} ${e.content.toString()}`), ['F hello', 'P name? ', 'F bob'], `${source}: the answer ends the line`);
    const joined: string[] = [];
    for await (const e of followLog(file, { format: 'cri', reassemble: true })) joined.push(`${e.partial ? 'P' : 'F'} ${e.content.toString()}`);
    t.same(joined, ['F hello', 'F name? bob'], `${source}: a CRI reader joins the line`);
  }
  // A last line without newline that went out as P ends at EOF with an empty F, as one held until
  // then ends as F: the log reads back the same whether the task paused before it exited or not.
  for (const source of ['copyFrom', 'stream'] as const) {
    const file = path.join(dir, `${source}-last.log`);
    const w = openLogWriter(file, { format: 'cri' });
    let end: () => Promise<unknown>;
    if (source === 'copyFrom') {
      const p = pipe2();
      const copied = w.copyFrom('stdout', p.read);
      fs.writeSync(p.write, 'partial');
      end = () => { fs.closeSync(p.write); return copied; };
    } else {
      const s = w.stream('stdout');
      s.write('partial');
      end = () => { s.end(); return once(s, 'finish'); };
    }
    t.same((await entriesIn(file, 1)).map((e) => `${e.tag} ${e.content.toString()}`), ['P partial'], `${source}: the quiet last line`);
    await end();
    await w.close();
    t.same(entries(file).map((e) => `${e.tag} ${e.content.toString()}`), ['P partial', 'F '], `${source}: EOF ends it`);
  }
});
