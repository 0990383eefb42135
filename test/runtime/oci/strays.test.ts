/**
 * A runsc create that is killed leaves a sandbox no runsc command can name: taskio finds it by
 * root and id and kills it. Real runsc throughout.
 */
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { cleanKilledCreate, runscStrays } from '../../../src/runtime/oci/strays.js';
import { cgroupDirs, removeNewCgroups } from '../../../src/runtime/oci/containerCgroups.js';
import { processesByArgv } from '../../../src/procArgv.js';
import { defaultMonitor } from '../../../src/runtime/reaper/index.js';
import { binaries, isGone, leftoversUnder, scratch, stateEntries, waitFor, type Scratch } from '../../fixtures/oci.js';

const opts = { timeout: 60_000 };
defaultMonitor.start();
t.teardown(() => defaultMonitor.stop());

/** A runsc scratch area for one test, removed in its teardown. */
function runscScratch(t: Test): Scratch {
  const s = scratch('runsc');
  t.teardown(() => fs.rmSync(s.base, { recursive: true, force: true }));
  return s;
}

/** The cgroup directories runsc made for container `id` (its default path, `/<id>`; runsc's id), in every hierarchy. */
const cgroupsOf = (id: string): string[] => cgroupDirs(`/${id}`);

/** Processes of `pids` still running. */
const running = (pids: number[]): number[] => pids.filter((p) => !isGone(p));

t.test('a sandbox without state (its create killed before it saved the container): found by root and id, killed, its lock removed', opts, async (t) => {
  const s = runscScratch(t);
  const bundle = await s.bundle('lost', { args: ['sleep', '1000'] });
  const lost = s.id('lost'), mine = s.id('other');
  await s.runtime.create(lost, bundle);
  await s.runtime.create(mine, bundle);
  // What runsc knows them by, and what strays are looked for by.
  const id = s.runtime.runtimeId(lost), other = s.runtime.runtimeId(mine);
  t.teardown(async () => {
    await s.runtime.delete(mine, { force: true }).catch(() => undefined);
    for (const pid of [...runscStrays(s.root, id), ...runscStrays(s.root, other)]) process.kill(pid, 'SIGKILL');
  });
  // What a killed create leaves: the sandbox runs, runsc has no state to find it by.
  fs.rmSync(path.join(s.root, `${id}_sandbox:${id}.state`));
  const strays = runscStrays(s.root, id);
  t.ok(strays.length >= 1, `found ${strays.length}`);
  await s.runtime.delete(lost, { force: true });
  t.same(running(strays), strays, 'runsc\'s forced delete "succeeds" and leaves it running: it has nothing to find it by');
  for (const pid of strays) t.match(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^runsc-(sandbox|gofer)\0/);
  t.same(runscStrays(`${s.root}-elsewhere`, id), [], 'the same id under another root is not it');
  const others = runscStrays(s.root, other);
  t.ok(others.length >= 1, 'the other container of the root is found under its own id');
  t.notOk(others.some((p) => strays.includes(p)), 'and only there');

  t.same((await cleanKilledCreate(s.root, id)).sort(), strays.sort(), 'killed what it found');
  t.same(running(strays), [], 'none of it runs');
  t.same(running(others), others, 'the other container runs on');
  t.same(stateEntries(s.root).filter((e) => e.includes(id)), [], 'its lock file is gone');
  // Its create made these and, killed before it saved state, would have taken them back; here the
  // state was removed behind runsc's back, so the test takes them back as the create would.
  const made = cgroupsOf(id);
  t.ok(made.length > 0, `runsc made its cgroups (${made.length})`);
  t.same((await removeNewCgroups(`/${id}`, new Set())).sort(), made.sort(), 'each removed');
  t.same(cgroupsOf(id), [], 'none of its cgroups is left');
  const inUse = cgroupsOf(other);
  t.ok(inUse.length > 0, 'the other container has its cgroups');
  t.same(await removeNewCgroups(`/${other}`, new Set(), 100), [], 'a cgroup in use is not removed (tried for 100 ms)');
  t.same(cgroupsOf(other), inUse, 'the other container keeps them');
  t.ok(stateEntries(s.root).some((e) => e === `${other}_sandbox:${other}.state`), 'the other container keeps its state');
  await s.runtime.delete(mine, { force: true });
  t.same(leftoversUnder(s.base, s.root), { state: [], processes: [], fds: [], mounts: [] }, 'nothing left');
  t.same(cgroupsOf(other), [], 'runsc\'s delete took back the other container\'s cgroups');
});

t.test('a runsc create aborted once its sandbox runs: the call fails ABORT_ERR and nothing of the id is left', opts, async (t) => {
  const s = runscScratch(t);
  const bundle = await s.bundle('abort', { args: ['true'] });
  // The create's own process group is stopped as soon as its sandbox runs, so it can go no
  // further (state or not, depending on how far it got): the abort then kills it mid-way. That
  // window lasts tens of milliseconds; a poll that misses it (a loaded machine) finds the create
  // done, and the race is run again on a new id, after a forced delete of the one made.
  let id = '', ac = new AbortController(), creating: Promise<void> = Promise.resolve(), stopped = 0;
  for (let attempt = 0; stopped === 0; attempt++) {
    if (attempt === 5) throw new Error('five creates ended before their sandbox was seen running');
    id = s.id(`abort${attempt}`);
    ac = new AbortController();
    let ended = false;
    creating = s.runtime.create(id, bundle, { signal: ac.signal }).finally(() => { ended = true; });
    creating.catch(() => undefined); // awaited below once the window was caught
    const caught = await waitFor('the sandbox to run, or the create to end', () => {
      if (ended) return 'ended';
      if (runscStrays(s.root, s.runtime.runtimeId(id)).length === 0) return false;
      const create = createProcess(s.root, s.runtime.runtimeId(id));
      if (create === undefined) return false;
      process.kill(-create, 'SIGSTOP');
      return create;
    }, 30_000, 1);
    if (caught === 'ended') {
      t.comment(`attempt ${attempt}: the create ended before its sandbox was seen running`);
      await creating.catch(() => undefined);
      await s.runtime.delete(id, { force: true });
    } else stopped = caught;
  }
  t.ok(stopped > 0);
  ac.abort();
  const err = await creating.then(() => null, (e: NodeJS.ErrnoException) => e);
  t.equal(err?.code, 'ABORT_ERR', String(err));
  // Had runsc saved the state, its forced delete would find and end the container; without it,
  // only taskio's sweep can, and did, before the call failed.
  const saved = stateEntries(s.root).some((e) => e.endsWith('.state'));
  t.comment(saved ? 'runsc had saved the state' : 'runsc had saved no state');
  if (!saved) t.same(running(runscStrays(s.root, s.runtime.runtimeId(id))), [], 'no sandbox or gofer of the id runs');
  await s.runtime.delete(id, { force: true });
  t.same(leftoversUnder(s.base, s.root), { state: [], processes: [], fds: [], mounts: [] }, 'nothing left after the caller\'s forced delete');
  t.same(cgroupsOf(s.runtime.runtimeId(id)), [], 'no cgroup of the id');
});

t.test('a create that fails by itself: runsc removes its state and processes, taskio the cgroups runsc leaves (real runsc, missing rootfs)', opts, async (t) => {
  const s = runscScratch(t);
  const bundle = await s.bundle('broken', { args: ['true'] });
  fs.rmSync(path.join(bundle, 'rootfs'), { recursive: true });
  const id = s.id('broken');
  const err = await s.runtime.create(id, bundle).then(() => null, (e: NodeJS.ErrnoException) => e);
  t.equal(err?.code, 'ERR_RUNTIME', String(err));
  t.same(leftoversUnder(s.base, s.root), { state: [], processes: [], fds: [], mounts: [] }, 'nothing left');
  // runsc made them and left them (nine empty directories per failed create before taskio took them back).
  t.same(cgroupsOf(s.runtime.runtimeId(id)), [], 'no cgroup of the id');
});

/** The pid of the `runsc create` of `id` (runsc's) under `root` (the runtime call's own process). */
function createProcess(root: string, id: string): number | undefined {
  return processesByArgv((argv) => argv[0] === binaries.runsc && argv.includes('create') && argv.includes(root) && argv.includes(id))[0];
}
