import t from 'tap';
import fs from 'node:fs';
import {
  CPULimitMax,
  CPULimitMin,
  CPURateControlType,
  CPUWeightMax,
  CPUWeightMin,
  cgroupLayout,
  parseLayout,
  processCgroup,
  rateToCFS,
  weightToCgroupWeight,
  weightToShares,
} from '../../../src/runtime/jobobject/index.js';
import { checkCPULimit } from '../../../src/runtime/jobobject/limits.js';
import { CgroupSet } from '../../../src/runtime/jobobject/cgroup.js';

const hybrid = `tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0
cgroup /sys/fs/cgroup/freezer cgroup rw,relatime,freezer 0 0
cgroup /sys/fs/cgroup/blkio cgroup rw,relatime,blkio 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,xattr,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
`;
const unified = `cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0\n`;
const legacy = `cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0
cgroup /sys/fs/cgroup/freezer cgroup rw,nosuid,nodev,noexec,relatime,freezer 0 0
`;

t.test('hybrid: v1 controllers for limits, cgroup2 for kill/events/freeze/cpu.stat, and the v1 freezer too', async (t) => {
  const l = parseLayout(hybrid, () => 'hugetlb\n');
  t.equal(l.mode, 'hybrid');
  t.same([...l.v1.keys()], ['cpu', 'cpuacct', 'memory', 'freezer', 'blkio'], 'mount options are not controllers');
  const s = new CgroupSet('j', l);
  t.same(s.dirs, [
    '/sys/fs/cgroup/unified/taskio/j',
    '/sys/fs/cgroup/cpu/taskio/j',
    '/sys/fs/cgroup/memory/taskio/j',
    '/sys/fs/cgroup/blkio/taskio/j',
    '/sys/fs/cgroup/freezer/taskio/j',
  ]);
  t.same(s.cpu, { version: 1, dir: '/sys/fs/cgroup/cpu/taskio/j' });
  t.same(s.memory, { version: 1, dir: '/sys/fs/cgroup/memory/taskio/j' });
  t.same(s.io, { version: 1, dir: '/sys/fs/cgroup/blkio/taskio/j' });
  t.same(s.cpuStat, { version: 2, dir: '/sys/fs/cgroup/unified/taskio/j' });
  t.same(s.freezers, [
    { version: 2, dir: '/sys/fs/cgroup/unified/taskio/j' },
    { version: 1, dir: '/sys/fs/cgroup/freezer/taskio/j' },
  ], 'what systemd moves out of the cgroup2 directory is still frozen by v1 (terminate)');
  t.equal(s.listDir, '/sys/fs/cgroup/unified/taskio/j');
});

t.test('unified only: one directory answers for everything', async (t) => {
  const l = parseLayout(unified, () => 'cpuset cpu io memory hugetlb pids rdma misc\n');
  t.equal(l.mode, 'v2');
  const s = new CgroupSet('j', l);
  const d = '/sys/fs/cgroup/taskio/j';
  t.same(s.dirs, [d]);
  for (const p of [s.cpu, s.memory, s.io, s.cpuStat, ...s.freezers]) t.same(p, { version: 2, dir: d });
  t.equal(s.freezers.length, 1);
  t.equal(s.unified, d);
});

t.test('v1 only: co-mounted controllers share a directory; no cgroup2', async (t) => {
  const l = parseLayout(legacy, () => '');
  t.equal(l.mode, 'v1');
  const s = new CgroupSet('j', l);
  t.same(s.dirs, ['/sys/fs/cgroup/cpu,cpuacct/taskio/j', '/sys/fs/cgroup/memory/taskio/j', '/sys/fs/cgroup/freezer/taskio/j']);
  t.same(s.cpuStat, { version: 1, dir: '/sys/fs/cgroup/cpu,cpuacct/taskio/j' });
  t.same(s.freezers, [{ version: 1, dir: '/sys/fs/cgroup/freezer/taskio/j' }]);
  t.equal(s.io, undefined, 'no blkio mounted: I/O limits are not supported');
  t.equal(s.unified, undefined);
});

t.test('rate → CFS quota of rate·nCPU/10000 per 100 ms', async (t) => {
  t.same(rateToCFS(2000, 2), { quotaMicros: 40_000, periodMicros: 100_000 }, '20 % of 2 CPUs = 0.4 CPU');
  t.same(rateToCFS(10000, 4), { quotaMicros: 400_000, periodMicros: 100_000 });
  t.same(rateToCFS(25, 2), { quotaMicros: 1_000, periodMicros: 200_000 }, 'a small quota stretches the period');
  t.same(rateToCFS(1, 1), { quotaMicros: 1_000, periodMicros: 1_000_000 }, 'clamped at 1 ms per 1 s');
});

t.test('weight → shares and cpu.weight, proportional around the defaults', async (t) => {
  t.equal(weightToShares(5), 1024);
  t.equal(weightToShares(1), 205);
  t.equal(weightToShares(9), 1843);
  t.equal(weightToCgroupWeight(5), 100);
  t.equal(weightToCgroupWeight(9), 180);
});

t.test('the range constants are hcsshim\'s and bounds are inclusive', async (t) => {
  t.same([CPULimitMin, CPULimitMax, CPUWeightMin, CPUWeightMax], [1, 10000, 1, 9]);
  t.doesNotThrow(() => checkCPULimit(CPURateControlType.RateBased, 1));
  t.doesNotThrow(() => checkCPULimit(CPURateControlType.RateBased, 10000));
  t.throws(() => checkCPULimit(CPURateControlType.WeightBased, 10), { code: 'ERR_OUT_OF_RANGE', message: /processor weight of `10`/ });
  t.throws(() => checkCPULimit(7 as CPURateControlType, 1), { code: 'ERR_INVALID_ARG_VALUE' });
});

t.test('processCgroup: where a process is, in the hierarchy of a controller or the cgroup2 one, read from /proc', async (t) => {
  const lines = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const layout = cgroupLayout();
  const memory = processCgroup('self', 'memory');
  const memoryMount = layout.v1.get('memory');
  if (memoryMount !== undefined) {
    t.same(memory, { mount: memoryMount, path: lines.find((l) => l.split(':')[1]?.split(',').includes('memory'))!.split(':')[2] }, 'the v1 memory hierarchy');
  }
  if (layout.v2 !== undefined) {
    t.same(processCgroup(process.pid), { mount: layout.v2, path: lines.find((l) => l.startsWith('0::'))!.slice(3) }, 'no controller: the cgroup2 hierarchy');
  }
  t.equal(processCgroup(2 ** 22 + 1), null, 'a process that does not exist');
});
