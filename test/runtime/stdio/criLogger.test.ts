import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createIO, type ProcessIO } from '../../../src/runtime/stdio/index.js';
import { exitOf, fdCount, repoRoot, tmpDir } from '../../helpers/common.js';

// The example logging driver as built by `npm run build` (npm test builds first; without a build
// these tests fail on the missing logger, by design).
const logger = path.join(repoRoot, 'dist/logfile/criLogger.js');
const opts = { timeout: 30_000 };

function run(io: ProcessIO, script: string) {
  const child = spawn('/bin/sh', ['-c', script], { stdio: [...io.stdio] });
  io.closeChildFds();
  return exitOf(child);
}

for (const scheme of ['binary', 'binary-v2']) {
  t.test(`${scheme}:// through the example CRI logger and the runtime core's stdio`, opts, async (t) => {
    const dir = tmpDir(t);
    const log = path.join(dir, 'logs', 'task.log');
    const uri = `${scheme}://${logger}?path=${encodeURIComponent(log)}`;
    const before = fdCount();
    const io = await createIO({ terminal: false, stdin: '', stdout: uri, stderr: uri }, { id: 'task-7', namespace: 'default' });
    t.equal(await run(io, 'echo first; echo oops >&2; printf "no newline"'), 0);
    await io.drain();
    await io.close();
    const entries = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));
    const by = (s: string) => entries.filter((e) => e[1] === s).map((e) => `${e[2]} ${e.slice(3).join(' ')}`);
    t.same(by('stdout'), ['F first', 'F no newline'], 'a last line without newline is written as F when the stream ends');
    t.same(by('stderr'), ['F oops']);
    for (const e of entries) t.ok(!Number.isNaN(Date.parse(e[0]!)), `RFC3339 time ${e[0]}`);
    t.equal(fdCount(), before, 'no fd left');
  });
}

t.test('binary-v2:// with a logger that fails before ready: did not call ready', opts, async (t) => {
  const dir = tmpDir(t);
  // A relative log path makes the example logger fail before it signals ready.
  const uri = `binary-v2://${logger}?path=relative.log`;
  await t.rejects(createIO({ terminal: false, stdin: '', stdout: uri, stderr: uri }, { id: 'bad' }),
    { code: 'ERR_LOGGER_NOT_READY', message: /did not call ready.*relative\.log/s });
  t.same(fs.readdirSync(dir), []);
});
