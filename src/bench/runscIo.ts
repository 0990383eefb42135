/**
 * `BENCH_ONLY=runsc-io`: where the write path of a task in runsc spends its time. busybox `dd
 * if=/dev/zero` writes with `bs=1M` and `bs=4K` to each sink a task has — `/dev/null`, a tmpfs in
 * the container, its rootfs, a bind mount, and its stdout FIFO read by a taskio client — on the
 * host, in runc and in runsc with the flags that could matter for that sink, interleaved per sink
 * and write size. The time is read inside the task (`/proc/uptime` around `dd`), so container
 * start and stop are not in it; `count` is calibrated per cell so a run takes about
 * `BENCH_DD_SECONDS` (1.5 s), file sinks capped at 512 MiB.
 *
 * JSON lines: one per run (`bench: 'runsc-io'`, with the 1-minute load average, since the ptrace
 * platform's cost grows with it), then one summary per sink and write size with `*_vs_host`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { newCreator, withFIFODir, withStreams } from '../attach/index.js';
import { openFifoFd } from '../fifo/index.js';
import { getPipeSize, setPipeSize } from '../sys/index.js';
import { HostRuntime } from '../runtime/host/index.js';
import { Runsc, createBusyboxBundle, type BusyboxBundle } from '../runtime/oci/index.js';
import { Init, type Runtime } from '../runtime/proc/index.js';
import { defaultMonitor } from '../runtime/reaper/index.js';
import type { Interleave, Result, Variant } from './measure.js';
import { counter, runtimeBinaries } from './runtime.js';

/** Where `dd` writes. */
export type DdSink = 'null' | 'tmpfs' | 'rootfs' | 'bind' | 'fifo';

/** One runtime configuration of the table. */
export interface IoConfig {
  name: string;
  runtime: 'host' | 'runc' | 'runsc';
  /** runsc global flags after taskio's own (`--network=none`). */
  flags?: string[];
  /** The sinks this configuration can change; default all. */
  sinks?: DdSink[];
  /** The stdout pipe's size set after create, instead of taskio's (`pipeSize`, 1 MiB). */
  pipeSize?: number;
}

/**
 * The configurations measured: taskio's runsc default beside each runsc flag that touches a sink
 * (this runsc, 2022-12-19, has the ptrace and kvm platforms; no systrap, no directfs).
 */
export const ioConfigs: IoConfig[] = [
  { name: 'host', runtime: 'host' },
  { name: 'runc', runtime: 'runc' },
  { name: 'runsc', runtime: 'runsc' },
  { name: 'runsc-kvm', runtime: 'runsc', flags: ['--platform=kvm'] },
  { name: 'runsc-overlay-root', runtime: 'runsc', flags: ['--overlay2=root:memory'], sinks: ['rootfs'] },
  { name: 'runsc-shared-root', runtime: 'runsc', flags: ['--file-access=shared'], sinks: ['rootfs'] },
  { name: 'runsc-exclusive-mounts', runtime: 'runsc', flags: ['--file-access-mounts=exclusive'], sinks: ['bind'] },
  { name: 'runsc-no-buffer-pooling', runtime: 'runsc', flags: ['--buffer-pooling=false'], sinks: ['fifo'] },
  // Linux's default pipe size, to show what taskio's 1 MiB FIFOs are worth.
  { name: 'host-pipe-64k', runtime: 'host', pipeSize: 64 << 10, sinks: ['fifo'] },
  { name: 'runsc-pipe-64k', runtime: 'runsc', pipeSize: 64 << 10, sinks: ['fifo'] },
];

/** The sinks and write sizes of the table. */
export const ddSinks: DdSink[] = ['null', 'tmpfs', 'rootfs', 'bind', 'fifo'];
export const ddBlockSizes = [1 << 20, 4096];

/** Files stay in the page cache: writeback of other work on the disk would swamp the figures. */
const fileCap = 512 << 20;
const busybox = '/usr/bin/busybox';

/** What {@link runscIoBenches} needs from the bench driver. */
export interface RunscIoDeps {
  interleave: Interleave;
  /** Seconds one run should take. */
  seconds: number;
  /** Only these sinks and configurations (default: all). */
  sinks?: DdSink[];
  configs?: IoConfig[];
}

/** One scratch area: a busybox bundle, a bind source, a tmpfs directory, a root per configuration. */
interface Scratch {
  base: string;
  bundle: BusyboxBundle;
  bind: string;
  shm: string;
}

/** Runs the table: one `interleave` per sink and write size, the configurations side by side. */
export async function runscIoBenches(deps: RunscIoDeps): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log(JSON.stringify({ bench: 'runsc-io', skipped: 'needs root' }));
    return;
  }
  const usable = (deps.configs ?? ioConfigs).filter((c) => {
    const why = unavailable(c);
    if (why) console.log(JSON.stringify({ bench: 'runsc-io', config: c.name, skipped: why }));
    return !why;
  });
  const hex = crypto.randomBytes(4).toString('hex');
  const base = `/run/taskio-bench-rio-${hex}`;
  const shm = `/dev/shm/taskio-bench-rio-${hex}`;
  fs.mkdirSync(base, { mode: 0o711 });
  fs.mkdirSync(shm, { mode: 0o700 });
  defaultMonitor.start();
  try {
    const s: Scratch = { base, shm, bind: path.join(base, 'bind'), bundle: await createBusyboxBundle(path.join(base, 'bundle'), { args: ['true'] }) };
    fs.mkdirSync(s.bind, { mode: 0o777 });
    const runtimes = new Map<string, Runtime>();
    for (const c of [...usable]) {
      // A platform can be there and not work (kvm in a VM whose /dev/kvm does not run guests:
      // the sandbox never boots): one small task decides, and a failing configuration is left out.
      const rt = runtimeOf(s, c);
      try {
        await ddRun(s, c, rt, 'null', 4096, 1);
        runtimes.set(c.name, rt);
      } catch (err) {
        console.log(JSON.stringify({ bench: 'runsc-io', config: c.name, skipped: `a first task failed: ${(err as Error).message}` }));
        usable.splice(usable.indexOf(c), 1);
      }
    }
    for (const sink of deps.sinks ?? ddSinks) {
      for (const bs of ddBlockSizes) {
        const variants: Variant[] = usable.filter((c) => !c.sinks || c.sinks.includes(sink)).map((c) => {
          let count: number | undefined;
          return [c.name, async () => {
            count ??= await calibrate(s, c, runtimes.get(c.name)!, sink, bs, deps.seconds);
            return ddRun(s, c, runtimes.get(c.name)!, sink, bs, count);
          }];
        });
        await deps.interleave(`runsc-io-${sink}-${bs >= 1 << 20 ? `${bs >> 20}M` : `${bs >> 10}K`}`, variants, 'mb_s', { baseline: 'host' });
      }
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
    fs.rmSync(shm, { recursive: true, force: true });
  }
}

/** Why a configuration cannot run here, or null. */
function unavailable(c: IoConfig): string | null {
  if (c.runtime !== 'host' && !fs.existsSync(runtimeBinaries[c.runtime])) return `${runtimeBinaries[c.runtime]} is not installed`;
  if (c.flags?.includes('--platform=kvm') && !fs.existsSync('/dev/kvm')) return 'no /dev/kvm on this machine';
  return null;
}

function runtimeOf(s: Scratch, c: IoConfig): Runtime {
  if (c.runtime === 'host') return new HostRuntime({ jobs: false });
  return new Runsc({
    command: runtimeBinaries[c.runtime], dialect: c.runtime, root: path.join(s.base, `root-${c.name}`),
    logPath: path.join(s.base, `log-${c.name}.json`), globalFlags: c.flags ?? [],
    // A sandbox boots in well under a second here; one that does not within 15 s never will.
    timeouts: { create: 15_000 },
  });
}

/**
 * A count that takes about `seconds`: probes grow 8× until one runs ≥ 0.3 s (or hits the file
 * cap), then the faster of two probes of that size sets the rate — on a loaded machine one probe
 * can land in a burst of other work and make every run of the cell too short.
 */
async function calibrate(s: Scratch, c: IoConfig, rt: Runtime, sink: DdSink, bs: number, seconds: number): Promise<number> {
  const cap = sink === 'null' || sink === 'fifo' ? Infinity : Math.floor(fileCap / bs);
  let count = Math.min(cap, Math.ceil((16 << 20) / bs));
  for (;;) {
    const took = Number((await ddRun(s, c, rt, sink, bs, count)).seconds);
    if (took >= 0.3 || count >= cap) {
      const best = Math.min(took, Number((await ddRun(s, c, rt, sink, bs, count)).seconds));
      return Math.max(1, Math.min(cap, Math.round((count * seconds) / Math.max(best, 0.01))));
    }
    count = Math.min(cap, count * 8);
  }
}

/** The file `dd` writes to for `sink`, as the task sees it; null for stdout. */
function target(s: Scratch, c: IoConfig, sink: DdSink): string | null {
  const host = c.runtime === 'host';
  switch (sink) {
    case 'null': return '/dev/null';
    case 'tmpfs': return host ? path.join(s.shm, 'dd.out') : '/tmp/dd.out';
    case 'rootfs': return host ? path.join(s.bundle.rootfs, 'dd.out') : '/dd.out';
    case 'bind': return host ? path.join(s.bind, 'dd.out') : '/mnt/dd.out';
    case 'fifo': return null;
  }
}

/** One `dd` run in a fresh task; MB/s from the time the task measured around `dd`. */
async function ddRun(s: Scratch, c: IoConfig, rt: Runtime, sink: DdSink, bs: number, count: number): Promise<Result> {
  const of = target(s, c, sink);
  const dd = c.runtime === 'host' ? `${busybox} dd` : 'dd';
  // The clock is read by shell builtins, so only dd's own fork, run and exit fall between the reads.
  const script = [
    'read a _ </proc/uptime',
    `${dd} if=/dev/zero${of ? ` of=${of}` : ''} bs=${bs} count=${count} 2>/dev/null || exit 3`,
    'read b _ </proc/uptime',
    of && of !== '/dev/null' ? `rm -f ${of}` : ':',
    'echo "dd-seconds $a $b" >&2',
  ].join('; ');
  const spec = structuredClone(s.bundle.spec);
  spec.process.args = c.runtime === 'host' ? [busybox, 'sh', '-c', script] : ['sh', '-c', script];
  if (sink === 'bind') spec.mounts.push({ destination: '/mnt', type: 'bind', source: s.bind, options: ['rbind', 'rw'] });
  fs.writeFileSync(path.join(s.bundle.dir, 'config.json'), JSON.stringify(spec));

  const id = `rio-${crypto.randomBytes(4).toString('hex')}`;
  const out = counter();
  let err = '';
  const errSink = new Writable({ write(chunk: Buffer, _e, cb) { err += chunk.toString(); cb(); } });
  const io = await newCreator(withFIFODir(path.join(s.base, 'fifo')), withStreams(null, out, errSink))(id);
  const init = new Init(id, rt, io.config());
  let pipe: number | null = null;
  try {
    await init.create({ id, bundle: s.bundle.dir, ...io.config() });
    if (sink === 'fifo') pipe = stdoutPipe(io.config().stdout, c.pipeSize);
    await init.start();
    await init.wait();
    await io.wait();
  } finally {
    await init.delete().catch(() => undefined);
    await io.close();
  }
  const m = /dd-seconds ([\d.]+) ([\d.]+)/.exec(err);
  if (init.exitStatus() !== 0 || !m) throw new Error(`${c.name} ${sink} bs=${bs}: exit ${init.exitStatus()}, stderr ${JSON.stringify(err.slice(0, 300))}`);
  const bytes = bs * count;
  if (sink === 'fifo' && out.bytes !== bytes) throw new Error(`${c.name}: the client got ${out.bytes} of ${bytes} bytes`);
  const seconds = Math.max(Number(m[2]) - Number(m[1]), 0.01);
  return {
    bench: 'runsc-io', impl: c.name, flags: (c.flags ?? []).join(' '), sink, bs, count, bytes, pipe_size: pipe,
    seconds: Math.round(seconds * 100) / 100, mb_s: Math.round(bytes / seconds / 1e6), load1: Math.round(os.loadavg()[0]! * 10) / 10,
  };
}

/**
 * Sets (when `size` is given) and reads the size of the pipe behind the task's stdout FIFO. Done
 * after create, while the task side holds the FIFO open: a pipe's size lives only as long as it does.
 */
function stdoutPipe(fifo: string, size: number | undefined): number {
  const fd = openFifoFd(fifo, 'rw');
  try {
    if (size !== undefined) setPipeSize(fd, size);
    return getPipeSize(fd);
  } finally {
    fs.closeSync(fd);
  }
}
