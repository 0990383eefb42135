/**
 * A reader of a log written in the same process: the writer announces each rotation, and the reader
 * keeps the files it has not read yet open, so it loses nothing however fast the log rotates; one
 * that stops reading holds a bounded number of files, and what it let go is one gap, reported in order.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { openLogWriter, type LogWriter } from '../../src/logfile/logWriter.js';
import { followLog } from '../../src/logfile/followLog.js';
import { maxHeldFiles, type LogGap } from '../../src/logfile/heldFiles.js';
import { fdsUnder } from '../helpers/common.js';

function tmpDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-held-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const line = (i: number): string => `entry ${i}`;

/** Writes entries `from` … `to - 1` to `w`'s stdout and resolves once they are in the file. */
async function write(w: LogWriter, from: number, to: number): Promise<void> {
  const s = w.stream('stdout');
  for (let i = from; i < to; i++) if (!s.write(`${line(i)}\n`)) await once(s, 'drain');
  await new Promise<void>((r) => s.write('', () => r()));
}

t.test('a writer in this process rotating far past its reader: every entry once, in order (max files 1 and 2, the log named through a symlinked directory)', { timeout: 60000 }, async (t) => {
  for (const maxFiles of [1, 2]) {
    const dir = tmpDir(t);
    fs.mkdirSync(path.join(dir, 'real'));
    fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
    const file = path.join(dir, 'real', 'held.log');
    const w = openLogWriter(file, { format: 'cri', maxSize: 1024, maxFiles });
    let rotations = 0;
    w.on('rotate', () => rotations++);
    await write(w, 0, 10);
    const ac = new AbortController();
    t.teardown(() => ac.abort());
    let closed!: () => void;
    const until = new Promise<void>((r) => { closed = r; });
    const it = followLog(path.join(dir, 'link', 'held.log'), { format: 'cri', follow: true, until, signal: ac.signal })[Symbol.asyncIterator]();
    const seen = [(await it.next()).value!.content.toString()];
    // The reader holds the first file mid-way and pulls nothing while the log rotates hundreds of times.
    await write(w, 10, 5000);
    t.ok(rotations > 100, `max files ${maxFiles}: ${rotations} rotations while the reader waited`);
    await w.close();
    closed(); // the reader reads to the end of the log, then stops
    for (let r = await it.next(); !r.done; r = await it.next()) seen.push(r.value.content.toString());
    t.same(seen, Array.from({ length: 5000 }, (_, i) => line(i)), `max files ${maxFiles}: each entry once, in order`);
    t.same(fdsUnder(path.join(dir, 'real')), [], 'nothing left open');
  }
});

t.test('a reader that does not follow ends with the log as it was when it began, however fast the writer rotates meanwhile (max files 1 and 2)', { timeout: 60000 }, async (t) => {
  for (const maxFiles of [1, 2]) {
    const file = path.join(tmpDir(t), 'busy.log');
    const w = openLogWriter(file, { format: 'cri', maxSize: 1024, maxFiles });
    t.teardown(() => w.close());
    await write(w, 0, 10);
    const seen: string[] = [];
    let next = 10;
    for await (const e of followLog(file, { format: 'cri' })) {
      seen.push(e.content.toString());
      // The task writes on faster than it is read: a rotation or two for each entry read. The read
      // went on to each newer file, ending only once the writer stopped (5000 entries here).
      if (next < 5000) await write(w, next, next += 50);
    }
    t.same(seen.slice(0, 10), Array.from({ length: 10 }, (_, i) => line(i)), `max files ${maxFiles}: the log as it began, in order`);
    t.same(seen, Array.from({ length: seen.length }, (_, i) => line(i)), 'each entry once, in order');
    t.ok(next < 5000, `max files ${maxFiles}: ended while the writer went on (${seen.length} entries read, ${next} written)`);
  }
});

t.test('a reader that stops reading holds at most maxHeldFiles files; the files it let go are one gap, reported where they were; nothing is left open', { timeout: 60000 }, async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'paused.log');
  const w = openLogWriter(file, { format: 'cri', maxSize: 1024, maxFiles: 2 });
  t.teardown(() => w.close());
  let rotations = 0;
  w.on('rotate', () => rotations++);
  await write(w, 0, 10);
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const seen: string[] = [];
  const gaps: { at: number; gap: LogGap }[] = [];
  const it = followLog(file, { format: 'cri', follow: true, signal: ac.signal, onGap: (gap) => gaps.push({ at: seen.length, gap }) })[Symbol.asyncIterator]();
  seen.push((await it.next()).value!.content.toString());
  const total = 30000;
  await write(w, 10, total);
  t.ok(rotations > maxHeldFiles + 100, `${rotations} rotations while the reader did not read`);
  // The writer's file, the reader's current one (removed) and the files it holds: no more.
  t.equal(fdsUnder(file).length, 2 + maxHeldFiles, 'bounded: the reader holds maxHeldFiles files');
  t.same(gaps, [], 'nothing reported while the reader does not read');
  while (seen.length === 0 || seen[seen.length - 1] !== line(total - 1)) seen.push((await it.next()).value!.content.toString());

  t.equal(gaps.length, 1, 'one gap');
  const { at, gap } = gaps[0]!;
  const before = Number(seen[at - 1]!.split(' ')[1]), after = Number(seen[at]!.split(' ')[1]);
  t.ok(after > before + 1, `the gap lies between entry ${before} and entry ${after}`);
  const want = [...Array.from({ length: before + 1 }, (_, i) => line(i)), ...Array.from({ length: total - after }, (_, i) => line(after + i))];
  t.same(seen, want, 'every entry before and after the gap once, in order');
  // Each CRI line lost: a 30-byte time, " stdout F ", the content and its newline.
  let lostBytes = 0;
  for (let i = before + 1; i < after; i++) lostBytes += 30 + 10 + line(i).length + 1;
  t.equal(gap.bytes, lostBytes, 'the gap counts the bytes of exactly the entries missing');
  t.ok(gap.files > 0 && gap.files * 1024 >= gap.bytes, `${gap.files} files let go`);
  await it.return(undefined);
  t.equal(fdsUnder(file).length, 1, 'the reader let go of every file (the writer\'s is left)');
  await w.close();
  t.same(fdsUnder(file), []);
});
