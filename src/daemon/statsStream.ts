import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** What {@link streamStats} needs besides its output. */
export interface StatsStreamOptions {
  /** The next sample, or null once there is none (the task exited). */
  sample(): Promise<unknown | null>;
  /** Waits the interval between two samples (rejects, or resolves early, at `signal`). */
  interval(): Promise<void>;
  signal: AbortSignal;
}

/**
 * Writes a sample as a line of JSON into `out`, then another after each interval, until the task
 * exited or `signal` aborts. A sample waits until `out` took the one before it, as docker's stats
 * stream blocks on its write: a client that stops reading (a stalled pipe, a stopped `taskio stats`)
 * holds one sample in the daemon, not one more per second for as long as it stays connected.
 */
export async function streamStats(out: Writable, opts: StatsStreamOptions): Promise<void> {
  const { signal } = opts;
  for (;;) {
    const s = await opts.sample();
    if (s === null || signal.aborted || out.destroyed) return;
    if (!out.write(`${JSON.stringify(s)}\n`)) {
      try {
        await once(out, 'drain', { signal });
      } catch {
        return; // the client went away before it read the sample
      }
    }
    await opts.interval().catch(() => undefined);
    if (signal.aborted) return;
  }
}
