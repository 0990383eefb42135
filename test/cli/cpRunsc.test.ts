/** `taskio cp` on runsc tasks: into the sandbox and back, out of an exited task through a helper sandbox, ids at the limit. */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { containerCgroupParent } from '../../src/daemon/containerCgroup.js';
import { jobPrefix } from '../../src/daemon/runtimes.js';
import { hierarchyMounts } from '../../src/runtime/jobobject/hierarchy.js';
import { daemonRoot, runtimeIdOf } from '../daemon/helpers.js';
import { taskio } from './runSession.js';
import { described, helperRuntimeIds, makeTree, processesOf, runtimeLeft, taskioFiles, tree } from './cpSupport.js';

t.test('runsc: a directory into the sandbox and back (busybox tar), modes kept, owners with -a; - out', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  const H = path.join(root, 'here');
  makeTree(path.join(H, 'src'));
  fs.chownSync(path.join(H, 'src', 'f'), 1234, 5678);
  t.equal((await taskio(root, ['run', '-d', '--name', 'box', '--runtime', 'runsc', '--', 'sleep', '1000'])).status, 0);
  const copied = await taskio(root, ['cp', '-a', `${H}/src`, 'box:/tmp/in']);
  t.same([copied.status, copied.stderr], [0, '']);
  const seen = await taskio(root, ['exec', 'box', 'sh', '-c', 'cd /tmp/in && stat -c "%a %u:%g %n" f sub sub/g']);
  t.equal(seen.stdout, '640 1234:5678 f\n750 0:0 sub\n644 0:0 sub/g\n', 'in the sandbox, with -a: the modes and the owners');
  const back = await taskio(root, ['cp', 'box:/tmp/in', `${H}/back`]);
  t.same([back.status, back.stderr], [0, '']);
  t.same(described(path.join(H, 'back')), tree, 'back here: the same tree and modes');
  t.equal(fs.statSync(path.join(H, 'back', 'f')).uid, process.getuid!(), 'owned by who copied it out, as docker\'s');
  const archive = path.join(root, 'in.tar');
  const out = await taskioFiles(root, ['cp', 'box:/tmp/in/.', '-'], { stdout: archive });
  t.same([out.status, out.stderr], [0, '']);
  t.same(spawnSync('tar', ['-tf', archive], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort(), ['./', './f', './sub/', './sub/g']);
});

t.test('runsc: cp out of an exited task, through a helper sandbox made from its bundle; none left', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  const H = path.join(root, 'here');
  fs.mkdirSync(H);
  t.equal((await taskio(root, ['run', '--name', 'box', '--runtime', 'runsc', '--', 'true'])).status, 0);
  const out = await taskio(root, ['cp', 'box:/bin/sh', `${H}/sh`]);
  t.same([out.status, out.stderr], [0, ''], 'cp out of the exited task');
  t.equal(fs.readlinkSync(path.join(H, 'sh')), 'busybox', 'the link of its root, as a link');
  const helper = helperRuntimeIds(root, 'runsc').start;
  const list = spawnSync('runsc', ['--root', path.join(root, 'runtime', 'runsc'), 'list', '-quiet'], { encoding: 'utf8' });
  t.equal(list.status, 0);
  t.same(list.stdout.split('\n').filter((n) => n.startsWith(helper)), [], 'the helper\'s sandbox was deleted');
  t.same(processesOf(helper), [], 'no sandbox process of the helper left');
});

// runsc refuses a runtime id of 93 characters or more (its sandbox's control socket name): a helper
// `<id>+cp+<tag>` of a task id of 70 or more took none, and cp out of such an exited task failed
// with runsc's "creating control server socket … invalid argument".
t.test('runsc: cp out of exited tasks whose ids are 69, 70 and 76 characters long (the id limit), ids alike; nothing left', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  const H = path.join(root, 'here');
  fs.mkdirSync(H);
  const ids = [69, 70, 76].map((n) => `w${'x'.repeat(n - 1)}`);
  t.teardown(async () => { await taskio(root, ['rm', '-f', ...ids]); });
  for (const id of ids) t.equal((await taskio(root, ['run', '--name', id, '--runtime', 'runsc', '--', 'true'])).status, 0);
  for (const id of ids) {
    const out = await taskio(root, ['cp', `${id}:/bin/sh`, `${H}/sh-${id.length}`]);
    t.same([out.status, out.stderr], [0, ''], `cp out of the exited task of ${id.length} characters`);
    t.equal(fs.readlinkSync(path.join(H, `sh-${id.length}`)), 'busybox', 'the link of its root');
    t.same(runtimeLeft(root, id, 'runsc').helperDirs, [], 'no helper directory left');
  }
  t.same(runtimeLeft(root, ids[0]!, 'runsc').containers, ids.map((id) => runtimeIdOf(root, 'runsc', id)).sort(), 'only the tasks\' containers: no helper sandbox left');
  t.equal((await taskio(root, ['rm', '-f', ...ids])).status, 0);
  const left = runtimeLeft(root, ids[0]!, 'runsc');
  t.same(left.containers, [], 'rm -f left no container');
  t.same(processesOf(runtimeIdOf(root, 'runsc', 'w').slice(0, -2)), [], 'no sandbox process left');
  const cgroups = hierarchyMounts().flatMap((m) => {
    const parent = path.join(m, containerCgroupParent);
    return fs.existsSync(parent) ? fs.readdirSync(parent).filter((n) => n.startsWith(jobPrefix(root))) : [];
  });
  t.same(cgroups, [], 'no cgroup left');
});

