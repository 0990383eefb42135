import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readJson } from '../../src/daemon/atomicJson.js';
import { DaemonClient } from '../../src/daemon/index.js';
import { mkfifo } from '../../src/sys/index.js';
import { daemonRoot, eventually, foregroundDaemon } from './helpers.js';

const openFds = (): number => fs.readdirSync('/proc/self/fd').length;

t.test('readJson refuses a FIFO or a symlink planted as a state file at once, leaving no fd', { timeout: 30_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-state-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'task.json');
  mkfifo(fifo);
  const before = openFds();
  // A blocking open would wait here for a writer that never comes (the test's timeout, not an error).
  t.throws(() => readJson(fifo), { code: 'ERR_CORRUPT_STATE', message: `${fifo} is not a regular file` });
  fs.writeFileSync(path.join(dir, 'real.json'), '{"id":"x"}');
  fs.symlinkSync('real.json', path.join(dir, 'link.json'));
  t.throws(() => readJson(path.join(dir, 'link.json')), { code: 'ELOOP' });
  fs.writeFileSync(path.join(dir, 'torn.json'), '{"id":');
  t.throws(() => readJson(path.join(dir, 'torn.json')), { code: 'ERR_CORRUPT_STATE', message: /torn\.json is not valid JSON/ });
  t.equal(readJson(path.join(dir, 'missing.json')), null);
  t.same(readJson(path.join(dir, 'real.json')), { id: 'x' });
  t.equal(openFds(), before, 'no fd left open');
});

t.test('a daemon starting beside a FIFO planted as a task.json answers and leaves it alone', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  const planted = path.join(root, 'tasks', 'planted');
  fs.mkdirSync(planted, { recursive: true, mode: 0o700 });
  mkfifo(path.join(planted, 'task.json'));
  const { child, stderr } = await foregroundDaemon(root);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const c = new DaemonClient(root, { start: false });
  t.teardown(() => c.close());
  t.same(await c.listTasks({ all: true }), [], 'no task made up from it');
  t.ok(fs.statSync(path.join(planted, 'task.json')).isFIFO(), 'the FIFO is left where it was');
  await eventually(() => /cannot adopt task.*is not a regular file|is not a regular file.*cannot adopt task/.test(stderr()), 'the daemon to log what it left alone');
  t.pass('logged: cannot adopt task, not a regular file');
});
