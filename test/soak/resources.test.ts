import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { cgroupsNamed } from '../../src/soak/resources.js';
import { tmpDir } from '../helpers/common.js';

t.test('cgroupsNamed finds a named cgroup at any depth of each hierarchy, and not below a match', { timeout: 10_000 }, async (t) => {
  const root = tmpDir(t);
  const made = (p: string) => fs.mkdirSync(path.join(root, p), { recursive: true });
  // A hybrid layout: a hierarchy per controller. runc nests a container below a nested caller.
  made('memory/process_api/abc/soak-1');
  made('memory/process_api/abc/nest/deeper/soak-2/soak-inner');
  made('cpuacct/soak-3');
  made('cpuacct/taskio/soak-4');
  made('cpuacct/other/unrelated');
  t.same(cgroupsNamed(['soak-'], root).map((p) => path.relative(root, p)).sort(), [
    'cpuacct/soak-3', 'cpuacct/taskio/soak-4', 'memory/process_api/abc/nest/deeper/soak-2', 'memory/process_api/abc/soak-1',
  ]);
  // A pure cgroup2 host: one hierarchy at the root (it has cgroup.procs).
  const v2 = tmpDir(t);
  fs.writeFileSync(path.join(v2, 'cgroup.procs'), '');
  fs.mkdirSync(path.join(v2, 'system.slice/ci.service/soak-5'), { recursive: true });
  t.same(cgroupsNamed(['soak-'], v2).map((p) => path.relative(v2, p)), ['system.slice/ci.service/soak-5']);
  t.same(cgroupsNamed(['nothing-'], root), []);
});
