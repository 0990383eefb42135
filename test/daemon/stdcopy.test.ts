/**
 * The client side of Docker's multiplexed stream: frames of either stream, cut anywhere by the
 * socket, come out whole and in order, and consecutive frames of one stream reach its sink as one
 * write per chunk (a log of short lines is a frame per line).
 */
import t from 'tap';
import { Writable } from 'node:stream';
import { Demultiplexer, StreamType, frameHeader } from '../../src/daemon/stdcopy.js';

/** A sink that keeps what it got and how many writes brought it. */
function collector(): { sink: Writable; text: () => string; writes: () => number } {
  const chunks: Buffer[] = [];
  const sink = new Writable({ write(ch: Buffer, _e, cb) { chunks.push(Buffer.from(ch)); cb(); } });
  return { sink, text: () => Buffer.concat(chunks).toString(), writes: () => chunks.length };
}

const frames: [StreamType, string][] = [
  [StreamType.Stdout, 'one\n'], [StreamType.Stdout, 'two\n'], [StreamType.Stderr, 'err a\n'], [StreamType.Stderr, 'err b\n'],
  [StreamType.Stdout, 'three\n'], [StreamType.Stdin, 'dropped\n'], [StreamType.Stdout, ''], [StreamType.Stdout, 'four\n'],
];
const wire = Buffer.concat(frames.flatMap(([s, text]) => [frameHeader(s, Buffer.byteLength(text)), Buffer.from(text)]));

async function demux(chunks: Buffer[]): Promise<{ out: ReturnType<typeof collector>; err: ReturnType<typeof collector> }> {
  const out = collector(), err = collector();
  const d = new Demultiplexer({ [StreamType.Stdout]: out.sink, [StreamType.Stderr]: err.sink });
  for (const c of chunks) await new Promise<void>((resolve, reject) => d.write(c, (e) => (e ? reject(e) : resolve())));
  return { out, err };
}

t.test('frames cut at every byte come out whole, per stream, in order', { timeout: 30_000 }, async (t) => {
  for (let cut = 1; cut < wire.length; cut++) {
    const { out, err } = await demux([wire.subarray(0, cut), wire.subarray(cut)]);
    t.equal(out.text(), 'one\ntwo\nthree\nfour\n', `stdout, cut at ${cut}`);
    t.equal(err.text(), 'err a\nerr b\n', `stderr, cut at ${cut}`);
  }
});

t.test('a chunk of many frames: one write per run of one stream', { timeout: 30_000 }, async (t) => {
  const { out, err } = await demux([wire]);
  t.equal(out.writes(), 3, 'stdout: "one two", "three", "four" (the stdin frame between the last two is dropped, and ends a run)');
  t.equal(err.writes(), 1);
  const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}\n`);
  const many = await demux([Buffer.concat(lines.flatMap((l) => [frameHeader(StreamType.Stdout, l.length), Buffer.from(l)]))]);
  t.equal(many.out.writes(), 1, '5,000 frames, one write');
  t.equal(many.out.text(), lines.join(''));
});
