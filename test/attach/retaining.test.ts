import t, { type Test } from 'tap';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { PassThrough, Transform, Writable, pipeline } from 'node:stream';
import { newCreator, withFIFODir, withStreams, type IO } from '../../src/index.js';
import { SlabCutter, acquireBuffer, releaseBuffer, sizeClasses } from '../../src/attach/bufferPool.js';
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

t.test('SlabCutter: a read into the next buffer never touches a chunk handed out before', async (t) => {
  const cutter = new SlabCutter();
  const kept: [Buffer, number][] = [];
  let slabs = 0, empty = 0, last: ArrayBufferLike | null = null;
  for (let i = 0; i < 20_000; i++) {
    const buf = cutter.next();
    if (buf.buffer !== last) { slabs++; last = buf.buffer; }
    if (buf.length === 0) empty++;
    // A read may write anywhere in the buffer it is given before it reports how much it read.
    buf.fill(0xee);
    // Mostly full reads early (the stream grows), then a mix of sizes.
    const n = i < 50 ? buf.length : 1 + randomInt(Math.min(buf.length, 300_000));
    buf.fill(i & 0xff, 0, n);
    kept.push([cutter.take(n, buf), i & 0xff]);
  }
  t.equal(empty, 0, 'never an empty buffer');
  const bad = kept.findIndex(([c, v]) => c.some((b) => b !== v));
  t.equal(bad, -1, 'every chunk still holds exactly what was read into it');
  t.ok(slabs > 10, `${slabs} slabs were used, none written twice`);
  t.ok(kept.every(([c]) => c.buffer.byteLength <= sizeClasses[sizeClasses.length - 1]!), 'no slab over 1 MiB');
});

t.test('SlabCutter: an idle stream holds a 16 KiB slab and grows only on full reads', async (t) => {
  const cutter = new SlabCutter();
  t.equal(cutter.next().length, 16 << 10);
  for (let i = 0; i < 100; i++) {
    const buf = cutter.next();
    cutter.take(2, buf); // a line a second
  }
  t.equal(cutter.next().buffer.byteLength, 16 << 10, 'small reads keep the small slab size');
  for (let i = 0; i < 10; i++) {
    const buf = cutter.next();
    cutter.take(buf.length, buf);
  }
  t.equal(cutter.next().buffer.byteLength, 1 << 20, 'full reads grow it to 1 MiB');
});

t.test('SlabCutter.release: an untouched slab goes back to the pool, one that gave chunks away never does', async (t) => {
  const idle = new SlabCutter();
  const slab = idle.next().buffer;
  idle.release();
  const pooled = acquireBuffer(0);
  t.equal(pooled.buffer, slab, 'the idle slab is the next one the pool hands out');
  releaseBuffer(pooled);

  const used = new SlabCutter(); // takes that same slab from the pool
  const buf = used.next();
  const chunk = used.take(10, buf);
  used.release();
  // Everything the pool holds of that class (it keeps 8), and one fresh buffer past it.
  const handed = Array.from({ length: 9 }, () => acquireBuffer(0));
  t.notOk(handed.some((b) => b.buffer === chunk.buffer), 'a slab a chunk was cut from is never handed out again');
  for (const b of handed) releaseBuffer(b);
});
