/**
 * `taskio update` (docker's update) against a real daemon: limits changed live in a runc task's and
 * a host task's cgroups, kept for the next run, refused where the runtime cannot take them (runsc,
 * a host pids limit) with the task left as it was; the restart policy changed and applied.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import type { DaemonClient } from '../../src/daemon/index.js';
import { until } from '../helpers/common.js';
import { cgroupsOf, client, daemonRoot, eventually, logText, taskDirs } from '../daemon/helpers.js';
import { taskio } from './taskioCommand.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

const MiB = 1024 * 1024;

/** A limit file of the v1 cgroup `controller` process `pid` is in (this machine kind: v1 controllers). */
function cgroupFile(pid: number, controller: string, file: string): string {
  const line = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1]!.split(',').includes(controller));
  if (line === undefined) throw new Error(`pid ${pid} has no ${controller} cgroup`);
  const mount = fs.readdirSync('/sys/fs/cgroup').find((d) => d.split(',').includes(controller))!;
  return fs.readFileSync(`/sys/fs/cgroup/${mount}${line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1)}/${file}`, 'utf8').trim();
}

t.test('runc: memory, cpus and pids change at once, in the record and in the bundle; -1 takes the pids limit away', { timeout: 90_000 }, async (t) => {
  const v = await c.createTask({ id: 'up-runc', runtime: 'runc', args: ['sleep', '1000'], limits: { memory: 64 * MiB, pids: 50 } });
  t.teardown(() => c.remove('up-runc', { force: true }).catch(() => undefined));
  const r = await taskio(t, root, 'update', '--memory', '128m', '--cpus', '0.5', '--pids-limit', '-1', 'up-runc');
  t.same([r.code, r.stdout, r.stderr], [0, 'up-runc\n', '']);
  t.equal(cgroupFile(v.pid, 'memory', 'memory.limit_in_bytes'), String(128 * MiB), 'the memory limit, live');
  t.equal(cgroupFile(v.pid, 'cpu', 'cpu.cfs_quota_us'), '50000', 'half a CPU');
  t.equal(cgroupFile(v.pid, 'pids', 'pids.max'), 'max', 'no pids limit any more');
  t.same((await c.getTask('up-runc')).limits, { memory: 128 * MiB, cpus: 0.5 }, 'the record');
  const spec = JSON.parse(fs.readFileSync(`${root}/tasks/up-runc/bundle/config.json`, 'utf8')) as { linux: { resources: Record<string, unknown> } };
  t.match(spec.linux.resources, { memory: { limit: 128 * MiB }, cpu: { quota: 50000, period: 100000 } }, 'the bundle, for the next run');
  t.notOk('pids' in spec.linux.resources);
});

t.test('an exited task gets the limits and the policy for its next run; start runs it with them', { timeout: 90_000 }, async (t) => {
  await c.createTask({ id: 'up-next', runtime: 'runc', args: ['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes'] });
  t.teardown(() => c.remove('up-next', { force: true }).catch(() => undefined));
  await c.wait('up-next');
  const r = await taskio(t, root, 'update', '-m', '40m', '--restart', 'on-failure:2', 'up-next');
  t.same([r.code, r.stderr], [0, '']);
  t.match(await c.getTask('up-next'), { status: 'exited', limits: { memory: 40 * MiB }, restartPolicy: { name: 'on-failure', maximumRetryCount: 2 } });
  await c.start('up-next');
  await c.wait('up-next');
  const logs = await taskio(t, root, 'logs', 'up-next');
  t.match(logs.stdout, new RegExp(`\\n${40 * MiB}\\n$`), 'the second run saw the new limit');
});

t.test('host: memory and cpus through the job object; a pids limit is refused and nothing changes', { timeout: 60_000 }, async (t) => {
  const v = await c.createTask({ id: 'up-host', runtime: 'host', args: ['sleep', '1000'], limits: { memory: 64 * MiB } });
  t.teardown(() => c.remove('up-host', { force: true }).catch(() => undefined));
  const r = await taskio(t, root, 'update', '--memory', '100m', '--cpus', '1', 'up-host');
  t.same([r.code, r.stderr], [0, '']);
  t.equal(cgroupFile(v.pid, 'memory', 'memory.limit_in_bytes'), String(100 * MiB));
  t.equal(cgroupFile(v.pid, 'cpu', 'cpu.cfs_quota_us'), '100000', 'one CPU');
  const pids = await taskio(t, root, 'update', '--pids-limit', '10', '--memory', '80m', 'up-host');
  t.same([pids.code, pids.stdout, pids.stderr], [125, '', 'taskio update: task up-host: limit pids needs runtime runsc or runc: the host backend\'s job objects have no process-count limit\n']);
  t.equal(cgroupFile(v.pid, 'memory', 'memory.limit_in_bytes'), String(100 * MiB), 'the memory limit asked beside it was not applied');
  t.same((await c.getTask('up-host')).limits, { memory: 100 * MiB, cpus: 1 });
});

t.test('host: a memory limit below what the job holds is refused as runc refuses it, naming the usage; nothing changes', { timeout: 60_000 }, async (t) => {
  // dash keeps the 40 MB string (busybox's sh would exec its last command and free it).
  const v = await c.createTask({ id: 'up-host-busy', runtime: 'host', args: ['sh', '-c', 'x=$(head -c 40000000 /dev/zero | tr "\\0" a); echo ready; sleep 1000; echo ${#x}'], limits: { memory: 128 * MiB } });
  t.teardown(() => c.remove('up-host-busy', { force: true }).catch(() => undefined));
  await eventually(async () => (await logText(c, 'up-host-busy')).includes('ready'), 'the string held');
  const r = await taskio(t, root, 'update', '--memory', '10m', '--cpus', '1', 'up-host-busy');
  t.equal(r.code, 125);
  t.match(r.stderr, /^taskio update: task up-host-busy: unable to set memory limit to 10485760 \(current usage: \d+, peak usage: \d+\)\n$/);
  await t.rejects(c.update('up-host-busy', { limits: { memory: 10 * MiB } }), { code: 'EBUSY' });
  t.equal(cgroupFile(v.pid, 'memory', 'memory.limit_in_bytes'), String(128 * MiB), 'the limit as it was');
  t.equal(cgroupFile(v.pid, 'cpu', 'cpu.cfs_quota_us'), '-1', 'the CPUs asked beside it were not applied');
  t.same((await c.getTask('up-host-busy')).limits, { memory: 128 * MiB }, 'the record as it was');
});

t.test('runsc has no update: a running task\'s limits are refused, naming it, and stay as they were; its policy can change', { timeout: 60_000 }, async (t) => {
  await c.createTask({ id: 'up-runsc', runtime: 'runsc', args: ['sleep', '1000'], limits: { memory: 64 * MiB } });
  t.teardown(() => c.remove('up-runsc', { force: true }).catch(() => undefined));
  const r = await taskio(t, root, 'update', '--memory', '100m', 'up-runsc');
  t.equal(r.code, 125);
  t.match(r.stderr, /^taskio update: cannot change the limits of running task up-runsc: \S*runsc .* has no update command\n$/);
  t.same((await c.getTask('up-runsc')).limits, { memory: 64 * MiB }, 'unchanged');
  const p = await taskio(t, root, 'update', '--restart', 'unless-stopped', 'up-runsc');
  t.same([p.code, p.stderr], [0, '']);
  t.same((await c.getTask('up-runsc')).restartPolicy, { name: 'unless-stopped' });
});

t.test('a policy set by update restarts the task at its next exit', { timeout: 60_000 }, async (t) => {
  const flag = `${root}/up-policy-go`;
  await c.createTask({ id: 'up-policy', runtime: 'host', args: ['sh', '-c', `echo run; while [ ! -e ${flag} ]; do sleep 0.05; done; rm -f ${flag}; exit 3`] });
  t.teardown(() => c.remove('up-policy', { force: true }).catch(() => undefined));
  t.equal((await taskio(t, root, 'update', '--restart', 'on-failure:1', 'up-policy')).code, 0);
  const events = await c.events({ id: 'up-policy' });
  const seen: string[] = [];
  const reading = (async () => { for await (const e of events) { seen.push(e.type); if (e.type === 'restart') break; } })();
  fs.writeFileSync(flag, '');
  await reading;
  t.same(seen, ['exit', 'restart'], 'exited with 3, restarted by the policy update set');
  await until(async () => (await c.getTask('up-policy')).restartCount === 1, 10_000, 'restartCount 1');
  fs.writeFileSync(flag, '');
  t.equal((await c.wait('up-policy')).exitCode, 3);
  await until(async () => (await c.getTask('up-policy')).status === 'exited', 10_000, 'no second restart (on-failure:1)');
});

t.test('bad input: one line, 125, nothing changed', { timeout: 60_000 }, async (t) => {
  await c.createTask({ id: 'up-rm', runtime: 'host', args: ['sleep', '1000'], autoRemove: true });
  t.teardown(() => c.remove('up-rm', { force: true }).catch(() => undefined));
  const none = await taskio(t, root, 'update', 'up-rm');
  t.same([none.code, none.stderr], [125, 'taskio update: you must provide one or more flags when using this command (--memory, --cpus, --pids-limit, --cpuset-cpus, --cpu-shares, --memory-reservation, --memory-swap, --restart)\n']);
  const rm = await taskio(t, root, 'update', '--restart', 'always', 'up-rm');
  t.same([rm.code, rm.stderr], [125, 'taskio update: cannot set restart policy always on task up-rm: it is removed once it exited (run --rm)\n']);
  t.same((await c.getTask('up-rm')).restartPolicy, { name: 'no' });
  const small = await taskio(t, root, 'update', '--memory', '1k', 'up-rm');
  t.same([small.code, small.stderr], [125, 'taskio update: task up-rm: invalid limit memory=1024: expected bytes, at least 6 MiB (docker\'s "Minimum memory limit allowed is 6MB")\n']);
  const under = await taskio(t, root, 'update', '--memory', '5m', 'up-rm');
  t.same([under.code, under.stderr], [125, 'taskio update: task up-rm: invalid limit memory=5242880: expected bytes, at least 6 MiB (docker\'s "Minimum memory limit allowed is 6MB")\n'], 'docker\'s minimum: 6 MiB');
  const missing = await taskio(t, root, 'update', '--cpus', '1', 'up-none');
  t.same([missing.code, missing.stderr], [125, 'taskio update: no such task: up-none\n']);
  await t.rejects(c.update('up-rm', {}), { code: 'ERR_INVALID_FIELD', message: /nothing to change/ });
  await t.rejects(c.update('up-rm', { limits: {} }), { code: 'ERR_INVALID_FIELD', message: /names no limit/ });
  await t.rejects(c.update('up-rm', { limits: { memory: 8 * MiB, swap: 1 } as never }), { code: 'ERR_UNKNOWN_FIELD', message: /unknown field "swap" in the limits/ });
});

t.test('0 is none given, as docker\'s: run --memory 0 --cpus 0 --memory-reservation 0 --memory-swap 0 makes a task without limits; update with only such values answers its id and changes nothing', { timeout: 60_000 }, async (t) => {
  const zeros = ['--memory', '0', '--cpus', '0', '--memory-reservation', '0', '--memory-swap', '0'];
  const r = await taskio(t, root, 'run', '-d', '--name', 'up-zero', '--runtime', 'host', ...zeros, 'sleep', '1000');
  t.teardown(() => c.remove('up-zero', { force: true }).catch(() => undefined));
  t.same([r.code, r.stderr], [0, ''], 'run takes them');
  t.same((await c.getTask('up-zero')).limits ?? {}, {}, 'no limit recorded');
  const u = await taskio(t, root, 'update', '--memory', '0', '--cpus', '0', 'up-zero');
  t.same([u.code, u.stdout, u.stderr], [0, 'up-zero\n', ''], 'update answers the id');
  t.same((await c.getTask('up-zero')).limits ?? {}, {}, 'and changes nothing');
  const missing = await taskio(t, root, 'update', '--memory', '0', 'up-none');
  t.same([missing.code, missing.stderr], [125, 'taskio update: no such task: up-none\n'], 'a task that does not exist is still an error');
});

t.test('run with a limit out of docker\'s range: one line, 125, no task, directory or cgroup made', { timeout: 60_000 }, async (t) => {
  const cases: Array<[string[], string]> = [
    [['--memory', '5m'], 'taskio run: invalid limit memory=5242880: expected bytes, at least 6 MiB (docker\'s "Minimum memory limit allowed is 6MB")\n'],
    [['--memory', '1.5x'], 'taskio run: invalid argument "1.5x" for "-m, --memory" flag: invalid size: \'1.5x\'. See \'taskio run --help\'.\n'],
    [['--cpus', '-1'], 'taskio run: invalid argument "-1" for "--cpus" flag: failed to parse -1 as a rational number. See \'taskio run --help\'.\n'],
    [['--pids-limit', 'x'], 'taskio run: invalid argument "x" for "--pids-limit" flag: strconv.ParseInt: parsing "x": invalid syntax. See \'taskio run --help\'.\n'],
    [['--cpu-shares', '-1'], 'taskio run: invalid argument "-1" for "-c, --cpu-shares" flag: CPU shares must be positive, or 0 for the default. See \'taskio run --help\'.\n'],
    [['-c', '1.5'], 'taskio run: invalid argument "1.5" for "-c, --cpu-shares" flag: strconv.ParseInt: parsing "1.5": invalid syntax. See \'taskio run --help\'.\n'],
    [['--memory-reservation', '5m'], 'taskio run: invalid limit memoryReservation=5242880: expected bytes, at least 6 MiB (docker\'s "Minimum memory reservation allowed is 6MB")\n'],
    [['--memory', '8m', '--memory-reservation', '16m'], 'taskio run: invalid limits memory=8388608, memoryReservation=16777216: Minimum memory limit can not be less than memory reservation limit, see usage\n'],
    [['--memory-swap', '64m'], 'taskio run: invalid limit memorySwap=67108864: You should always set the Memory limit when using Memoryswap limit, see usage\n'],
    [['--memory', '64m', '--memory-swap', '32m'], 'taskio run: invalid limits memory=67108864, memorySwap=33554432: Minimum memoryswap limit should be larger than memory limit, see usage\n'],
    [['--memory', '64m', '--memory-swap', '-2'], 'taskio run: invalid argument "-2" for "--memory-swap" flag: invalid size: \'-2\'. See \'taskio run --help\'.\n'],
    [['--cpuset-cpus', '0-x'], 'taskio run: invalid limit cpusetCpus="0-x": Invalid value 0-x for cpuset cpus\n'],
    [['--cpuset-cpus', '1-0'], 'taskio run: invalid limit cpusetCpus="1-0": Invalid value 1-0 for cpuset cpus\n'],
    [['--cpuset-cpus', `0,${os.availableParallelism()}`], `taskio run: invalid limit cpusetCpus="0,${os.availableParallelism()}": Requested CPUs are not available - requested 0,${os.availableParallelism()}, available: 0-${os.availableParallelism() - 1}\n`],
  ];
  for (const runtime of ['runc', 'host']) {
    for (const [flags, stderr] of cases) {
      const r = await taskio(t, root, 'run', '--name', 'up-bad', '--runtime', runtime, ...flags, 'true');
      t.same([r.code, r.stdout, r.stderr], [125, '', stderr], `${runtime} ${flags.join(' ')}`);
    }
  }
  t.same(taskDirs(root).filter((d) => d === 'up-bad'), [], 'no task directory');
  t.same(cgroupsOf(root, 'up-bad'), [], 'no cgroup');
  await t.rejects(c.getTask('up-bad'), { code: 'ERR_NOT_FOUND' });
});

/** Runs a detached runc task with `flags` (removed at the end of `t`), checks the command's answer, returns its pid. */
async function runcTask(t: Test, id: string, flags: string[]): Promise<number> {
  const r = await taskio(t, root, 'run', '-d', '--name', id, '--runtime', 'runc', ...flags, 'sleep', '1000');
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  t.same([r.code, r.stderr], [0, ''], `run ${flags.join(' ')}`);
  return (await c.getTask(id)).pid!;
}

/** Checks that a host task with `flags` is refused with `why`, 125, no task directory. */
async function refusedOnHost(t: Test, id: string, flags: string[], why: string): Promise<void> {
  const host = await taskio(t, root, 'run', '--name', id, '--runtime', 'host', ...flags, 'true');
  t.same([host.code, host.stderr], [125, `taskio run: ${why}\n`]);
  t.same(taskDirs(root).filter((d) => d === id), [], 'no host task directory');
}

t.test('--cpuset-cpus: runc puts it in the task\'s cpuset cgroup, inspect shows it, update changes it live; a host task refuses it', { timeout: 90_000 }, async (t) => {
  const last = os.availableParallelism() - 1;
  const r = await taskio(t, root, 'run', '-d', '--name', 'cs-runc', '--runtime', 'runc', '--cpuset-cpus', String(last), 'sleep', '1000');
  t.teardown(() => c.remove('cs-runc', { force: true }).catch(() => undefined));
  t.same([r.code, r.stderr], [0, '']);
  const pid = (await c.getTask('cs-runc')).pid!;
  t.equal(cgroupFile(pid, 'cpuset', 'cpuset.cpus'), String(last), 'the cgroup');
  t.equal((await taskio(t, root, 'inspect', '-f', '{{.HostConfig.CpusetCpus}}', 'cs-runc')).stdout, `${last}\n`, 'inspect');
  const u = await taskio(t, root, 'update', '--cpuset-cpus', `0-${last}`, 'cs-runc');
  t.same([u.code, u.stderr], [0, '']);
  t.equal(cgroupFile(pid, 'cpuset', 'cpuset.cpus'), `0-${last}`, 'changed live');
  t.same((await c.getTask('cs-runc')).limits, { cpusetCpus: `0-${last}` }, 'the record');
  const host = await taskio(t, root, 'run', '--name', 'cs-host', '--runtime', 'host', '--cpuset-cpus', '0', 'true');
  t.same([host.code, host.stderr], [125, 'taskio run: limit cpusetCpus needs runtime runsc or runc: the host backend\'s job objects have no cpuset\n']);
  t.same(taskDirs(root).filter((d) => d === 'cs-host'), [], 'no host task directory');
});

t.test('--cpuset-cpus, --cpu-shares, --memory-reservation and --memory-swap on runsc: the sandbox\'s cgroup has them', { timeout: 90_000 }, async (t) => {
  const r = await taskio(t, root, 'run', '-d', '--name', 'cs-runsc', '--runtime', 'runsc', '--cpuset-cpus', '0', '--cpu-shares', '300', '--memory-reservation', '40m', '--memory', '64m', '--memory-swap', '128m', 'sleep', '1000');
  t.teardown(() => c.remove('cs-runsc', { force: true }).catch(() => undefined));
  t.same([r.code, r.stderr], [0, '']);
  const pid = (await c.getTask('cs-runsc')).pid!;
  t.same([cgroupFile(pid, 'cpuset', 'cpuset.cpus'), cgroupFile(pid, 'cpu', 'cpu.shares'), cgroupFile(pid, 'memory', 'memory.soft_limit_in_bytes'), cgroupFile(pid, 'memory', 'memory.memsw.limit_in_bytes')], ['0', '300', String(40 * MiB), String(128 * MiB)]);
});

t.test('--cpu-shares: runc\'s cpu.shares (docker\'s range: 1 is 2), inspect, update live; the API refuses what is out of range; a host task refuses it', { timeout: 90_000 }, async (t) => {
  const r = await taskio(t, root, 'run', '-d', '--name', 'sh-runc', '--runtime', 'runc', '-c', '512', 'sleep', '1000');
  t.teardown(() => c.remove('sh-runc', { force: true }).catch(() => undefined));
  t.same([r.code, r.stderr], [0, '']);
  const pid = (await c.getTask('sh-runc')).pid!;
  t.equal(cgroupFile(pid, 'cpu', 'cpu.shares'), '512', 'the cgroup');
  t.equal((await taskio(t, root, 'inspect', '-f', '{{.HostConfig.CpuShares}}', 'sh-runc')).stdout, '512\n', 'inspect');
  const u = await taskio(t, root, 'update', '--cpu-shares', '1', '--cpus', '0.5', 'sh-runc');
  t.same([u.code, u.stderr], [0, '']);
  t.same([cgroupFile(pid, 'cpu', 'cpu.shares'), cgroupFile(pid, 'cpu', 'cpu.cfs_quota_us')], ['2', '50000'], 'changed live, beside a CPU rate');
  t.same((await c.getTask('sh-runc')).limits, { cpuShares: 2, cpus: 0.5 }, 'the record');
  await t.rejects(c.update('sh-runc', { limits: { cpuShares: 1 } }), { code: 'ERR_INVALID_LIMIT', message: 'invalid limit cpuShares=1: expected 2 to 262144 (the kernel\'s cpu.shares; 1024 is the default)' });
  const host = await taskio(t, root, 'run', '--name', 'sh-host', '--runtime', 'host', '-c', '512', 'true');
  t.same([host.code, host.stderr], [125, 'taskio run: limit cpuShares needs runtime runsc or runc: the host backend\'s job objects weigh CPU 1 to 9, and not beside a CPU rate\n']);
  t.same(taskDirs(root).filter((d) => d === 'sh-host'), [], 'no host task directory');
});

/** Checks a runc task's memory cgroup `file` and inspect's `field` hold `bytes`, then that `update FLAG SIZE` changes the file live to `after` bytes. */
async function memoryLimitLive(t: Test, id: string, pid: number, file: string, field: string, bytes: number, flag: string, after: number): Promise<void> {
  t.equal(cgroupFile(pid, 'memory', file), String(bytes), 'the cgroup');
  t.equal((await taskio(t, root, 'inspect', '-f', `{{.HostConfig.${field}}}`, id)).stdout, `${bytes}\n`, 'inspect');
  const u = await taskio(t, root, 'update', flag, `${after / MiB}m`, id);
  t.same([u.code, u.stderr], [0, '']);
  t.equal(cgroupFile(pid, 'memory', file), String(after), 'changed live');
}

t.test('--memory-reservation: runc\'s memory.soft_limit_in_bytes, inspect, update live; a memory limit below it refused; a host task refuses it', { timeout: 90_000 }, async (t) => {
  const pid = await runcTask(t, 'mr-runc', ['--memory', '64m', '--memory-reservation', '32m']);
  await memoryLimitLive(t, 'mr-runc', pid, 'memory.soft_limit_in_bytes', 'MemoryReservation', 32 * MiB, '--memory-reservation', 48 * MiB);
  const below = await taskio(t, root, 'update', '--memory', '40m', 'mr-runc');
  t.same([below.code, below.stderr], [125, `taskio update: task mr-runc: invalid limits memory=${40 * MiB}, memoryReservation=${48 * MiB}: Minimum memory limit can not be less than memory reservation limit, see usage\n`]);
  t.same([cgroupFile(pid, 'memory', 'memory.limit_in_bytes'), (await c.getTask('mr-runc')).limits], [String(64 * MiB), { memory: 64 * MiB, memoryReservation: 48 * MiB }], 'nothing changed');
  await refusedOnHost(t, 'mr-host', ['--memory-reservation', '32m'], 'limit memoryReservation needs runtime runsc or runc: the host backend\'s job objects have no soft memory limit');
});

t.test('--memory-swap: runc\'s memory.memsw.limit_in_bytes, -1 unlimited, inspect, update (alone, on a task with a memory limit); a host task refuses it', { timeout: 90_000 }, async (t) => {
  const pid = await runcTask(t, 'sw-runc', ['--memory', '64m', '--memory-swap', '128m']);
  await memoryLimitLive(t, 'sw-runc', pid, 'memory.memsw.limit_in_bytes', 'MemorySwap', 128 * MiB, '--memory-swap', 96 * MiB);
  const over = await taskio(t, root, 'update', '--memory', '100m', 'sw-runc');
  t.same([over.code, over.stderr], [125, `taskio update: task sw-runc: invalid limits memory=${100 * MiB}, memorySwap=${96 * MiB}: Minimum memoryswap limit should be larger than memory limit, see usage\n`]);
  const unlimited = await taskio(t, root, 'update', '--memory-swap', '-1', 'sw-runc');
  t.same([unlimited.code, unlimited.stderr], [0, '']);
  t.ok(BigInt(cgroupFile(pid, 'memory', 'memory.memsw.limit_in_bytes')) > 1n << 62n, 'unlimited swap');
  t.same((await c.getTask('sw-runc')).limits, { memory: 64 * MiB, memorySwap: -1 }, 'the record');
  await refusedOnHost(t, 'sw-host', ['--memory', '64m', '--memory-swap', '-1'], 'limit memorySwap needs runtime runsc or runc: the host backend\'s job objects hold memory and swap together at the memory limit');
});
