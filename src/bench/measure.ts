import fs from 'node:fs';
import path from 'node:path';
import { PerformanceObserver, constants as perf, type PerformanceEntry } from 'node:perf_hooks';
import { Spawner, runCollected } from './spawner.js';

/** One benchmark result: printed as one JSON line. */
export type Result = Record<string, string | number | boolean | null>;

/** One contender of a benchmark: its name in the summary and what runs it once. */
export type Variant = [name: string, run: () => Promise<Result>];

/** How `interleave` (in `main.ts`) runs a benchmark and sums it up; each field has a default. */
export interface InterleaveOptions {
  /** The variant every ratio is taken against (default `containerd-cio`). */
  baseline?: string;
  /** More keys to give medians and ratios of, beside the first. */
  alsoKeys?: string[];
  /** Recorded rounds (default BENCH_ROUNDS). */
  rounds?: number;
  /** Pairs `[a, b]` whose peer is not the baseline: adds `a_vs_b` of the first key. */
  pairs?: [string, string][];
  /** Unrecorded rounds before them (default BENCH_WARMUP). */
  warmups?: number;
  /**
   * Also give each variant's first warm-up run (`<name>_cold_<key>`): what a fresh process gets,
   * where the warm-up is long enough that the medians show the steady state.
   */
  reportCold?: boolean;
  /**
   * Runs the baseline before each other variant and once more at the end of each round, and
   * weighs each run of a variant against the mean of the baseline's runs just before and just after
   * it: `<name>_vs_<baseline>_bracketed` is the median of those ratios. On this machine kind a
   * round's runs lie seconds apart, and the host's speed changes on that scale by up to 2× (the
   * same copy measured 934 and 2,105 MB/s a minute apart); a ratio taken within one bracket is
   * not moved by it, a ratio of medians taken across the round is.
   */
  bracket?: boolean;
}

/** Runs `variants` interleaved and prints a summary line with medians and ratios. */
export type Interleave = (label: string, variants: Variant[], key: string, opts?: InterleaveOptions) => Promise<void>;

/** `../shared/anchors/ciobench` beside the repository, when it is there (containerd's `cio`). */
export const ciobench = [path.resolve(new URL('../../..', import.meta.url).pathname, 'shared/anchors/ciobench')]
  .find((p) => fs.existsSync(p)) ?? null;

/**
 * `scripts/anchors/ciokeep` when `scripts/anchors/build.sh` could build it: containerd's `cio` into
 * a sink that keeps a copy of what it is given, the Go side of the array collector's line.
 */
export const ciokeep = [path.resolve(new URL('../..', import.meta.url).pathname, 'scripts/anchors/ciokeep')]
  .find((p) => fs.existsSync(p)) ?? null;

/**
 * Wall seconds and this process's CPU seconds spent in `fn`, and the mark-compacts (V8's full
 * collections) that ran meanwhile: what a copy into a sink that may keep chunks costs beyond the
 * copy depends on them (README, "Copied sinks and V8's garbage collector").
 */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number; markCompacts: number }> {
  let markCompacts = 0;
  const count = (entries: readonly PerformanceEntry[]): void => {
    // A 'gc' entry's kind is in its `detail` (Node ≥ 16), which @types/node leaves out.
    for (const e of entries as (PerformanceEntry & { detail?: { kind?: number } })[]) if (e.detail?.kind === perf.NODE_PERFORMANCE_GC_MAJOR) markCompacts++;
  };
  const gcs = new PerformanceObserver((list) => count(list.getEntries()));
  gcs.observe({ entryTypes: ['gc'] });
  const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
  try {
    const value = await fn();
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    count(gcs.takeRecords());
    return { value, wall, cpu: (c.user + c.system) / 1e6, markCompacts };
  } finally {
    gcs.disconnect();
  }
}

let spawner: Spawner | null = null;

/**
 * From now on {@link run} starts its commands in a {@link Spawner}, so this process never forks
 * again; call it first, while the process is small (the one fork it takes then costs little).
 */
export function useSpawner(): void {
  spawner ??= new Spawner();
}

/**
 * Runs a command to completion (with `env`, else this process's environment); rejects on a
 * non-zero exit with its stderr. Resolves with stdout.
 */
export async function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await (spawner ? spawner.run(cmd, args, env) : runCollected(cmd, args, env));
  if (r.error !== undefined) throw new Error(`${cmd}: ${r.error}`);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr}`);
  return r.stdout;
}

/** Runs a ciobench subcommand and parses its JSON line. */
export async function ciobenchRun(args: string[]): Promise<Result> {
  if (!ciobench) throw new Error('ciobench is not there');
  return JSON.parse((await run(ciobench, args)).trim()) as Result;
}

/** The median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Parses sizes like `1G`, `32K`, `100`. */
export function parseSize(s: string): number {
  const m = /^(\d+)([KMG]?)$/i.exec(s);
  if (!m) throw new Error(`bad size ${s}`);
  return Number(m[1]) * ({ '': 1, K: 1024, M: 1 << 20, G: 1 << 30 } as Record<string, number>)[m[2]!.toUpperCase()]!;
}

/** The chain {@link cacheChaseNanos} walks: built once, kept for the process. */
let chain: Int32Array | null = null;
/** Where the last chase ended: kept, so the loop has a result and is not optimized away. */
let chaseEnd = 0;

/**
 * What a dependent load costs this process right now, in ns: 1,000,000 steps of a pointer chase
 * through 1 MiB in a random order (one cycle over 262,144 slots, so the hardware cannot prefetch
 * it), about the L2 cache of one core of this machine kind (AMD EPYC, family 26). It reads about
 * 9–11 ns a step on a quiet core and 13–19 ns in the machine's slow spells, which come and go on
 * one virtual CPU at a time while pure arithmetic keeps its speed: the physical core, and its
 * caches, are shared with something outside the VM. A FIFO set (JavaScript objects, forty system
 * calls in one thread) takes up to twice as long on such a CPU. Each sets line carries it beside
 * {@link syscallMicros}.
 */
export function cacheChaseNanos(): number {
  if (chain === null) {
    // Sattolo's shuffle: a random permutation that is a single cycle through every slot.
    chain = new Int32Array(1 << 18);
    for (let i = 0; i < chain.length; i++) chain[i] = i;
    for (let i = chain.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * i);
      const t = chain[i]!;
      chain[i] = chain[j]!;
      chain[j] = t;
    }
  }
  const steps = 1_000_000;
  let at = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) at = chain[at]!;
  const ns = Number(process.hrtime.bigint() - t0) / steps;
  chaseEnd = at;
  return Math.round(ns * 100) / 100;
}

/**
 * What one system call costs this process right now, in µs: the mean of 5,000 `fs.fstatSync` of
 * one fd (through Node's binding, as taskio's own calls go). On this machine kind it moves between
 * about 2.5 and 4.5 µs over seconds to minutes, while pure computation keeps its speed, and a FIFO
 * set is some forty system calls: each sets line carries it, so a slow run shows why.
 */
export function syscallMicros(): number {
  const fd = fs.openSync('/dev/null', 'r');
  try {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 5000; i++) fs.fstatSync(fd);
    return Math.round(Number(process.hrtime.bigint() - t0) / 5000 / 10) / 100;
  } finally {
    fs.closeSync(fd);
  }
}
