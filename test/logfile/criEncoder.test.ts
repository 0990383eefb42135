import t from 'tap';
import crypto from 'node:crypto';
import { CriEncoder, initialInputSize } from '../../src/logfile/criEncoder.js';

const time = '2026-03-01T10:00:00.000000001Z';

/** The CRI rule stated plainly: lines cut every `max` bytes (P), a line of exactly `max` is one F. */
function reference(data: Buffer, max: number, stream: string): Buffer {
  const out: Buffer[] = [];
  const entry = (tag: string, content: Buffer): void => {
    out.push(Buffer.from(`${time} ${stream} ${tag} `, 'latin1'), content, Buffer.from('\n'));
  };
  let pos = 0;
  while (pos < data.length) {
    let nl = data.indexOf(0x0a, pos);
    const last = nl < 0;
    if (last) nl = data.length;
    while (nl - pos > max) {
      entry('P', data.subarray(pos, pos + max));
      pos += max;
    }
    entry('F', data.subarray(pos, nl));
    pos = nl + 1;
  }
  return Buffer.concat(out);
}

/** Random bytes with many newlines: empty lines, short lines, lines around `max`, long lines. */
function sample(max: number): Buffer {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < 400; i++) {
    const kind = i % 5;
    const len = kind === 0 ? 0 : kind === 1 ? 1 + (i % 7) : kind === 2 ? max - 1 + (i % 3) : kind === 3 ? 3 * max + (i % 5) : i % 200;
    parts.push(crypto.randomBytes(len).map((b) => (b === 0x0a ? 0x41 : b)), Buffer.from('\n'));
  }
  parts.push(crypto.randomBytes(max + 2).map((b) => (b === 0x0a ? 0x0d : b))); // no final newline
  return Buffer.concat(parts);
}

t.test('any chunking gives the same entries as the plain rule, byte for byte', async (t) => {
  // The last two start below their input size and grow (with output not yet taken, in some rounds).
  for (const [max, inputSize] of [[8, 16], [16, 64], [100, 4096], [16384, 65536], [100, 1 << 17], [16384, 1 << 20]] as const) {
    const data = sample(max);
    const want = reference(data, max, 'stderr');
    for (let round = 0; round < 20; round++) {
      // Tiny input areas and short lines overflow the output area: the spill path must keep order.
      const enc = new CriEncoder('stderr', max, inputSize);
      const got: Buffer[] = [];
      for (let pos = 0; pos < data.length;) {
        const n = Math.min(data.length - pos, 1 + Math.floor(Math.random() * (round % 2 ? 3 * inputSize : 40)));
        const chunk = data.subarray(pos, pos + n);
        // Encode a few chunks before taking the output: what a Writable's writev does.
        for (let from = 0; from < chunk.length;) {
          const k = enc.load(chunk, from);
          enc.encode(k, time);
          from += k;
        }
        if (Math.random() < 0.7) for (const b of enc.takeOutput() ?? []) got.push(Buffer.from(b));
        pos += n;
      }
      for (const b of enc.takeOutput() ?? []) got.push(Buffer.from(b));
      const tail = enc.end(time);
      if (tail) got.push(tail);
      const all = Buffer.concat(got);
      if (!all.equals(want)) {
        t.fail(`max ${max}, input ${inputSize}, round ${round}: output differs`);
        return;
      }
    }
    t.pass(`max ${max}, input ${inputSize}: 20 random chunkings match`);
  }
});

t.test('the input starts small and grows once a chunk filled it, keeping the held line and the output not yet taken', async (t) => {
  const enc = new CriEncoder('stdout', 16, 1 << 20);
  t.equal(enc.input.length, initialInputSize, 'a task that writes little has 64 KiB set aside, not 1 MiB');
  const first = enc.input;
  // A chunk that fills the input: short lines, and the start of a line that goes on.
  const lines = Buffer.alloc(initialInputSize - 4, 'x\n');
  first.set(lines, 0);
  first.write('abcd', initialInputSize - 4, 'latin1');
  enc.encode(initialInputSize, time);
  t.equal(enc.pendingBytes, 4);
  const grown = enc.input;
  t.equal(grown.length, 1 << 20, 'the next read may bring 1 MiB');
  t.not(grown.buffer, first.buffer, 'new memory: the old one stays as it is for a write in flight');
  enc.encode(grown.write('def\n', 0, 'latin1'), time);
  const out = Buffer.concat(enc.takeOutput() ?? []).toString('latin1');
  const entries = out.split('\n').filter(Boolean);
  t.equal(entries.length, (initialInputSize - 4) / 2 + 1, 'every line, in order');
  t.equal(entries.at(-2), `${time} stdout F x`);
  t.equal(entries.at(-1), `${time} stdout F abcddef`, 'the line held across the growth is whole');
  t.equal(enc.input.length, 1 << 20, 'it stays grown');
});

t.test('a read landing in input directly is encoded the same as a loaded one', async (t) => {
  const enc = new CriEncoder('stdout', 16, 32);
  const n = enc.input.write('abc\ndef', 0, 'latin1');
  enc.encode(n, time);
  t.same(enc.takeOutput()?.map((b) => b.toString()), [`${time} stdout F abc\n`]);
  t.equal(enc.pendingBytes, 3);
  enc.encode(enc.input.write('\n', 0, 'latin1'), time);
  t.same(enc.takeOutput()?.map((b) => b.toString()), [`${time} stdout F def\n`]);
  t.equal(enc.takeOutput(), null, 'nothing left');
  t.equal(enc.end(time), null, 'no unfinished line');
});

t.test('takePartial hands the line held so far over as a P entry; the rest of the line is the next entry', async (t) => {
  const enc = new CriEncoder('stdout', 16);
  t.equal(enc.takePartial(time), null, 'nothing held: no entry');
  enc.encode(enc.load(Buffer.from('a\nname? ')), time);
  t.equal(enc.takeOutput()!.toString(), `${time} stdout F a\n`);
  t.equal(enc.pendingBytes, 6);
  t.equal(enc.takePartial(time)!.toString(), `${time} stdout P name? \n`);
  t.equal(enc.pendingBytes, 0, 'the held part is gone from the encoder');
  enc.encode(enc.load(Buffer.from('bob\nx')), time);
  t.equal(enc.takeOutput()!.toString(), `${time} stdout F bob\n`, 'the rest ends the line');
  t.equal(enc.end(time)!.toString(), `${time} stdout F x\n`, 'end() still ends the stream with an F entry');
});

t.test('a last line all of whose bytes went out as P entries is ended at EOF by an empty F; a cut leaves it open', async (t) => {
  const enc = new CriEncoder('stdout', 16);
  enc.encode(enc.load(Buffer.from('partial')), time);
  t.equal(enc.takePartial(time)!.toString(), `${time} stdout P partial\n`);
  t.equal(enc.end(time)!.toString(), `${time} stdout F \n`, 'EOF: an empty F ends the line');
  t.equal(enc.end(time), null, 'once');
  const cut = new CriEncoder('stdout', 16);
  cut.encode(cut.load(Buffer.from('abc')), time);
  cut.takePartial(time);
  t.equal(cut.end(time, true), null, 'a cut adds nothing: what follows, if ever, belongs to the line');
});
