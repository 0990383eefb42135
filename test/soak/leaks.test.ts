/**
 * The leak soak, short: 300 create → start → exit → delete cycles on the host backend, each with a
 * FIFO set, a client copying the output and a rotating CRI log. What a leak would grow is counted
 * every 10 %: it must not grow.
 */
import t from 'tap';
import { leakSoak } from '../../src/soak/leaks.js';
import { childPids, fdCount } from '../../src/soak/resources.js';

t.test('300 host task cycles with a FIFO set and a rotating CRI log leave no fd, process, cgroup, FIFO set or state behind', { timeout: 180_000 }, async (t) => {
  const fds = fdCount();
  const r = await leakSoak({ backend: 'host', cycles: 300, seed: 300, lanes: 8 });
  t.comment(JSON.stringify({ ...r, samples: r.samples.map((s) => [s.cycle, s.fds, s.children, s.heapBytes]) }));
  t.equal(r.samples.length, 11, 'a baseline and a sample every 10 %');
  t.equal(r.failedExits, 0, 'every task exited 0');
  t.ok(r.rotations >= 300, `every log rotated (${r.rotations} rotations)`);
  for (const s of r.samples) {
    t.equal(s.fds, r.samples[0]!.fds, `fds at cycle ${s.cycle}`);
    t.equal(s.children, 0, `no child process at cycle ${s.cycle}`);
    t.same([s.processes, s.mounts, s.cgroups, s.state, s.fifoSets], [0, 0, 0, 0, 0], `nothing of past cycles at cycle ${s.cycle}`);
  }
  t.equal(r.slopes.fds, 0, 'fd slope 0');
  // The heap is reported, not asserted: V8's own caches grow and shrink; the full soak fits its trend.
  t.comment(`heap slope ${Math.round(r.slopes.heapBytes)} bytes/cycle over ${r.cycles} cycles`);
  t.same(r.leftovers, { processes: [], fds: [], mounts: [], cgroups: [], state: [], fifoSets: [] }, 'nothing left');
  t.equal(fdCount(), fds, 'no fd left in this process');
  t.same(childPids(), [], 'no child left');
});
