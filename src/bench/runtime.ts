/**
 * Runtime-core benchmarks: the lifecycle of `/bin/true` through {@link Init} beside the same CLI
 * sequence from a shell script, and 1 GiB written by `dd` inside a busybox container through
 * taskio to a counting client, beside the same client fed by `ciobench produce` on the host.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import { newCreator, nonRetaining, withFIFODir, withStreams } from '../attach/index.js';
import { Init } from '../runtime/proc/index.js';
import { Runsc, createBusyboxBundle, type Dialect } from '../runtime/oci/index.js';
import { defaultMonitor } from '../runtime/reaper/index.js';
import { ciobench, run, timed, type Result } from './measure.js';

/** Where each runtime lives on Debian. */
export const runtimeBinaries: Record<Dialect, string> = { runsc: '/usr/bin/runsc', runc: '/usr/sbin/runc' };

/** A private runtime root and bundle directory under /run, removed by `cleanup`. */
export interface RuntimeScratch {
  base: string;
  runtime: Runsc;
  cleanup(): void;
}

/** Makes a scratch area for `dialect`; the reaper runs so sandboxes re-parented to us are reaped. */
export function runtimeScratch(dialect: Dialect): RuntimeScratch {
  const base = `/run/taskio-bench-${crypto.randomBytes(4).toString('hex')}`;
  fs.mkdirSync(base, { recursive: true, mode: 0o711 });
  defaultMonitor.start();
  const runtime = new Runsc({ command: runtimeBinaries[dialect], dialect, root: path.join(base, 'root'), logPath: path.join(base, 'log.json') });
  return { base, runtime, cleanup: () => fs.rmSync(base, { recursive: true, force: true }) };
}

/** create + start + wait + delete of `/bin/true` through {@link Init}, `n` times; median ms each. */
export async function initLifecycle(s: RuntimeScratch, bundle: string, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = `life-${i}-${crypto.randomBytes(3).toString('hex')}`;
    const stdio = { stdin: '', stdout: '', stderr: '', terminal: false };
    const t0 = performance.now();
    const init = new Init(id, s.runtime, stdio);
    await init.create({ id, bundle, ...stdio });
    await init.start();
    await init.wait();
    await init.delete();
    times.push(performance.now() - t0);
    if (init.exitStatus() !== 0) throw new Error(`/bin/true exited ${init.exitStatus()}`);
  }
  return times;
}

/** The same sequence as one shell script per run: the CLI with the same global flags. */
export async function shellLifecycle(s: RuntimeScratch, bundle: string, n: number): Promise<number[]> {
  const global = (await s.runtime.globalArgs()).map((a) => `'${a}'`).join(' ');
  const bin = s.runtime.command;
  const script = path.join(s.base, 'lifecycle.sh');
  fs.writeFileSync(script, [
    'set -e',
    `${bin} ${global} create --bundle "$2" --pid-file "$3" "$1" </dev/null >/dev/null 2>&1`,
    `${bin} ${global} start "$1"`,
    // runsc's wait loses the status of a fast exit (it fails); the baseline still pays for the call.
    // runc has no wait: poll its state, as a script would.
    (await s.runtime.dialect()) === 'runsc'
      ? `${bin} ${global} wait "$1" >/dev/null 2>&1 || true`
      : `until ${bin} ${global} state "$1" | grep -q '"stopped"'; do :; done`,
    `${bin} ${global} delete "$1"`,
  ].join('\n'));
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = `sh-${i}-${crypto.randomBytes(3).toString('hex')}`;
    const t0 = performance.now();
    await run('/bin/sh', [script, id, bundle, path.join(s.base, `${id}.pid`)]);
    times.push(performance.now() - t0);
  }
  return times;
}

/** A counting client sink that never keeps chunks. */
export function counter(): Writable & { bytes: number } {
  const w = nonRetaining(new Writable({ highWaterMark: 1 << 20, write(c: Buffer, _e, cb) { w.bytes += c.length; cb(); } })) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

/**
 * 1 GiB from `dd` inside a busybox container (`bs=32K`) to a counting taskio client, through the
 * task's stdout FIFO; returns MB/s and the client's CPU seconds per GiB.
 */
export async function containerDd(s: RuntimeScratch, dialect: Dialect, bytes: number): Promise<Result> {
  const bundle = path.join(s.base, `dd-${crypto.randomBytes(3).toString('hex')}`);
  await createBusyboxBundle(bundle, { args: ['dd', 'if=/dev/zero', 'bs=32768', `count=${bytes / 32768}`] });
  const id = `dd-${crypto.randomBytes(3).toString('hex')}`;
  const out = counter();
  const io = await newCreator(withFIFODir(path.join(s.base, 'fifo')), withStreams(null, out, counter()))(id);
  const init = new Init(id, s.runtime, io.config());
  try {
    await init.create({ id, bundle, ...io.config() });
    const { wall, cpu } = await timed(async () => {
      await init.start();
      await init.wait();
      await io.wait();
    });
    if (out.bytes !== bytes) throw new Error(`got ${out.bytes} of ${bytes} bytes`);
    return { bench: 'container-dd', impl: `taskio-${dialect}`, bytes, wall_s: round(wall), mb_s: round(bytes / wall / 1e6), cpu_s_per_gib: round(cpu / (bytes / 2 ** 30)) };
  } finally {
    await init.delete().catch(() => undefined);
    await io.close();
    fs.rmSync(bundle, { recursive: true, force: true });
  }
}

/** The same client fed by `ciobench produce` on the host (no container in between). */
export async function hostProduce(s: RuntimeScratch, bytes: number): Promise<Result> {
  if (!ciobench) throw new Error('ciobench is not there');
  const out = counter();
  const io = await newCreator(withFIFODir(path.join(s.base, 'fifo')), withStreams(null, out, counter()))('produce');
  try {
    const c = io.config();
    const { wall, cpu } = await timed(async () => {
      await Promise.all([run(ciobench!, ['produce', '--stdout', c.stdout, '--stderr', c.stderr, '--bytes', String(bytes), '--chunk', '32768']), io.wait()]);
    });
    return { bench: 'container-dd', impl: 'taskio-host-ciobench-produce', bytes, wall_s: round(wall), mb_s: round(bytes / wall / 1e6), cpu_s_per_gib: round(cpu / (bytes / 2 ** 30)) };
  } finally {
    await io.close();
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
