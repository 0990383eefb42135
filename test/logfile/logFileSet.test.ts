import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { snapshotLogFiles } from '../../src/logfile/logFileSet.js';
import { tmpDir } from '../helpers/common.js';

/** The indexes a snapshot finds for `base` (null where the set has a hole). */
async function indexes(base: string): Promise<(number | null)[]> {
  return (await snapshotLogFiles(base)).map((f) => f?.index ?? null);
}

t.test('snapshotLogFiles: the set runs to four missing indexes in a row, and no further', { timeout: 10_000 }, async (t) => {
  const dir = tmpDir(t);
  const base = path.join(dir, 'task.log');
  const put = (i: number): void => fs.writeFileSync(i === 0 ? base : `${base}.${i}`, `file ${i}\n`);
  t.same(await indexes(base), [], 'no file: an empty set');
  put(0);
  t.same(await indexes(base), [0]);
  put(1); put(2);
  t.same(await indexes(base), [0, 1, 2]);
  put(5); // a gap of two (a rotation renaming mid-way): still in the set
  t.same(await indexes(base), [0, 1, 2, null, null, 5]);
  put(10); // after a gap of four: not part of the set
  t.same(await indexes(base), [0, 1, 2, null, null, 5]);
  fs.rmSync(base);
  t.same(await indexes(base), [null, 1, 2, null, null, 5], 'the live file gone for a moment');
  const sizes = (await snapshotLogFiles(base)).map((f) => f?.size ?? null);
  t.same(sizes, [null, 7, 7, null, null, 7]);
});

t.test('snapshotLogFiles: a symlink or a FIFO in the set is refused, naming it', { timeout: 10_000 }, async (t) => {
  const dir = tmpDir(t);
  const base = path.join(dir, 'task.log');
  fs.writeFileSync(base, 'x\n');
  fs.symlinkSync('/etc/passwd', `${base}.2`);
  await t.rejects(snapshotLogFiles(base), { code: 'ERR_NOT_REGULAR_FILE', message: new RegExp(`${base}\\.2`) });
});
