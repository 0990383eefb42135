import fs from 'node:fs';
import path from 'node:path';

/**
 * What a writer announces before a rotation: the file about to be removed (overwritten by the
 * rename of `name.{N-2}`, or `name` unlinked when one file is kept), and the bytes the set may keep
 * (`maxFiles × maxSize`, which bounds what a slow reader is let hold beyond it).
 */
export interface RotationNotice {
  /** The path whose file the rotation removes (it may not exist: the set is not full yet). */
  doomed: string;
  /** The bytes the log set keeps at most. */
  setBytes: number;
}

/** Told, synchronously, of each rotation of a log written in this process. */
export type RotationListener = (notice: RotationNotice) => void;

const listeners = new Map<string, Set<RotationListener>>();

/**
 * The key of a log: its directory's real path and its name, so that a writer and a reader that name
 * one log through different paths (a symlinked directory, `..`) meet. The name itself is not
 * resolved: a log file is never a symlink (both sides refuse one). A directory that does not exist
 * (yet) keys by the path as given.
 */
function logKey(file: string): string {
  try {
    return path.join(fs.realpathSync.native(path.dirname(file)), path.basename(file));
  } catch {
    return path.resolve(file);
  }
}

/**
 * Listens for the rotations that a writer in this process ({@link announceRotation}) makes of the
 * log `file`. Returns the function that stops listening.
 */
export function onRotation(file: string, listener: RotationListener): () => void {
  const key = logKey(file);
  let set = listeners.get(key);
  if (!set) {
    set = new Set();
    listeners.set(key, set);
  }
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0 && listeners.get(key) === set) listeners.delete(key);
  };
}

/**
 * Called by a writer of the log `file` before a rotation renames or removes anything: each reader of
 * that log in this process can then open the file about to be removed, so that it stays readable
 * after its unlink. Readers in other processes are not told (they miss a file removed before they
 * reached it, as docker's and kubelet's readers do). A listener that throws is ignored: a reader
 * must never stop the writer.
 */
export function announceRotation(file: string, notice: RotationNotice): void {
  if (listeners.size === 0) return;
  const set = listeners.get(logKey(file));
  if (!set) return;
  for (const listener of [...set]) {
    try {
      listener(notice);
    } catch {
      // The reader misses that file, as one in another process would.
    }
  }
}
