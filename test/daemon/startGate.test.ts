import t from 'tap';
import { Writable } from 'node:stream';
import { StartGate } from '../../src/daemon/startGate.js';

/** A sink that records what reached it. */
function recorder(): Writable & { got: string[] } {
  const got: string[] = [];
  const w = new Writable({ write(c: Buffer, _e, cb) { got.push(c.toString()); cb(); } });
  return Object.assign(w, { got });
}

t.test('StartGate holds output until open(), then passes all of it in order', async (t) => {
  const sink = recorder();
  const gate = new StartGate(sink);
  const acked: string[] = [];
  gate.write('a', () => acked.push('a'));
  gate.write('b', () => acked.push('b'));
  await new Promise((r) => setImmediate(r));
  t.same(sink.got, [], 'nothing before the start');
  t.same(acked, [], 'and nothing acknowledged: the copy stops reading instead of memory growing');
  t.notOk(gate.write(Buffer.alloc(32 << 10)), 'past its high-water mark the gate pushes back');
  gate.open();
  gate.write('c');
  await new Promise<void>((r) => gate.end(r));
  t.same(sink.got.filter((s) => s.length === 1), ['a', 'b', 'c'], 'in order once open');
  t.same(acked, ['a', 'b']);
});

t.test('StartGate.drop() discards what was held and what still comes (the runtime\'s own error text)', async (t) => {
  const sink = recorder();
  const gate = new StartGate(sink);
  const acked: string[] = [];
  gate.write('exec failed: …\n', () => acked.push('held'));
  gate.drop();
  gate.write('late', () => acked.push('late'));
  gate.open(); // too late to change anything
  await new Promise<void>((r) => gate.end(r));
  t.same(sink.got, []);
  t.same(acked, ['held', 'late'], 'every write is acknowledged, so the copy ends');
});

t.test('StartGate passes the sink\'s error on', async (t) => {
  const failing = new Writable({ write(_c, _e, cb) { cb(new Error('sink broke')); } });
  failing.on('error', () => undefined);
  const gate = new StartGate(failing);
  const err = new Promise<Error>((resolve) => gate.once('error', resolve));
  gate.write('x');
  gate.open();
  t.match(await err, { message: 'sink broke' });
});
