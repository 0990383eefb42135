import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { openLogWriter } from '../../src/logfile/logWriter.js';
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
