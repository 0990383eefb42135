import fs from 'node:fs';

/**
 * The pids `/proc/locks` names as holding a `flock` on the file `st` describes (lines look like
 * `1: FLOCK  ADVISORY  WRITE 4242 fe:00:2147861 0 EOF`, the device as hex major:minor; `->` marks a
 * waiter, not a holder). flock records the pid that took the lock, so a holder that forked shows
 * as the one that took it — who a person must look for. Empty when `/proc` is not there; a holder
 * in another pid namespace (pid 0 or below) is left out.
 */
export function flockHolders(st: fs.BigIntStats): number[] {
  let text: string;
  try {
    text = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    return [];
  }
  // The kernel's new_encode_dev layout, as stat returns it.
  const major = Number(((st.dev >> 8n) & 0xfffn) | ((st.dev >> 32n) & ~0xfffn));
  const minor = Number((st.dev & 0xffn) | ((st.dev >> 12n) & ~0xffn));
  const pids = new Set<number>();
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+FLOCK\s+\S+\s+\S+\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (!m || parseInt(m[2]!, 16) !== major || parseInt(m[3]!, 16) !== minor || BigInt(m[4]!) !== st.ino) continue;
    const pid = Number(m[1]);
    if (pid > 0) pids.add(pid);
  }
  return [...pids];
}
