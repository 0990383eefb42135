import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { abortError } from '../errors.js';
import { abortable } from '../abortable.js';
import { ChangeWaiter } from './changeWaiter.js';
import { EntryDecoder } from './entryDecoder.js';
import type { FollowLogOptions, LogEntry } from './followLog.js';
import { HeldFiles, type LogGap } from './heldFiles.js';
import { indexIn, openExpected, sameFile, snapshotLogFiles, type FileIdentity, type LogFileInfo, type OpenLogFile } from './logFileSet.js';
import { findEnd, findStart, findTail, newerHasData, type LogStart } from './logStart.js';
import { findTailLines } from './criTail.js';
import type { LogFormat } from './options.js';
import { onRotation, type RotationNotice } from './rotationNotice.js';

const read = promisify(fs.read), close = promisify(fs.close), lstat = promisify(fs.lstat), fstat = promisify(fs.fstat);

const readSize = 256 * 1024;

/** The states of a {@link LogFollower}; see its rules. */
export type FollowState = 'locating' | 'reading' | 'atEnd' | 'finishing' | 'opening' | 'waiting' | 'done';

/**
 * Reads one log file set (`name`, `name.1`, … as the writers rotate it) as batches of entries,
 * following it across rotations by file identity: the file being read stays open after it is
 * renamed, is read to its end, and the next newer file is found by inode. The engine of
 * {@link followLog}.
 *
 * A writer in the same process announces each rotation before it renames anything (rule 19): a
 * follower that has not reached the file the rotation removes then holds it open ({@link HeldFiles},
 * bounded), so it reads every file once and in order however fast the log rotates, as long as it
 * stays within that bound; past it the files let go are reported as a gap (`onGap`). That holds from
 * the moment it begins to locate its start (rule 20): its search runs on the files open, so a
 * rotation meanwhile moves its start no later. A log written by another process announces nothing:
 * a follower more than the set behind misses the files removed.
 *
 * States:
 * - `locating`: finding where to start (the last `tail` entries, `since`, the end, or the start) in
 *   the files of the set, opened at once, and the files held since the follower began (older);
 * - `reading`: reading the current file from the offset reached;
 * - `atEnd`: the current file is read to its end; deciding whether more can come into it;
 * - `finishing`: the current file is complete: its last bytes and a dangling last line are read;
 * - `opening`: opening the next newer file of the set;
 * - `waiting`: waiting for a change in the directory (following only), then back to `after`;
 * - `done`: the iteration ended.
 *
 * Rules, one per branch:
 * 1. `locating`, a start found → `reading`; of the files searched, those newer than the start that
 *    left the set meanwhile are held (oldest first, before any held during the search), the others
 *    closed; when the start is the beginning of the oldest and files were let go before it, that gap
 *    goes to `onGap` first;
 * 2. `locating`, no file at all → the log is empty, so whatever `tail` asks, everything the log
 *    will hold is new: the start is offset 0 of the first file to come, and is known now; wait, then
 *    `locating` (following) or `done`;
 * 3. `locating`, a rotation moved a file of the set between the look and its open → `locating` again
 *    (each time follows a real rotation, so this is no busy loop; what it removed is held, rule 20);
 * 4. `reading`, bytes read → their entries are handed out, `reading`;
 * 5. `reading` (or `finishing`), nothing more and the file is now shorter than the offset reached:
 *    it was truncated in place (logrotate's `copytruncate`, `: > file`) → a dangling last line is
 *    handed out as at the end of a file, and reading starts again at offset 0 (as `tail -F` does);
 * 6. `reading`, nothing more (a held file: its final size reached, without a read) → `atEnd`;
 * 7. `atEnd`, the file is `name` → wait, then `reading` (following) or `done`;
 * 8. `atEnd`, the file was renamed and no newer file holds data yet → wait, then `reading`
 *    (following: an external logrotate renames the live file and the writer appends to it until its
 *    `reopen()`, so those entries are read too), or `finishing` (not following);
 * 9. `atEnd`, renamed and a newer file holds data (the writer writes in order, so it moved on) →
 *    `finishing`;
 * 10. `finishing` → what came after the last read and a dangling last line are handed out, `opening`
 *     (or `done`, rule 21);
 * 11. `opening`, the next newer file opened → `reading` it from its start;
 * 12. `opening`, no newer file (yet) → wait, then `opening` (following) or `done`;
 * 13. `waiting`, a change (or the 1 s poll) → the state it waited in;
 * 14. the signal aborted, in any state → the iteration rejects with an `AbortError`;
 * 15. `done` → lines still being joined (reassembly) are handed out as partial, then nothing;
 * 16. a wait once `until` settled (the writer is done) → one more pass without waiting, and the
 *     wait after that pass → `done`; a wait in progress when `until` settles ends at once.
 * 17. `atEnd`, a file is held (the writer in this process rotated past the current file, so that
 *     one is complete) → `finishing`, without a look at the directory;
 * 18. `opening`, a file is held — also one held while rule 11's look and open ran (it is older than
 *     any file still in the set, so the one opened is closed again) → the gap of the files let go
 *     before it, if any, goes to `onGap`, then `reading` the held file from its start;
 * 19. a rotation announced by the writer in this process, while there is a current file and the
 *     iteration is not `done`: when the current file has left the set (no link to it is left), every
 *     file in the set is newer, so the one the rotation removes is held (opened before its unlink);
 *     else that one is older, read already, and nothing is held.
 * 20. a rotation announced while `locating` (no current file yet): the file it removes is held, unless
 *     the search has it open already — any file may hold the start. The files the search has open
 *     count toward the held files' bound meanwhile, so the bound holds while it locates too.
 * 21. not following, `finishing` the file that was the newest of the set when the start was found →
 *     `done`: the log as it was when the read began, as docker's reader ends. Rules 8 and 9 alone
 *     went on to each newer file while a writer rotated faster than the read went: a `logs` of a
 *     task flooding a 4 KiB, two-file log never ended.
 * 22. not following, `opening`, nothing held, and the newest file of rule 21 has left the set (a
 *     writer in another process rotated it out before the read reached it) → `done`: rotations remove
 *     the oldest file first, so nothing of the log as it was when the read began is left to read,
 *     and every file still there came later. Without this, a read that fell more than the set behind
 *     such a writer never met that file again and went on for as long as the writer wrote.
 *
 * `onStart` is called once, with rule 1 or 2, whichever comes first.
 */
export class LogFollower {
  #state: FollowState = 'locating';
  #after: FollowState = 'locating';
  #cur: LogStart | null = null;
  /** `tail` until rule 2 fixed the start at the first file to come (then undefined: from its start). */
  #tail: number | undefined;
  #onStart: (() => void) | undefined;
  readonly #file: string;
  readonly #format: LogFormat;
  readonly #opts: FollowLogOptions;
  readonly #decoder: EntryDecoder;
  readonly #waiter: ChangeWaiter | null;
  readonly #buf = Buffer.allocUnsafe(readSize);
  readonly #onAbort = (): void => this.#waiter?.close();
  #writerDone = false;
  #lastPass = false;
  readonly #held = new HeldFiles();
  /** While locating: the files the search has open, newest first (rule 20 does not hold them again). */
  #searched: OpenLogFile[] | null = null;
  /** Not following: the newest file of the set when the start was found, the last one read (rule 21). */
  #last: FileIdentity | null = null;
  readonly #unlisten: () => void;
  readonly #closed = new AbortController();

  /** `opts` are checked already (see followLog). */
  constructor(file: string, format: LogFormat, opts: FollowLogOptions) {
    this.#file = file;
    this.#format = format;
    this.#opts = opts;
    this.#tail = opts.tail;
    this.#onStart = opts.onStart;
    this.#decoder = new EntryDecoder(format, opts.since?.getTime(), opts.reassemble ?? false);
    this.#waiter = opts.follow ? new ChangeWaiter(path.dirname(file), path.basename(file)) : null;
    // An abort while the consumer is not pulling still releases the watch at once.
    opts.signal?.addEventListener('abort', this.#onAbort, { once: true });
    // A wait in progress ends at once (rule 16), without a race on `until` per wait: those stayed on it too.
    const done = (): void => {
      this.#writerDone = true;
      this.#waiter?.wake();
    };
    // Through abortable, let go at close: `until` is a task's end, weeks away maybe, and a reaction
    // of this follower's own on it kept every follower closed meanwhile (each `logs -f` and attach
    // of the task, its read buffer and all) until then.
    if (opts.until) void abortable(opts.until, this.#closed.signal).then(done, () => { if (!this.#closed.signal.aborted) done(); });
    this.#unlisten = onRotation(file, this.#onRotation);
  }

  /** Where the follower is (for tests and diagnostics). */
  get state(): FollowState {
    return this.#state;
  }

  /** The next entries (a non-empty batch), or null once the iteration is done. */
  async next(): Promise<LogEntry[] | null> {
    const { signal } = this.#opts;
    for (;;) {
      if (signal?.aborted) throw abortError(signal); // rule 14
      let out: LogEntry[] = [];
      switch (this.#state) {
        case 'locating': await this.#locate(); break;
        case 'reading': out = await this.#reading(); break;
        case 'atEnd': await this.#atEnd(); break;
        case 'finishing': out = await this.#finish(); break;
        case 'opening': await this.#openNext(); break;
        case 'waiting':
          await this.#waiter!.wait(signal);
          this.#state = this.#after; // rule 13 (or 16)
          break;
        case 'done':
          out = this.#decoder.end(); // rule 15
          if (out.length === 0) return null;
          break;
      }
      if (out.length > 0) return out;
    }
  }

  /** Releases the watch and the open files. Idempotent. */
  async close(): Promise<void> {
    this.#opts.signal?.removeEventListener('abort', this.#onAbort);
    this.#closed.abort();
    this.#waiter?.close();
    this.#unlisten();
    this.#held.close();
    const cur = this.#cur;
    this.#cur = null;
    if (cur) await close(cur.file.fd).catch(() => undefined);
  }

  /** Rules 19 and 20. Synchronous: it runs in the writer's rotation, before anything is renamed. */
  readonly #onRotation = ({ doomed, setBytes }: RotationNotice): void => {
    if (this.#state === 'done') return;
    const cur = this.#cur;
    if (cur === null ? this.#searching(doomed) : fs.fstatSync(cur.file.fd).nlink > 0) return;
    this.#held.hold(doomed, setBytes);
  };

  /** Whether the file at `doomed` is one the search has open. */
  #searching(doomed: string): boolean {
    const searched = this.#searched;
    if (searched === null) return false;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(doomed);
    } catch {
      return false; // nothing there: hold() finds nothing either
    }
    return searched.some((f) => f.ino === st.ino && f.dev === st.dev);
  }

  /** Waits for a change and goes on in `after` when following; ends otherwise. */
  #waitOr(after: FollowState): void {
    if (this.#waiter && !this.#lastPass) {
      if (this.#writerDone) {
        this.#lastPass = true; // rule 16
        this.#state = after;
        return;
      }
      this.#state = 'waiting';
      this.#after = after;
    } else {
      this.#state = 'done';
    }
  }

  async #locate(): Promise<void> {
    const searched: OpenLogFile[] = [];
    this.#searched = searched;
    let start: LogStart | null = null, gap: LogGap | null = null, empty = false;
    try {
      const snap = await snapshotLogFiles(this.#file);
      empty = snap.every((x) => x === null);
      if (await this.#open(snap, searched)) {
        // The files removed since the follower began are older than the set: they come last.
        const kept = this.#held.takeAll();
        searched.push(...kept.files.reverse());
        gap = kept.gap;
        start = await this.#find(searched);
      }
    } finally {
      // From here to the end no await: no rotation comes between the search and the current file.
      this.#searched = null;
      this.#held.release();
      this.#keepNewer(searched, start);
    }
    if (start) {
      this.#cur = start;
      if (!this.#waiter) this.#last = searched[0] ?? null;
      this.#state = 'reading'; // rule 1
      if (gap && start.file === searched[searched.length - 1] && start.offset === 0) this.#opts.onGap?.(gap);
      this.#started();
    } else if (empty && searched.length === 0) {
      this.#tail = undefined; // rule 2
      this.#started();
      this.#waitOr('locating');
    }
    // else rule 3: stay `locating`.
  }

  /**
   * Opens every file of `snap` into `searched`, newest first, each counted toward the held files'
   * bound; false when a rotation moved one meanwhile (rule 3). Newest first: a rotation removes the
   * oldest file, so one removed while they are opened was not opened yet and is held (rule 20).
   */
  async #open(snap: (LogFileInfo | null)[], searched: OpenLogFile[]): Promise<boolean> {
    for (const info of snap) {
      if (info === null) continue;
      const file = await openExpected(info);
      if (file === null) return false;
      searched.push(file);
      this.#held.reserve(file);
    }
    return true;
  }

  /** The start in `files` (open, newest first): the last `tail` entries (CRI: lines), `since`, the end, or the start. */
  #find(files: OpenLogFile[]): Promise<LogStart | null> {
    const tail = this.#tail;
    if (tail === 0) return findEnd(files, this.#format);
    if (tail !== undefined) return this.#format === 'cri' ? findTailLines(files, tail) : findTail(files, tail, this.#format);
    return findStart(files, this.#opts.since);
  }

  /**
   * Rule 1: of the files searched (newest first), those newer than `start` that left the set are held,
   * oldest first, before the files held meanwhile (they are older); the others are closed (the start
   * stays open). Synchronous, so no rotation comes between.
   */
  #keepNewer(searched: OpenLogFile[], start: LogStart | null): void {
    const at = start ? searched.indexOf(start.file) : searched.length;
    const left: OpenLogFile[] = [];
    for (const [k, file] of searched.entries()) {
      if (k === at) continue;
      const st = k < at ? fs.fstatSync(file.fd) : null;
      if (st !== null && st.nlink === 0) left.unshift({ ...file, size: st.size, complete: true });
      else fs.closeSync(file.fd);
    }
    this.#held.unshift(left);
  }

  /** Calls `onStart` the first time only. */
  #started(): void {
    const onStart = this.#onStart;
    this.#onStart = undefined;
    onStart?.();
  }

  async #reading(): Promise<LogEntry[]> {
    const got = await this.#readChunk();
    if (got === null) this.#state = 'atEnd'; // rule 6
    return got ?? []; // rule 4
  }

  /** The entries of the next chunk of the current file; null at its end. */
  async #readChunk(): Promise<LogEntry[] | null> {
    const cur = this.#cur!;
    if (cur.file.complete && cur.offset >= cur.file.size) return null; // rule 6: a held file's end
    const { bytesRead } = await read(cur.file.fd, this.#buf, 0, this.#buf.length, cur.offset);
    if (bytesRead === 0) {
      if ((await fstat(cur.file.fd)).size >= cur.offset) return null;
      cur.offset = 0; // rule 5
      return this.#decoder.endOfFile();
    }
    cur.offset += bytesRead;
    return this.#decoder.push(this.#buf.subarray(0, bytesRead));
  }

  async #atEnd(): Promise<void> {
    if (this.#held.count > 0) {
      this.#state = 'finishing'; // rule 17
      return;
    }
    // Rule 7 in one look, the usual case (no rotation since the file was opened): `name` is the
    // file being read right now. One lstat sees one moment, as a snapshot does; the two sweeps of
    // a snapshot are for placing renamed files, which only rules 8 and 9 need.
    if (await this.#stillNamed()) {
      this.#waitOr('reading');
      return;
    }
    const snap = await snapshotLogFiles(this.#file);
    const k = indexIn(snap, this.#cur!.file);
    if (k === 0) this.#waitOr('reading'); // rule 7
    else if (!newerHasData(snap, k)) {
      if (this.#waiter) this.#waitOr('reading'); // rule 8
      else this.#state = 'finishing';
    } else {
      this.#state = 'finishing'; // rule 9
    }
  }

  /** Whether `name` is the file being read (a missing or other file: no, the snapshot decides). */
  async #stillNamed(): Promise<boolean> {
    try {
      const st = await lstat(this.#file);
      return st.isFile() && st.ino === this.#cur!.file.ino && st.dev === this.#cur!.file.dev;
    } catch {
      return false;
    }
  }

  async #finish(): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    for (let got = await this.#readChunk(); got !== null; got = await this.#readChunk()) out.push(...got);
    out.push(...this.#decoder.endOfFile());
    this.#state = this.#last !== null && sameFile(this.#last, this.#cur!.file) ? 'done' : 'opening'; // rules 21 and 10
    return out;
  }

  async #openNext(): Promise<void> {
    const next = await this.#nextNewer(this.#cur!.file);
    if (next === 'past') {
      this.#state = 'done'; // rule 22
      return;
    }
    if (next === null) {
      this.#waitOr('opening'); // rule 12
      return;
    }
    // The file read so far is closed only once it is no longer current: rule 19 looks at the current
    // one's fd, whose number a close would free for reuse.
    const old = this.#cur!.file.fd;
    this.#cur = { file: next, offset: 0 };
    this.#state = 'reading'; // rules 11 and 18
    await close(old);
  }

  /**
   * The file after `from`, opened: the oldest held one, else the next newer in the set; null when
   * there is none; `past` when not following and the set no longer has the newest file of the read's
   * start (rule 22).
   */
  async #nextNewer(from: OpenLogFile): Promise<OpenLogFile | null | 'past'> {
    for (;;) {
      const held = this.#held.take();
      if (held) {
        if (held.gap) this.#opts.onGap?.(held.gap); // rule 18
        return held.file;
      }
      const snap = await snapshotLogFiles(this.#file);
      if (this.#last !== null && indexIn(snap, this.#last) < 0) return 'past';
      const k = indexIn(snap, from);
      // Gone from the set: it rotated out while read, so every file still there is newer.
      const target = k < 0 ? [...snap].reverse().find((x) => x !== null) : snap[k - 1];
      if (!target) return null;
      const next = await openExpected(target);
      // Null: a rotation moved it between the look and the open; look again.
      if (next === null) continue;
      if (this.#held.count === 0) return next;
      await close(next.fd); // rule 18: a file held meanwhile comes first
    }
  }
}
