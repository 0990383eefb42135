/**
 * The cgroups runsc and runc make for a container and leave after a failed create: where they are
 * (which depends on the runtime and on its caller's own cgroup), and that taskio takes back exactly
 * the ones the failed call made. Real runsc and runc, run from a nested cgroup.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import os from 'node:os';
import t from 'tap';
import { cgroupDirs, containerCgroups, removeNewCgroups, resolveContainerCgroups } from '../../../src/runtime/oci/containerCgroups.js';
import { hierarchyMounts, parseHierarchies } from '../../../src/runtime/jobobject/hierarchy.js';
import { leftoversUnder, scratch, waitFor } from '../../fixtures/oci.js';
import { nestThisProcess, removeEmptyTree, type Nest } from '../../fixtures/nestedCgroup.js';
import { mkfifo } from '../../../src/sys/index.js';

const opts = { timeout: 60_000 };

/** Changes a bundle's `config.json` in place. */
function editSpec(bundle: string, edit: (spec: Record<string, unknown>) => void): void {
  const config = path.join(bundle, 'config.json');
  const spec = JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, unknown>;
  edit(spec);
  fs.writeFileSync(config, JSON.stringify(spec));
}

const hybridMounts = `tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,relatime,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,xattr,release_agent=/x,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
`;
// pids has no line: a hierarchy the caller's cgroup is not known in.
const hybridOwn = `12:name=systemd:/user.slice/s.scope
4:memory:/process_api/abc
3:cpu,cpuacct:/
0::/user.slice/s.scope
`;
const unifiedMounts = 'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n';
const unifiedOwn = '0::/system.slice/taskio.service\n';

t.test('the hierarchies of /proc/mounts: each v1 one by its controllers and name=, the cgroup2 one', async (t) => {
  t.same(parseHierarchies(hybridMounts), [
    { mount: '/sys/fs/cgroup/cpu,cpuacct', version: 1, names: ['cpu', 'cpuacct'] },
    { mount: '/sys/fs/cgroup/memory', version: 1, names: ['memory'] },
    { mount: '/sys/fs/cgroup/pids', version: 1, names: ['pids'] },
    { mount: '/sys/fs/cgroup/systemd', version: 1, names: ['name=systemd'] },
    { mount: '/sys/fs/cgroup/unified', version: 2, names: [] },
  ]);
});

t.test('where each runtime makes a container\'s cgroup, per hierarchy, from the caller\'s own cgroup', async (t) => {
  const hybrid = parseHierarchies(hybridMounts), unified = parseHierarchies(unifiedMounts);
  const at = (spec: unknown, dialect: 'runc' | 'runsc', own = hybridOwn, hs = hybrid) =>
    resolveContainerCgroups(spec, 'c1', dialect, own, hs)?.map((c) => `${c.mount}: ${c.base} ${c.path}`);
  t.same(at({ linux: { cgroupsPath: '/a/b//c/' } }, 'runc'), [
    '/sys/fs/cgroup/cpu,cpuacct: / /a/b/c', '/sys/fs/cgroup/memory: / /a/b/c', '/sys/fs/cgroup/pids: / /a/b/c',
    '/sys/fs/cgroup/systemd: / /a/b/c', '/sys/fs/cgroup/unified: / /a/b/c',
  ], 'absolute: as given, normalised, from every root');
  t.same(at({ linux: { cgroupsPath: '/a' } }, 'runsc'), [
    '/sys/fs/cgroup/cpu,cpuacct: / /a', '/sys/fs/cgroup/memory: / /a', '/sys/fs/cgroup/pids: / /a', '/sys/fs/cgroup/systemd: / /a',
  ], 'runsc on a hybrid machine: v1 hierarchies only');
  for (const spec of [{}, { linux: {} }, { linux: { cgroupsPath: '' } }, null]) {
    t.same(at(spec, 'runsc'), at({ linux: { cgroupsPath: '/c1' } }, 'runsc'), `runsc, no path (${JSON.stringify(spec)}): /<id>`);
    t.same(at(spec, 'runc'), at({ linux: { cgroupsPath: 'c1' } }, 'runc'), `runc, no path (${JSON.stringify(spec)}): the id, relative`);
  }
  t.same(at({ linux: { cgroupsPath: 'c1' } }, 'runc'), [
    '/sys/fs/cgroup/cpu,cpuacct: / /c1', '/sys/fs/cgroup/memory: /process_api/abc /process_api/abc/c1',
    '/sys/fs/cgroup/systemd: /user.slice/s.scope /user.slice/s.scope/c1', '/sys/fs/cgroup/unified: / /c1',
  ], 'runc, relative: below its own cgroup in each v1 hierarchy (co-mounted and named ones too), below the cgroup2 root');
  t.same(at({ linux: { cgroupsPath: 'a/b' } }, 'runsc'), [
    '/sys/fs/cgroup/cpu,cpuacct: / /a/b', '/sys/fs/cgroup/memory: /process_api/abc /process_api/abc/a/b',
    '/sys/fs/cgroup/systemd: /user.slice/s.scope /user.slice/s.scope/a/b',
  ], 'runsc, relative: below its own cgroup in each v1 hierarchy');
  for (const dialect of ['runc', 'runsc'] as const) {
    t.same(at({ linux: { cgroupsPath: 'a/b' } }, dialect, unifiedOwn, unified), ['/sys/fs/cgroup: /system.slice /system.slice/a/b'],
      `${dialect}, relative, cgroup2 only: below the parent of its own cgroup (which holds processes)`);
    t.same(at({ linux: { cgroupsPath: '/a' } }, dialect, unifiedOwn, unified), ['/sys/fs/cgroup: / /a'], `${dialect}, absolute, cgroup2 only`);
    t.same(at({ linux: { cgroupsPath: 'a' } }, dialect, '0::/\n', unified), ['/sys/fs/cgroup: / /a'], `${dialect}, relative, cgroup2 only, in the root cgroup`);
    t.same(at({ linux: { cgroupsPath: 'a' } }, dialect, '4:memory:/x/../y\n'), dialect === 'runc' ? ['/sys/fs/cgroup/unified: / /a'] : [],
      `${dialect}: an own cgroup that climbs (or none) is not used`);
  }
  t.same(at({}, 'runc', unifiedOwn, unified), ['/sys/fs/cgroup: /system.slice /system.slice/c1'], 'runc, no path, cgroup2 only');
  t.same(at({}, 'runsc', unifiedOwn, unified), ['/sys/fs/cgroup: / /c1'], 'runsc, no path, cgroup2 only');
  for (const dialect of ['runc', 'runsc'] as const) {
    for (const given of ['a/../b', '../b', '/a/../../etc', './a', 'system.slice:runsc:c1', '/', 7]) {
      t.equal(at({ linux: { cgroupsPath: given } }, dialect), undefined, `${dialect}: ${JSON.stringify(given)} is not guessed`);
    }
  }
});

t.test('the directories of a container cgroup stop at its base: the caller\'s cgroup is never taken back', async (t) => {
  const mount = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-cgroup-dirs-'));
  t.teardown(() => fs.rmSync(mount, { recursive: true, force: true }));
  fs.mkdirSync(path.join(mount, 'own/a/b'), { recursive: true });
  const where = [{ mount, base: '/own', path: '/own/a/b' }];
  t.same(cgroupDirs(where), [path.join(mount, 'own/a/b'), path.join(mount, 'own/a')], 'deepest first, the base left out');
  t.same(await removeNewCgroups(where, new Set()), [path.join(mount, 'own/a/b'), path.join(mount, 'own/a')]);
  t.ok(fs.existsSync(path.join(mount, 'own')), 'the base stays though it was not there "before"');
});

t.test('every cgroup hierarchy is listed, named v1 ones too', async (t) => {
  const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => / cgroup2? /.test(l)).map((l) => l.split(' ')[1]);
  t.same([...hierarchyMounts()].sort(), [...new Set(mounts)].sort());
});

/** The cgroup directories named `name` at each place a runtime may put a container's: below the root, the nest, the process's cgroup before it and that one's parent. */
function namedAnywhere(nests: readonly Nest[], name: string): string[] {
  const dirs = nests.flatMap((n) => ['/', n.nest, n.was, path.posix.dirname(n.was)].map((p) => path.join(n.mount, p, name)));
  return [...new Set(dirs)].filter((d) => fs.existsSync(d));
}

t.test('a failed runsc create with its own cgroupsPath: the cgroup and the parent it made are taken back, a parent that was there stays', opts, async (t) => {
  const nests = nestThisProcess(t);
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
  // Absolute paths from the root; a relative one below the caller's cgroup (the nest), which runsc resolves it against.
  for (const [parent, id, cgroupsPath] of [[made, s.id('new-parent'), `/${made}`], [kept, s.id('old-parent'), `/${kept}`], [made, s.id('relative'), made]] as const) {
    const bundle = await s.bundle(id, { args: ['true'] });
    editSpec(bundle, (spec) => { (spec.linux as Record<string, unknown>).cgroupsPath = `${cgroupsPath}/${id}`; });
    fs.rmSync(path.join(bundle, 'rootfs'), { recursive: true });
    const err = await s.runtime.create(id, bundle).then(() => null, (e: NodeJS.ErrnoException) => e);
    t.equal(err?.code, 'ERR_RUNTIME', String(err));
    t.same(namedAnywhere(nests, path.join(parent, id)), [], `no cgroup ${cgroupsPath}/<id> is left`);
    t.same(namedAnywhere(nests, s.runtime.runtimeId(id)), [], 'nothing at <id>');
  }
  t.same(namedAnywhere(nests, made), [], 'the parents the failed creates made are gone');
  t.same(namedAnywhere(nests, kept).sort(), [...keptDirs].sort(), 'the parent that was there stays, and only it');
  t.same(leftoversUnder(s.base, s.root), { state: [], processes: [], fds: [], mounts: [] }, 'nothing else left');
});

// runsc with a relative path is the failed create's case above: a create it saved the state of is
// its delete's, which removes the container's cgroup but not a parent the path named.
for (const [dialect, relative] of [['runc', false], ['runc', true], ['runsc', false]] as const) {
  const given = relative ? 'a relative cgroupsPath' : 'no cgroupsPath';
  t.test(`a ${dialect} create with ${given}, run from a nested cgroup, aborted once its cgroups exist: ABORT_ERR, and no cgroup of the id is left after the caller's forced delete`, opts, async (t) => {
    const nests = nestThisProcess(t);
    const s = scratch(dialect);
    t.teardown(() => fs.rmSync(s.base, { recursive: true, force: true }));
    const id = s.id('abort');
    const rid = s.runtime.runtimeId(id);
    // The top of the container's cgroup path: the parent a relative path names, or the id.
    const top = relative ? `taskio-test-rel-${crypto.randomBytes(3).toString('hex')}` : rid;
    // What a failing check left outside the nest (whose teardown takes what is inside).
    t.teardown(() => { for (const d of namedAnywhere(nests, top)) removeEmptyTree(d); });
    const bundle = await s.bundle(id, { args: ['sleep', '1000'] });
    // A prestart hook holds the runtime inside create once the cgroups of the id exist (both run
    // it after making them): it says so in a file, then blocks opening a FIFO nobody writes. The
    // abort kills the runtime's process group there, the hook with it (its argv names the scratch
    // directory, so one left behind shows as a leftover process).
    const held = path.join(s.base, 'hook-held'), ran = path.join(s.base, 'hook-ran');
    mkfifo(held);
    editSpec(bundle, (spec) => {
      spec.hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', ': > "$0/hook-ran"; read x < "$0/hook-held"', s.base] }] };
      if (relative) (spec.linux as Record<string, unknown>).cgroupsPath = `${top}/${rid}`;
    });
    const ac = new AbortController();
    // A failing check before the abort must not leave the runtime held in the hook.
    t.teardown(() => ac.abort());
    const creating = s.runtime.create(id, bundle, { signal: ac.signal });
    await waitFor('the runtime to run the prestart hook', () => fs.existsSync(ran), 30_000, 5);
    // runc 1.1 resolves its default (the id) and a relative path below its caller's cgroup in each
    // v1 hierarchy (the cgroup2 one's rule differs); runsc 2022-12-19 uses /<id> when there is none.
    const nested = dialect === 'runc';
    const v1 = nests.filter((n) => n.version === 1);
    t.same(v1.filter((n) => !fs.existsSync(path.join(n.mount, nested ? n.nest : '/', top))).map((n) => n.mount), [],
      `the cgroups exist when the hook runs, at ${nested ? '<nest>' : ''}/${relative ? '<parent>' : '<id>'} in every v1 hierarchy`);
    const where = containerCgroups(JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')), rid, dialect);
    t.not(cgroupDirs(where ?? []).length, 0, 'taskio looks where they are');
    ac.abort();
    const err = await creating.then(() => null, (e: NodeJS.ErrnoException) => e);
    t.equal(err?.code, 'ABORT_ERR', String(err));
    await s.runtime.delete(id, { force: true }).catch(() => undefined);
    t.same(namedAnywhere(nests, top), [], 'no cgroup of the id, nor a parent the create made');
    t.same(leftoversUnder(s.base, s.root), { state: [], processes: [], fds: [], mounts: [] }, 'nothing else left');
  });
}
