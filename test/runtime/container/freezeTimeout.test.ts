/**
 * The host backend's pause when the freeze cannot complete. On a hybrid machine a job freezes
 * through its cgroup2 directory, while the v1 freezer hierarchy is a separate one: a task frozen
 * there (here in a freezer cgroup of the test's own) never reaches the cgroup2 freezer's trap, so
 * the cgroup2 freeze stays incomplete — as it does behind a task in uninterruptible sleep — until
 * that task is thawed.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import t from 'tap';
import { createContainer, ErrorCode, hostBackend } from '../../../src/runtime/container/index.js';
import { cgroupLayout } from '../../../src/runtime/jobobject/index.js';
import { createBusyboxBundle } from '../../../src/runtime/oci/index.js';
import { newCreator, withFIFODir, withStreams } from '../../../src/attach/index.js';
import { Collector } from '../../helpers/common.js';
import { waitFor } from '../../fixtures/oci.js';

const layout = cgroupLayout();
const v1Freezer = layout.v1.get('freezer');
const hybrid = layout.v2 !== undefined && v1Freezer !== undefined;

t.test('host backend: a pause whose freeze does not complete fails and leaves the container running, not frozen later', {
  timeout: 60_000,
  skip: hybrid ? false : 'needs a v1 freezer hierarchy beside cgroup2 (a hybrid machine), which this machine has not',
}, async (t) => {
  const base = `/run/taskio-test-${crypto.randomBytes(6).toString('hex')}`;
  fs.mkdirSync(base, { recursive: true, mode: 0o711 });
  t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
  const backend = hostBackend({ jobPrefix: `freeze-${crypto.randomBytes(3).toString('hex')}-` });
  const id = `freeze-${crypto.randomBytes(3).toString('hex')}`;
  const bundle = path.join(base, 'bundle');
  // A task that never forks: a shell's loop vforks its `sleep` (dash does), and a v1 freeze that
  // catches the child between its vfork and its exec never completes — the parent waits for the
  // child outside the refrigerator (FREEZING for good, 1 run in 8 with both cores busy, kernel 6.18).
  await createBusyboxBundle(bundle, { args: [process.execPath, '-e', "setInterval(() => process.stdout.write('x\\n'), 10)"] });
  const out = new Collector();
  const io = await newCreator(withFIFODir(path.join(base, 'fifo')), withStreams(null, out, new Collector()))(id);
  t.teardown(() => io.close());
  const c = await createContainer({ id, bundle, backend, stateDir: path.join(base, 'state'), stdio: io.config(), init: { drainTimeout: 1000 } });
  t.teardown(() => c.destroy());
  await waitFor('output', () => out.bytes > 0);

  const v2 = backend.runtime.jobOf(id)!.cgroupPaths.find((d) => d.startsWith(`${layout.v2!}/`));
  t.ok(v2, 'the job freezes through cgroup2');
  // The job's tasks, frozen in a v1 freezer cgroup of the test's own (the job has none in that hierarchy).
  const holder = path.join(v1Freezer!, `hold-${id}`);
  fs.mkdirSync(holder);
  const thawHolder = () => fs.writeFileSync(path.join(holder, 'freezer.state'), 'THAWED');
  t.teardown(async () => {
    thawHolder();
    // The tasks die with the container's job; the holder, empty then, is removed.
    await c.destroy().catch(() => undefined);
    await waitFor('the holder empty', () => fs.readFileSync(path.join(holder, 'cgroup.procs'), 'utf8') === '');
    fs.rmdirSync(holder);
  });
  for (const pid of await c.processes()) fs.writeFileSync(path.join(holder, 'cgroup.procs'), String(pid));
  fs.writeFileSync(path.join(holder, 'freezer.state'), 'FROZEN');
  await waitFor('the v1 freeze', () => fs.readFileSync(path.join(holder, 'freezer.state'), 'utf8').trim() === 'FROZEN');

  await t.rejects(c.pause(), { code: ErrorCode.SystemError, cause: { code: 'ETIMEDOUT' } });
  t.equal(await c.runState(), 'running', 'the failed pause left it running');
  t.equal(fs.readFileSync(path.join(v2!, 'cgroup.freeze'), 'utf8').trim(), '0', 'and withdrew its freeze');
  thawHolder();
  const seen = out.bytes;
  // A freeze left asked for would complete now and stop the output of a container said to run.
  await waitFor('output after the v1 thaw', () => out.bytes > seen);
  const pid = await c.startProcess({ args: ['true'] });
  t.equal(await c.waitProcess(pid), 0, 'a process started now runs');
  await c.destroy();
  t.same(backend.runtime.jobOf(id), undefined, 'the job is gone');
});
