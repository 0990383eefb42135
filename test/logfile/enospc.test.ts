import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { openLogWriter } from '../../src/logfile/logWriter.js';
import { followLog } from '../../src/logfile/followLog.js';
import { mountTmpfs } from '../helpers/common.js';

t.test('a full disk is an error event; the writer stops consuming and resumes when space returns', { timeout: 60000 }, async (t) => {
  const dir = mountTmpfs(t, 'size=64k', 'taskio-enospc-');
  const file = path.join(dir, 'task.log');
  const w = openLogWriter(file, { format: 'cri' });
  const [err] = await (async () => {
    const s = w.stream('stdout');
    const failed = once(w, 'error');
    // Write until the writer stops taking data (the disk is full and its buffer is at its mark).
    const line = `${'x'.repeat(99)}\n`;
    let written = 0;
    while (s.write(line)) written++;
    t.ok(written > 100, `${written} lines taken before backpressure`);
    return failed;
  })();
  t.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  t.equal(w.stalled, err, 'the writer is stalled on the error');
  const s = w.stream('stdout');
  t.ok(s.writableNeedDrain, 'the stream is not draining: the producer backs up');
  const sizeAtStall = fs.statSync(file).size;
  // Space comes back (a cleanup truncates the log); the held-back bytes then reach the file and
  // the stream drains.
  fs.truncateSync(file, 0);
  const resumed = once(w, 'resume');
  const drained = once(s, 'drain');
  await resumed;
  await drained;
  t.ok(fs.statSync(file).size > 0, 'writing resumed');
  t.ok(sizeAtStall > 0);
  s.end();
  await once(s, 'finish');
  await w.close();
});

t.test('an unwritable directory is an error event, not an exception', { timeout: 30000 }, async (t) => {
  // Root ignores permission bits, so make the directory truly unwritable: a read-only mount.
  const dir = mountTmpfs(t, 'ro,size=64k', 'taskio-unwritable-');
  const w = openLogWriter(path.join(dir, 'task.log'));
  const s = w.stream('stderr');
  const called: unknown[] = [];
  s.write('kept, not dropped', (e) => called.push(e));
  const [err] = await once(w, 'error');
  t.equal((err as NodeJS.ErrnoException).code, 'EROFS');
  t.same(called, [], 'the write is held, not acknowledged');
  const streamErr = once(s, 'error');
  await t.rejects(w.close(), { code: 'EROFS' }, 'closing a stalled writer reports the loss');
  t.match((await streamErr)[0], { code: 'EROFS' }, 'and so does the stream whose bytes were held');
  t.match(called, [{ code: 'EROFS' }]);
});

t.test('a writer that gave up on a full disk tore its last entry; the next writer starts on a new line', { timeout: 60000 }, async (t) => {
  const dir = mountTmpfs(t, 'size=64k', 'taskio-torn-');
  const file = path.join(dir, 'task.log');
  const w = openLogWriter(file, { format: 'cri' });
  const failed = once(w, 'error');
  const s = w.stream('stdout');
  // Entries of 139 bytes (odd): the disk fills at a page boundary, which is never an entry's end.
  const content = 'x'.repeat(98);
  while (s.write(`${content}\n`));
  await failed;
  await t.rejects(w.close(), { code: 'ENOSPC' }, 'the writer gives up');
  const torn = fs.readFileSync(file);
  t.not(torn[torn.length - 1], 0x0a, 'its last entry is torn');
  // The next writer (a restarted daemon) while the disk is still full: it stalls before writing
  // anything, and goes on once space returns.
  const w2 = openLogWriter(file, { format: 'cri' });
  const stalled = once(w2, 'error');
  const written = new Promise((resolve) => w2.stream('stdout').write('next writer\n', resolve));
  t.match((await stalled)[0], { code: 'ENOSPC' });
  t.equal(fs.statSync(file).size, torn.length, 'nothing was appended to the torn entry');
  execFileSync('mount', ['-o', 'remount,size=1m', dir]);
  t.equal(await written, null);
  await w2.close();
  const got: string[] = [];
  for await (const e of followLog(file, { format: 'cri' })) got.push(e.content.toString());
  t.equal(got.at(-1), 'next writer', 'the next entry is read as its own');
  t.ok(content.startsWith(got.at(-2)!) && got.at(-2)!.length < content.length, 'the torn entry keeps what was written of it');
  t.ok(got.slice(0, -2).every((c) => c === content), 'the entries before are whole');
});
