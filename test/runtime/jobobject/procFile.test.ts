/**
 * A `/proc/<pid>/` file read while its process goes: `undefined`, not an error. A child that exits
 * between the open of its `/proc/<pid>/cgroup` and the read makes the read fail with `ESRCH`; the
 * job's check of children still joining read it so and failed `waitEmpty` (seen once in CI's
 * busy run, leftBehind.test). Made certain here: the file is opened while the child lives and
 * read again through `/proc/self/fd` once it was reaped.
 */
import t from 'tap';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readProcFile } from '../../../src/runtime/jobobject/cgroup.js';

t.test('a process gone between the open and the read: undefined (ESRCH); gone before the open: undefined (ENOENT)', { timeout: 30_000 }, async (t) => {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  const file = `/proc/${child.pid}/cgroup`;
  t.match(await readProcFile(file), /\S/, 'a live process\'s cgroup file reads');
  const fd = fs.openSync(file, 'r');
  t.teardown(() => fs.closeSync(fd));
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
  t.throws(() => fs.readFileSync(`/proc/self/fd/${fd}`), { code: 'ESRCH' }, 'the kernel says ESRCH');
  t.equal(await readProcFile(`/proc/self/fd/${fd}`), undefined, 'opened while alive, read once gone');
  t.equal(await readProcFile(file), undefined, 'reaped before the open');
});
