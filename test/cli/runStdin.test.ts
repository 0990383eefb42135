import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bytesReadable, getPipeSize, mkfifo } from '../../src/sys/index.js';
import { daemonRoot, eventually } from '../daemon/helpers.js';
import { processesWith, taskDirs, taskio } from './runSession.js';
import { spawnEveryLine } from './inProcess.js';

// This file tests the command's own process: every line spawns it.
spawnEveryLine();

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

t.test('run -i: the task\'s stdin is closed only once all of the input is with the daemon, though the task reads none of it yet', { timeout: 90_000 }, async (t) => {
  const root = daemonRoot(t);
  const gate = path.join(root, 'gate');
  mkfifo(gate);
  // Twice what the task's stdin pipe and FIFO hold: when the command's stdin ends, the end of it is
  // still on its way to the daemon (in this process's socket, the kernel, the daemon's buffers).
  const input = Buffer.alloc(4 << 20, 'b');
  const script = `read g < ${gate}; tr -cd b | wc -c`;
  const run = taskio(root, ['run', '-i', '--rm', '--runtime', 'host', '--', 'sh', '-c', script], input);
  let pid = 0;
  await eventually(() => {
    pid = processesWith(script).find((p) => fs.readFileSync(`/proc/${p}/comm`, 'utf8') === 'sh\n') ?? 0;
    return pid > 0;
  }, 'the task');
  const fullPipe = (): boolean => {
    const fd = fs.openSync(`/proc/${pid}/fd/0`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try { return bytesReadable(fd) > getPipeSize(fd) - (64 << 10); } finally { fs.closeSync(fd); }
  };
  await eventually(fullPipe, 'the task\'s stdin pipe to fill');
  await fs.promises.writeFile(gate, 'go\n');
  const r = await run;
  t.equal(r.stderr, '');
  t.equal(r.status, 0);
  t.equal(r.stdout.trim(), String(input.length), 'every byte, then EOF');
});
