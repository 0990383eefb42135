import t from 'tap';
import type { DaemonClient } from '../../src/daemon/index.js';
import { until } from '../helpers/common.js';
import { client, daemonRoot } from '../daemon/helpers.js';
import { startTaskio } from './taskioCommand.js';

// One daemon on a private root for the whole file.
const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

// Counts the interrupts it gets and says so; TERM ends it with 4.
const counting = 'n=0; trap \'n=$((n+1)); echo "int $n"\' INT; trap "echo term; exit 4" TERM; echo ready; while :; do sleep 0.05; done';

for (const runtime of ['host', 'runc'] as const) {
  t.test(`${runtime}: run hands ctrl-C and TERM on to the task (docker's --sig-proxy) and exits with its code`, { timeout: 120_000 }, async (t) => {
    const id = `proxy-${runtime}`;
    const cmd = startTaskio(t, root, ['run', '--rm', '--name', id, '--runtime', runtime, '--', 'sh', '-c', counting]);
    await until(() => cmd.output() === 'ready\n', 30_000, 'the task to run');
    cmd.kill('SIGINT');
    await until(() => cmd.output().endsWith('int 1\n'), 30_000, 'the first interrupt to reach the task');
    cmd.kill('SIGTERM');
    const r = await cmd.result;
    t.same([r.code, r.stdout, r.stderr], [4, 'ready\nint 1\nterm\n', ''], 'the task ended by the TERM it was handed; this command with its code');
  });
}

t.test('a task that does not end on ctrl-C: the third one leaves it running and ends the command, 130', { timeout: 120_000 }, async (t) => {
  const id = 'proxy-stubborn';
  const cmd = startTaskio(t, root, ['run', '--name', id, '--runtime', 'host', '--', 'sh', '-c', counting]);
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  await until(() => cmd.output() === 'ready\n', 30_000, 'the task to run');
  for (const n of [1, 2]) {
    cmd.kill('SIGINT');
    await until(() => cmd.output().endsWith(`int ${n}\n`), 30_000, `interrupt ${n} to reach the task`);
  }
  cmd.kill('SIGINT');
  const r = await cmd.result;
  t.equal(r.code, 130);
  t.equal(r.stderr, `taskio run: left task ${id} running: it did not end on the interrupts handed on to it (taskio stop ${id} ends it)\n`);
  t.equal((await c.getTask(id)).status, 'running', 'the task runs on');
});

t.test('--sig-proxy=false: ctrl-C ends the command at once and the task never sees it; attach proxies too', { timeout: 120_000 }, async (t) => {
  const id = 'proxy-off';
  const cmd = startTaskio(t, root, ['run', '--sig-proxy=false', '--name', id, '--runtime', 'host', '--', 'sh', '-c', counting]);
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  await until(() => cmd.output() === 'ready\n', 30_000, 'the task to run');
  cmd.kill('SIGINT');
  const r = await cmd.result;
  t.equal(r.signal, 'SIGINT', 'killed by it, as a shell shows with 130');
  t.equal((await c.getTask(id)).status, 'running');
  // --logs replays the log first: once `ready` shows, the attach is connected and proxying.
  const attached = startTaskio(t, root, ['attach', '--logs', id]);
  await until(() => attached.output() === 'ready\n', 30_000, 'attach to replay the log');
  attached.kill('SIGINT');
  await until(() => attached.output() === 'ready\nint 1\n', 30_000, 'the interrupt attach handed on');
  attached.kill('SIGTERM');
  const a = await attached.result;
  t.same([a.code, a.stdout.endsWith('term\n')], [4, true], 'attach exits with the task\'s code');
});
