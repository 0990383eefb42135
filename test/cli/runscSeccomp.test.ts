/**
 * A runsc task's seccomp filter, end to end against a real daemon and the real runsc (2022-12):
 * runsc applies a spec's `linux.seccomp` only with its global `--oci-seccomp`, which taskio gives it
 * whenever the spec has one — a `--bundle`'s own filter, and also after a daemon restart (the flag
 * from the task's record). The filter holds for the task's init and all it starts; processes
 * `exec` starts are not filtered by this runsc, before and after the restart alike. A filter runsc
 * would not apply as written is refused, leaving nothing behind.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import type { DaemonClient } from '../../src/daemon/index.js';
import type { TaskRecord } from '../../src/daemon/records.js';
import { readJson } from '../../src/daemon/atomicJson.js';
import { runscFor } from '../../src/daemon/runtimes.js';
import { createBusyboxBundle } from '../../src/runtime/oci/index.js';
import { tmpDir } from '../helpers/common.js';
import { client, daemonPid, daemonRoot, taskDirs, treeOf, waitGone } from '../daemon/helpers.js';
import { taskio } from './taskioCommand.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

/** A busybox bundle whose spec has `seccomp`. */
async function bundleWith(name: string, seccomp: unknown): Promise<string> {
  const dir = tmpDir(t, `taskio-seccomp-${name}-`);
  const { spec } = await createBusyboxBundle(dir, { args: ['true'] });
  spec.linux.seccomp = seccomp;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  return dir;
}

const noMkdir = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] };
const probe = 'grep Seccomp: /proc/self/status; mkdir /tmp/x && echo made';
const denied = "mkdir: can't create directory '/tmp/x': Operation not permitted\n";

// runsc ran such a bundle unfiltered: Seccomp 0, mkdir made the directory.
t.test('a --bundle\'s seccomp filter holds in the runsc task; exec\'d processes are not filtered; after a daemon SIGKILL the same', { timeout: 120_000 }, async (t) => {
  const bundle = await bundleWith('mkdir', noMkdir);
  t.teardown(async () => { for (const id of ['sc-box', 'sc-later']) await c.remove(id, { force: true }).catch(() => undefined); });
  const run = await taskio(t, root, 'run', '--rm', '--runtime', 'runsc', '--bundle', bundle, '--', 'sh', '-c', probe);
  t.same([run.code, run.stdout, run.stderr], [1, 'Seccomp:\t2\n', denied], 'the task\'s process is filtered: mkdir gets EPERM');

  t.equal((await taskio(t, root, 'run', '-d', '--name', 'sc-box', '--runtime', 'runsc', '--bundle', bundle, '--', 'sleep', '600')).code, 0);
  t.equal((await taskio(t, root, 'create', '--name', 'sc-later', '--runtime', 'runsc', '--bundle', bundle, '--', 'sh', '-c', probe)).code, 0);
  const unfiltered = [0, 'Seccomp:\t0\nmade\n', ''];
  const exec = await taskio(t, root, 'exec', 'sc-box', 'sh', '-c', probe);
  t.same([exec.code, exec.stdout, exec.stderr], unfiltered, 'runsc 2022-12 does not filter a process exec starts');

  const first = daemonPid(root);
  process.kill(first, 'SIGKILL');
  await waitGone(first);
  const again = await taskio(t, root, 'exec', 'sc-box', 'sh', '-c', probe.replace('/tmp/x', '/tmp/y'));
  t.same([again.code, again.stdout, again.stderr], unfiltered, 'the same in the task the next daemon adopted');
  t.equal((await c.getTask('sc-box')).adopted, true, 'an adopted task');
  const record = readJson<TaskRecord>(path.join(root, 'tasks', 'sc-box', 'task.json'))!;
  t.equal(record.seccomp, true, 'the record says the spec has a filter');
  t.ok((await runscFor(record, path.join(root, 'unused.json')).globalArgs()).includes('--oci-seccomp'), 'so every runsc call of a later daemon carries --oci-seccomp, exec too');
  const later = await taskio(t, root, 'start', '-a', 'sc-later');
  t.same([later.code, later.stdout, later.stderr], [1, 'Seccomp:\t2\n', denied], 'a task the first daemon made, started by the next: filtered');
});

t.test('a bundle\'s filter runsc would not apply as written (an errno but EPERM) is refused, nothing made; seccomp=unconfined leaves it out', { timeout: 60_000 }, async (t) => {
  // docker's own default profile answers clone3 with ENOSYS; runsc would answer EPERM, and glibc's pthread_create then fails.
  const bundle = await bundleWith('errno', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }] });
  const tasksBefore = taskDirs(root).sort();
  const rootBefore = treeOf(root);
  const r = await taskio(t, root, 'run', '--rm', '--runtime', 'runsc', '--bundle', bundle, '--', 'true');
  t.same([r.code, r.stdout, r.stderr], [125, '', `taskio run: bundle ${bundle}'s seccomp filter: syscalls clone3: errnoRet 38: runsc (2022-12) answers EPERM to every SCMP_ACT_ERRNO, whatever errno the filter names (runtime runc applies it; --security-opt seccomp=unconfined leaves it out)\n`]);
  t.same(taskDirs(root).sort(), tasksBefore, 'no task made');
  t.same(treeOf(root), rootBefore, 'nothing made in the state root');
  const loose = await taskio(t, root, 'run', '--rm', '--runtime', 'runsc', '--security-opt', 'seccomp=unconfined', '--bundle', bundle, '--', 'grep', 'Seccomp:', '/proc/self/status');
  t.same([loose.code, loose.stdout], [0, 'Seccomp:\t0\n'], 'without the filter it runs');
});
