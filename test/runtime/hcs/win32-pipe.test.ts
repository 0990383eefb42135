import t from 'tap';
import { pipeReader, pipeWriter, type PipeApi } from '../../../src/runtime/hcs/win32-pipe.js';

const opts = { timeout: 5000 };

/** A scripted PipeApi: a queue of "bytes waiting" answers over an in-memory buffer (no kernel32 on Linux). */
function scripted(chunks: string[]) {
  const closed: unknown[] = [];
  const written: Buffer[] = [];
  let pending = Buffer.alloc(0);
  const api: PipeApi = {
    available() {
      if (pending.length === 0) {
        const next = chunks.shift();
        if (next === undefined) return -1; // writer gone
        pending = Buffer.from(next);
      }
      return pending.length;
    },
    read(_h, n) {
      const out = pending.subarray(0, n);
      pending = pending.subarray(n);
      return Buffer.from(out);
    },
    write: async (_h, data) => { written.push(Buffer.from(data)); },
    close: (h) => { closed.push(h); },
  };
  return { api, closed, written };
}

t.test('scripted pipe API (kernel32 does not exist on Linux): the reader yields what is waiting, then EOF, and closes once', opts, async (t) => {
  const { api, closed } = scripted(['hello ', 'world']);
  const r = pipeReader(api, 'H');
  let text = '';
  for await (const chunk of r) text += String(chunk);
  t.equal(text, 'hello world');
  r.destroy();
  t.same(closed, ['H']);
});

t.test('scripted pipe API (kernel32 does not exist on Linux): the writer writes each chunk and closes on end', opts, async (t) => {
  const { api, closed, written } = scripted([]);
  const w = pipeWriter(api, 'W');
  await new Promise<void>((resolve, reject) => {
    w.write('abc');
    w.end('def', () => resolve());
    w.on('error', reject);
  });
  t.equal(Buffer.concat(written).toString(), 'abcdef');
  t.same(closed, ['W']);
  w.destroy();
  t.same(closed, ['W'], 'closed once');
});

t.test('scripted pipe API (kernel32 does not exist on Linux): a failed peek is a read error, not an EOF', opts, async (t) => {
  const { api, closed } = scripted(['partial']);
  const available = api.available.bind(api);
  api.available = (h) => {
    const n = available(h);
    return n === -1 ? -2 : n; // PeekNamedPipe failed with something other than ERROR_BROKEN_PIPE
  };
  const r = pipeReader(api, 'E');
  let text = '';
  const err = await new Promise<unknown>((resolve) => {
    r.on('data', (c) => { text += String(c); });
    r.on('end', () => resolve(undefined));
    r.on('error', resolve);
  });
  t.equal(text, 'partial');
  t.match(err, { code: 'ERR_HCS_READ' });
  t.same(closed, ['E'], 'the handle is closed once');
});
