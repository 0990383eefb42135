/**
 * A reader still locating its start (`tail`, `since`) while the writer in this process rotates the log
 * past the files it searches: it loses none of them (or, past the bound, reports the files let go).
 *
 * To rotate at the exact point the reader searches, the test holds back the reader's first read of
 * one file (a pass-through around `fs.read`, installed before the log modules load and capture it)
 * and drives the real writer meanwhile; every file, fd and rotation is real.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fdsUnder } from '../helpers/common.js';

/** The next read of a file with inode `ino` first waits for `run` (once). */
let held: { ino: number; run: () => Promise<void> } | null = null;
const realRead = fs.read;
function heldRead(this: unknown, fd: number, ...rest: unknown[]): void {
  const h = held;
  if (h !== null && fs.fstatSync(fd).ino === h.ino) {
    held = null;
    const cb = rest[rest.length - 1] as (err: Error) => void;
    h.run().then(() => Reflect.apply(realRead, this, [fd, ...rest]), cb);
    return;
  }
  Reflect.apply(realRead, this, [fd, ...rest]);
}
// Keeps what promisify reads off fs.read (its result is `{ bytesRead, buffer }`).
for (const s of Object.getOwnPropertySymbols(realRead)) Object.defineProperty(heldRead, s, Object.getOwnPropertyDescriptor(realRead, s)!);
(fs as { read: unknown }).read = heldRead;

const { openLogWriter } = await import('../../src/logfile/logWriter.js');
const { followLog } = await import('../../src/logfile/followLog.js');
const { maxHeldFiles } = await import('../../src/logfile/heldFiles.js');
type LogWriter = Awaited<ReturnType<typeof openLogWriter>>;
type LogGap = import('../../src/logfile/heldFiles.js').LogGap;
type FollowLogOptions = import('../../src/logfile/followLog.js').FollowLogOptions;

function tmpDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-locating-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const line = (i: number): string => `entry ${i}`;
const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => line(from + i));

/** Writes entries `from` … `to - 1` to `w`'s stdout and resolves once they are in the file. */
async function write(w: LogWriter, from: number, to: number): Promise<void> {
  const s = w.stream('stdout');
  for (let i = from; i < to; i++) if (!s.write(`${line(i)}\n`)) await once(s, 'drain');
  await new Promise<void>((r) => s.write('', () => r()));
}

interface Run {
  seen: string[];
  gaps: { at: number; gap: LogGap }[];
  rotations: number;
  /** fds under the log while the reader was held in its search, after the rotations. */
  fdsHeld: number;
}

/**
 * Writes `before` entries to a CRI log (maxFiles 3), starts a reader with `opts`, holds back its first
 * read of the file `name` was then (`heldIno: 'name'`) or of the oldest file (`'oldest'`), writes
 * entries up to `total` meanwhile, then closes the writer and reads to the end.
 */
async function locateWhileRotating(t: Test, maxSize: number, before: number, total: number, heldIno: 'name' | 'oldest', opts: FollowLogOptions): Promise<Run> {
  const dir = tmpDir(t);
  const file = path.join(dir, 'locating.log');
  const w = openLogWriter(file, { format: 'cri', maxSize, maxFiles: 3 });
  t.teardown(() => w.close());
  await write(w, 0, before);
  t.ok(fs.existsSync(`${file}.2`), 'the set is full before the reader starts');
  let rotations = 0;
  w.on('rotate', () => rotations++);
  let fdsHeld = 0;
  const rotated = new Promise<void>((resolve) => {
    held = {
      ino: fs.statSync(heldIno === 'name' ? file : `${file}.2`).ino,
      run: async () => {
        await write(w, before, total);
        fdsHeld = fdsUnder(file).length;
        resolve();
      },
    };
  });
  t.teardown(() => { held = null; });
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  let closed!: () => void;
  const until = new Promise<void>((r) => { closed = r; });
  const seen: string[] = [];
  const gaps: { at: number; gap: LogGap }[] = [];
  const reader = (async () => {
    for await (const e of followLog(file, { ...opts, format: 'cri', follow: true, until, signal: ac.signal, onGap: (gap) => gaps.push({ at: seen.length, gap }) })) {
      seen.push(e.content.toString());
    }
  })();
  await rotated; // the reader is still in its search: its read waited for these rotations
  await w.close();
  closed();
  await reader;
  t.same(fdsUnder(file), [], 'nothing left open');
  return { seen, gaps, rotations, fdsHeld };
}

t.test('a reader whose tail or since reaches into files the writer rotates away while it searches: every entry once, in order, no gap', { timeout: 60000 }, async (t) => {
  // 128 KiB files of about 2,500 entries: `since` bisects (more than one 64 KiB probe per file).
  const maxSize = 128 << 10, before = 6000, total = 18000;
  const cases: [string, 'name' | 'oldest', FollowLogOptions, number][] = [
    ['tail, held reading the newest file', 'name', { tail: before - 100 }, 100],
    ['since before the first entry, held bisecting the oldest file', 'oldest', { since: new Date(Date.now() - 1000) }, 0],
  ];
  for (const [name, heldIno, opts, first] of cases) {
    const run = await locateWhileRotating(t, maxSize, before, total, heldIno, opts);
    t.ok(run.rotations >= 4, `${name}: ${run.rotations} rotations (more than the set) while the reader searched`);
    t.same(run.gaps, [], `${name}: nothing reported lost`);
    t.same(run.seen, range(first, total), `${name}: every entry from the start once, in order`);
  }
});

t.test('a reader held in its search while the writer rotates past the bound holds at most maxHeldFiles files, and reports the files it let go where they were', { timeout: 60000 }, async (t) => {
  const before = 60, total = 30000;
  const run = await locateWhileRotating(t, 1024, before, total, 'name', { tail: 10 });
  t.ok(run.rotations > maxHeldFiles + 100, `${run.rotations} rotations while the reader searched`);
  // The writer's file and what the reader holds beyond the set (the files it searched that left it included).
  t.ok(run.fdsHeld <= 1 + maxHeldFiles, `bounded: ${run.fdsHeld} fds under the log`);
  t.equal(run.gaps.length, 1, 'one gap');
  const { at, gap } = run.gaps[0] ?? { at: 0, gap: { files: 0, bytes: 0 } };
  const start = before - 10, after = Number(run.seen[at]!.split(' ')[1]);
  // The file the tail began in took a few more entries before the writer rotated it away.
  t.ok(at >= 10, `${at} entries before the gap`);
  t.same(run.seen.slice(0, at), range(start, start + at), 'first the tail as it was when the search began, and the rest of its file');
  t.same(run.seen.slice(at), range(after, total), 'then, after the gap, every entry to the end once, in order');
  let lostBytes = 0;
  for (let i = start + at; i < after; i++) lostBytes += 30 + 10 + line(i).length + 1;
  t.equal(gap.bytes, lostBytes, 'the gap counts the bytes of exactly the entries missing');
});
