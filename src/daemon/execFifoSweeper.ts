import fs from 'node:fs';
import path from 'node:path';
import type { LogSink } from '../log.js';
import { notPrivate } from '../privateDir.js';
import { fifoSetOf, removeFifoSet, type FifoSetRemoval } from './fifoSetRemoval.js';

/**
 * How old (its mtime: its last FIFO made) a set directory no exec of this daemon names must be
 * before it is swept. cio's Creator makes a set as mkdir → mkfifo → reader lock, microseconds
 * apart, and asks for the exec right after: a set younger than this may be one whose lock is not
 * taken yet, or whose exec is not started yet, and is never touched.
 */
export const unnamedSetAgeMs = 5 * 60_000;

/** How often the FIFO directory is swept (the first time at daemon start). */
export const sweepIntervalMs = 60_000;

type Stdio = { stdin: string; stdout: string; stderr: string };

/**
 * Removes the exec FIFO sets that clients left in `<root>/fifo` — a client SIGKILLed (or taken by
 * the OOM killer) never removes its own, as containerd's leftover `/run/containerd/fifo/*`
 * directories show. A client that lives removes its set itself, and the daemon never removes one
 * whose reader lock a client holds (a slow reader of an ended exec); see {@link removeFifoSet}.
 *
 * - An exec's set, once the exec ended: at once when no client holds its lock, else at a later
 *   sweep, if its client died before it removed it.
 * - A set no exec of this daemon names — its client was killed between making it and asking
 *   for the exec, or the exec was an earlier daemon's (execs are known in memory only) — once it
 *   is {@link unnamedSetAgeMs} old and no client holds its lock.
 * - A set of a running exec is never touched.
 */
export class ExecFifoSweeper {
  readonly #root: string;
  readonly #logger: LogSink;
  /** Set directories named by running execs, with how many. */
  readonly #running = new Map<string, number>();
  /** Set directories of ended execs that a client still read when they ended. */
  readonly #ended = new Set<string>();
  /** Set directories left with a warning: not warned about again at every sweep. */
  readonly #left = new Set<string>();
  #timer: NodeJS.Timeout | null = null;

  /** @param root - the daemon's FIFO directory (`<root>/fifo`, absolute). */
  constructor(root: string, logger: LogSink) {
    this.#root = root;
    this.#logger = logger;
  }

  /** An exec with these stdio paths started: its set is not touched while it runs. */
  started(stdio: Stdio): void {
    const name = fifoSetOf(this.#root, stdio);
    if (name !== null) this.#running.set(name, (this.#running.get(name) ?? 0) + 1);
  }

  /**
   * The exec with these stdio paths ended: its set goes unless a client still reads it.
   * @returns whether a client still reads it (holds its reader lock).
   */
  ended(stdio: Stdio): boolean {
    const name = fifoSetOf(this.#root, stdio);
    if (name === null) return false;
    const n = (this.#running.get(name) ?? 1) - 1;
    if (n > 0) {
      this.#running.set(name, n);
      return false;
    }
    this.#running.delete(name);
    if (this.#remove(name) !== 'read') return false;
    this.#ended.add(name);
    return true;
  }

  /** Sweeps now, then every {@link sweepIntervalMs} (a timer that keeps no process alive). */
  start(): void {
    this.sweep();
    this.#timer ??= setInterval(() => this.sweep(), sweepIntervalMs).unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One pass over the FIFO directory; every failure is logged, none thrown. */
  sweep(): void {
    let names: string[];
    try {
      const st = fs.lstatSync(this.#root, { throwIfNoEntry: false });
      if (!st) return;
      const why = notPrivate(st);
      if (why !== '') return void this.#logger.warn({ dir: this.#root }, `the directory for exec FIFO sets is not swept: ${why}`);
      names = fs.readdirSync(this.#root);
    } catch (err) {
      return void this.#logger.warn({ err, dir: this.#root }, 'cannot list the directory for exec FIFO sets');
    }
    const now = Date.now();
    for (const name of names) {
      if (this.#running.has(name) || this.#left.has(name)) continue;
      if (!this.#ended.has(name)) {
        const st = fs.lstatSync(path.join(this.#root, name), { throwIfNoEntry: false });
        if (!st || now - st.mtimeMs < unnamedSetAgeMs) continue;
      }
      this.#remove(name);
    }
    // What its client removed meanwhile is forgotten (what the pass above removed is already).
    const present = new Set(names);
    for (const known of [this.#ended, this.#left]) for (const name of known) if (!present.has(name)) known.delete(name);
  }

  #remove(name: string): FifoSetRemoval {
    let done: FifoSetRemoval;
    try {
      done = removeFifoSet(this.#root, name, this.#logger);
    } catch (err) {
      this.#logger.warn({ err, dir: path.join(this.#root, name) }, 'cannot remove an exec FIFO set');
      done = 'left';
    }
    if (done === 'removed') this.#logger.info({ dir: path.join(this.#root, name) }, 'removed an exec FIFO set its client left');
    if (done === 'left') this.#left.add(name);
    if (done !== 'read') this.#ended.delete(name);
    return done;
  }
}
