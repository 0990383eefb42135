import dc from 'node:diagnostics_channel';
import type { ChildProcess } from 'node:child_process';
import { startTimeOf } from './children.js';
import { statusFromCodeSignal } from './exit.js';

/** What Node publishes on the `child_process` diagnostics channel. */
interface ChildProcessMessage {
  process: ChildProcess;
}

/** The internals of a `ChildProcess` that tell "not spawned yet" from "spawn failed". */
interface ChildProcessInternals {
  spawnfile: string | null;
  _handle: unknown;
}

/**
 * The set of children this process reaps through someone else: libuv (every `child_process` /
 * execa child) or an owner that says so (node-pty). The monitor must never `waitpid` these:
 * libuv treats a stolen exit as "missed" and never emits `'exit'`, so the caller would hang.
 *
 * libuv's own list is not reachable from JavaScript, so the set is built from Node's
 * `child_process` diagnostics channel. Node publishes there from the `ChildProcess` constructor,
 * before the pid exists; the object is held as pending and its pid read on the next flush —
 * after `spawn()` returned, which is always before any reap can run, since reaping only happens
 * in later event-loop callbacks.
 */
export class OwnedChildren {
  /**
   * Pids of `ChildProcess`es, each with its start time read right after spawn (it is ours until libuv
   * reaps it, so nobody else can have the pid then); each removes itself on `'exit'`.
   */
  readonly #pids = new Map<number, number | undefined>();
  /** Pids declared by an owner or present at start, with their start times; dropped by {@link prune} once gone. */
  readonly #declared = new Map<number, number | undefined>();
  /**
   * Declared pids found taken by a newer process, with the declared process's start time: no longer
   * protected, but the owner's report of the old exit still names the old process by it.
   */
  readonly #superseded = new Map<number, number>();
  readonly #pending = new Set<ChildProcess>();
  readonly #onExit: (pid: number, status: number, startTime: number | undefined) => void;
  readonly #onSpawn = (message: unknown): void => {
    this.#pending.add((message as ChildProcessMessage).process);
    queueMicrotask(() => this.flush());
  };
  #listening = false;

  /** `onExit` is told of every exit libuv reaped for a tracked `ChildProcess`. */
  constructor(onExit: (pid: number, status: number, startTime: number | undefined) => void) {
    this.#onExit = onExit;
  }

  /** Starts following `child_process` spawns; `initial` are children that already exist. */
  start(initial: Iterable<number>): void {
    for (const pid of initial) this.add(pid);
    if (!this.#listening) dc.subscribe('child_process', this.#onSpawn);
    this.#listening = true;
  }

  /** Stops following spawns and forgets every pid. */
  stop(): void {
    if (this.#listening) dc.unsubscribe('child_process', this.#onSpawn);
    this.#listening = false;
    this.#pending.clear();
    this.#pids.clear();
    this.#declared.clear();
    this.#superseded.clear();
  }

  /** Moves spawned `ChildProcess`es from pending to the pid set. */
  flush(): void {
    for (const child of this.#pending) {
      const pid = child.pid;
      if (pid === undefined) {
        const inner = child as unknown as ChildProcessInternals;
        // Constructed but not spawned yet: keep waiting. Spawn failed (or never will): forget it.
        if (inner.spawnfile === null && inner._handle !== null) continue;
        this.#pending.delete(child);
        continue;
      }
      this.#pending.delete(child);
      const startTime = startTimeOf(pid) ?? undefined;
      this.#pids.set(pid, startTime);
      child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => {
        // libuv reaped it just now: the pid may be reused from here on, so stop protecting it.
        this.#pids.delete(pid);
        this.#onExit(pid, statusFromCodeSignal(code, signal), startTime);
      });
    }
  }

  /** Marks `pid` as reaped by its owner (it must still exist, as a zombie at least, to be identified). */
  add(pid: number): void {
    this.#superseded.delete(pid);
    this.#declared.set(pid, startTimeOf(pid) ?? undefined);
  }

  /** Forgets a declared `pid` (its owner reaped it); returns its start time if it was declared. */
  delete(pid: number): number | undefined {
    const startTime = this.#declared.get(pid) ?? this.#superseded.get(pid);
    this.#declared.delete(pid);
    this.#superseded.delete(pid);
    return startTime;
  }

  /** The start time recorded for a child that another reaper owns, if `pid` is one. */
  startTimeOf(pid: number): number | undefined {
    if (this.#pending.size > 0) this.flush();
    return this.#pids.get(pid) ?? this.#declared.get(pid);
  }

  /** Tells whether `pid` belongs to another reaper. */
  has(pid: number): boolean {
    if (this.#pending.size > 0) this.flush();
    return this.#pids.has(pid) || this.#isDeclared(pid);
  }

  /**
   * Whether `pid` is declared and still names the process that was. A child present at start that
   * libuv reaped, or one whose owner never reported its exit, stays declared until {@link prune}
   * sees it gone, and prune runs only when an owned zombie hides others: an orphan that took the
   * pid meanwhile would be left unreaped, a zombie whose exit nobody hears. Its start time tells
   * it from the declared process; a pid that names nobody is still declared (its owner reaped it
   * and has yet to report the exit).
   */
  #isDeclared(pid: number): boolean {
    if (!this.#declared.has(pid)) return false;
    const declared = this.#declared.get(pid);
    const now = declared === undefined ? null : startTimeOf(pid);
    if (now === null || now === declared) return true;
    this.#declared.delete(pid);
    this.#superseded.set(pid, declared!);
    return false;
  }

  /**
   * Drops declared pids that are no longer children (their owner reaped them without telling), so
   * a later orphan that reuses the pid is reaped. `children` is a fresh listing; `isChild` checks
   * one pid again, because a listing can miss a child while its thread exits and the kernel moves it.
   */
  prune(children: ReadonlySet<number>, isChild: (pid: number) => boolean): void {
    for (const pid of this.#declared.keys()) if (!children.has(pid) && !isChild(pid)) this.#declared.delete(pid);
  }
}
