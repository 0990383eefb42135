import t from 'tap';
import fs from 'node:fs';
import { enableCgroupWarmup, warmCgroupMigration } from '../../../src/runtime/jobobject/index.js';

t.test('warmCgroupMigration: off until enabled; then writes this process into the cgroup it is in, one write at a time, nothing moved', { timeout: 30_000 }, async (t) => {
  t.equal(await warmCgroupMigration(), false, 'the library does not write unless told the process never moves itself');
  enableCgroupWarmup();
  const before = fs.readFileSync('/proc/self/cgroup', 'utf8');
  const first = warmCgroupMigration();
  t.equal(warmCgroupMigration(), first, 'a call while one is in flight shares it');
  t.equal(await first, process.getuid?.() === 0, 'written as root (the tests run as root), never tried otherwise');
  t.equal(fs.readFileSync('/proc/self/cgroup', 'utf8'), before, 'this process is where it was in every hierarchy');
  const next = warmCgroupMigration();
  t.not(next, first, 'once settled, the next call writes again');
  t.equal(await next, process.getuid?.() === 0);
});
