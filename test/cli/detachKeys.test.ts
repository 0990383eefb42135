import t from 'tap';
import fc from 'fast-check';
import { DetachScanner, defaultDetachKeys, parseDetachKeys } from '../../src/cli/detachKeys.js';

const P = 0x10; // ctrl-p
const Q = 0x11; // ctrl-q
const b = (...bytes: number[]) => Buffer.from(bytes);

t.test('parseDetachKeys reads docker\'s format', async (t) => {
  t.same(parseDetachKeys(defaultDetachKeys), b(P, Q));
  t.same(parseDetachKeys(''), b(P, Q), 'empty means the default');
  t.same(parseDetachKeys('ctrl-a,x'), b(1, 0x78));
  t.same(parseDetachKeys('ctrl-@,ctrl-z,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_'), b(0, 26, 27, 28, 29, 30, 31));
  t.same(parseDetachKeys('DEL'), b(0x7f));
  t.same(parseDetachKeys('a,b,c,d'), b(0x61, 0x62, 0x63, 0x64));
  for (const bad of ['ctrl-A', 'ab', 'ctrl-', 'ctrl-1', 'x,,y', 'é', 'ctrl-pp', 'del', ',']) {
    const key = bad === 'x,,y' || bad === ',' ? '' : bad;
    t.throws(() => parseDetachKeys(bad), { code: 'ERR_INVALID_DETACH_KEYS', message: `unknown character: '${key}'` }, `refuses ${JSON.stringify(bad)}`);
  }
});

t.test('the scanner passes bytes, holds a partial match, and detaches on the whole sequence', async (t) => {
  const s = new DetachScanner(b(P, Q));
  t.same(s.scan(Buffer.from('hello')), { data: Buffer.from('hello'), detached: false });
  t.same(s.scan(b(P)), { data: b(), detached: false }, 'ctrl-p alone is held');
  t.same(s.held, b(P));
  t.same(s.scan(Buffer.from('a')), { data: b(P, 0x61), detached: false }, 'released with the byte that broke the sequence');
  t.same(s.held, b());
  t.same(s.scan(b(0x78, P)), { data: b(0x78), detached: false });
  t.same(s.scan(b(Q, 0x79)), { data: b(), detached: true }, 'a sequence split across reads matches; nothing after it is forwarded');
  t.ok(s.detached);
  t.same(s.scan(Buffer.from('more')), { data: b(), detached: true }, 'after the detach nothing passes');
});

t.test('docker\'s rule: the byte that breaks a match does not start a new one', async (t) => {
  const s = new DetachScanner(b(P, Q));
  t.same(s.scan(b(P, P, Q)), { data: b(P, P, Q), detached: false });
  const s2 = new DetachScanner(b(P, Q));
  t.same(s2.scan(b(0x41, P, Q, 0x42)), { data: b(0x41), detached: true }, 'in one read');
  const s3 = new DetachScanner(parseDetachKeys('a,b,c,d'));
  t.same(s3.scan(Buffer.from('ab')), { data: b(), detached: false });
  t.same(s3.scan(Buffer.from('cd')), { data: b(), detached: true });
});

t.test('flush releases what is held when input ends; an empty sequence never detaches', async (t) => {
  const s = new DetachScanner(parseDetachKeys('a,b,c'));
  t.same(s.scan(Buffer.from('xab')), { data: Buffer.from('x'), detached: false });
  t.same(s.flush(), Buffer.from('ab'));
  t.same(s.held, b());
  const none = new DetachScanner(b());
  t.same(none.scan(b(P, Q)), { data: b(P, Q), detached: false });
});

/** docker's proxy, one byte at a time: the oracle the chunked scanner must agree with. */
function oracle(keys: Buffer, input: Buffer): { out: Buffer; held: Buffer; detached: boolean; consumed: number } {
  const out: number[] = [];
  let pos = 0;
  for (let i = 0; i < input.length; i++) {
    if (input[i] === keys[pos]) {
      pos++;
      if (pos === keys.length) return { out: Buffer.from(out), held: b(), detached: true, consumed: i + 1 };
    } else {
      out.push(...keys.subarray(0, pos), input[i]!);
      pos = 0;
    }
  }
  return { out: Buffer.from(out), held: keys.subarray(0, pos), detached: false, consumed: input.length };
}

/** Splits `input` at the given cut points (any numbers, folded into range). */
function chunks(input: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (input.length ? c % (input.length + 1) : 0)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let last = 0;
  for (const c of [...at, input.length]) {
    out.push(input.subarray(last, c));
    last = c;
  }
  return out;
}

t.test('property: output + held == input up to the first detach, for any chunking (seeded)', async (t) => {
  const keysArb = fc.uint8Array({ minLength: 1, maxLength: 4 }).map((k) => Buffer.from(k));
  const caseArb = keysArb.chain((keys) => fc.record({
    keys: fc.constant(keys),
    // Mostly the keys' own bytes, so partial and whole matches are common.
    input: fc.array(fc.oneof(fc.constantFrom(...keys), fc.integer({ min: 0, max: 255 })), { maxLength: 64 }).map((a) => Buffer.from(a)),
    cuts: fc.array(fc.nat(), { maxLength: 8 }),
  }));
  let detaches = 0;
  fc.assert(fc.property(caseArb, ({ keys, input, cuts }) => {
    const s = new DetachScanner(keys);
    const outs: Buffer[] = [];
    let detached = false;
    for (const c of chunks(input, cuts)) {
      const r = s.scan(c);
      outs.push(r.data);
      if (r.detached) {
        detached = true;
        break;
      }
    }
    const out = Buffer.concat(outs);
    const want = oracle(keys, input);
    if (detached !== want.detached || !out.equals(want.out)) return false;
    if (detached) {
      detaches++;
      // The matched bytes are dropped: output + keys is the input up to the detach, ending in the keys.
      return Buffer.concat([out, keys]).equals(input.subarray(0, want.consumed)) && input.subarray(want.consumed - keys.length, want.consumed).equals(keys);
    }
    return Buffer.concat([out, s.held]).equals(input) && s.held.equals(want.held);
  }), { seed: 0x7a5c10, numRuns: 3000 });
  t.ok(detaches > 100, `the cases exercise detaching (${detaches} of 3000)`);
});

t.test('property: input without the sequence in it never detaches (seeded)', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 8 }), (input, cuts) => {
    const keys = b(P, Q);
    if (Buffer.from(input).indexOf(keys) >= 0) return true;
    const s = new DetachScanner(keys);
    const out = Buffer.concat(chunks(Buffer.from(input), cuts).map((c) => s.scan(c).data));
    return !s.detached && Buffer.concat([out, s.flush()]).equals(Buffer.from(input));
  }), { seed: 0x7a5c11, numRuns: 2000 });
  t.pass('never detached');
});
