import fs from 'node:fs';
import path from 'node:path';
import { TaskioError } from '../errors.js';
import { notPrivate } from '../privateDir.js';
import { readJson, writeJsonAtomic } from './atomicJson.js';

/**
 * The environment variable the exit recorder starts the real daemon with: the recorder's pid. A
 * daemon whose parent has that pid is under a recorder ({@link ownExitRecorder}); without it,
 * `taskio daemon` is the recorder itself.
 */
export const exitRecorderEnv = 'TASKIO_EXIT_RECORDER';

/** A process named so that a reused pid cannot match: its pid and start time (`/proc/<pid>/stat` field 22). */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

/**
 * `<root>/exits/<pid>-<startTime>.json`: the exit of a process the exit recorder reaped — one of
 * a dead daemon's tasks, output keepers, sandboxes, re-parented to the recorder above it — as its
 * new parent saw it. Written once, atomically, by the recorder; read and removed by a daemon.
 */
export interface RecordedExit {
  pid: number;
  startTime: string;
  /** The exit code, or 128 + the signal number (the reaper's status). */
  status: number;
  /** When the recorder reaped it (ISO). */
  exitedAt: string;
}

/** `<root>/exits`: the recorder's records (only files it made are ever removed from there). */
export function recordedExitsDir(root: string): string {
  return path.join(root, 'exits');
}

/** The record's name: pid and start time, so an older process with the same pid never matches. */
function recordName(pid: number, startTime: string): string {
  return `${pid}-${startTime}.json`;
}

/** A record's name, or the name of the temp file `writeFileAtomic` renames into one: the process it names, else null. */
const recordFile = /^(\d+)-(\d+)\.json$/;
const tempFile = /^\.(\d+)-(\d+)\.json\.[0-9a-f]{8}\.tmp$/;

/**
 * The records directory, made (0700) when missing — never the root: a root removed meanwhile is
 * not made again — and checked to be a directory only this user controls, the root too.
 * @throws TaskioError `ERR_UNSAFE_DIR`; the mkdir's error (`ENOENT`: the root is gone).
 */
function privateRecordsDir(root: string): string {
  const dir = recordedExitsDir(root);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  for (const d of [root, dir]) {
    const why = notPrivate(fs.lstatSync(d));
    if (why) throw new TaskioError('ERR_UNSAFE_DIR', `refusing directory ${d}: ${why}`);
  }
  return dir;
}

/** Writes the record of `exit` under `root` (the recorder's part): a temp file `O_EXCL|O_NOFOLLOW` renamed over the name. */
export function writeRecordedExit(root: string, exit: RecordedExit): void {
  writeJsonAtomic(path.join(privateRecordsDir(root), recordName(exit.pid, exit.startTime)), exit);
}

/**
 * The record of process `id` in `dir`, or null: none, or one that is not a regular file or not what
 * the recorder writes (a symlink or FIFO planted there is not opened: `readJson`).
 */
export function readRecordedExit(dir: string, id: ProcessIdentity): RecordedExit | null {
  let r: Partial<RecordedExit> | null;
  try {
    r = readJson<Partial<RecordedExit>>(path.join(dir, recordName(id.pid, id.startTime)));
  } catch {
    return null;
  }
  const ok = r !== null && typeof r === 'object' && r.pid === id.pid && r.startTime === id.startTime
    && Number.isInteger(r.status) && r.status! >= 0 && r.status! <= 255 && typeof r.exitedAt === 'string' && !Number.isNaN(Date.parse(r.exitedAt));
  return ok ? r as RecordedExit : null;
}

/** Removes the record of process `id` from `dir`, when it is there and a regular file. */
export function removeRecordedExit(dir: string, id: ProcessIdentity): void {
  unlinkRegular(path.join(dir, recordName(id.pid, id.startTime)));
}

/**
 * Removes the records in `dir` that name no process of `claimed` (`<pid>-<startTime>` keys), and
 * the temp files of such records a recorder killed mid-write left (older than `tempAgeMs`: a younger
 * one may be renamed into its record any moment). Anything else there is left as it is. Returns
 * the names removed.
 */
export function sweepRecordedExits(dir: string, claimed: ReadonlySet<string>, tempAgeMs = 60_000): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return []; // no records directory: no recorder ever wrote here
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = recordFile.exec(name) ?? tempFile.exec(name);
    if (m === null || claimed.has(`${m[1]}-${m[2]}`)) continue;
    const file = path.join(dir, name);
    if (name.startsWith('.') && !olderThan(file, tempAgeMs)) continue;
    if (unlinkRegular(file)) removed.push(name);
  }
  return removed;
}

function olderThan(file: string, ms: number): boolean {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  return st !== undefined && Date.now() - st.mtimeMs > ms;
}

/** Unlinks `file` if it is a regular file (lstat: a link is not followed); true when it did. */
function unlinkRegular(file: string): boolean {
  try {
    if (!fs.lstatSync(file, { throwIfNoEntry: false })?.isFile()) return false;
    fs.unlinkSync(file);
    return true;
  } catch {
    return false; // gone meanwhile, or not ours to remove
  }
}

/** The key {@link sweepRecordedExits} takes for a claimed process. */
export function claimKey(id: ProcessIdentity): string {
  return `${id.pid}-${id.startTime}`;
}
