/**
 * Two daemons (two roots) each run a runsc task of the same id at once: runsc names its sandbox's
 * control socket after the container id host-wide, so the daemons give runsc root-unique ids
 * while everything a client sees keeps the task's. Real daemons, real runsc.
 */
import t from 'tap';
import crypto from 'node:crypto';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PassThrough, Writable } from 'node:stream';
import type { DaemonClient } from '../../src/daemon/index.js';
import { jobPrefix } from '../../src/daemon/runtimes.js';
import { cgroupDirs } from '../../src/runtime/oci/containerCgroups.js';
import { processesMentioning } from '../fixtures/oci.js';
import { client, daemonPid, daemonRoot, eventually, recorderOf, runtimeIdOf } from './helpers.js';

/** A Writable that keeps what it gets. */
function collector(): Writable & { text(): string } {
  let text = '';
  const w = new Writable({ write(ch: Buffer, _e, cb) { text += ch.toString(); cb(); } });
  return Object.assign(w, { text: () => text });
}

/** The ids runsc has containers of under the daemon root `root`, as runsc itself lists them. */
function runscIds(root: string): string[] {
  const list = spawnSync('runsc', ['--root', path.join(root, 'runtime', 'runsc'), 'list', '--format', 'json'], { encoding: 'utf8' });
  return ((JSON.parse(list.stdout || 'null') ?? []) as { id: string }[]).map((c) => c.id);
}

t.test('runsc: two roots run a task of the same id at once; each is attached to, stopped and removed on its own, and nothing is left', { timeout: 120_000 }, async (t) => {
  const roots = [daemonRoot(t), daemonRoot(t)];
  const clients: DaemonClient[] = [];
  for (const root of roots) clients.push(await client(root));
  t.teardown(() => clients.forEach((c) => c.close()));
  const id = `same-${crypto.randomBytes(3).toString('hex')}`;
  for (const [n, c] of clients.entries()) {
    // pid 1 of the task is cat: it ignores SIGTERM, so a stop with no grace kills it.
    const task = await c.createTask({ id, runtime: 'runsc', stdin: true, args: ['sh', '-c', 'hostname; exec cat'] });
    t.equal(task.status, 'running', `root ${n}: running`);
  }
  for (const [n, c] of clients.entries()) {
    const out = collector(), input = new PassThrough();
    const att = await c.attach(id, { stdin: input, stdout: out, logs: true, detachKeys: '' });
    input.write(`to ${n}\n`);
    await eventually(() => out.text() === `${id}\nto ${n}\n`, `root ${n}'s task to echo its own input`);
    t.pass(`root ${n}: attached; its hostname is the task's id`);
    void att.detach();
    t.equal(await att.done, 'detached', `root ${n}: detached`);
    t.same((await c.listTasks()).map((x) => x.id), [id], `root ${n}: ps shows the task's id`);
    t.same(runscIds(roots[n]!), [runtimeIdOf(roots[n]!, 'runsc', id)], `root ${n}: runsc knows it by the root's own id`);
  }
  await clients[0]!.stop(id, { timeout: 0 });
  t.equal((await clients[0]!.getTask(id)).status, 'exited', 'the first is stopped');
  t.equal((await clients[1]!.getTask(id)).status, 'running', 'the second runs on');
  await clients[1]!.stop(id, { timeout: 0 });
  t.equal((await clients[1]!.getTask(id)).status, 'exited', 'the second is stopped');
  for (const [n, c] of clients.entries()) {
    await c.remove(id);
    t.same((await c.listTasks({ all: true })).map((x) => x.id), [], `root ${n}: removed`);
    t.same(runscIds(roots[n]!), [], `root ${n}: no runsc state`);
    const daemon = daemonPid(roots[n]!);
    t.same(processesMentioning(roots[n]!).filter((p) => p !== daemon && p !== recorderOf(daemon)), [], `root ${n}: no sandbox, gofer or other process but the daemon and its exit recorder`);
    const cgroup = `/taskio-containers/${jobPrefix(roots[n]!)}${id}`;
    t.same(cgroupDirs(cgroup).filter((d) => d.endsWith(cgroup)), [], `root ${n}: no cgroup of the task`);
  }
  t.same(cgroupDirs(`/${id}`), [], 'no cgroup of the bare id');
});
