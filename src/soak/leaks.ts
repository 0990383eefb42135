/**
 * The leak soak: many create → start → exit → delete cycles (taskCycle.ts) on one backend, with
 * what a leak would grow — this process's fds and children, the run's mounts, cgroups, runtime state
 * and FIFO sets, and the heap after a full GC — sampled every 10 % and fitted with a line: a leak is
 * a slope, a flat series is none.
 */
import { childPids, fdCount, heapAfterGc, slope } from './resources.js';
import { awkCommand, isClean, newScratch, type Backend, type Leftovers } from './scratch.js';
import { streamAwkArgs } from './stream.js';
import { taskCycle } from './taskCycle.js';

/** Options of {@link leakSoak}. */
export interface LeakOptions {
  backend: Backend;
  cycles: number;
  seed: number;
  /** Called after each sample. */
  progress?: (sample: LeakSample) => void;
}

/** One sample, taken after `cycle` cycles. */
export interface LeakSample {
  cycle: number;
  fds: number;
  children: number;
  heapBytes: number;
  rssBytes: number;
  /** Counts of {@link Leftovers} of the run at that moment. */
  processes: number;
  mounts: number;
  cgroups: number;
  state: number;
  fifoSets: number;
}

/** What {@link leakSoak} measured. */
export interface LeakResult {
  soak: 'leaks';
  backend: Backend;
  cycles: number;
  seed: number;
  /** Lines each task wrote (enough to rotate its log every cycle), and rotations seen in all. */
  linesPerTask: number;
  rotations: number;
  /** Cycles whose task did not exit 0. */
  failedExits: number;
  samples: LeakSample[];
  /** Least-squares slope per cycle of each series, over the samples after the first (warm-up). */
  slopes: { fds: number; children: number; heapBytes: number; rssBytes: number };
  /** Last sample minus the first after warm-up. */
  growth: { fds: number; children: number; heapBytes: number };
  leftovers: Leftovers;
  clean: boolean;
  msPerCycle: number;
}

const linesPerTask = 200; // ≈ 8 KiB: two rotations of a 4 KiB log

/** Runs `cycles` task cycles on `backend` and reports the samples and their slopes. */
export async function leakSoak(opts: LeakOptions): Promise<LeakResult> {
  const s = newScratch(opts.backend, 'leaks');
  const samples: LeakSample[] = [];
  let rotations = 0, failedExits = 0;
  const started = performance.now();
  const sample = (cycle: number): void => {
    const l = s.leftovers();
    const one: LeakSample = {
      cycle, fds: fdCount(), children: childPids().length, heapBytes: heapAfterGc(), rssBytes: process.memoryUsage().rss,
      processes: l.processes.length, mounts: l.mounts.length, cgroups: l.cgroups.length, state: l.state.length, fifoSets: l.fifoSets.length,
    };
    samples.push(one);
    opts.progress?.(one);
  };
  let leftovers: Leftovers;
  try {
    const bundle = await s.bundle('leak', awkCommand(opts.backend, streamAwkArgs(opts.seed, linesPerTask)));
    // Warm-up: the first cycle loads modules and fills pools; the baseline is taken after it.
    const warm = await taskCycle(s, bundle, s.id('warm'));
    rotations += warm.rotations;
    sample(0);
    const every = Math.max(1, Math.floor(opts.cycles / 10));
    for (let i = 1; i <= opts.cycles; i++) {
      const r = await taskCycle(s, bundle, s.id('leak'));
      rotations += r.rotations;
      if (r.exitStatus !== 0) failedExits++;
      if (i % every === 0 || i === opts.cycles) sample(i);
    }
  } finally {
    leftovers = s.leftovers();
    s.dispose();
  }
  const xs = samples.map((p) => p.cycle);
  const fit = (k: 'fds' | 'children' | 'heapBytes' | 'rssBytes') => slope(xs, samples.map((p) => p[k]));
  const first = samples[0]!, last = samples[samples.length - 1]!;
  return {
    soak: 'leaks', backend: opts.backend, cycles: opts.cycles, seed: opts.seed, linesPerTask, rotations, failedExits, samples,
    slopes: { fds: fit('fds'), children: fit('children'), heapBytes: fit('heapBytes'), rssBytes: fit('rssBytes') },
    growth: { fds: last.fds - first.fds, children: last.children - first.children, heapBytes: last.heapBytes - first.heapBytes },
    leftovers, clean: isClean(leftovers),
    msPerCycle: Math.round((performance.now() - started) / (opts.cycles + 1)),
  };
}
