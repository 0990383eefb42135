import t from 'tap';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createIO } from '../../../src/runtime/stdio/index.js';
import { followLog } from '../../../src/logfile/index.js';
import { exitOf, mountTmpfs } from '../../helpers/common.js';

t.test('a full disk under a file:// CRI log: logError on the IO and in the host log; the task waits, nothing is dropped', { timeout: 60_000 }, async (t) => {
  const dir = mountTmpfs(t, 'size=64k', 'taskio-logfull-');
  const hostLog: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write(c, _e, cb) { hostLog.push(String(c)); cb(); } }));
  const file = path.join(dir, 'task.log');
  const uri = `file://${file}?format=cri`;
  const io = await createIO({ terminal: false, stdin: '', stdout: uri, stderr: uri }, { id: 'full', logger });
  const failed = once(io, 'logError');
  // 200,000 numbered lines (2.4 MB): more than the 64 KiB disk and the 1 MiB pipe together hold.
  const task = spawn('awk', ['BEGIN { for (i = 1; i <= 200000; i++) print "line " i }'], { stdio: [...io.stdio] });
  io.closeChildFds();
  const [err] = await failed;
  t.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  t.ok(hostLog.some((l) => l.includes('"level":50') && l.includes('ENOSPC')), 'the task host logged it');
  t.equal(task.exitCode, null, 'the task is not killed: it waits on its full pipe');
  // Space comes back (the filesystem grows); the held-back output follows.
  const resumed = once(io, 'logResume');
  execFileSync('mount', ['-o', 'remount,size=64m', dir]);
  await resumed;
  t.equal(await exitOf(task), 0, 'the task finished once the log could take its output');
  await io.drain();
  await io.close();
  // A line whose producer stalled after the copy had emptied the pipe may be cut into P entries
  // (the quiet-line rule): read it back whole.
  const numbers: number[] = [];
  for await (const e of followLog(file, { format: 'cri', reassemble: true })) numbers.push(Number(e.content.toString().split('line ')[1]));
  t.equal(numbers.length, 200000, 'every line');
  t.ok(numbers.every((n, i) => n === i + 1), 'once each, in order: nothing dropped at the stall');
});
