/**
 * `npm run bench`: taskio beside the plain-FIFO ceiling and containerd's `cio` (through
 * `../shared/anchors/ciobench`), interleaved A B C … in one run, then medians. Prints JSON lines:
 * one per run, then one `summary` per benchmark with the ratios.
 *
 * Every benchmark first runs each variant once unrecorded (`"warmup": true` in its line): the first
 * GiB a Node process copies pays its JIT and the growth of its heap, which a supervisor pays once
 * in its life, not per GiB; Go's `cio` has no such start. BENCH_WARMUP=0 records that round too.
 *
 * Environment: BENCH_ROUNDS (default 3), BENCH_WARMUP (default 1), BENCH_BYTES (default 1G),
 * BENCH_LINES (default 1000000), BENCH_SETS (default 2000), BENCH_SETS_WARMUP (sets made unrecorded
 * first, in whole rounds, at least BENCH_WARMUP rounds; default 6000), BENCH_SETS_ROUNDS (default
 * three times BENCH_ROUNDS), BENCH_LIFECYCLES (default 10 per
 * round), BENCH_PACED_MBPS (default 100,300), BENCH_ONLY (comma list:
 * throughput,paced,lines,sets,logs,runtime,runsc-io,daemon,scale,cli;
 * or the same names as arguments: `npm run bench -- scale`; `copy-heap`, only when named, runs the
 * copy path in fresh processes holding 0 to 64 MB of their own: COPY_HEAP_MB, default 0,1,2,4,16,64; COPY_HEAP_FLAGS: Node flag sets, `;`-separated, each running the points again in processes started with them), BENCH_DD_SECONDS (default 1.5), BENCH_IO_SINKS and BENCH_IO_CONFIGS
 * (comma lists narrowing runsc-io). The runtime benchmarks need root and runsc/runc. The scale
 * benchmark: SCALE_TASKS (default 10,100,1000), SCALE_SECONDS (steady window per point, default 10).
 */
import { ciobench, ciokeep, cacheChaseNanos, median, parseSize, syscallMicros, useSpawner, type InterleaveOptions, type Result, type Variant } from './measure.js';
import { containerdArray, containerdPaced, containerdSets, containerdStream, nodePipe, plainFifo, taskioSets, taskioStream } from './cio.js';
import { containerDd, hostProduce, initLifecycle, runtimeBinaries, runtimeScratch, shellLifecycle } from './runtime.js';
import { createBusyboxBundle } from '../runtime/oci/index.js';
import { withCoalescing } from '../index.js';
import fs from 'node:fs';
import path from 'node:path';
import { benchConmonK8sFile, benchContainerdLogfile, benchCriLineLatency, benchCriLines, benchRawLog } from './logfile.js';
import { daemonBenches } from './daemon.js';
import { ioConfigs, runscIoBenches, type DdSink } from './runscIo.js';
import { scaleBenches } from './scale.js';
import { cliRunVariants } from './cliRun.js';
import { copyAtHeap } from './copyHeap.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const warmups = Number(process.env.BENCH_WARMUP ?? 1);
const bytes = parseSize(process.env.BENCH_BYTES ?? '1G');
const lines = Number(process.env.BENCH_LINES ?? 1_000_000);
const sets = Number(process.env.BENCH_SETS ?? 2000);
const setsWarmup = Number(process.env.BENCH_SETS_WARMUP ?? 6000);
const setsRounds = Number(process.env.BENCH_SETS_ROUNDS ?? 3 * rounds);
const only = new Set(process.argv.length > 2 ? process.argv.slice(2) : (process.env.BENCH_ONLY ?? 'throughput,paced,lines,sets,logs,runtime,runsc-io,daemon,scale,cli').split(','));
const lifecycles = Number(process.env.BENCH_LIFECYCLES ?? 10);

/**
 * Runs `variants` interleaved (after `warmups` unrecorded rounds) and prints a summary with each
 * one's median `key` (and `alsoKeys`) and its ratio to the baseline's (see {@link InterleaveOptions}).
 */
async function interleave(label: string, variants: Variant[], key: string, opts: InterleaveOptions = {}): Promise<void> {
  const { baseline = 'containerd-cio', alsoKeys = [], rounds: times = rounds, pairs = [], warmups: warm = warmups } = opts;
  const got = new Map<string, Result[]>(variants.map(([n]) => [n, []]));
  const cold = new Map<string, Result>();
  const base = variants.find(([n]) => n === baseline);
  const bracketed = opts.bracket === true && base !== undefined;
  const others = variants.filter((v) => v !== base);
  // With a bracket the baseline runs before each other variant and once at the end of the round.
  const order = bracketed ? [...others.flatMap((v) => [base, v]), base] : variants;
  for (let r = 0; r < warm; r++) {
    for (const [name, fn] of order) {
      const res = await fn();
      if (!cold.has(name)) cold.set(name, res);
      console.log(JSON.stringify({ ...res, warmup: true, label }));
    }
  }
  const ratios = new Map<string, number[]>(bracketed ? others.map(([n]) => [n, []]) : []);
  for (let r = 0; r < times; r++) {
    const round: Result[] = [];
    for (const [name, fn] of order) {
      const res = await fn();
      round.push(res);
      got.get(name)!.push(res);
      console.log(JSON.stringify({ ...res, round: r + 1, label }));
    }
    // Bracketed, the odd places are the variants, each between two baseline runs.
    for (let i = 1; bracketed && i < order.length; i += 2) {
      const ratio = Number(round[i]![key]) / ((Number(round[i - 1]![key]) + Number(round[i + 1]![key])) / 2);
      ratios.get(order[i]![0])!.push(ratio);
    }
  }
  const med = (name: string, k: string) => median(got.get(name)!.map((x) => Number(x[k])));
  const summary: Result = { summary: label, rounds: times, warmups: warm, metric: key };
  for (const [name] of variants) {
    if (got.get(name)![0]!.cpu_s_per_gib !== undefined) summary[`${name}_cpu_s_per_gib`] = med(name, 'cpu_s_per_gib');
  }
  for (const k of [key, ...alsoKeys]) {
    for (const [name] of variants) summary[`${name}_${k}`] = med(name, k);
    if (base === undefined) continue;
    for (const [name] of variants) if (name !== baseline) {
      // The first key's ratio keeps its historical name; the others name their key.
      summary[k === key ? `${name}_vs_${baseline}` : `${name}_vs_${baseline}_${k}`] = Math.round((med(name, k) / med(baseline, k)) * 1000) / 1000;
      // A latency's target may be a difference (`taskio run` adds ≤ 60 ms), not only a ratio.
      if (k === 'median_ms') summary[`${name}_minus_${baseline}_ms`] = Math.round((med(name, k) - med(baseline, k)) * 10) / 10;
    }
  }
  for (const [name, rs] of ratios) summary[`${name}_vs_${baseline}_bracketed`] = Math.round(median(rs) * 1000) / 1000;
  for (const [a, b] of pairs) if (got.has(a) && got.has(b)) summary[`${a}_vs_${b}`] = Math.round((med(a, key) / med(b, key)) * 1000) / 1000;
  if (opts.reportCold) for (const [name, res] of cold) summary[`${name}_cold_${key}`] = res[key] ?? null;
  console.log(JSON.stringify(summary));
}

/** The producer's arguments for a copy of `bytes` in writes of `chunk` (`32K`, `4K`). */
function copyLoad(chunk: string): string[] {
  return ['--bytes', String(bytes), '--chunk', String(parseSize(chunk))];
}

/**
 * `run`, its line saying what a system call and a load from the core's cache cost just before it
 * (`syscall_us`, `cache_ns`: see {@link syscallMicros} and {@link cacheChaseNanos}).
 */
function withMachineSpeed(run: () => Promise<Result>): () => Promise<Result> {
  return async () => {
    const cacheNs = cacheChaseNanos();
    const syscallUs = syscallMicros();
    return { ...(await run()), syscall_us: syscallUs, cache_ns: cacheNs };
  };
}

/** The array collector's line in a process started with `node --no-concurrent-marking`. */
const noConcurrentMarking = 'taskio-array-no-concurrent-marking';

/** containerd's `cio` copying `bytes` in writes of `chunk` into its discarding counter: the copy lines' baseline. */
function cioCopy(chunk: string): Variant {
  return ['containerd-cio', () => containerdStream('throughput', ['--bytes', String(bytes), '--chunk', chunk])];
}

async function main(): Promise<void> {
  useSpawner(); // before anything is allocated: see Spawner for why this process must not fork
  console.log(JSON.stringify({ bench: 'info', node: process.version, ciobench: ciobench ?? 'missing', ciokeep: ciokeep ?? 'missing (scripts/anchors/build.sh)', rounds, warmups, bytes, lines, sets }));
  for (const chunk of ['32K', '4K']) {
    if (!only.has('throughput')) break;
    const load = copyLoad(chunk);
    const variants: Variant[] = [
      ['taskio-lend', () => taskioStream('throughput', load, 'lend')],
      ['taskio-writable', () => taskioStream('throughput', load, 'writable')],
      ['taskio-passthrough', () => taskioStream('throughput', load, 'passthrough')],
      ['taskio-array', () => taskioStream('throughput', load, 'array')],
      ['taskio-pipeline', () => taskioStream('throughput', load, 'pipeline')],
      ['node-pipe', () => nodePipe('throughput', load)],
      ['node-pipe-passthrough', () => nodePipe('throughput', load, 'passthrough')],
      ['node-pipe-array', () => nodePipe('throughput', load, 'array')],
      ['plain-fifo', () => plainFifo('throughput', load)],
    ];
    // What keeping chunks costs is V8's marking of the heap (README, "Copied sinks and V8's garbage
    // collector"): the same collector in a process started as a user can start it, without
    // marking on helper threads that compete with the task for this machine's two cores.
    variants.push([noConcurrentMarking, () => copyAtHeap(0, 'array', load, ['--no-concurrent-marking'], noConcurrentMarking)]);
    if (ciobench) variants.push(cioCopy(chunk));
    // The array collector keeps 64 MiB at a time; so does containerd's side of this pair.
    if (ciobench && ciokeep) variants.push(['containerd-cio-array', () => containerdArray(load)]);
    const arrays = ['taskio-array', noConcurrentMarking, 'node-pipe-array'].map((a): [string, string] => [a, 'containerd-cio-array']);
    await interleave(`throughput-${chunk}`, variants, 'mb_s', { bracket: true, pairs: arrays });
  }
  if (only.has('paced')) await benchPaced();
  if (only.has('copy-heap')) await benchCopyHeap();
  if (only.has('lines')) {
    const load = ['--lines', String(lines), '--size', '100'];
    const variants: Variant[] = [
      ['taskio-lend', () => taskioStream('lines', load, 'lend')],
      ['plain-fifo', () => plainFifo('lines', load)],
    ];
    if (ciobench) variants.push(['containerd-cio', () => containerdStream('lines', ['--count', String(lines), '--size', '100'])]);
    await interleave('lines-100B', variants, 'lines_s');
  }
  if (only.has('sets')) {
    for (const root of ['/dev/shm/taskio-bench', '/tmp/taskio-bench']) {
      const variants: Variant[] = [['taskio', withMachineSpeed(() => taskioSets(sets, root))]];
      if (ciobench) variants.push(['containerd-cio', withMachineSpeed(() => containerdSets(sets, root))]);
      // V8 optimizes the per-set code only after a few thousand sets (TurboFan; 400 µs of CPU per
      // set before, 200 after): the medians are a supervisor's steady state, the cold figure a
      // fresh process's first BENCH_SETS sets. Bracketed: a run takes half a second, and the host's
      // speed moves on that scale (`ciobench sets` alone: 2,300-4,500 sets/s within minutes).
      const warm = warmups === 0 ? 0 : Math.max(warmups, Math.ceil(setsWarmup / sets));
      // Three times the rounds of the copies (a round is a few seconds): the machine's slow spells
      // last seconds to minutes, and more bracketed rounds give each its weight, not all of it.
      await interleave(`sets-${root.split('/')[1]}`, variants, 'sets_s', { warmups: warm, reportCold: true, bracket: true, rounds: setsRounds });
    }
  }
  if (only.has('logs')) {
    // CRI lines/s into a log file, beside conmon writing k8s-file logs of the same producer.
    const cri: Variant[] = [['taskio-cri', async () => ({ ...(await benchCriLines({ lines })) })]];
    const probe = await benchConmonK8sFile({ lines: 1000 });
    if (probe.measured) cri.push(['conmon', async () => ({ ...(await benchConmonK8sFile({ lines })) })]);
    else console.log(JSON.stringify({ bench: 'conmon-k8s-file', measured: false, reason: probe.reason ?? null }));
    await interleave('logs-cri-lines', cri, 'lines_s', { baseline: 'conmon' });
    // A line after a pause: how long from its write to its entry in the file (no baseline).
    await interleave('logs-cri-line-latency', [['taskio-cri', async () => ({ ...(await benchCriLineLatency()) })]], 'median_ms', { alsoKeys: ['p90_ms'] });
    if (ciobench) {
      const raw: Variant[] = [
        ['taskio-raw', async () => ({ ...(await benchRawLog({ bytes })) })],
        ['containerd-shim-copy', async () => {
          const r = await benchContainerdLogfile({ bytes: String(bytes), buf: '4K' });
          return { bench: 'logfile', impl: 'containerd-shim-copy', mb_s: Number(r.mb_s), wall_s: Number(r.wall_s) };
        }],
      ];
      await interleave('logs-raw', raw, 'mb_s', { baseline: 'containerd-shim-copy' });
    }
  }
}

/**
 * The copy of a task that writes 4 KiB at a time at a steady rate below the copy's ceiling (most
 * busy tasks): here the wakeups per write, not the copying, cost CPU, which taskio's coalescing
 * (`src/attach/coalescer.ts`) lowers; `taskio-lend-uncoalesced` is the lent copy with it turned off
 * (`withCoalescing(false)`). Three seconds of output per run at each rate; containerd's
 * `cio` on the same paced producer (`ciokeep produce`). Each line also gives the producer's own CPU
 * (`task_cpu_s_per_gib`) and the sum (`total_cpu_s_per_gib`): a pause lets the pipe fill, which
 * changes what the task's writes cost, so the copy's saving is only real if the sum falls too.
 */
async function benchPaced(): Promise<void> {
  if (!ciobench || !ciokeep) {
    console.log(JSON.stringify({ bench: 'paced', skipped: 'needs ciobench and ciokeep (scripts/anchors/build.sh)' }));
    return;
  }
  for (const mbps of (process.env.BENCH_PACED_MBPS ?? '100,300').split(',').map(Number)) {
    const load = ['--bytes', String(mbps * 3_000_000), '--chunk', String(4 << 10), '--rate', String(mbps)];
    await interleave(`paced-${mbps}MBps-4K`, [
      ['taskio-lend', () => taskioStream('throughput', load, 'lend')],
      ['taskio-writable', () => taskioStream('throughput', load, 'writable')],
      ['taskio-lend-uncoalesced', () => taskioStream('throughput', load, 'lend', [withCoalescing(false)], 'taskio-lend-uncoalesced')],
      ['plain-fifo', () => plainFifo('throughput', load)],
      ['containerd-cio', () => containerdPaced(load)],
    ], 'cpu_s_per_gib', { alsoKeys: ['task_cpu_s_per_gib', 'total_cpu_s_per_gib'] });
  }
}

/**
 * The copied sinks at several sizes of the copying process's own live heap (see `copyHeap.ts`),
 * beside containerd's `cio`. Each run is a fresh process that warms itself up, so no extra round.
 */
async function benchCopyHeap(): Promise<void> {
  const points = (process.env.COPY_HEAP_MB ?? '0,1,2,4,16,64').split(',').map(Number);
  // Each flag set (`COPY_HEAP_FLAGS=--no-concurrent-marking;--single-threaded-gc`) adds the points
  // once more, in processes started with those Node flags.
  const flagSets = ['', ...(process.env.COPY_HEAP_FLAGS ?? '').split(';').filter(Boolean)];
  for (const chunk of ['32K', '4K']) {
    const load = copyLoad(chunk);
    const variants: Variant[] = [];
    for (const flags of flagSets) {
      for (const mb of points) {
        for (const sink of ['writable', 'array'] as const) {
          const name = `taskio-${sink}+${mb}MB${flags === '' ? '' : ` ${flags}`}`;
          variants.push([name, () => copyAtHeap(mb, sink, load, flags.split(' ').filter(Boolean), name)]);
        }
      }
    }
    if (ciobench) variants.push(cioCopy(chunk));
    await interleave(`copy-heap-${chunk}`, variants, 'mb_s', { warmups: 0 });
  }
}

/** Lifecycle of /bin/true (Init vs the shell) and dd in a container, per installed runtime. */
async function runtimeBenches(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log(JSON.stringify({ bench: 'runtime', skipped: 'needs root' }));
    return;
  }
  for (const dialect of ['runsc', 'runc'] as const) {
    if (!fs.existsSync(runtimeBinaries[dialect])) {
      console.log(JSON.stringify({ bench: 'runtime', dialect, skipped: `${runtimeBinaries[dialect]} is not installed` }));
      continue;
    }
    const s = runtimeScratch(dialect);
    try {
      const bundle = path.join(s.base, 'true');
      await createBusyboxBundle(bundle, { args: ['/bin/true'] });
      const ms = (xs: number[]): Result => ({ bench: 'lifecycle', runs: xs.length, median_ms: Math.round(median(xs) * 10) / 10 });
      await interleave(`lifecycle-${dialect}`, [
        ['taskio-init', async () => ({ ...ms(await initLifecycle(s, bundle, lifecycles)), impl: 'taskio-init' })],
        ['shell-cli', async () => ({ ...ms(await shellLifecycle(s, bundle, lifecycles)), impl: 'shell-cli' })],
      ], 'median_ms', { baseline: 'shell-cli' });
      const dd: Variant[] = [['taskio-container-dd', () => containerDd(s, dialect, bytes)]];
      if (ciobench) dd.push(['taskio-host-produce', () => hostProduce(s, bytes)]);
      await interleave(`container-dd-${dialect}`, dd, 'mb_s', { baseline: 'taskio-host-produce' });
    } finally {
      s.cleanup();
    }
  }
}

/** The daemon's benchmarks; the CLI sequence of runtimeBenches is their baseline. */
function benchDaemon(): Promise<void> {
  const scratches: { cleanup(): void }[] = [];
  return daemonBenches({
    interleave, lifecycles, lines, bytes,
    async lifecycleShell(dialect) {
      if (!fs.existsSync(runtimeBinaries[dialect])) return null;
      const s = runtimeScratch(dialect);
      scratches.push(s);
      const bundle = path.join(s.base, 'true');
      await createBusyboxBundle(bundle, { args: ['/bin/true'] });
      return ['shell-cli', async () => {
        const xs = await shellLifecycle(s, bundle, lifecycles);
        return { bench: 'daemon-lifecycle', impl: 'shell-cli', runs: xs.length, median_ms: Math.round(median(xs) * 10) / 10 };
      }];
    },
  }).finally(() => { for (const s of scratches) s.cleanup(); });
}

/** dd to each sink of a task, host / runc / runsc flags side by side (`src/bench/runscIo.ts`). */
function benchRunscIo(): Promise<void> {
  const list = (name: string): string[] | undefined => process.env[name]?.split(',').filter(Boolean);
  const configs = list('BENCH_IO_CONFIGS');
  return runscIoBenches({
    interleave, seconds: Number(process.env.BENCH_DD_SECONDS ?? 1.5),
    ...(list('BENCH_IO_SINKS') ? { sinks: list('BENCH_IO_SINKS') as DdSink[] } : {}),
    ...(configs ? { configs: ioConfigs.filter((c) => configs.includes(c.name)) } : {}),
  });
}

/** `taskio run --rm -- /bin/true` end to end vs the runtime's own `run` of the same bundle. */
async function benchCliRun(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log(JSON.stringify({ bench: 'cli-run', skipped: 'needs root' }));
    return;
  }
  for (const dialect of ['runsc', 'runc'] as const) {
    if (!fs.existsSync(runtimeBinaries[dialect])) continue;
    // One command per variant per round, rounds × lifecycles rounds: the variants take turns run by
    // run, so a machine that slows down or speeds up over the minutes weighs on all of them alike.
    const { variants, cleanup } = await cliRunVariants(dialect, 1);
    try {
      await interleave(`cli-run-${dialect}`, variants, 'median_ms', { baseline: `${dialect}-run`, rounds: rounds * lifecycles });
    } finally {
      await cleanup();
    }
  }
}

main().then(() => (only.has('runtime') ? runtimeBenches() : undefined))
  .then(() => (only.has('runsc-io') ? benchRunscIo() : undefined))
  .then(() => (only.has('daemon') ? benchDaemon() : undefined))
  .then(() => (only.has('cli') ? benchCliRun() : undefined))
  .then(() => (only.has('scale') ? scaleBenches((process.env.SCALE_TASKS ?? '10,100,1000').split(',').map(Number), Number(process.env.SCALE_SECONDS ?? 10)) : undefined))
  .then(() => process.exit()).catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
