import t from 'tap';
import crypto from 'node:crypto';
import { daemonRoot } from '../daemon/helpers.js';
import { taskDirs, taskio } from './runSession.js';

t.test('run -i: the end of the command\'s stdin ends the task\'s (close-stdin): cat, 1 MiB through sha256sum', { timeout: 90_000 }, async (t) => {
  const root = daemonRoot(t);
  for (const log of [[], ['--log', 'none']]) {
    const r = await taskio(root, ['run', '-i', '--rm', '--runtime', 'host', ...log, '--', 'cat'], 'a\nb\n');
    t.equal(r.status, 0, `cat ended (${log.join(' ') || 'log mode'})`);
    t.equal(r.stdout, 'a\nb\n', 'both lines');
  }
  // Random bytes hold ctrl-p ctrl-q pairs: without a terminal they are data, as in docker.
  const mib = crypto.randomBytes(1 << 20);
  const want = `${crypto.createHash('sha256').update(mib).digest('hex')}  -\n`;
  for (const runtime of ['host', 'runsc']) {
    const sum = await taskio(root, ['run', '-i', '--rm', '--runtime', runtime, '--', 'sha256sum'], mib);
    t.equal(sum.stderr, '', runtime);
    t.equal(sum.status, 0, runtime);
    t.equal(sum.stdout, want, `${runtime}: 1 MiB through sha256sum`);
  }
  t.same(taskDirs(root), [], '--rm removed every task');
});
