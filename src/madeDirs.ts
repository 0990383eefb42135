import fs from 'node:fs';
import path from 'node:path';

/**
 * Makes the missing directories above `file` (`mkdir -p` with `mode`) and returns what undoes that:
 * it removes the directories this call made, deepest first and each only while it is empty
 * (`rmdir`, never a recursive removal), so one that was there before, or that another process put
 * something in meanwhile, stays. For a path from input whose use may still fail: a failed open or
 * create leaves the directory tree as it found it.
 */
export function makeParentDirs(file: string, mode: number): () => void {
  const dir = path.dirname(file);
  const first = fs.mkdirSync(dir, { recursive: true, mode });
  return first === undefined ? noop : () => removeEmptyDirs(dir, first);
}

const noop = (): void => undefined;

/** Removes `dir` and its parents up to and including `top` while each is empty; never one above `top`. */
function removeEmptyDirs(dir: string, top: string): void {
  const last = path.resolve(top);
  for (let d = path.resolve(dir); d === last || d.startsWith(last + path.sep); d = path.dirname(d)) {
    try {
      fs.rmdirSync(d);
    } catch {
      return; // Not empty (or gone): it and its parents stay.
    }
  }
}
