import t from 'tap';
import fs from 'node:fs';
import { cgroupWarmupWrites, enableCgroupWarmup, holdCgroupWarmup, warmCgroupMigration } from '../../../src/runtime/jobobject/index.js';

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

t.test('holdCgroupWarmup: writes again and again while held (one in flight), none once stopped or past its time', { timeout: 30_000 }, async (t) => {
  enableCgroupWarmup();
  const waitFor = async (cond: () => boolean, what: string): Promise<void> => {
    const end = Date.now() + 20_000;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const start = cgroupWarmupWrites();
  const stop = holdCgroupWarmup(2);
  await waitFor(() => cgroupWarmupWrites() >= start + 3, 'three writes while held');
  t.pass('it keeps writing');
  stop();
  await warmCgroupMigration(); // one in flight settles; this call's own write counts once
  const after = cgroupWarmupWrites();
  // The hold's interval was 2 ms: twenty of them with no write from it.
  await new Promise((r) => setTimeout(r, 40));
  t.equal(cgroupWarmupWrites(), after, 'no write once stopped');
  // Past its time it stops by itself.
  const bounded = cgroupWarmupWrites();
  holdCgroupWarmup(2, 20);
  await waitFor(() => cgroupWarmupWrites() > bounded, 'a write of the bounded hold');
  // Its interval (due before this timer) has run past its 20 ms and cleared itself by then.
  await new Promise((r) => setTimeout(r, 60));
  await warmCgroupMigration(); // a write of it still in flight settles (or this one is made)
  const settled = cgroupWarmupWrites();
  await new Promise((r) => setTimeout(r, 40));
  t.equal(cgroupWarmupWrites(), settled, 'none after its 20 ms');
});
