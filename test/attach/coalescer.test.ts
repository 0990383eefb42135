import t, { type Test } from 'tap';
import fs from 'node:fs';
import { newCreator, withCoalescing, withFIFODir, withStreams, type IO, type Opt } from '../../src/index.js';
import { Coalescer, backoffMs, bulkBurst, coalesceMs } from '../../src/attach/coalescer.js';
import { openFifoFd, pipeSize } from '../../src/fifo/index.js';
import { Collector, tmpDir, untilBytes } from '../helpers/common.js';

t.setTimeout(60_000);

/** A coalescer on a pipe of taskio's size (1 MiB) with a clock the test moves. */
function coalescer(pipeBytes = pipeSize): { c: Coalescer; clock: { now: number } } {
  const clock = { now: 1000 };
  return { c: new Coalescer(() => pipeBytes, () => clock.now), clock };
}

t.test('Coalescer rules (injected clock)', async (t) => {
  t.test('under 16 KiB within a millisecond reads on at once, however often', async (t) => {
    const { c, clock } = coalescer();
    for (let i = 0; i < 50; i++) {
      t.equal(c.afterRead(bulkBurst - 1, 64 << 10), 0, `burst ${i}`);
      clock.now += coalesceMs;
    }
  });
  t.test('small bursts that add up to 16 KiB within a millisecond: a busy stream, the next read waits', async (t) => {
    const { c, clock } = coalescer();
    for (let i = 0; i < 3; i++) {
      t.equal(c.afterRead(4 << 10, 16 << 10), 0, `4 KiB write ${i}`);
      clock.now += 0.1;
    }
    t.equal(c.afterRead(4 << 10, 16 << 10), coalesceMs, 'the fourth in the same millisecond');
  });
  t.test('a read that filled its buffer is followed by the next at once; the burst is the sum up to the read that emptied the pipe', async (t) => {
    const { c } = coalescer();
    t.equal(c.afterRead(8 << 10, 8 << 10), 0, 'filled: more is waiting');
    t.equal(c.afterRead(10 << 10, 64 << 10), coalesceMs, '8 + 10 KiB is bulk: wait before the next read');
  });
  t.test('bulk output waits before every next burst while the pipe stays under half full', async (t) => {
    const { c, clock } = coalescer();
    for (let i = 0; i < 5; i++) {
      t.equal(c.afterRead(300 << 10, 1 << 20), coalesceMs, `burst ${i}`);
      clock.now += coalesceMs;
    }
  });
  t.test('a stream that slowed down during a pause reads on at once again', async (t) => {
    const { c, clock } = coalescer();
    t.equal(c.afterRead(64 << 10, 1 << 20), coalesceMs);
    clock.now += coalesceMs;
    t.equal(c.afterRead(100, 16 << 10), 0, 'a line came during the pause');
    clock.now += 0.2;
    t.equal(c.afterRead(100, 16 << 10), 0, 'and the next at once');
  });
  t.test('the pipe size is asked once, and only once a stream brought bulk output', async (t) => {
    let asked = 0;
    const clock = { now: 1000 };
    const c = new Coalescer(() => { asked++; return pipeSize; }, () => clock.now);
    for (let i = 0; i < 10; i++) {
      c.afterRead(100, 16 << 10);
      clock.now += coalesceMs;
    }
    t.equal(asked, 0, 'lines now and then');
    t.equal(c.afterRead(64 << 10, 1 << 20), coalesceMs);
    clock.now += coalesceMs;
    t.equal(c.afterRead(64 << 10, 1 << 20), coalesceMs);
    t.equal(asked, 1, 'asked at the first bulk output, not again');
  });
  t.test('a pipe of unknown size is never paused', async (t) => {
    const { c } = coalescer(0);
    t.equal(c.afterRead(512 << 10, 1 << 20), 0);
  });
  t.test('one pause that found the pipe half full does not stop pausing (a late timer)', async (t) => {
    const { c, clock } = coalescer();
    const pauses = [64, 600, 100, 600].map((kib) => { const w = c.afterRead(kib << 10, 1 << 20); clock.now += coalesceMs; return w; });
    t.same(pauses, [coalesceMs, coalesceMs, coalesceMs, coalesceMs], 'half full once, small, half full once again');
  });
  t.test('two pauses in a row that found the pipe half full: no pauses for the back-off, then again', async (t) => {
    const { c, clock } = coalescer();
    t.equal(c.afterRead(64 << 10, 1 << 20), coalesceMs);
    clock.now += coalesceMs;
    t.equal(c.afterRead(512 << 10, 1 << 20), coalesceMs, 'half full once');
    clock.now += coalesceMs;
    t.equal(c.afterRead(256 << 10, 256 << 10) + c.afterRead(400 << 10, 1 << 20), 0, 'half full twice (over two reads): back off');
    clock.now += backoffMs - 1;
    t.equal(c.afterRead(64 << 10, 1 << 20), 0, 'within the back-off');
    t.equal(c.afterRead(900 << 10, 1 << 20), 0, 'within the back-off, however large');
    clock.now += 1;
    t.equal(c.afterRead(64 << 10, 1 << 20), coalesceMs, 'the back-off is over');
    clock.now += coalesceMs;
    t.equal(c.afterRead(600 << 10, 1 << 20), coalesceMs, 'one half-full pause after it');
  });
  t.test('a large burst that did not follow a pause never backs off', async (t) => {
    const { c, clock } = coalescer();
    t.equal(c.afterRead(1 << 20, 1 << 20) + c.afterRead(1, 16 << 10), coalesceMs, 'a copy that started behind');
    clock.now += coalesceMs;
    t.equal(c.afterRead(1 << 20, 1 << 20) + c.afterRead(1, 16 << 10), coalesceMs, 'the first half-full pause');
  });
});

/** A FIFO set whose stdout goes to a collector, and this process as the task writing it (non-blocking). */
async function bulkCopy(t: Test, ...opts: Opt[]): Promise<{ io: IO; out: Collector; fd: number; close: () => void }> {
  const out = new Collector();
  const io = await newCreator(withStreams(null, out, null), withFIFODir(tmpDir(t)), ...opts)('bulk');
  t.teardown(() => io.close());
  const fd = openFifoFd(io.config().stdout, 'w');
  let open = true;
  t.teardown(() => { if (open) fs.closeSync(fd); });
  return { io, out, fd, close: () => { open = false; fs.closeSync(fd); } };
}

/** Timers of this process that are alive now (the copy's pause is one while it waits). */
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/**
 * Writes `size` bytes of `fill` in one write (all of it in the pipe before the copy wakes), waits
 * until the sink has them, and returns how many more timers are alive than before: 1 while the
 * copy waits before its next read, 0 when it reads on at once.
 */
async function burst(t: Test, fd: number, out: Collector, size: number, fill: string): Promise<number> {
  const before = timers(), had = out.bytes;
  t.equal(fs.writeSync(fd, Buffer.alloc(size, fill)), size, 'one write, all of it in the pipe before the copy wakes');
  await untilBytes(out, had + size);
  await new Promise(setImmediate);
  return timers() - before;
}

for (const coalesce of [true, false]) {
  t.test(`a real copy ${coalesce ? 'through a pause' : 'with withCoalescing(false), without one'} (256 KiB at once into the 1 MiB pipe, then more)`, async (t) => {
    t.equal(pipeSize, 1 << 20, "taskio's pipes are 1 MiB, as the rules above assume");
    const { io, out, fd, close } = await bulkCopy(t, ...(coalesce ? [] : [withCoalescing(false)]));
    const before = timers();
    t.equal(await burst(t, fd, out, 256 << 10, 'b'), coalesce ? 1 : 0, coalesce ? 'the copy waits before its next read' : 'it reads on at once');
    fs.writeSync(fd, 'tail\n');
    await untilBytes(out, (256 << 10) + 5);
    close();
    await io.wait();
    t.equal(out.text(), 'b'.repeat(256 << 10) + 'tail\n', 'every byte, in order, and EOF');
    t.equal(timers(), before, 'no timer left');
  });
}

t.test('the last withCoalescing given wins', async (t) => {
  const { io, out, fd } = await bulkCopy(t, withCoalescing(false), withCoalescing(true));
  const before = timers();
  t.equal(await burst(t, fd, out, 256 << 10, 'y'), 1, 'the copy waits before its next read');
  io.cancel();
  await io.wait();
  t.equal(timers(), before, 'cancel cleared the wait');
});

t.test('EOF while the copy waits, and cancel while it waits: nothing left behind', async (t) => {
  t.test('EOF', async (t) => {
    const { io, out, fd, close } = await bulkCopy(t);
    fs.writeSync(fd, Buffer.alloc(64 << 10, 'e'));
    close();
    await io.wait();
    t.equal(out.bytes, 64 << 10);
  });
  t.test('cancel', async (t) => {
    const { io, out, fd } = await bulkCopy(t);
    const before = timers();
    t.equal(await burst(t, fd, out, 64 << 10, 'c'), 1, 'waiting');
    io.cancel();
    await io.wait();
    t.equal(timers(), before, 'cancel cleared the wait');
  });
});
