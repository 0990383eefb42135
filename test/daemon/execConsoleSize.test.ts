/**
 * An exec's terminal starts with a size, as a task's: the request's `consoleSize` (docker's exec
 * `ConsoleSize`), else 80x24, never the 0x0 of a new pty (busybox's `stty size` fails there) nor
 * the size the task's own terminal started with. A bad size is refused as a task create refuses it.
 */
import t, { type Test } from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DaemonClient } from '../../src/daemon/index.js';
import { badConsoleSizes, client, daemonRoot, execSttySize } from './helpers.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

/** A running task of `runtime` (a terminal one: its start size must not leak into its execs), removed with the test. */
async function task(t: Test, runtime: 'host' | 'runc'): Promise<string> {
  const id = `${runtime}-${crypto.randomBytes(3).toString('hex')}`;
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  await c.createTask({ id, runtime, args: ['sleep', '1000'], terminal: true, consoleSize: { height: 50, width: 150 } });
  return id;
}

t.test('an exec with a terminal starts with the consoleSize asked, else 80x24 (host, runc)', { timeout: 120_000 }, async (t) => {
  // Not runsc here: it ignores process.consoleSize, and whether the daemon sizes its pty's master
  // before the process asks is runsc's order (test/cli/detachedTty checks runsc's exec).
  for (const runtime of ['host', 'runc'] as const) {
    const id = await task(t, runtime);
    t.equal(await execSttySize(c, id, { height: 33, width: 97 }), '0 33 97', `${runtime}: the size asked`);
    t.equal(await execSttySize(c, id), '0 24 80', `${runtime}: no size asked`);
  }
});

t.test('a bad exec consoleSize is refused as a task create\'s', { timeout: 60_000 }, async (t) => {
  const id = await task(t, 'host');
  for (const [consoleSize, message] of badConsoleSizes) {
    await t.rejects(c.exec(id, { args: ['true'], terminal: true, consoleSize } as never), { code: /^ERR_INVALID_FIELD$|^ERR_UNKNOWN_FIELD$/, message });
  }
  t.same(fs.readdirSync(path.join(root, 'fifo')), [], 'no FIFO set left');
  const execs = path.join(root, 'tasks', id, 'execs');
  t.same(fs.existsSync(execs) ? fs.readdirSync(execs) : [], [], 'no exec\'s pid file left');
});
