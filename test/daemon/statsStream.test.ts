import t from 'tap';
import { Writable } from 'node:stream';
import { streamStats } from '../../src/daemon/statsStream.js';

t.test('a stats stream whose client does not read takes no sample until the last one is sent', { timeout: 10_000 }, async (t) => {
  // A client that stopped reading: the first write fills the connection, and it never drains.
  const stalled = new Writable({ highWaterMark: 1, write: () => undefined });
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  let samples = 0;
  let third!: () => void;
  const sampledOn = new Promise<string>((resolve) => { third = () => resolve('sampled on'); });
  // Registered before the stream starts: the stream's wait for the client to read.
  const waits = new Promise<string>((resolve) => {
    stalled.on('newListener', (name: string) => { if (name === 'drain') resolve('waits for the client'); });
  });
  const done = streamStats(stalled, {
    sample: async () => {
      samples += 1;
      if (samples === 3) third();
      return { n: samples };
    },
    interval: async () => undefined, // no wait: only the client can hold the stream back
    signal: ac.signal,
  });
  // The old loop sampled once a second into the buffer of a client that never read, for ever.
  t.equal(await Promise.race([waits, sampledOn]), 'waits for the client', 'the stream waits for a drain rather than sample on');
  t.equal(samples, 1, 'one sample taken');
  ac.abort();
  await done;
  t.equal(samples, 1, 'none after the client went away');
});
