/**
 * The daemon's log stream (`openLog`) over a log written in the same process, whose client stops
 * reading while the log rotates far past the reader's bound: the files let go are one line where
 * they were — docker's `Error grabbing logs: …` in a `systemerr` frame, or in the raw stream of a
 * terminal, as docker writes it — and the stream goes on with the rest.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { openLog } from '../../src/daemon/logStream.js';
import { StreamType } from '../../src/daemon/stdcopy.js';
import { openLogWriter } from '../../src/logfile/logWriter.js';
import { maxHeldFiles } from '../../src/logfile/heldFiles.js';
import { tmpDir } from '../helpers/common.js';

const notice = /^Error grabbing logs: (\d+) rotated log file\(s\), (\d+) bytes, were removed before this reader reached them \(it fell too far behind\)\n$/;
const lines = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}\n`).join('');

/** The frames of a multiplexed stream, consecutive payloads of one stream joined. */
function frames(b: Buffer): [StreamType, string][] {
  const out: [StreamType, string][] = [];
  for (let i = 0; i < b.length;) {
    const type = b[i] as StreamType, n = b.readUInt32BE(i + 4);
    const payload = b.subarray(i + 8, i + 8 + n).toString();
    const last = out[out.length - 1];
    if (last && last[0] === type) last[1] += payload;
    else out.push([type, payload]);
    i += 8 + n;
  }
  return out;
}

for (const terminal of [false, true]) {
  t.test(`a ${terminal ? 'terminal\'s raw' : 'multiplexed'} log stream whose client stopped: one line where the files let go were, then the rest`, { timeout: 60000 }, async (t) => {
    const format = terminal ? 'raw' : 'cri';
    const file = path.join(tmpDir(t, 'taskio-logstream-'), 'task.log');
    const w = openLogWriter(file, { format, maxSize: 1024, maxFiles: 1 });
    t.teardown(() => w.close());
    let rotations = 0;
    w.on('rotate', () => rotations++);
    const s = w.stream('stdout');
    const write = async (from: number, to: number): Promise<void> => {
      if (!s.write(lines(from, to))) await once(s, 'drain');
      await new Promise<void>((r) => s.write('', () => r()));
    };
    await write(1, 10);
    let complete!: () => void;
    const outputDone = new Promise<void>((r) => { complete = r; });
    const ac = new AbortController();
    t.teardown(() => ac.abort());
    const log = await openLog({ record: { logPath: file, logFormat: format, terminal }, outputDone },
      { follow: true, timestamps: false, stdout: true, stderr: true, signal: ac.signal });
    // A client that takes the first write and then nothing until let go: the pump waits for 'drain'.
    const got: Buffer[] = [];
    let release: (() => void) | null = null;
    let stopped = true;
    const out = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _enc, cb) {
        got.push(Buffer.from(chunk));
        if (stopped) release = cb;
        else cb();
      },
    });
    const pumped = log.pump(out);
    let n = 10;
    while (rotations < maxHeldFiles + 200) {
      await write(n + 1, n + 1000);
      n += 1000;
    }
    await w.close();
    complete(); // the task's output is all in the log: the stream ends after it
    stopped = false;
    (release as (() => void) | null)?.();
    await pumped;
    out.end();

    const all = lines(1, n);
    if (terminal) {
      const text = Buffer.concat(got).toString();
      const m = /Error grabbing logs: [^\n]*\n/.exec(text);
      t.ok(m, 'the line is in the raw stream');
      const before = text.slice(0, m!.index), after = text.slice(m!.index + m![0].length);
      t.ok(all.startsWith(before) && all.endsWith(after), 'what came before it and after it, as the task wrote it');
      t.equal(Number(notice.exec(m![0])?.[2]), all.length - before.length - after.length, 'it counts the bytes missing (a raw file is cut at any byte)');
    } else {
      const f = frames(Buffer.concat(got));
      t.same(f.map(([type]) => type), [StreamType.Stdout, StreamType.Systemerr, StreamType.Stdout], 'output, one systemerr frame, output');
      const [before, gap, after] = f.map(([, text]) => text) as [string, string, string];
      t.ok(all.startsWith(before) && all.endsWith(after), 'whole lines before it and after it, each once, in order');
      // Each CRI line lost: a 30-byte time, " stdout F ", the line without its newline, and a newline.
      const missing = all.slice(before.length, all.length - after.length).split('\n').slice(0, -1);
      t.ok(missing.length > 0, `${missing.length} lines let go`);
      t.equal(Number(notice.exec(gap)?.[2]), missing.reduce((sum, l) => sum + 30 + 10 + l.length + 1, 0), 'it counts the bytes of exactly the lines missing');
    }
  });
}

/** The fds of this process open on `file`. */
const openOn = (file: string): string[] => fs.readdirSync('/proc/self/fd').filter((fd) => {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`) === file;
  } catch {
    return false; // the fd of the directory listing itself, closed by now
  }
});

for (const follow of [false, true]) {
  t.test(`a log stream (${follow ? 'followed' : 'read to its end'}) whose client goes away while the pump waits for it to drain lets go of the log file`, { timeout: 60000 }, async (t) => {
    // The daemon aborts the signal when the client's connection closes. The pump waited for 'drain'
    // outside the reader, so the reader, suspended between two batches, never saw the abort and
    // kept the file open (and any rotated file it held) for as long as the daemon ran.
    const file = path.join(tmpDir(t, 'taskio-logstream-gone-'), 'task.log');
    const w = openLogWriter(file, { format: 'cri' });
    const s = w.stream('stdout');
    s.end(lines(1, 20000));
    await once(s, 'finish');
    await w.close();
    const ac = new AbortController();
    t.teardown(() => ac.abort());
    const log = await openLog({ record: { logPath: file, logFormat: 'cri', terminal: false }, outputDone: new Promise<void>(() => undefined) },
      { follow, timestamps: false, stdout: true, stderr: true, signal: ac.signal });
    let firstWrite!: () => void;
    const written = new Promise<void>((r) => { firstWrite = r; });
    // A client that takes nothing: the first batch fills it and the pump waits for 'drain'.
    const out = new Writable({ highWaterMark: 1, write: () => firstWrite() });
    const pumped = log.pump(out);
    await written;
    t.equal(openOn(file).length, 1, 'the reader has the log open while it sends');
    ac.abort();
    await t.rejects(pumped, { name: 'AbortError' }, 'the pump ends with the abort');
    t.same(openOn(file), [], 'the log file is closed');
  });
}

t.test('follows of a task that runs on, once over, leave nothing on its end: many follows do not grow the daemon', { timeout: 30_000 }, async (t) => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const file = path.join(tmpDir(t, 'taskio-logstream-many-'), 'task.log');
  const w = openLogWriter(file, { format: 'cri' });
  t.teardown(() => w.close());
  const s = w.stream('stdout');
  await new Promise<void>((r) => s.write(lines(1, 3), () => r()));
  // The task's output is never complete: it runs for weeks, and `logs -f` and attaches come and go.
  const outputDone = new Promise<void>(() => undefined);
  const follow = async (): Promise<WeakRef<AbortSignal>> => {
    const ac = new AbortController();
    const log = await openLog({ record: { logPath: file, logFormat: 'cri', terminal: false }, outputDone },
      { follow: true, timestamps: false, stdout: true, stderr: true, signal: ac.signal });
    let got!: () => void;
    const shown = new Promise<void>((r) => { got = r; });
    const pumped = log.pump(new Writable({ write: (_c, _e, cb) => { got(); cb(); } }));
    await shown; // following: waiting for more at the end of the log
    ac.abort(); // the client leaves
    await pumped.catch((err: Error) => { if (err.name !== 'AbortError') throw err; });
    return new WeakRef(ac.signal);
  };
  const refs: WeakRef<AbortSignal>[] = [];
  for (let i = 0; i < 50; i += 1) refs.push(await follow());
  for (let i = 0; i < 3; i += 1) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  // Each follower's reaction on the task's end kept it (its 256 KiB read buffer, its options and
  // signal) until the task exited.
  const alive = refs.filter((r) => r.deref() !== undefined).length;
  t.ok(alive < 10, `the followers that are over are collected (${alive} of 50 alive)`);
});
