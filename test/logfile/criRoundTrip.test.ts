import t from 'tap';
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { CriEncoder } from '../../src/logfile/criEncoder.js';
import { EntryDecoder } from '../../src/logfile/entryDecoder.js';
import { followLog, type LogEntry } from '../../src/logfile/followLog.js';
import { openLogWriter } from '../../src/logfile/logWriter.js';
import type { LogStreamName } from '../../src/logfile/options.js';
import { tmpDir } from '../helpers/common.js';

// Seeded: a failure prints its seed and path; TASKIO_TEST_SEED=<seed> replays the same cases.
const seed = Number(process.env.TASKIO_TEST_SEED ?? 20260301);
const time = '2026-03-01T10:00:00.000000001Z';

/** A task's output: the bytes of each stream, cut into writes, interleaved as the task made them. */
interface Output {
  maxLineSize: number;
  writes: { stream: LogStreamName; bytes: Uint8Array }[];
}

// Bytes that matter to a line cutter: newline-free content with CR, NUL, space and the pieces of
// invalid or split UTF-8 (a lone continuation byte, a truncated 3-byte sequence, 0xff).
const contentByte = fc.constantFrom(0x0d, 0x00, 0x20, 0x41, 0x7a, 0x80, 0xbf, 0xc3, 0xe2, 0x82, 0xff, 0x09);

/** One line's content (no newline), its length drawn around `max`: 0, max−1, max, max+1, 2·max, any. */
function line(max: number): fc.Arbitrary<Uint8Array> {
  const length = fc.oneof(
    fc.constantFrom(0, Math.max(0, max - 1), max, max + 1, 2 * max, 2 * max + 1),
    fc.integer({ min: 0, max: 3 * max }),
  );
  return length.chain((n) => fc.array(contentByte, { minLength: n, maxLength: n })).map((bs) => Uint8Array.from(bs));
}

/** A stream: lines joined by newlines, the last one with or without its newline. */
function streamBytes(max: number): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.array(line(max), { maxLength: 12 }), fc.boolean()).map(([lines, lastNewline]) => {
    const parts: number[] = [];
    lines.forEach((l, i) => {
      parts.push(...l);
      if (i < lines.length - 1 || lastNewline) parts.push(0x0a);
    });
    return Uint8Array.from(parts);
  });
}

/** Cuts `bytes` into writes of random sizes (a write of 0 bytes included). */
function cuts(bytes: Uint8Array): fc.Arbitrary<Uint8Array[]> {
  return fc.array(fc.integer({ min: 0, max: Math.max(1, bytes.length) }), { maxLength: 8 }).map((points) => {
    const at = [...new Set(points)].sort((a, b) => a - b);
    const out: Uint8Array[] = [];
    let from = 0;
    for (const p of [...at, bytes.length]) {
      out.push(bytes.subarray(from, Math.max(from, p)));
      from = Math.max(from, p);
    }
    return out;
  });
}

const output: fc.Arbitrary<Output> = fc.integer({ min: 1, max: 40 }).chain((maxLineSize) =>
  fc.tuple(streamBytes(maxLineSize), streamBytes(maxLineSize))
    .chain(([out, err]) => fc.tuple(cuts(out), cuts(err), fc.array(fc.boolean(), { maxLength: 20 })))
    .map(([out, err, order]) => {
      // Interleave the two streams' writes in the drawn order, each stream's own order kept.
      const writes: Output['writes'] = [];
      let i = 0, j = 0, k = 0;
      while (i < out.length || j < err.length) {
        const takeOut = j >= err.length || (i < out.length && (order[k++ % Math.max(1, order.length)] ?? true));
        writes.push(takeOut ? { stream: 'stdout', bytes: out[i++]! } : { stream: 'stderr', bytes: err[j++]! });
      }
      return { maxLineSize, writes };
    }));

/** What a stream's output must read back as: CRI cannot tell whether the last line had its newline. */
function expected(o: Output, stream: LogStreamName): Buffer {
  const all = Buffer.concat(o.writes.filter((w) => w.stream === stream).map((w) => w.bytes));
  return all.length === 0 || all[all.length - 1] === 0x0a ? all : Buffer.concat([all, Buffer.from('\n')]);
}

/** A stream's bytes as read back: each reassembled line and its newline. */
function decoded(entries: LogEntry[], stream: LogStreamName): Buffer {
  return Buffer.concat(entries.filter((e) => e.stream === stream).flatMap((e) => [e.content, Buffer.from('\n')]));
}

/** Encodes as one LogWriter copy per stream does, with an encoder per stream, in write order. */
function encode(o: Output, takeEvery: number): Buffer {
  const enc = { stdout: new CriEncoder('stdout', o.maxLineSize, 16), stderr: new CriEncoder('stderr', o.maxLineSize, 16) };
  const file: Buffer[] = [];
  const take = (e: CriEncoder): void => { for (const b of e.takeOutput() ?? []) file.push(Buffer.from(b)); };
  o.writes.forEach((w, i) => {
    const e = enc[w.stream];
    for (let from = 0; from < w.bytes.length;) {
      const n = e.load(w.bytes, from);
      e.encode(n, time);
      from += n;
      // Take the output now and then: what is in the file must not depend on when it was taken.
      if (i % takeEvery === 0) take(e);
    }
  });
  for (const e of [enc.stdout, enc.stderr]) {
    take(e);
    const tail = e.end(time);
    if (tail) file.push(tail);
  }
  return Buffer.concat(file);
}

/** Decodes a CRI file read in chunks of `chunk` bytes, joining P entries with their F. */
function decode(file: Buffer, chunk: number, reassemble = true): LogEntry[] {
  const d = new EntryDecoder('cri', undefined, reassemble);
  const entries: LogEntry[] = [];
  for (let pos = 0; pos < file.length; pos += chunk) entries.push(...d.push(file.subarray(pos, pos + chunk)));
  entries.push(...d.end());
  return entries;
}

t.test('CRI round trip, encoder and decoder: decode(encode(x)) = x for each stream', async (t) => {
  fc.assert(fc.property(output, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 300 }), (o, takeEvery, chunk) => {
    const file = encode(o, takeEvery);
    // The cut rule itself: every entry but a line's last holds exactly maxLineSize bytes.
    const pieces = new EntryDecoder('cri', undefined, false).push(file);
    for (const e of pieces) {
      if (e.partial ? e.content.length !== o.maxLineSize : e.content.length > o.maxLineSize) return false;
    }
    const entries = decode(file, chunk);
    if (entries.some((e) => e.partial)) return false;
    return (['stdout', 'stderr'] as const).every((s) => decoded(entries, s).equals(expected(o, s)));
  }), { seed, numRuns: 1000 });
  t.pass(`1000 generated outputs (seed ${seed})`);
});

t.test('CRI round trip through LogWriter and followLog, with a real file', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-criprop-');
  let n = 0;
  await fc.assert(fc.asyncProperty(output, async (o) => {
    const file = path.join(dir, `${n++}.log`);
    const w = openLogWriter(file, { format: 'cri', maxLineSize: o.maxLineSize });
    for (const { stream, bytes } of o.writes) {
      const s = w.stream(stream);
      if (!s.write(Buffer.from(bytes))) await once(s, 'drain');
    }
    await Promise.all((['stdout', 'stderr'] as const).map((name) => new Promise<void>((resolve) => w.stream(name).end(resolve))));
    await w.close();
    const entries: LogEntry[] = [];
    if (fs.existsSync(file)) for await (const e of followLog(file, { format: 'cri', reassemble: true })) entries.push(e);
    fs.rmSync(file, { force: true });
    return (['stdout', 'stderr'] as const).every((s) => decoded(entries, s).equals(expected(o, s)));
  }), { seed, numRuns: 150 });
  t.pass(`150 generated outputs through a file (seed ${seed})`);
});

t.test('the CRI decoder takes any bytes: no throw, only well-formed entries', async (t) => {
  const anyBytes = fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(Buffer.from(`${time} stdout P x\n`)),
    fc.constant(Buffer.from(`${time} stderr F:k=v y\n`)), fc.constant(Buffer.from('\n'))), { maxLength: 20 }).map((bs) => Buffer.concat(bs));
  fc.assert(fc.property(anyBytes, fc.integer({ min: 1, max: 50 }), (bytes, chunk) => {
    for (const reassemble of [false, true]) {
      for (const e of decode(bytes, chunk, reassemble)) {
        if ((e.stream !== 'stdout' && e.stream !== 'stderr') || Number.isNaN(e.time.getTime()) || e.content.includes(0x0a)) return false;
      }
    }
    return true;
  }), { seed, numRuns: 1000 });
  t.pass(`1000 generated byte strings (seed ${seed})`);
});

t.test('a line spanning many reads is joined once: each byte copied at most twice (40 MiB entry, real file)', { timeout: 120_000 }, async (t) => {
  const content = Buffer.alloc(40 * 1024 * 1024, 0x61);
  const entry = Buffer.concat([Buffer.from(`${time} stdout F `), content, Buffer.from('\n')]);
  // The follower reads 256 KiB at a time.
  const d = new EntryDecoder('cri', undefined, false);
  const got: LogEntry[] = [];
  for (let pos = 0; pos < entry.length; pos += 256 * 1024) got.push(...d.push(entry.subarray(pos, pos + 256 * 1024)));
  t.equal(got.length, 1);
  t.ok(got[0]!.content.equals(content), 'the whole content');
  t.ok(d.copied <= 2 * entry.length, `${d.copied} bytes copied for a line of ${entry.length}`);
  const file = path.join(tmpDir(t, 'taskio-longline-'), 'long.log');
  fs.writeFileSync(file, Buffer.concat([entry, Buffer.from(`${time} stderr F after\n`)]));
  const read: LogEntry[] = [];
  for await (const e of followLog(file, { format: 'cri' })) read.push(e);
  t.same(read.map((e) => [e.stream, e.content.length]), [['stdout', content.length], ['stderr', 5]], 'through followLog');
});

t.test('a line longer than any entry is skipped, and what is kept of it while it is read does not grow with it', async (t) => {
  const maxLine = 1000;
  const head = `${time} stdout F `;
  const entry = (n: number): Buffer => Buffer.from(`${head}${'x'.repeat(n - head.length)}\n`);
  t.equal(entry(maxLine).length, maxLine + 1, 'a line of exactly maxLine bytes and its newline');
  const read = (garbage: number, chunk: number): { lengths: number[]; copied: number } => {
    const d = new EntryDecoder('cri', undefined, false, maxLine);
    const bytes = Buffer.concat([entry(maxLine), Buffer.alloc(garbage, 0x41), Buffer.from('\n'), entry(maxLine + 1), entry(50)]);
    const got: LogEntry[] = [];
    for (let pos = 0; pos < bytes.length; pos += chunk) got.push(...d.push(bytes.subarray(pos, pos + chunk)));
    got.push(...d.endOfFile());
    return { lengths: got.map((e) => e.content.length), copied: d.copied };
  };
  for (const chunk of [100, 5000]) {
    const short = read(10_000, chunk), long = read(1_000_000, chunk);
    t.same(long.lengths, [maxLine - head.length, 50 - head.length], `read ${chunk} bytes at a time: the longest entry kept, longer lines skipped`);
    t.equal(long.copied, short.copied, `${chunk} at a time: ${long.copied} bytes copied, with a 10 kB or a 1 MB garbage line`);
  }
  const d = new EntryDecoder('cri', undefined, false, maxLine);
  d.push(Buffer.alloc(maxLine + 1, 0x41));
  t.same(d.endOfFile(), [], 'a too-long last line without its newline is skipped too');
  t.same(d.push(entry(50)).map((e) => e.content.length), [50 - head.length], 'and the next line is read');
});
