/**
 * Two runtime roots each run a container of the same id at once (runsc names its sandbox's control
 * socket after the id host-wide; both runtimes put a spec without `cgroupsPath` in `/<id>`), and a
 * container made under the bare id before taskio prefixed ids is still driven by it. Real runsc
 * and runc.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import t, { type Test } from 'tap';
import { cgroupDirs, containerCgroups } from '../../../src/runtime/oci/containerCgroups.js';
import { processesByArgv } from '../../../src/procArgv.js';
import { defaultMonitor } from '../../../src/runtime/reaper/index.js';
import type { Dialect } from '../../../src/runtime/oci/index.js';
import { runtimeIdPrefix } from '../../../src/runtime/oci/runtimeId.js';
import { binaries, isGone, leftoversUnder, outputPipe, scratch, waitFor, waitStatus, type Scratch } from '../../fixtures/oci.js';

const opts = { timeout: 60_000 };
defaultMonitor.start();
t.teardown(() => defaultMonitor.stop());

/** A scratch area for one test, removed in its teardown. */
function scratchFor(t: Test, dialect: Dialect): Scratch {
  const s = scratch(dialect);
  t.teardown(() => fs.rmSync(s.base, { recursive: true, force: true }));
  return s;
}

/** What nothing may be left of, per root, and at `/<id>` (the default cgroup of the bare id). */
function nothingLeft(t: Test, roots: Scratch[], id: string): void {
  for (const s of roots) {
    t.same(leftoversUnder(s.base, s.root), { state: [], processes: [], fds: [], mounts: [] }, `nothing left under ${s.base}`);
    t.same(s.cgroupsLeft(), [], `no cgroup of ${s.runtime.runtimeId(id)}`);
  }
  t.same(cgroupDirs(`/${id}`), [], `no cgroup /${id}`);
}

for (const dialect of ['runsc', 'runc'] as const) {
  t.test(`${dialect}: two roots each run a container of the same id at once; each is its own to read, exec into, kill and delete`, opts, async (t) => {
    const roots = [scratchFor(t, dialect), scratchFor(t, dialect)];
    const id = `same-${crypto.randomBytes(3).toString('hex')}`;
    const [a, b] = roots.map((s) => s.runtime);
    t.teardown(async () => {
      for (const rt of [a!, b!]) await rt.delete(id, { force: true }).catch(() => undefined);
    });
    const outs = roots.map(() => outputPipe());
    t.teardown(() => outs.forEach((o) => o.close()));
    const pids: number[] = [];
    for (const [n, s] of roots.entries()) {
      // No cgroupsPath in the spec: each runtime's default cgroup, named after the id it is given.
      const bundle = await s.bundle('same', { args: ['sh', '-c', `echo hello from ${n}; exec sleep 1000`] });
      await s.runtime.run(id, bundle, { detach: true, stdio: ['ignore', outs[n]!.write, outs[n]!.write] });
      outs[n]!.closeWrite();
      const state = await s.runtime.state(id);
      t.equal(state.status, 'running', `root ${n}: running`);
      t.equal(state.id, id, `root ${n}: its state has the caller's id`);
      t.same((await s.runtime.list()).map((c) => c.id), [id], `root ${n}: list has the caller's id`);
      pids.push(state.pid);
    }
    for (const [n] of roots.entries()) await waitFor(`root ${n}'s output`, () => outs[n]!.text() === `hello from ${n}\n`);
    for (const [n, s] of roots.entries()) {
      const out = outputPipe();
      t.teardown(() => out.close());
      await s.runtime.exec(id, { args: ['sh', '-c', `echo exec in ${n}`], cwd: '/', env: ['PATH=/bin'] }, { detach: true, stdio: ['ignore', out.write, out.write] });
      out.closeWrite();
      t.equal(await out.ended, `exec in ${n}\n`, `root ${n}: exec runs in its own container`);
    }
    // runc signals every process in the container's cgroup: shared, this killed both.
    await a!.kill(id, 'KILL', { all: true });
    await waitStatus(a!, id, 'stopped');
    t.equal((await b!.state(id)).status, 'running', 'the other root\'s container runs on');
    t.ok(!isGone(pids[1]!), 'its process too');
    await waitFor('the other root\'s container to list its own process only', async () => (await b!.ps(id)).length === 1);
    await a!.delete(id);
    t.equal((await b!.state(id)).status, 'running', 'a delete under one root leaves the other\'s container');
    t.not(a!.runtimeId(id), b!.runtimeId(id), 'the runtime knows them by different ids');
    t.match(a!.runtimeId(id), new RegExp(`^[0-9a-f]{8}-${id}\\+\\+$`), 'the id behind a prefix of the root, before the end');
    if (dialect === 'runsc') {
      const sandboxes = processesByArgv((argv) => argv[0] === 'runsc-sandbox' && argv.includes(`--root=${roots[1]!.root}`));
      t.same(sandboxes.map((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').at(-2)), [b!.runtimeId(id)], 'its sandbox is named by the runtime id');
    }
    await b!.delete(id, { force: true });
    await waitFor('the containers\' processes to be gone', () => pids.every(isGone));
    nothingLeft(t, roots, id);
  });

  // Older taskio: the bare id (before ids were prefixed), the prefixed one before it had its end.
  for (const older of ['bare', 'prefixed'] as const) t.test(`${dialect}: a container made under the ${older} id of an older taskio is still driven by it, and blocks a new one of that id`, opts, async (t) => {
    const s = scratchFor(t, dialect);
    const id = `bare-${crypto.randomBytes(3).toString('hex')}`;
    const runtimeId = older === 'bare' ? id : `${runtimeIdPrefix(s.root)}${id}`;
    const bundle = await s.bundle('bare', { args: ['sleep', '1000'] });
    const global = [...(await s.runtime.globalArgs())];
    t.teardown(() => spawnSync(binaries[dialect], [...global, 'delete', '--force', runtimeId], { stdio: 'ignore' }));
    const made = spawnSync(binaries[dialect], [...global, 'run', '--detach', '--bundle', bundle, runtimeId], { stdio: 'ignore', timeout: 30_000 });
    t.equal(made.status, 0, `${dialect} run --detach of the ${older} id`);
    const state = await s.runtime.state(id);
    t.equal(state.status, 'running', 'its state, by the caller\'s id');
    t.same((await s.runtime.list()).map((c) => c.id), [id], 'listed by it');
    await t.rejects(s.runtime.create(id, await s.bundle('bare', { args: ['true'] })), { code: 'ERR_ALREADY_EXISTS' }, 'a new container of the id is refused');
    await s.runtime.pause(id);
    t.equal((await s.runtime.state(id)).status, 'paused', 'paused by it');
    await s.runtime.resume(id);
    await s.runtime.kill(id, 'KILL', { all: true });
    await waitStatus(s.runtime, id, 'stopped');
    await s.runtime.delete(id);
    await waitFor('its process to be gone', () => isGone(state.pid));
    t.same((await s.runtime.list()), [], 'deleted by it');
    nothingLeft(t, [s], id);
    t.same(cgroupDirs(`/${runtimeId}`), [], `no cgroup /${runtimeId}`);
  });

  // runsc took the id a command names for the beginning of a container's: beside `x-y` (or a copy
  // helper's `x+cp+<tag>`), every command on `x` failed "ambiguous", and its forced delete left its
  // sandbox, state and cgroups.
  t.test(`${dialect}: containers whose ids begin with another's id are each driven by their own`, opts, async (t) => {
    const s = scratchFor(t, dialect);
    const x = `x-${crypto.randomBytes(3).toString('hex')}`;
    const ids = [`${x}-y`, `${x}+cp+0a1b2c3d`, x];
    t.teardown(async () => { for (const id of ids) await s.runtime.delete(id, { force: true }).catch(() => undefined); });
    const pids: number[] = [];
    for (const id of ids) {
      await s.runtime.run(id, await s.bundle('begins', { args: ['sleep', '1000'] }), { detach: true });
      pids.push((await s.runtime.state(id)).pid);
    }
    t.same((await s.runtime.list()).map((c) => c.id).sort(), [...ids].sort(), 'listed by the callers\' ids');
    const out = outputPipe();
    t.teardown(() => out.close());
    await s.runtime.exec(x, { args: ['echo', 'exec in x'], cwd: '/', env: ['PATH=/bin'] }, { detach: true, stdio: ['ignore', out.write, out.write] });
    out.closeWrite();
    t.equal(await out.ended, 'exec in x\n', 'an exec in the one whose id begins the others\'');
    await s.runtime.kill(x, 'KILL', { all: true });
    await waitStatus(s.runtime, x, 'stopped');
    await s.runtime.delete(x);
    t.same((await s.runtime.list()).map((c) => c.id).sort(), ids.slice(0, 2).sort(), 'it alone is deleted');
    for (const id of ids.slice(0, 2)) t.equal((await s.runtime.state(id)).status, 'running', `${id} runs on`);
    for (const id of ids.slice(0, 2)) await s.runtime.delete(id, { force: true });
    await waitFor('the containers\' processes to be gone', () => pids.every(isGone));
    nothingLeft(t, [s], x);
    t.same(ids.flatMap((id) => cgroupDirs(containerCgroups({}, s.runtime.runtimeId(id), dialect)!)), [], 'no cgroup of any of them');
  });
}
