import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { execFileSync, type ChildProcess } from 'node:child_process';
import {
  CPURateControlType,
  JobObject,
  MsgAllProcessesExited,
  MsgJobMemoryLimit,
  cgroupLayout,
  type JobObjectOptions,
} from '../../../src/runtime/jobobject/index.js';
import { parseKeyed } from '../../../src/runtime/jobobject/cgroup.js';
import { until } from '../../helpers/common.js';
import { checkNoJobsLeft } from './leftovers.js';

// Every job of this file carries this prefix, so the final check can tell ours from other suites'.
const prefix = `tt-${process.pid}-`;
let seq = 0;
const jobName = (what: string): string => `${prefix}${what}-${seq++}`;
const testTimeout = { timeout: 30_000 };

/** Creates a job that kills whatever is left and removes itself in teardown. */
async function newJob(t: Test, what: string, opts: JobObjectOptions = {}): Promise<JobObject> {
  const job = await JobObject.create({ name: jobName(what), terminateOnLastHandleClose: true, ...opts });
  t.teardown(() => job.close());
  return job;
}

/** Spawns `sh` running `script` in the job, resolving once the script runs (so it is inside the job). */
async function spawnReady(t: Test, job: JobObject, script: string): Promise<ChildProcess> {
  // A script that says `echo in` itself decides when it is ready (e.g. after forking).
  const full = script.includes('echo in') ? script : `echo in; ${script}`;
  const child = job.spawn('/bin/sh', ['-c', full], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  t.equal(chunk.toString(), 'in\n', 'the command runs');
  return child;
}

t.test('the layout is read from /proc/mounts', async (t) => {
  const l = cgroupLayout();
  t.comment(`mode ${l.mode}, cgroup2 at ${l.v2 ?? '-'}, v1: ${[...l.v1.keys()].join(',')}`);
  t.ok(l.v2 !== undefined || l.v1.size > 0, 'some cgroup hierarchy is mounted');
});

t.test('pids lists every process spawned into the job', testTimeout, async (t) => {
  const job = await newJob(t, 'pids');
  const n = 3;
  const children: ChildProcess[] = [];
  for (let i = 0; i < n; i++) children.push(await spawnReady(t, job, 'exec sleep 120'));
  const pids = await job.pids();
  t.equal(pids.length, n);
  t.same([...pids].sort(), children.map((c) => c.pid).sort(), 'the spawned pids themselves (exec kept the pid)');
  // Born inside: the command's own /proc/self/cgroup names the job in every hierarchy it joined.
  const cg = fs.readFileSync(`/proc/${children[0]!.pid}/cgroup`, 'utf8');
  for (const dir of job.cgroupPaths) t.match(cg, `/taskio/${job.name}`, `joined ${dir}`);
});

t.test('assign moves a running process in', testTimeout, async (t) => {
  const job = await newJob(t, 'assign');
  const outside = await JobObject.create({ name: jobName('assign-src'), terminateOnLastHandleClose: true });
  t.teardown(() => outside.close());
  const child = await spawnReady(t, outside, 'exec sleep 120');
  await job.assign(child.pid!);
  t.same(await job.pids(), [child.pid]);
  t.same(await outside.pids(), []);
  await t.rejects(job.assign(0), { code: 'ERR_INVALID_ARG_VALUE' });
});

t.test('MsgAllProcessesExited after the last process exits', testTimeout, async (t) => {
  const job = await newJob(t, 'exits', { notifications: true });
  const a = await spawnReady(t, job, 'read x; exit 0');
  const b = await spawnReady(t, job, 'read x; exit 0');
  let got = false;
  const msg = job.pollNotification().then((m) => ((got = true), m));
  a.stdin!.end();
  await once(a, 'exit');
  t.same(await job.pids(), [b.pid], 'one left');
  t.notOk(got, 'no message while a process is left');
  b.stdin!.end();
  t.type(await msg, MsgAllProcessesExited);
  t.equal(b.exitCode, 0);
});

t.test('MsgAllProcessesExited for a process that exits at once', testTimeout, async (t) => {
  const job = await newJob(t, 'fast', { notifications: true });
  job.spawn('/bin/true');
  t.type(await job.pollNotification(), MsgAllProcessesExited);
});

t.test('MsgAllProcessesExited after terminate()', testTimeout, async (t) => {
  const job = await newJob(t, 'terminate', { notifications: true });
  const a = await spawnReady(t, job, 'exec sleep 120');
  const b = await spawnReady(t, job, 'sleep 120 & echo in; wait'); // a grandchild too
  const exits = [once(a, 'exit'), once(b, 'exit')];
  await job.terminate(3);
  t.type(await job.pollNotification(), MsgAllProcessesExited);
  for (const e of await Promise.all(exits)) t.same(e, [null, 'SIGKILL'], 'killed by SIGKILL (Linux cannot impose the code)');
  t.same(await job.pids(), []);
  const stats = await job.queryProcessorStats();
  t.ok(stats.TotalTerminatedProcesses >= 3, `terminated ${stats.TotalTerminatedProcesses}`);
});

t.test('terminate() right after spawn() kills children whose wrapper has not joined the job yet', testTimeout, async (t) => {
  // spawn() returns before the wrapper shell wrote itself into cgroup.procs: a kill of the cgroup
  // alone would miss those still on their way in, and their commands would run on unsupervised.
  const job = await newJob(t, 'early', { notifications: true });
  const children = Array.from({ length: 8 }, () => job.spawn('/bin/sh', ['-c', 'exec sleep 120']));
  const exits = children.map((c) => once(c, 'exit'));
  t.same((await job.pids()).sort(), children.map((c) => c.pid).sort(), 'pids() lists them all, joined or not');
  await job.terminate();
  for (const e of await Promise.all(exits)) t.same(e, [null, 'SIGKILL'], 'killed');
  t.type(await job.pollNotification(), MsgAllProcessesExited);
  t.same(await job.pids(), [], 'nothing left, and no exited child is listed');
  const stats = await job.queryProcessorStats();
  t.ok(stats.TotalTerminatedProcesses >= 8, `terminated ${stats.TotalTerminatedProcesses}`);
});

t.test('MsgAllProcessesExited after a kill from outside', testTimeout, async (t) => {
  const job = await newJob(t, 'outside', { notifications: true });
  const a = await spawnReady(t, job, 'exec sleep 120');
  process.kill(a.pid!, 'SIGKILL');
  t.type(await job.pollNotification(), MsgAllProcessesExited);
});

t.test('a job without notifications refuses pollNotification', async (t) => {
  const job = await newJob(t, 'nonotify');
  await t.rejects(job.pollNotification(), { code: 'ERR_NOT_REGISTERED' });
});

t.test('a CPU rate caps a busy loop at its share of the machine, period by period', testTimeout, async (t) => {
  const job = await newJob(t, 'cpu');
  const l = cgroupLayout();
  const v2 = l.v2Controllers.has('cpu');
  const dir = job.cgroupPaths.find((d) => d.startsWith((v2 ? l.v2 : l.v1.get('cpu'))! + '/'))!;
  const bandwidth = (): number[] => v2
    ? fs.readFileSync(path.join(dir, 'cpu.max'), 'utf8').trim().split(' ').map(Number)
    : ['cpu.cfs_quota_us', 'cpu.cfs_period_us'].map((f) => Number(fs.readFileSync(path.join(dir, f), 'utf8')));
  await job.setCPULimit(CPURateControlType.RateBased, 2000);
  const [quota20, period20] = bandwidth();
  t.equal(quota20, Math.round(0.2 * os.cpus().length * period20!), '20 % is a quota of 20 % of every CPU');
  // 1 %: a busy loop wants far more than that on any machine, however loaded, so the cap always bites
  // (at 20 % a loaded machine may give the loop less than its cap, and then nothing can be checked).
  await job.setCPULimit(CPURateControlType.RateBased, 100);
  const [quotaUs, periodUs] = bandwidth();
  t.equal(quotaUs, Math.round(0.01 * os.cpus().length * periodUs!), '1 % likewise');
  await spawnReady(t, job, 'while :; do :; done'); // one thread, which alone would take a whole CPU
  // The kernel's own clock for the cap: CFS periods elapsed and how often the job was held back.
  const sample = async (): Promise<{ periods: number; throttled: number; usedUs: number }> => {
    const stat = parseKeyed(fs.readFileSync(path.join(dir, 'cpu.stat'), 'utf8'));
    const s = await job.queryProcessorStats();
    return { periods: stat.get('nr_periods')!, throttled: stat.get('nr_throttled')!, usedUs: (s.TotalUserTime + s.TotalKernelTime) / 10 };
  };
  await until(async () => (await sample()).throttled >= 1, 25_000, 'the cap to hold the loop back');
  const a = await sample();
  await until(async () => (await sample()).periods >= a.periods + 20, 25_000, '20 more CFS periods');
  const b = await sample();
  const periods = b.periods - a.periods, usedUs = b.usedUs - a.usedUs;
  // +1 period: the samples fall inside periods, not on their edges; +10 ms: the kernel notices an
  // exhausted quota at a scheduler tick (≤ 10 ms) and charges the overrun to the next period.
  const allowedUs = (periods + 1) * quotaUs! + 10_000;
  t.comment(`${usedUs.toFixed(0)} µs of CPU in ${periods} periods of ${periodUs} µs (quota ${quotaUs} µs), throttled ${b.throttled - a.throttled} times`);
  t.ok(usedUs <= allowedUs, `at most the quota per period: ${usedUs.toFixed(0)} ≤ ${allowedUs} µs`);
});

t.test('a CPU weight is written as shares / cpu.weight', async (t) => {
  const job = await newJob(t, 'weight');
  await job.setCPULimit(CPURateControlType.WeightBased, 9);
  const l = cgroupLayout();
  const v2 = l.v2Controllers.has('cpu');
  const dir = job.cgroupPaths.find((d) => d.startsWith((v2 ? l.v2 : l.v1.get('cpu'))! + '/'))!;
  const file = v2 ? 'cpu.weight' : 'cpu.shares';
  t.equal(fs.readFileSync(path.join(dir, file), 'utf8').trim(), v2 ? '180' : '1843');
  const quota = v2 ? fs.readFileSync(path.join(dir, 'cpu.max'), 'utf8').split(' ')[0] : fs.readFileSync(path.join(dir, 'cpu.cfs_quota_us'), 'utf8').trim();
  t.ok(quota === 'max' || quota === '-1', 'a weight lifts the rate cap');
});

t.test('a memory limit kills a process that exceeds it', testTimeout, async (t) => {
  const job = await newJob(t, 'memory', { notifications: true });
  const limit = 96 * 1024 * 1024;
  await job.setMemoryLimit(BigInt(limit));
  const child = job.spawn(process.execPath, ['-e', 'const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1))'], {
    stdio: 'ignore',
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  t.same([code, signal], [null, 'SIGKILL'], 'the OOM killer ended it (Windows would fail the allocation)');
  t.type(await job.pollNotification(), MsgJobMemoryLimit, 'the limit hit is told first');
  t.type(await job.pollNotification(), MsgAllProcessesExited);
  const mem = await job.queryMemoryStats();
  t.ok(mem.PeakJobMemoryUsed > limit * 0.9 && mem.PeakJobMemoryUsed <= limit, `peak ${mem.PeakJobMemoryUsed} near the limit`);
});

t.test('stats move when work is done', testTimeout, async (t) => {
  const job = await newJob(t, 'stats');
  const before = { cpu: await job.queryProcessorStats(), io: await job.queryStorageStats() };
  t.equal(before.cpu.TotalUserTime + before.cpu.TotalKernelTime, 0, 'a new job has used no CPU');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-job-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'data');
  // CPU work, then 4 MiB written and read back with O_DIRECT, which reaches the disk on v1 and v2 alike
  // (page-cache I/O would be written back by kernel threads, outside the job, at the kernel's pace). On v1
  // the kernel counts it only because the job turned accounting on for the mounted disks at create.
  const script = `i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done;
    dd if=/dev/zero of='${file}' bs=64k count=64 oflag=direct status=none &&
    dd if='${file}' of=/dev/null bs=64k iflag=direct status=none`;
  const child = job.spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = await once(child, 'exit');
  const cpu = await job.queryProcessorStats();
  t.ok(cpu.TotalUserTime + cpu.TotalKernelTime > 100_000, `CPU time ${cpu.TotalUserTime}+${cpu.TotalKernelTime} × 100 ns`);
  t.ok(cpu.TotalProcesses >= 1);
  t.equal(cpu.ActiveProcesses, 0);
  const mem = await job.queryMemoryStats();
  t.ok(mem.PeakJobMemoryUsed > 0, `peak memory ${mem.PeakJobMemoryUsed}`);
  if (code !== 0) {
    t.comment(`direct I/O unavailable in ${dir} (${stderr.trim()}): storage counters not checked`);
    return;
  }
  const io = await job.queryStorageStats();
  t.ok(io.WriteStats.TotalSize >= 4 << 20, `wrote ${io.WriteStats.TotalSize} bytes in ${io.WriteStats.IoCount} ops`);
  t.ok(io.ReadStats.TotalSize >= 4 << 20, `read ${io.ReadStats.TotalSize} bytes in ${io.ReadStats.IoCount} ops`);
  t.ok(io.WriteStats.IoCount > 0 && io.ReadStats.IoCount > 0);
});

/**
 * A block device made for the test, with a request queue nobody has used: what every disk looks like
 * after boot, before any cgroup wrote a throttle rule for it. A hot-added zram device is new each
 * time (loop devices keep their queue across detach, so a loop device may have been throttled before).
 */
function freshDisk(t: Test): string {
  if (!fs.existsSync('/sys/class/zram-control/hot_add')) {
    t.comment('no zram-control here: a loop device, which may have had a throttle rule already');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-job-loop-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const image = path.join(dir, 'disk.img');
    fs.writeFileSync(image, '');
    fs.truncateSync(image, 16 << 20);
    const loop = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
    t.teardown(() => execFileSync('losetup', ['--detach', loop]));
    return loop;
  }
  const id = fs.readFileSync('/sys/class/zram-control/hot_add', 'utf8').trim();
  t.teardown(() => fs.writeFileSync('/sys/class/zram-control/hot_remove', id));
  fs.writeFileSync(`/sys/block/zram${id}/disksize`, String(16 << 20));
  return `/dev/zram${id}`;
}

t.test('storage counters move on a disk that never had a throttle rule (a fresh block device)', testTimeout, async (t) => {
  // On cgroup v1 the kernel counts nothing on such a disk until a throttle rule is written for it.
  const disk = freshDisk(t);
  const job = await newJob(t, 'fresh-disk', { ioDevices: [disk] });
  const script = `dd if=/dev/zero of='${disk}' bs=64k count=32 oflag=direct status=none &&
    dd if='${disk}' of=/dev/null bs=64k count=32 iflag=direct status=none`;
  const child = job.spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = await once(child, 'exit');
  t.equal(code, 0, `direct I/O to ${disk}`);
  const io = await job.queryStorageStats();
  t.ok(io.WriteStats.TotalSize >= 2 << 20, `wrote ${io.WriteStats.TotalSize} bytes in ${io.WriteStats.IoCount} ops`);
  t.ok(io.ReadStats.TotalSize >= 2 << 20, `read ${io.ReadStats.TotalSize} bytes in ${io.ReadStats.IoCount} ops`);
});

t.test('an I/O limit is written for the disks that hold the given paths', testTimeout, async (t) => {
  // A block device of its own, so the test runs wherever the tmpdir is (tmpfs included).
  const disk = freshDisk(t);
  const devno = fs.readFileSync(`/sys/class/block/${path.basename(disk)}/dev`, 'utf8').trim(); // the kernel's major:minor
  const job = await newJob(t, 'io', { ioDevices: [disk] });
  await job.setIOLimit(1 << 20, 100);
  const l = cgroupLayout();
  const v2 = l.v2Controllers.has('io');
  const dir = job.cgroupPaths.find((d) => d.startsWith((v2 ? l.v2 : l.v1.get('blkio'))! + '/'))!;
  const read = (file: string): string => fs.readFileSync(path.join(dir, file), 'utf8');
  if (v2) {
    t.match(read('io.max'), new RegExp(`^${devno} rbps=1048576 wbps=1048576 riops=100 wiops=100$`, 'm'));
  } else {
    t.match(read('blkio.throttle.read_bps_device'), new RegExp(`^${devno} 1048576$`, 'm'));
    t.match(read('blkio.throttle.write_iops_device'), new RegExp(`^${devno} 100$`, 'm'));
  }
  await job.setIOLimit(0, 50); // 0 keeps the bandwidth, as in hcsshim
  if (!v2) t.match(read('blkio.throttle.read_bps_device'), new RegExp(`^${devno} 1048576$`, 'm'));
  if (!v2) t.match(read('blkio.throttle.write_iops_device'), new RegExp(`^${devno} 50$`, 'm'));
});

t.test('a path on no block device (procfs) is refused before the job exists', testTimeout, async (t) => {
  const name = jobName('io-none');
  await t.rejects(JobObject.create({ name, ioDevices: ['/proc'] }), { code: 'ERR_INVALID_ARG_VALUE', message: /'\/proc'/ });
  await t.rejects(JobObject.open(name), { code: 'ENOENT' }, 'no cgroup was made');
});

t.test('open() finds the job by name from a second JobObject', testTimeout, async (t) => {
  const name = jobName('open');
  const a = await JobObject.create({ name, terminateOnLastHandleClose: true });
  t.teardown(() => a.close());
  const child = await spawnReady(t, a, 'exec sleep 120');
  const b = await JobObject.open(name, { notifications: true });
  t.teardown(() => b.close());
  t.same(await b.pids(), [child.pid]);
  const msg = b.pollNotification();
  await a.terminate();
  t.type(await msg, MsgAllProcessesExited, 'the second handle is notified too');
  await b.close();
  t.ok(fs.existsSync(a.cgroupPaths[0]!), 'closing one of two handles keeps the job');
  await a.close();
  t.notOk(fs.existsSync(a.cgroupPaths[0]!), 'the last close removes it');
  await t.rejects(JobObject.open(name), { code: 'ENOENT' });
  await t.rejects(a.pids(), { code: 'ERR_ALREADY_CLOSED' });
});

t.test('close removes the cgroup in every hierarchy, or leaves a job that still runs', testTimeout, async (t) => {
  const job = await JobObject.create({ name: jobName('close') });
  const dirs = job.cgroupPaths;
  for (const d of dirs) t.ok(fs.existsSync(d), `made ${d}`);
  const child = await spawnReady(t, job, 'exec sleep 120');
  await job.close();
  for (const d of dirs) t.ok(fs.existsSync(d), `kept ${d} while a process runs (no terminate-on-close)`);
  const again = await JobObject.open(job.name);
  t.same(await again.pids(), [child.pid]);
  const exited = once(child, 'exit');
  await again.terminate();
  await exited;
  await again.close();
  for (const d of dirs) t.notOk(fs.existsSync(d), `removed ${d}`);
  await t.resolves(again.close(), 'a second close is harmless');
});

t.test('terminateOnLastHandleClose kills what is left and removes the job', testTimeout, async (t) => {
  const job = await JobObject.create({ name: jobName('killclose'), terminateOnLastHandleClose: true });
  const child = await spawnReady(t, job, 'exec sleep 120');
  const exited = once(child, 'exit');
  await job.close();
  t.same(await exited, [null, 'SIGKILL']);
  for (const d of job.cgroupPaths) t.notOk(fs.existsSync(d), `removed ${d}`);
});

t.test('values out of range fail with ERR_OUT_OF_RANGE and create nothing', async (t) => {
  const bad: Array<[JobObjectOptions['limits'], RegExp]> = [
    [{ cpuLimit: 10001 }, /processor rate of `10001`/],
    [{ cpuLimit: 1.5 }, /processor rate of `1.5`/],
    [{ cpuWeight: 10 }, /processor weight of `10`/],
    [{ memoryLimitInBytes: -1 }, /memory limit of `-1`/],
    [{ memoryLimitInBytes: 1n << 64n }, /memory limit of `18446744073709551616`/],
    [{ maxIOPS: -5 }, /maxIOPS of `-5`/],
    [{ maxBandwidth: -1, cpuLimit: 100 }, /maxBandwidth of `-1`/],
  ];
  for (const [limits, message] of bad) {
    const name = jobName('bad');
    await t.rejects(JobObject.create({ name, limits }), { code: 'ERR_OUT_OF_RANGE', message }, JSON.stringify(limits, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)));
    await t.rejects(JobObject.open(name), { code: 'ENOENT' }, 'nothing was created');
  }
  const job = await newJob(t, 'bad-set');
  await t.rejects(job.setCPULimit(CPURateControlType.RateBased, 0), { code: 'ERR_OUT_OF_RANGE', message: /`0`/ });
  await t.rejects(job.setCPULimit(CPURateControlType.WeightBased, 0), { code: 'ERR_OUT_OF_RANGE' });
  await t.rejects(job.setMemoryLimit(0), { code: 'ERR_OUT_OF_RANGE' });
  await t.rejects(job.setIOLimit(-1, 0), { code: 'ERR_OUT_OF_RANGE' });
  // One bad field in setResourceLimits changes none of the others.
  await t.rejects(job.setResourceLimits({ memoryLimitInBytes: 1 << 30, cpuLimit: 20000 }), { code: 'ERR_OUT_OF_RANGE' });
  const mem = job.cgroupPaths.find((d) => /memory/.test(d));
  if (mem !== undefined && fs.existsSync(path.join(mem, 'memory.limit_in_bytes'))) {
    t.not(fs.readFileSync(path.join(mem, 'memory.limit_in_bytes'), 'utf8').trim(), String(1 << 30), 'memory limit untouched');
  }
  await t.rejects(JobObject.create({ name: '../escape' }), { code: 'ERR_INVALID_ARG_VALUE' });
});

t.test('nothing of ours is left under the cgroup roots', async (t) => {
  checkNoJobsLeft(t, cgroupLayout(), prefix);
});
