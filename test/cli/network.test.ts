/**
 * docker's `--network` (alias `--net`) on `run` and `create`, end to end against a real daemon and
 * real runc and runsc: `host` shows the task the host's interfaces, `none` (the default) only a
 * loopback; a runsc task's mode is runsc's `--network` on every call, also from the record a later
 * daemon adopts; `inspect` shows it; every other mode is refused by the command and by the daemon,
 * leaving nothing behind.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import type { DaemonClient } from '../../src/daemon/index.js';
import type { TaskRecord } from '../../src/daemon/records.js';
import { readJson } from '../../src/daemon/atomicJson.js';
import { runscFor } from '../../src/daemon/runtimes.js';
import { createBusyboxBundle, type OciSpec } from '../../src/runtime/oci/index.js';
import { stateEntries } from '../fixtures/oci.js';
import { tmpDir, until } from '../helpers/common.js';
import { client, daemonPid, daemonRoot, logText, runtimeIdOf, taskDirs, treeOf, waitGone } from '../daemon/helpers.js';
import { refusedLine } from './inProcess.js';
import { taskio } from './taskioCommand.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

/** The interface names a `/proc/net/dev` lists, sorted. */
const interfaces = (procNetDev: string): string[] => procNetDev.split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter((n) => n !== '').sort();
const hostInterfaces = interfaces(fs.readFileSync('/proc/net/dev', 'utf8'));
const networkOf = async (id: string): Promise<string> => (await taskio(t, root, 'inspect', '-f', '{{.network}}', id)).stdout;
/** The network namespaces of task `id`'s spec. */
const networkNamespaces = (id: string): Array<{ type: string; path?: string }> =>
  (JSON.parse(fs.readFileSync(path.join(root, 'tasks', id, 'bundle', 'config.json'), 'utf8')) as OciSpec & { linux: { namespaces: Array<{ type: string; path?: string }> } })
    .linux.namespaces.filter((n) => n.type === 'network');
const removeLater = (t: Test, ...ids: string[]): void => t.teardown(async () => { for (const id of ids) await c.remove(id, { force: true }).catch(() => undefined); });

t.test('the host has an interface besides lo: else host and none would look alike', async (t) => {
  t.ok(hostInterfaces.includes('lo') && hostInterfaces.length > 1, hostInterfaces.join(' '));
});

t.test('runc: --network host sees the host\'s interfaces, none (the default) only a loopback; --net and create too; inspect shows it', { timeout: 60_000 }, async (t) => {
  removeLater(t, 'nr-host', 'nr-default', 'nr-none', 'nr-created');
  const host = await taskio(t, root, 'run', '--name', 'nr-host', '--runtime', 'runc', '--network', 'host', '--', 'cat', '/proc/net/dev');
  t.same([host.code, host.stderr, interfaces(host.stdout)], [0, '', hostInterfaces], 'host: the host\'s interfaces');
  t.equal(await networkOf('nr-host'), 'host\n');
  t.same(networkNamespaces('nr-host'), [], 'no network namespace in its spec');
  for (const [id, flags] of [['nr-default', []], ['nr-none', ['--network', 'none']]] as const) {
    const r = await taskio(t, root, 'run', '--name', id, '--runtime', 'runc', ...flags, '--', 'cat', '/proc/net/dev');
    t.same([r.code, r.stderr, interfaces(r.stdout)], [0, '', ['lo']], `${id}: a namespace of its own, only lo`);
    t.equal(await networkOf(id), 'none\n');
    t.same(networkNamespaces(id), [{ type: 'network' }]);
  }
  const made = await taskio(t, root, 'create', '--name', 'nr-created', '--runtime', 'runc', '--net', 'host', '--', 'cat', '/proc/net/dev');
  t.same([made.code, made.stdout], [0, 'nr-created\n'], 'create takes docker\'s alias --net');
  t.equal(await networkOf('nr-created'), 'host\n', 'inspect of the created task');
  const started = await taskio(t, root, 'start', '-a', 'nr-created');
  t.same([started.code, interfaces(started.stdout)], [0, hostInterfaces], 'its first run on the host\'s network');
});

t.test('runsc: --network host sees the host\'s interfaces, exec too; after a daemon restart top, stats, kill and rm still work, runsc called with --network=host', { timeout: 120_000 }, async (t) => {
  const id = 'ns-host';
  removeLater(t, id, 'ns-default');
  const d = await taskio(t, root, 'run', '-d', '--name', id, '--runtime', 'runsc', '--network', 'host', '--', 'sh', '-c', 'cat /proc/net/dev; exec sleep 600');
  t.same([d.code, d.stdout, d.stderr], [0, `${id}\n`, '']);
  // /proc/net/dev has a line per interface after two of headers.
  await until(async () => (await logText(c, id)).split('\n').length > hostInterfaces.length + 2, 20_000, 'the task to list its interfaces');
  t.same(interfaces(await logText(c, id)), hostInterfaces, 'the sandbox sees the host\'s interfaces');
  const exec = await taskio(t, root, 'exec', id, 'cat', '/proc/net/dev');
  t.same([exec.code, interfaces(exec.stdout)], [0, hostInterfaces], 'an exec in it too');
  t.equal(await networkOf(id), 'host\n');
  t.same(networkNamespaces(id), [], 'no network namespace in its spec (runsc would start its sandbox in a new one)');

  const first = daemonPid(root);
  process.kill(first, 'SIGKILL');
  await waitGone(first);
  t.match(await c.getTask(id), { status: 'running', adopted: true, network: 'host' }, 'the next daemon adopts it, its network from the record');
  const record = readJson<TaskRecord>(path.join(root, 'tasks', id, 'task.json'))!;
  t.ok((await runscFor(record, path.join(root, 'unused.json')).globalArgs()).includes('--network=host'), 'every runsc call for it carries --network=host');
  const top = await taskio(t, root, 'top', id);
  t.same([top.code, top.stderr], [0, '']);
  t.match(top.stdout, /\n1 +0 +sleep\n/, 'top: the sandbox\'s table');
  const stats = await taskio(t, root, 'stats', '--no-stream', id);
  t.same([stats.code, stats.stderr], [0, '']);
  t.match(stats.stdout, new RegExp(`\\n${id} +`));
  t.same(await taskio(t, root, 'kill', id), { code: 0, signal: null, stdout: `${id}\n`, stderr: '' });
  await c.wait(id);
  t.same(await taskio(t, root, 'rm', id), { code: 0, signal: null, stdout: `${id}\n`, stderr: '' });
  const runtimeId = runtimeIdOf(root, 'runsc', id);
  t.same(stateEntries(path.join(root, 'runtime', 'runsc')).filter((e) => e.includes(runtimeId)), [], 'runsc\'s state of it is gone');

  const none = await taskio(t, root, 'run', '--name', 'ns-default', '--runtime', 'runsc', '--', 'cat', '/proc/net/dev');
  t.same([none.code, interfaces(none.stdout)], [0, ['lo']], 'the default: a sandbox with only its loopback');
  t.equal(await networkOf('ns-default'), 'none\n');
});

t.test('a runc bundle\'s own network: as its config.json has it without --network, replaced with it; runsc\'s none whatever the bundle says', { timeout: 90_000 }, async (t) => {
  removeLater(t, 'nb-own', 'nb-none', 'nb-runsc', 'nb-holder', 'nb-joined', 'nb-replaced', 'nb-fresh');
  const dir = tmpDir(t, 'taskio-net-bundle-');
  const { spec } = await createBusyboxBundle(dir, { args: ['cat', '/proc/net/dev'] });
  const linux = spec.linux as { namespaces: Array<{ type: string }> };
  linux.namespaces = linux.namespaces.filter((n) => n.type !== 'network');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  const own = await taskio(t, root, 'run', '--name', 'nb-own', '--runtime', 'runc', '--bundle', dir, '--', 'cat', '/proc/net/dev');
  t.same([own.code, interfaces(own.stdout)], [0, hostInterfaces], 'a bundle without a network namespace: the host\'s network, as before');
  t.equal(await networkOf('nb-own'), 'host\n', 'and inspect says so');
  const none = await taskio(t, root, 'run', '--name', 'nb-none', '--runtime', 'runc', '--network', 'none', '--bundle', dir, '--', 'cat', '/proc/net/dev');
  t.same([none.code, interfaces(none.stdout)], [0, ['lo']], '--network none gives it a namespace of its own');
  t.equal(await networkOf('nb-none'), 'none\n');
  const runsc = await taskio(t, root, 'run', '--name', 'nb-runsc', '--runtime', 'runsc', '--bundle', dir, '--', 'cat', '/proc/net/dev');
  t.same([runsc.code, interfaces(runsc.stdout)], [0, ['lo']], 'runsc: none unless asked');
  t.equal(await networkOf('nb-runsc'), 'none\n');

  // A bundle that joins a network namespace by path (here another task's): podman's ns:PATH.
  const holder = await taskio(t, root, 'run', '-d', '--name', 'nb-holder', '--runtime', 'runc', '--', 'sleep', '600');
  t.equal(holder.code, 0);
  const netns = `/proc/${(await c.getTask('nb-holder')).pid}/ns/net`;
  linux.namespaces.push({ type: 'network', path: netns } as { type: string });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  const joined = await taskio(t, root, 'run', '--name', 'nb-joined', '--runtime', 'runc', '--bundle', dir, '--', 'cat', '/proc/net/dev');
  t.same([joined.code, interfaces(joined.stdout)], [0, ['lo']], 'it runs in that namespace');
  t.equal(await networkOf('nb-joined'), `ns:${netns}\n`, 'inspect names it');
  const replaced = await taskio(t, root, 'run', '--name', 'nb-replaced', '--runtime', 'runc', '--network', 'host', '--bundle', dir, '--', 'cat', '/proc/net/dev');
  t.same([replaced.code, interfaces(replaced.stdout)], [0, hostInterfaces], '--network host takes its place');
  t.equal(await networkOf('nb-replaced'), 'host\n');
  const fresh = await taskio(t, root, 'run', '--name', 'nb-fresh', '--runtime', 'runc', '--network', 'none', '--bundle', dir, '--', 'true');
  t.equal(fresh.code, 0);
  t.equal(await networkOf('nb-fresh'), 'none\n');
  t.same(networkNamespaces('nb-fresh'), [{ type: 'network' }], '--network none: a new namespace instead of the one joined');
});

t.test('host tasks: host is what they have, none is refused; every other mode refused by the command and the daemon: one line, 125, nothing made', { timeout: 60_000 }, async (t) => {
  removeLater(t, 'nh-default', 'nh-host');
  for (const [id, flags] of [['nh-default', []], ['nh-host', ['--network', 'host']]] as const) {
    const r = await taskio(t, root, 'run', '--name', id, '--runtime', 'host', ...flags, '--', 'cat', '/proc/net/dev');
    t.same([r.code, interfaces(r.stdout)], [0, hostInterfaces], id);
    t.equal(await networkOf(id), 'host\n');
  }

  const dir = tmpDir(t, 'taskio-net-bad-');
  const flag = (verb: string, value: string) =>
    `taskio ${verb}: invalid argument "${value}" for "--network" flag: network mode "${value}" is not supported (supported: none, host). See 'taskio ${verb} --help'.\n`;
  const cases: Array<[string[], string]> = [
    ...['bridge', 'default', 'container:nh-host', 'mynet', 'HOST', 'None', '', 'slirp4netns', 'ns:/proc/1/ns/net'].map((v): [string[], string] => [['run', '--network', v], flag('run', v)]),
    [['create', '--network', 'bridge'], flag('create', 'bridge')],
    [['run', '--net', 'bridge'], flag('run', 'bridge')],
    [['run', '--net=container:x'], flag('run', 'container:x')],
    [['run', '--network', 'none'], 'taskio run: network none needs runtime runsc or runc: a host task has the host\'s network (network host)\n'],
    [['create', '--net', 'none'], 'taskio create: network none needs runtime runsc or runc: a host task has the host\'s network (network host)\n'],
  ];
  const tasksBefore = taskDirs(root).sort();
  const rootBefore = treeOf(root);
  // The first and the daemon's two through the real command, the others in this process.
  for (const [k, [argv, line]] of cases.entries()) {
    const r = await refusedLine(t, root, [...argv, '--runtime', 'host', '--', 'sh', '-c', `touch ${dir}/ran`], k === 0 || k >= cases.length - 2);
    t.same([r.code, r.stderr, r.stdout], [125, line, ''], argv.join(' '));
  }
  await t.rejects(c.createTask({ args: ['true'], runtime: 'runc', network: 'bridge' as 'none' }),
    { status: 400, code: 'ERR_INVALID_FIELD', message: 'network mode "bridge" is not supported (supported: none, host)' }, 'POST /tasks: the daemon checks it too');
  await t.rejects(c.createTask({ args: ['true'], runtime: 'runc', network: 1 as unknown as 'none' }), { status: 400, code: 'ERR_INVALID_FIELD', message: /field "network" must be a string, got 1/ });
  await t.rejects(c.createTask({ args: ['true'], runtime: 'host', network: 'none' }), { status: 400, code: 'ERR_NOT_SUPPORTED' });
  t.same(taskDirs(root).sort(), tasksBefore, 'no task made');
  t.same(treeOf(root), rootBefore, 'nothing made in the state root');
  t.same(fs.readdirSync(dir), [], 'nothing ran');
});
