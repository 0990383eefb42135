/**
 * The cgroups runsc makes for a container and leaves after a failed create: which path they are
 * at, and that taskio takes back exactly the ones the failed call made. Real runsc.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import t from 'tap';
import { cgroupDirs, containerCgroupPath } from '../../../src/runtime/oci/containerCgroups.js';
import { hierarchyMounts } from '../../../src/runtime/jobobject/hierarchy.js';
import { leftoversUnder, scratch, waitFor } from '../../fixtures/oci.js';
import { mkfifo } from '../../../src/sys/index.js';

const opts = { timeout: 60_000 };

/** Changes a bundle's `config.json` in place. */
function editSpec(bundle: string, edit: (spec: Record<string, unknown>) => void): void {
  const config = path.join(bundle, 'config.json');
  const spec = JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, unknown>;
  edit(spec);
  fs.writeFileSync(config, JSON.stringify(spec));
}

t.test('the cgroup path of a container: the spec\'s absolute cgroupsPath, else /<id>; nothing guessed', async (t) => {
  t.equal(containerCgroupPath({}, 'c1'), '/c1', 'no linux section');
  t.equal(containerCgroupPath({ linux: {} }, 'c1'), '/c1');
  t.equal(containerCgroupPath({ linux: { cgroupsPath: '' } }, 'c1'), '/c1', 'empty: as unset');
  t.equal(containerCgroupPath({ linux: { cgroupsPath: '/a/b//c/' } }, 'c1'), '/a/b/c', 'absolute, normalised');
  t.equal(containerCgroupPath({ linux: { cgroupsPath: 'a/b' } }, 'c1'), undefined, 'relative: the runtime\'s own cgroup is its base');
  t.equal(containerCgroupPath({ linux: { cgroupsPath: 'system.slice:runsc:c1' } }, 'c1'), undefined, 'systemd form');
  t.equal(containerCgroupPath({ linux: { cgroupsPath: '/a/../../etc' } }, 'c1'), undefined, 'climbing');
  t.equal(containerCgroupPath({ linux: { cgroupsPath: '/' } }, 'c1'), undefined, 'the root itself');
  t.equal(containerCgroupPath({ linux: { cgroupsPath: 7 } }, 'c1'), undefined, 'not a string');
  t.equal(containerCgroupPath(null, 'c1'), '/c1');
});

t.test('every cgroup hierarchy is listed, named v1 ones too', async (t) => {
  const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => / cgroup2? /.test(l)).map((l) => l.split(' ')[1]);
  t.same([...hierarchyMounts()].sort(), [...new Set(mounts)].sort());
});

t.test('a failed runsc create with its own cgroupsPath: the cgroup and the parent it made are taken back, a parent that was there stays', opts, async (t) => {
  const s = scratch('runsc');
  t.teardown(() => fs.rmSync(s.base, { recursive: true, force: true }));
  const made = `taskio-test-made-${crypto.randomBytes(3).toString('hex')}`;
  const kept = `taskio-test-kept-${crypto.randomBytes(3).toString('hex')}`;
  const keptDirs = hierarchyMounts().map((m) => path.join(m, kept));
  for (const d of keptDirs) fs.mkdirSync(d);
  t.teardown(() => {
    for (const m of hierarchyMounts()) {
      for (const d of [path.join(m, kept), path.join(m, made)]) {
        if (!fs.existsSync(d)) continue;
        // A container cgroup a failing check left inside: empty directories, one level down.
        for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) fs.rmdirSync(path.join(d, e.name));
        fs.rmdirSync(d);
      }
    }
  });
  for (const [parent, id] of [[made, s.id('new-parent')], [kept, s.id('old-parent')]] as const) {
    const bundle = await s.bundle(id, { args: ['true'] });
    editSpec(bundle, (spec) => { (spec.linux as Record<string, unknown>).cgroupsPath = `/${parent}/${id}`; });
    fs.rmSync(path.join(bundle, 'rootfs'), { recursive: true });
    const err = await s.runtime.create(id, bundle).then(() => null, (e: NodeJS.ErrnoException) => e);
    t.equal(err?.code, 'ERR_RUNTIME', String(err));
    t.same(hierarchyMounts().filter((m) => fs.existsSync(path.join(m, parent, id))), [], `no cgroup /${parent}/<id> is left`);
    t.same(cgroupDirs(`/${s.runtime.runtimeId(id)}`), [], 'nothing at /<id>');
  }
  t.same(cgroupDirs(`/${made}`), [], 'the parent the failed create made is gone');
  t.same(cgroupDirs(`/${kept}`).sort(), [...keptDirs].sort(), 'the parent that was there stays, and only it');
  t.same(leftoversUnder(s.base, s.root), { state: [], processes: [], fds: [], mounts: [] }, 'nothing else left');
});

for (const dialect of ['runc', 'runsc'] as const) {
  t.test(`a ${dialect} create aborted once its cgroups exist: ABORT_ERR, and no cgroup of the id is left after the caller's forced delete`, opts, async (t) => {
    const s = scratch(dialect);
    t.teardown(() => fs.rmSync(s.base, { recursive: true, force: true }));
    const id = s.id('abort');
    const bundle = await s.bundle(id, { args: ['sleep', '1000'] });
    // A prestart hook holds the runtime inside create once the cgroups of the id exist (both run
    // it after making them): it says so in a file, then blocks opening a FIFO nobody writes. The
    // abort kills the runtime's process group there, the hook with it (its argv names the scratch
    // directory, so one left behind shows as a leftover process).
    const held = path.join(s.base, 'hook-held'), ran = path.join(s.base, 'hook-ran');
    mkfifo(held);
    editSpec(bundle, (spec) => { spec.hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', ': > "$0/hook-ran"; read x < "$0/hook-held"', s.base] }] }; });
    const ac = new AbortController();
    const creating = s.runtime.create(id, bundle, { signal: ac.signal });
    await waitFor('the runtime to run the prestart hook', () => fs.existsSync(ran), 30_000, 5);
    t.not(cgroupDirs(`/${s.runtime.runtimeId(id)}`).length, 0, 'the cgroups of the id exist when the hook runs');
    ac.abort();
    const err = await creating.then(() => null, (e: NodeJS.ErrnoException) => e);
    t.equal(err?.code, 'ABORT_ERR', String(err));
    await s.runtime.delete(id, { force: true }).catch(() => undefined);
    t.same(cgroupDirs(`/${s.runtime.runtimeId(id)}`), [], 'no cgroup of the id');
    t.same(leftoversUnder(s.base, s.root), { state: [], processes: [], fds: [], mounts: [] }, 'nothing else left');
  });
}
