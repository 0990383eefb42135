/**
 * The reattach soak, short: 50 attachments to one running host task, in turn `newAttach`,
 * `DirectIO` and a client process SIGKILLed while it reads, at seeded random points. Every byte
 * received is placed in the task's deterministic stream.
 */
import t from 'tap';
import { reattachSoak } from '../../src/soak/reattach.js';
import { fdCount } from '../helpers/common.js';

t.test('50 reattach cycles on the host backend: nothing lost or repeated on detach, a killed client loses at most its one read, nothing left', { timeout: 120_000 }, async (t) => {
  const fds = fdCount();
  const r = await reattachSoak({ backend: 'host', cycles: 50, seed: 50 });
  t.comment(JSON.stringify({ ...r, jumps: r.jumps.length }));
  t.same(r.sessions, { attach: 17, direct: 17, killed: 16 });
  t.equal(r.lostOnDetach, 0, 'no byte lost where a client detached');
  t.equal(r.duplicated, 0, 'no byte received twice');
  t.equal(r.corrupt, 0, 'every byte is a byte of the stream');
  t.ok(r.sha256.equal, 'sha256 of all received bytes = the stream less the kill losses');
  t.ok(r.lostOnKill.max <= r.maxReadBytes, `a killed client lost at most one read (${r.lostOnKill.max} ≤ ${r.maxReadBytes})`);
  t.ok(r.jumps.every((j) => j.after === 'killed' && j.bytes > 0 && j.atSessionStart), 'every jump is a kill\'s loss at the next session\'s start');
  t.ok(r.reached > 50 * 1024, `the stream went on (${r.reached} bytes)`);
  t.equal(r.exitStatus, 137);
  t.same(r.leftovers, { processes: [], fds: [], mounts: [], cgroups: [], state: [], fifoSets: [] }, 'nothing left');
  t.equal(fdCount(), fds, 'no fd left in this process');
});
