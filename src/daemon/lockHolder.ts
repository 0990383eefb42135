import fs from 'node:fs';

/**
 * The pids holding a `flock` on any of `paths`, from `/proc/locks` (matched by device and inode),
 * for messages that name who holds a lock. flock records the pid that took the lock; a holder
 * that forked hands it on, so this is who took it, which is what a person needs to know.
 */
export function lockHolders(paths: readonly string[]): number[] {
  const wanted = new Set<string>();
  for (const p of paths) {
    try {
      const st = fs.statSync(p);
      const major = (st.dev >> 8) & 0xfff, minor = (st.dev & 0xff) | ((st.dev >> 12) & 0xfff00);
      wanted.add(`${major}:${minor}:${st.ino}`);
    } catch {
      // Gone: nobody holds a lock on it.
    }
  }
  if (wanted.size === 0) return [];
  let text: string;
  try {
    text = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    return [];
  }
  const pids = new Set<number>();
  for (const line of text.split('\n')) {
    // `1: FLOCK  ADVISORY  WRITE 4242 fd:01:123456 0 EOF`; waiters are marked `->`.
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || f[1] === '->' || f[1] !== 'FLOCK') continue;
    const [maj, min, ino] = f[5]!.split(':');
    if (maj === undefined || min === undefined || ino === undefined) continue;
    if (wanted.has(`${parseInt(maj, 16)}:${parseInt(min, 16)}:${ino}`)) pids.add(Number(f[4]));
  }
  return [...pids];
}
