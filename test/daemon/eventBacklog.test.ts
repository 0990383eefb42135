import t from 'tap';
import type { TaskEvent } from '../../src/daemon/index.js';
import { client, daemonRoot, eventually } from './helpers.js';

t.test('an events client that does not read holds a bounded backlog in the daemon: past it its events are dropped', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  const c = await client(root);
  t.teardown(() => c.close());
  // Each event of `big` carries its labels: ~300 KB a line, so a few fill any backlog.
  await c.createTask({ id: 'big', runtime: 'host', args: ['sleep', '1000'], labels: { blob: 'x'.repeat(300_000) } });
  await c.createTask({ id: 'mark', runtime: 'host', args: ['sleep', '1000'] });
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  // Subscribed, and not read: the client takes what its socket buffers, then stops reading.
  const events = await c.events({ signal: ac.signal });
  const cycles = 12;
  for (let i = 0; i < cycles; i += 1) {
    await c.pause('big');
    await c.resume('big');
  }
  // Now read; small `mark` events, once one gets through the backlog is drained.
  let big = 0, marked = false;
  const reading = (async () => {
    for await (const e of events as AsyncGenerator<TaskEvent>) {
      if (e.id === 'big') big += 1;
      if (e.id === 'mark') { marked = true; break; }
    }
  })();
  await eventually(async () => {
    if (!marked) {
      await c.pause('mark');
      await c.resume('mark');
    }
    return marked;
  }, 'an event published after the client caught up');
  await reading;
  // Kept by the daemon and the sockets between: the bound (256 KiB) and the socket buffers, a few
  // events. The old daemon queued all 24 (7 MB) for this client, and would have any number.
  t.ok(big > 0 && big <= 8, `the client got a few of the ${cycles * 2} events of big, not all (${big})`);
  await c.remove('big', { force: true });
  await c.remove('mark', { force: true });
});
