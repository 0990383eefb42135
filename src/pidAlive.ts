import fs from 'node:fs';

/**
 * Whether `pid` runs, from `/proc/<pid>/stat`: a zombie does not (it has exited and only waits for
 * its reaper), and a pid with no entry does not. Reads no more than that one file.
 */
export function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}
