import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { PassThrough, Transform, Writable, pipeline } from 'node:stream';
import { newCreator, withFIFODir, withStreams, type IO } from '../../src/index.js';
import { SlabCopier, heapSlabSize, keptSlabSize, sizeClasses } from '../../src/attach/bufferPool.js';
import { largeBlocksFromHeap } from '../../src/sys/index.js';
import { exitOf, testFile, tmpDir } from '../helpers/common.js';

t.setTimeout(240_000);

const writer = testFile('helpers/randomWriter.mjs');

/** Runs the random writer (a separate process) into `fifo`; resolves with the sha256 it reports. */
async function produce(fifo: string, bytes: number, seed: number): Promise<string> {
  const child = spawn(process.execPath, [writer, fifo, String(bytes), String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const code = await exitOf(child);
  if (code !== 0) throw new Error(`random writer exited ${code}`);
  return out.trim();
}

/**
 * A sink that keeps every chunk it gets, hashing each one when it arrives; `keptHash()` hashes what
 * it holds at the end. The two differ if a chunk changed after its write. It acknowledges some
 * writes late, so the copy engine sees backpressure and reads of every size.
 */
class Keeper extends Writable {
  readonly chunks: Buffer[] = [];
  readonly onArrival = createHash('sha256');
  bytes = 0;
  #n = 0;
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.keep(chunk);
    if (++this.#n % 7 === 0) setImmediate(cb);
    else cb();
  }
  keep(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.onArrival.update(chunk);
    this.bytes += chunk.length;
  }
  keptHash(): string {
    const h = createHash('sha256');
    for (const c of this.chunks) h.update(c);
    return h.digest('hex');
  }
}

async function run(t: Test, sink: Writable, bytes: number, done: () => Promise<void>): Promise<string> {
  const seed = randomInt(1, 2 ** 31);
  t.comment(`random writer seed ${seed}`);
  const io: IO = await newCreator(withStreams(null, sink, null), withFIFODir(tmpDir(t)))('keep');
  t.teardown(() => io.close());
  const written = await Promise.all([produce(io.config().stdout, bytes, seed), io.wait()]).then(([h]) => h);
  await done();
  return written;
}

t.test('a sink that keeps every chunk: 64 MiB in random write sizes, no chunk changes after its write', async (t) => {
  const keeper = new Keeper();
  const written = await run(t, keeper, 64 << 20, async () => undefined);
  t.equal(keeper.bytes, 64 << 20);
  const arrived = keeper.onArrival.digest('hex');
  t.equal(arrived, written, 'what arrived is what was written');
  t.equal(keeper.keptHash(), written, 'what the sink kept is unchanged at the end');
});

t.test('a PassThrough holding chunks unread, then a reader that keeps them', async (t) => {
  // A high-water mark of 4 MiB lets the PassThrough hold many chunks nobody has read yet.
  const pt = new PassThrough({ highWaterMark: 4 << 20 });
  const keeper = new Keeper();
  const started = new Promise<void>((resolve) => {
    const check = () => (pt.readableLength >= 2 << 20 ? resolve() : setTimeout(check, 5));
    check();
  });
  void started.then(() => pt.on('data', (c: Buffer) => keeper.keep(c)));
  const ended = new Promise((resolve) => pt.on('end', resolve));
  const written = await run(t, pt, 32 << 20, async () => { pt.end(); await ended; });
  t.equal(keeper.bytes, 32 << 20);
  t.equal(keeper.onArrival.digest('hex'), written);
  t.equal(keeper.keptHash(), written, 'chunks held in the PassThrough and then kept are unchanged');
});

t.test('pipeline(PassThrough, Transform, sink) keeping every chunk', async (t) => {
  const pt = new PassThrough();
  const keeper = new Keeper();
  const identity = new Transform({ transform(c: Buffer, _e, cb) { cb(null, c); } });
  const piped = new Promise<void>((resolve, reject) => pipeline(pt, identity, keeper, (err) => (err ? reject(err) : resolve())));
  const written = await run(t, pt, 32 << 20, async () => { pt.end(); await piped; });
  t.equal(keeper.onArrival.digest('hex'), written);
  t.equal(keeper.keptHash(), written);
});

t.test('SlabCopier: reusing the read buffer never touches a chunk handed out before', async (t) => {
  const copier = new SlabCopier();
  const read = Buffer.allocUnsafe(1 << 20);
  const kept: [Buffer, number][] = [];
  const slabs = new Set<ArrayBufferLike>();
  let empty = 0;
  for (let i = 0; i < 5_000; i++) {
    // Reads of every size, each into the same buffer, as the copy engine does.
    const n = 1 + randomInt(i % 3 === 0 ? read.length : 5000);
    read.fill(i & 0xff, 0, n);
    for (let at = 0; at < n;) {
      const chunk = copier.copy(read, at, n, sizeClasses[randomInt(sizeClasses.length)]!);
      if (chunk.length === 0) empty++;
      at += chunk.length;
      slabs.add(chunk.buffer);
      kept.push([chunk, i & 0xff]);
    }
    read.fill(0xee); // the next read may write anywhere in the buffer
  }
  t.equal(empty, 0, 'never an empty chunk');
  // Compared natively against a buffer of the expected byte (a JS callback per byte took 20 s here).
  const ref = Buffer.alloc(read.length);
  const bad = [...kept.entries()].sort(([, a], [, b]) => a[1] - b[1]).find(([, [c, v]]) => {
    if (ref[0] !== v) ref.fill(v);
    return !c.equals(ref.subarray(0, c.length));
  });
  t.equal(bad?.[0], undefined, 'every chunk still holds exactly what was copied into it');
  t.ok([...slabs].every((b) => b.byteLength <= keptSlabSize), `${slabs.size} slabs, none over ${keptSlabSize} bytes`);
  t.ok(kept.every(([c]) => c.buffer !== read.buffer), 'no chunk is a view of the read buffer');
});

t.test('SlabCopier: a stream with small reads holds a small slab, a busy one 64 KiB slabs', async (t) => {
  const copier = new SlabCopier();
  const read = Buffer.alloc(1 << 20, 1);
  const first = copier.copy(read, 0, 100, sizeClasses[0]);
  t.ok(first.buffer.byteLength <= Buffer.poolSize, 'a few bytes with no slab yet come from Node\'s pool: no slab is made');
  const block = copier.copy(read, 0, 5000, sizeClasses[0]);
  t.equal(block.buffer.byteLength, 16 << 10, 'a larger read at the smallest class makes a 16 KiB slab');
  for (let i = 0; i < 100; i++) t.equal(copier.copy(read, 0, 100, sizeClasses[0]).buffer, block.buffer, `line ${i} shares it`);
  const pieces: Buffer[] = [];
  for (let at = 0; at < read.length;) {
    const c = copier.copy(read, at, read.length, sizeClasses[3]);
    pieces.push(c);
    at += c.length;
  }
  t.equal(pieces.reduce((n, c) => n + c.length, 0), read.length, 'a 1 MiB read is copied whole');
  t.ok(pieces.slice(1).every((c) => c.buffer.byteLength === keptSlabSize), 'in 64 KiB slabs after the small one');
  t.ok(pieces.length <= 18, `${pieces.length} chunks`);
});

t.test('SlabCopier: at the largest read class, the rest of a slab is used before a fresh one is cut', async (t) => {
  const copier = new SlabCopier();
  const read = Buffer.alloc(1 << 20, 2);
  const first = copier.copy(read, 0, 32 << 10, sizeClasses[3]);
  t.equal(first.buffer.byteLength, keptSlabSize, 'a 64 KiB slab, whatever the read class');
  const next = copier.copy(read, 0, 48 << 10, sizeClasses[3]);
  t.equal(next.buffer, first.buffer, 'the 32 KiB left (over a sixteenth of the slab) take the next read\'s first bytes');
  t.equal(next.length, 32 << 10);
  const rest = copier.copy(read, next.length, 48 << 10, sizeClasses[3]);
  t.not(rest.buffer, first.buffer, 'the remainder goes into a fresh slab');
  t.equal(rest.length, 16 << 10);
});

t.test('SlabCopier with large slabs: a 1 MiB read is one chunk, a stream of small reads keeps small slabs', async (t) => {
  const copier = new SlabCopier(heapSlabSize);
  const read = Buffer.alloc(1 << 20, 3);
  const whole = copier.copy(read, 0, read.length, sizeClasses[3]);
  t.equal(whole.length, read.length, 'the whole read in one chunk');
  t.equal(whole.buffer.byteLength, heapSlabSize, 'in a slab of its own size');
  const small = new SlabCopier(heapSlabSize).copy(read, 0, 5000, sizeClasses[0]);
  t.equal(small.buffer.byteLength, sizeClasses[0], 'at the smallest read class the slab is still 16 KiB');
});

t.test('a copying pump hands a busy stream\'s large read to the sink in one chunk where malloc keeps large blocks', async (t) => {
  // The sink holds its first write, so the pump stops reading while this test fills the pipe
  // (1 MiB); the reads after the release fill 16, 64 and 256 KiB and reach the largest class.
  let release!: () => void, arrived!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  const firstWrite = new Promise<void>((resolve) => { arrived = resolve; });
  const chunks: Buffer[] = [];
  const sink = new Writable({
    highWaterMark: 1,
    write(c: Buffer, _e, cb) {
      chunks.push(c);
      if (chunks.length > 1) return cb();
      arrived();
      void held.then(() => cb());
    },
  });
  const io: IO = await newCreator(withStreams(null, sink, null), withFIFODir(tmpDir(t)))('large');
  t.teardown(() => io.close());
  const fd = fs.openSync(io.config().stdout, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  t.teardown(() => { try { fs.closeSync(fd); } catch { /* closed below */ } });
  const block = Buffer.alloc(64 << 10, 7);
  let written = fs.writeSync(fd, block.subarray(0, 100));
  await firstWrite;
  for (;;) {
    try {
      written += fs.writeSync(fd, block);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      break;
    }
  }
  fs.closeSync(fd);
  t.ok(written > 1 << 19, `${written} bytes wait in the pipe`);
  release();
  await io.wait();
  t.equal(chunks.reduce((n, c) => n + c.length, 0), written, 'every byte arrived');
  t.ok(largeBlocksFromHeap(), 'this process runs with the malloc thresholds taskio sets');
  t.ok(chunks.some((c) => c.buffer.byteLength === heapSlabSize), `a chunk in a ${heapSlabSize}-byte slab (slabs: ${[...new Set(chunks.map((c) => c.buffer.byteLength))].join(', ')})`);
  t.ok(chunks.every((c) => c.buffer.byteLength <= heapSlabSize), 'none larger');
});
