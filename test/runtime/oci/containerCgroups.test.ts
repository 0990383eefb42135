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
import { binaries, leftoversUnder, scratch, waitFor } from '../../fixtures/oci.js';
import { processesByArgv } from '../../../src/procArgv.js';

const opts = { timeout: 60_000 };

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
    const config = path.join(bundle, 'config.json');
    const spec = JSON.parse(fs.readFileSync(config, 'utf8')) as { linux: Record<string, unknown> };
    spec.linux.cgroupsPath = `/${parent}/${id}`;
    fs.writeFileSync(config, JSON.stringify(spec));
    fs.rmSync(path.join(bundle, 'rootfs'), { recursive: true });
    const err = await s.runtime.create(id, bundle).then(() => null, (e: NodeJS.ErrnoException) => e);
    t.equal(err?.code, 'ERR_RUNTIME', String(err));
    t.same(hierarchyMounts().filter((m) => fs.existsSync(path.join(m, parent, id))), [], `no cgroup /${parent}/<id> is left`);
    t.same(cgroupDirs(`/${id}`), [], 'nothing at /<id>');
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
    // The runtime's process group is stopped as soon as the first cgroup of the id shows, so the
    // abort kills it there (its state saved or not, by how far it got).
    const ac = new AbortController();
    const creating = s.runtime.create(id, bundle, { signal: ac.signal });
    await waitFor('the first cgroup of the id', () => {
      if (cgroupDirs(`/${id}`).length === 0) return false;
      const create = processesByArgv((argv) => argv[0] === binaries[dialect] && argv.includes('create') && argv.includes(id))[0];
      if (create === undefined) return false;
      process.kill(-create, 'SIGSTOP');
      return true;
    }, 30_000, 1);
    ac.abort();
    const err = await creating.then(() => null, (e: NodeJS.ErrnoException) => e);
    t.equal(err?.code, 'ABORT_ERR', String(err));
    await s.runtime.delete(id, { force: true }).catch(() => undefined);
    t.same(cgroupDirs(`/${id}`), [], 'no cgroup of the id');
    t.same(leftoversUnder(s.base, s.root), { state: [], processes: [], fds: [], mounts: [] }, 'nothing else left');
  });
}
