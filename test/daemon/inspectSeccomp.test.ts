/**
 * `inspect`'s `seccomp`: the filter a task runs under — taskio's default profile, a profile given
 * with `--security-opt`, the bundle's own, or none — for runc, runsc and host tasks, as a real
 * daemon records it (and the next daemon reads it), and as the kernel shows it for a runc task.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CreateTaskRequest, DaemonClient } from '../../src/daemon/index.js';
import { createBusyboxBundle } from '../../src/runtime/oci/index.js';
import { client, daemonPid, daemonRoot, waitGone } from './helpers.js';

t.setTimeout(60_000);

const root = daemonRoot(t);
let c: DaemonClient = await client(root);
t.teardown(() => c.close());

const profile = `seccomp=${JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] })}`;

/** A busybox bundle, with a filter of its own in its spec or without one. */
async function bundle(filter: boolean): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-seccomp-mode-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await createBusyboxBundle(dir, { args: ['true'] });
  const config = path.join(dir, 'config.json');
  const spec = JSON.parse(fs.readFileSync(config, 'utf8'));
  if (filter) spec.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] };
  else delete spec.linux.seccomp;
  fs.writeFileSync(config, JSON.stringify(spec));
  return dir;
}

t.test('seccomp in inspect: builtin, profile, bundle or unconfined for runc and runsc, null for host; kept across a daemon restart', async (t) => {
  const withFilter = await bundle(true), withoutFilter = await bundle(false);
  const cases: Array<[string, Omit<CreateTaskRequest, 'id'>, string | null]> = [
    ['runc-default', { runtime: 'runc', args: ['true'] }, 'builtin'],
    ['runc-builtin', { runtime: 'runc', bundle: withoutFilter, securityOpt: ['seccomp=builtin'] }, 'builtin'],
    ['runc-profile', { runtime: 'runc', args: ['true'], securityOpt: [profile] }, 'profile'],
    ['runc-bundle', { runtime: 'runc', bundle: withFilter }, 'bundle'],
    ['runc-bundle-none', { runtime: 'runc', bundle: withoutFilter }, 'unconfined'],
    ['runc-unconfined', { runtime: 'runc', args: ['true'], securityOpt: ['seccomp=unconfined'] }, 'unconfined'],
    ['runc-privileged', { runtime: 'runc', args: ['true'], privileged: true, securityOpt: [profile] }, 'unconfined'],
    ['runsc-default', { runtime: 'runsc', args: ['true'] }, 'unconfined'],
    ['runsc-builtin', { runtime: 'runsc', args: ['true'], securityOpt: ['seccomp=builtin'] }, 'unconfined'],
    ['runsc-profile', { runtime: 'runsc', args: ['true'], securityOpt: [profile] }, 'profile'],
    ['runsc-bundle', { runtime: 'runsc', bundle: withFilter }, 'bundle'],
    ['host', { runtime: 'host', args: ['true'] }, null],
  ];
  // Made, not run (docker's create): the record is what inspect reads.
  for (const [id, req, want] of cases) t.equal((await c.createTask({ id, ...req, start: false })).seccomp, want, `${id}: ${want}`);

  const daemon = daemonPid(root);
  process.kill(daemon, 'SIGKILL');
  await waitGone(daemon);
  c.close();
  c = await client(root);
  const views = new Map((await c.listTasks({ all: true })).map((v) => [v.id, v.seccomp]));
  t.same(cases.map(([id]) => views.get(id)), cases.map(([, , want]) => want), 'the next daemon shows the same');
  for (const [id] of cases) await c.remove(id, { force: true });
});

t.test('a runc task inspect calls builtin runs with a filter; one it calls unconfined without', async (t) => {
  for (const [id, securityOpt, mode, status] of [['runs-builtin', [], 'builtin', '2'], ['runs-unconfined', ['seccomp=unconfined'], 'unconfined', '0']] as const) {
    const task = await c.createTask({ id, runtime: 'runc', args: ['sleep', '1000'], securityOpt: [...securityOpt] });
    t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
    t.equal((await c.getTask(id)).seccomp, mode, `inspect: ${mode}`);
    t.match(fs.readFileSync(`/proc/${task.pid}/status`, 'utf8'), new RegExp(`^Seccomp:\\s+${status}$`, 'm'), `the kernel: Seccomp ${status}`);
  }
});
