/**
 * `npm run demo`: a plain host process writes a numbered sequence to its FIFO set. The demo reads
 * it, detaches in the middle (the task keeps running, its output waits in the pipe), reattaches as
 * a new client would after a restart, and checks that every line arrived exactly once.
 */
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { newAttach, newCreator, newFIFOSet, withStreams, withFIFODir, defaultFIFODir } from '../index.js';
import { openFifoFd } from '../fifo/index.js';

const lines = 1_000_000;

/** A client-side sink that hashes what it gets and reports progress. */
class Tally extends Writable {
  bytes = 0;
  readonly hash = createHash('sha256');
  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    this.onBytes(this.bytes);
    cb();
  }
}

function say(msg: string): void {
  process.stdout.write(`taskio demo: ${msg}\n`);
}

async function main(): Promise<void> {
  const expected = Buffer.from(Array.from({ length: lines }, (_, i) => `${i + 1}\n`).join(''));
  const halfway = expected.length >> 1;
  const fifoDir = process.getuid?.() === 0 ? defaultFIFODir() : `${process.env.TMPDIR ?? '/tmp'}/taskio-demo-${process.pid}`;

  // Client, first session: create the task's FIFO set and read until about half the output.
  let detach!: () => void;
  const reachedHalf = new Promise<void>((resolve) => { detach = resolve; });
  const first = new Tally((n) => { if (n >= halfway) detach(); });
  const io = await newCreator(withStreams(null, first, null), withFIFODir(fifoDir))('demo-task');
  const config = io.config();
  say(`FIFO set ${config.stdout.replace(/-stdout$/, '-*')}`);

  // Task host: a keep-alive O_RDWR fd, so the task never sees EPIPE while no client reads, and
  // the task's own stdout opened afresh (never a file description a libuv stream here uses).
  const keepAlive = openFifoFd(config.stdout, 'rw');
  const taskOut = openFifoFd(config.stdout, 'w');
  const task = spawn('seq', ['1', String(lines)], { stdio: ['ignore', taskOut, 'inherit'] });
  fs.closeSync(taskOut);
  const exited = new Promise<number>((resolve) => task.on('exit', (code) => resolve(code ?? 128)));
  say(`task pid ${task.pid} writes ${lines} lines (${expected.length} bytes)`);

  await reachedHalf;
  io.cancel();
  await io.wait();
  say(`first client detached after ${first.bytes} bytes; the task is still running: ${task.exitCode === null}`);

  // Client, second session: reattach to the same set, as a restarted supervisor would.
  const second = new Tally((n) => { if (first.bytes + n === expected.length) done(); });
  let done!: () => void;
  const complete = new Promise<void>((resolve) => { done = resolve; });
  const io2 = await newAttach(withStreams(null, second, null))(newFIFOSet(config));
  say('second client reattached');
  await complete;
  const code = await exited;
  fs.closeSync(keepAlive);
  await io2.wait();
  await io2.close();
  await io.close();

  // Each session must hold exactly its slice of the expected output: the first the bytes before
  // the detach, the second everything after.
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const ok = first.bytes + second.bytes === expected.length
    && first.hash.digest('hex') === sha(expected.subarray(0, first.bytes))
    && second.hash.digest('hex') === sha(expected.subarray(first.bytes));
  say(`session 1: ${first.bytes} bytes, session 2: ${second.bytes} bytes, total ${first.bytes + second.bytes} of ${expected.length}`);
  say(`task exit code ${code}; each session's sha256 matches its slice of the expected output: ${ok}`);
  say(ok ? 'nothing lost, nothing repeated' : 'MISMATCH: output was lost or repeated');
  say(`FIFO directory removed: ${!fs.existsSync(config.stdout)}`);
  if (!ok || code !== 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
