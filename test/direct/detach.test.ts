/**
 * Exactly once across detaches: every byte a task wrote reaches the readers of its FIFO set once,
 * however often a reader detaches and where; every byte a client wrote for the task reaches the task
 * once. Detach points are random from a fixed seed (TASKIO_SEED overrides it), so a failure replays.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { finished, PassThrough, Readable, Writable } from 'node:stream';
import { newAttach, withStdinClose, withStreams } from '../../src/attach/index.js';
import { newDirectIO } from '../../src/direct/index.js';
import { newFIFOSet, newFIFOSetInDir } from '../../src/fifo/index.js';
import { createIO } from '../../src/runtime/stdio/index.js';
import { exitOf, fdCount, sha256, tmpDir } from '../helpers/common.js';

const seed = Number(process.env.TASKIO_SEED ?? 0x7a51c10);
const MiB = 1 << 20;

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(s: number): () => number {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let r = Math.imul(s ^ (s >>> 15), 1 | s);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `sh -c script` with the IO's fds as its stdio, as a runtime would. */
function task(io: Awaited<ReturnType<typeof createIO>>, script: string, ...args: string[]) {
  const child = spawn('/bin/sh', ['-c', script, 'sh', ...args], { stdio: [...io.stdio] });
  io.closeChildFds();
  return exitOf(child);
}

t.test(`DirectIO: 200 detaches at random points, 16 MiB, every byte once (seed ${seed})`, { timeout: 120_000 }, async (t) => {
  const random = prng(seed);
  const dir = tmpDir(t);
  const data = crypto.randomBytes(16 * MiB);
  const file = path.join(dir, 'data');
  fs.writeFileSync(file, data);
  const before = fdCount();
  const set = await newFIFOSetInDir(path.join(dir, 'fifo'), 'big', false);
  t.teardown(() => set.close());
  const io = await createIO(set.config, { id: 'big' });
  t.teardown(() => io.close());
  const exited = task(io, 'cat "$1"', file);
  void exited.then(() => io.drain()); // once the pipe is empty, its keep-alive closes: the reader's EOF

  const got: Buffer[] = [];
  let detaches = 0;
  // The set's paths alone (a client's close() leaves the set), stdout only: stderr's keep-alive
  // closes when the task exits, and a reader that opens a FIFO after its last writer left waits
  // for a writer (never a false EOF), so a late session would wait on stderr for ever.
  const paths = newFIFOSet({ ...set.config, stderr: '' });
  let total = 0;
  for (;;) {
    const client = await newDirectIO(paths);
    const stdout = client.stdout!;
    // Detach once this session has taken `limit` bytes (almost none in one session in ten).
    const limit = detaches < 200 ? Math.floor(random() * (detaches % 10 === 0 ? 4096 : 64 * 1024)) : Infinity;
    let taken = 0, cancelled = false, scheduled = false;
    // A consumer slower than the pipe, as real ones are: the reader holds read-ahead when it detaches.
    const sink = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, cb) {
        got.push(Buffer.from(chunk));
        taken += chunk.length;
        total += chunk.length;
        if (!scheduled && taken >= limit) {
          scheduled = true;
          // From outside the stream's own events, as a user's detach comes: the reader may be
          // paused by this sink's pushback, holding what it read ahead.
          setImmediate(() => { cancelled = true; client.cancel(); });
        }
        setImmediate(cb);
      },
    });
    stdout.pipe(sink, { end: false });
    const eof = await new Promise<boolean>((resolve) => finished(stdout, () => resolve(!cancelled)));
    await new Promise<void>((resolve) => sink.end(resolve)); // every chunk piped before the end is written
    await client.wait();
    await client.close();
    if (cancelled) detaches++;
    // Every byte is here, or the task's EOF came (then bytes were lost, and no writer is left).
    if (total >= data.length || eof) break;
  }
  t.equal(await exited, 0);
  const all = Buffer.concat(got);
  t.equal(detaches, 200, 'detached 200 times');
  t.equal(all.length, data.length, 'every byte');
  t.ok(sha256(all) === sha256(data), 'once, in order');
  await io.close();
  t.equal(fdCount(), before, 'no fd left');
});

t.test(`DirectIO stdin: a detach gives back exactly what did not reach the FIFO (seed ${seed})`, { timeout: 120_000 }, async (t) => {
  const random = prng(seed + 1);
  const dir = tmpDir(t);
  const set = await newFIFOSetInDir(path.join(dir, 'fifo'), 'in', false);
  t.teardown(() => set.close());
  const io = await createIO({ ...set.config, stdout: '', stderr: '' }, { id: 'in' });
  t.teardown(() => io.close());
  const out = path.join(dir, 'out');
  // Writes come in synchronous bursts, faster than any reader: the FIFO fills and writes wait.
  const exited = task(io, 'cat > "$1"', out);
  const stdinOnly = newFIFOSet({ ...set.config, stdout: '', stderr: '' });
  const data = crypto.randomBytes(8 * MiB);
  let rest = data;
  for (let i = 0; i < 50 && rest.length > 0; i++) {
    const client = await newDirectIO(stdinOnly);
    const stdin = client.stdin!;
    await stdin.opened;
    // Write random-sized chunks until the writer pushes back, and a few more.
    let off = 0;
    const extra = Math.floor(random() * 8);
    for (let pushedBack = 0; off < rest.length && pushedBack <= extra;) {
      const n = 1 + Math.floor(random() * 100_000);
      if (!stdin.write(rest.subarray(off, off + n))) pushedBack++;
      off += n;
    }
    client.cancel();
    const back = stdin.unwritten();
    t.ok(back.length <= Math.min(off, rest.length), `session ${i}: ${back.length} bytes held back`);
    rest = Buffer.concat([back, rest.subarray(Math.min(off, rest.length))]);
    await client.close();
  }
  const last = await newDirectIO(stdinOnly);
  last.stdin!.end(rest);
  await once(last.stdin!, 'close');
  await io.closeStdin();
  t.equal(await exited, 0);
  const got = fs.readFileSync(out);
  t.equal(got.length, data.length, 'every byte');
  t.ok(sha256(got) === sha256(data), 'once, in order');
});

t.test(`attach stdin: a detach hands the caller's stdin back what did not reach the FIFO (seed ${seed})`, { timeout: 120_000 }, async (t) => {
  const random = prng(seed + 2);
  const dir = tmpDir(t);
  const set = await newFIFOSetInDir(path.join(dir, 'fifo'), 'pipe', false);
  t.teardown(() => set.close());
  const io = await createIO({ ...set.config, stdout: '', stderr: '' }, { id: 'pipe' });
  t.teardown(() => io.close());
  const out = path.join(dir, 'out');
  const exited = task(io, 'cat > "$1"', out);
  const data = crypto.randomBytes(8 * MiB);
  // The caller's stdin, in chunks of random size.
  const source = new PassThrough({ highWaterMark: 64 * 1024 });
  const pieces: Buffer[] = [];
  for (let off = 0; off < data.length;) {
    const n = 1 + Math.floor(random() * 50_000);
    pieces.push(data.subarray(off, off + n));
    off += n;
  }
  Readable.from(pieces).pipe(source);
  const stdinOnly = newFIFOSet({ ...set.config, stdout: '', stderr: '' });
  for (let i = 0; i < 50; i++) {
    const client = await newAttach(withStreams(source, null, null))(stdinOnly);
    // Detach after a random amount has left the caller's stream. Registered after the copy's own
    // 'data' listener, so the chunk that triggers it is already in the writer.
    const limit = Math.floor(random() * 200 * 1024);
    let taken = 0;
    await new Promise<void>((resolve) => {
      const onData = (chunk: Buffer): void => {
        taken += chunk.length;
        if (taken < limit) return;
        source.off('data', onData);
        client.cancel();
        resolve();
      };
      source.on('data', onData);
    });
    await client.close();
    t.notOk(source.readableFlowing, `session ${i}: the caller's stream is paused again`);
  }
  // The rest, and EOF for the task once all of it is in the FIFO.
  const last = await newAttach(withStreams(source, null, null), withStdinClose(() => io.closeStdin()))(stdinOnly);
  t.teardown(() => last.close());
  t.equal(await exited, 0);
  const got = fs.readFileSync(out);
  t.equal(got.length, data.length, 'every byte');
  t.ok(sha256(got) === sha256(data), 'once, in order');
});
