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
  /**
   * Cycles run side by side (default 1). More lanes make a short run quicker; every cycle is
   * still a whole create → delete, and samples are taken with every lane between cycles.
   */
  lanes?: number;
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
  lanes: number;
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
    const every = Math.max(1, Math.floor(opts.cycles / 10));
    const lanes = Math.max(1, Math.min(opts.lanes ?? 1, every));
    // A bundle per lane: the runtime writes the init's pid file into it.
    const bundles: string[] = [];
    for (let l = 0; l < lanes; l++) bundles.push(await s.bundle(`leak-${l}`, awkCommand(opts.backend, streamAwkArgs(opts.seed, linesPerTask))));
    // Warm-up: the first cycle loads modules and fills pools; the baseline is taken after it.
    const warm = await taskCycle(s, bundles[0]!, s.id('warm'));
    rotations += warm.rotations;
    sample(0);
    for (let done = 0; done < opts.cycles;) {
      // Up to the next sample point, `lanes` cycles at a time.
      const stop = Math.min(opts.cycles, (Math.floor(done / every) + 1) * every);
      while (done < stop) {
        const batch = Math.min(lanes, stop - done);
        const results = await Promise.all(bundles.slice(0, batch).map((b) => taskCycle(s, b, s.id('leak'))));
        for (const r of results) {
          rotations += r.rotations;
          if (r.exitStatus !== 0) failedExits++;
        }
        done += batch;
      }
      sample(done);
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
    lanes: opts.lanes ?? 1, leftovers, clean: isClean(leftovers),
    msPerCycle: Math.round((performance.now() - started) / (opts.cycles + 1)),
  };
}
