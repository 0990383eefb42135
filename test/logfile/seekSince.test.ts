/**
 * `since` on a big CRI log: the reader bisects the file on the entries' times (seekSince) and
 * shows exactly the entries at or after `since`, as a read from the start would.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { followLog, type LogEntry } from '../../src/logfile/followLog.js';
import { seekSince } from '../../src/logfile/seekSince.js';
import { tmpDir } from '../helpers/common.js';

const t0 = Date.parse('2026-03-01T10:00:00Z');
const stamp = (ms: number): string => `${new Date(ms).toISOString().slice(0, -1)}000123Z`;

/**
 * A CRI file of `n` entries, four to a millisecond (so a `since` falls amid entries of its own
 * time), some split into P and F entries, some on stderr, some longer than a read of the search,
 * with a stretch of lines that are no entries in its middle. Returns the file and each entry's offset and time.
 */
function bigLog(dir: string, n: number): { file: string; entries: Array<{ at: number; ms: number; text: string }> } {
  const file = path.join(dir, 'big.log');
  const parts: string[] = [];
  const entries: Array<{ at: number; ms: number; text: string }> = [];
  let at = 0;
  const push = (s: string): void => { parts.push(s); at += Buffer.byteLength(s); };
  for (let i = 0; i < n; i++) {
    if (i === Math.floor(n / 2)) for (let k = 0; k < 3000; k++) push(`not an entry ${k} ${'x'.repeat(40)}\n`);
    const ms = t0 + Math.floor(i / 4);
    const stream = i % 7 === 0 ? 'stderr' : 'stdout';
    // Now and then an entry longer than a read of the search (64 KiB).
    const text = `entry ${i} ${'y'.repeat(i % 9973 === 0 ? 150_000 : i % 50)}`;
    entries.push({ at, ms, text });
    if (i % 11 === 0) push(`${stamp(ms)} ${stream} P ${text.slice(0, 3)}\n${stamp(ms)} ${stream} F ${text.slice(3)}\n`);
    else push(`${stamp(ms)} ${stream} F ${text}\n`);
  }
  fs.writeFileSync(file, parts.join(''));
  return { file, entries };
}

async function texts(file: string, since: Date): Promise<string[]> {
  const out: string[] = [];
  let line = '';
  for await (const e of followLog(file, { format: 'cri', since }) as AsyncIterable<LogEntry>) {
    line += e.content.toString();
    if (!e.partial) {
      out.push(line);
      line = '';
    }
  }
  return out;
}

t.test('since shows exactly the entries at or after it, wherever it falls', { timeout: 60_000 }, async (t) => {
  const { file, entries } = bigLog(tmpDir(t, 'taskio-since-'), 30_000);
  const size = fs.statSync(file).size;
  t.ok(size > 1_500_000, `a log of ${size} bytes`);
  const last = entries[entries.length - 1]!.ms;
  const picks = [t0 - 1000, t0, t0 + 1, t0 + 3333, Math.floor((t0 + last) / 2), entries[15_000]!.ms, entries[15_001]!.ms, last - 7, last, last + 1];
  for (const ms of picks) {
    const want = entries.filter((e) => e.ms >= ms).map((e) => e.text);
    const got = await texts(file, new Date(ms));
    t.equal(got.length, want.length, `since ${ms - t0} ms: ${want.length} entries`);
    t.ok(got.every((x, k) => x === want[k]), 'the same entries, in order');
  }
});

t.test('the search lands at a line start shortly before the first entry at since', { timeout: 60_000 }, async (t) => {
  const { file, entries } = bigLog(tmpDir(t, 'taskio-since-'), 30_000);
  const fd = fs.openSync(file, 'r');
  t.teardown(() => fs.closeSync(fd));
  const size = fs.fstatSync(fd).size;
  const bytes = fs.readFileSync(file);
  for (const k of [1, 100, 6_000, 14_999, 15_000, 23_333, 29_999]) {
    const ms = entries[k]!.ms;
    const first = entries.find((e) => e.ms >= ms)!;
    const offset = await seekSince(fd, size, ms);
    t.ok(offset <= first.at, `entry ${k}: starts at or before the first entry of its time (${offset} <= ${first.at})`);
    // One read (64 KiB) and a line; the stretch of lines that are no entries before entry 15,000
    // (some 180 KB) may hold the search back, never past it.
    const bound = 64 * 1024 + (k >= 15_000 && k < 15_100 ? 200_000 : 1000);
    t.ok(first.at - offset < bound, `and close to it (${first.at - offset} bytes before)`);
    t.ok(offset === 0 || bytes[offset - 1] === 0x0a, 'at a line start');
  }
  t.equal(await seekSince(fd, size, t0 - 1), 0, 'before every entry: the start');
});
