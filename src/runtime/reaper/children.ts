import fs from 'node:fs';

/**
 * Lists the pids of this process's children, live and zombie, from `/proc/self/task/<tid>/children`.
 *
 * Every thread has its own file because a child belongs to the thread that forked it, and the
 * kernel re-parents an orphan to any live thread of a subreaper; zombies stay on the list until
 * reaped, which is what lets the monitor find exits that `waitid(P_ALL)` hides behind a child
 * libuv has not reaped yet. Returns null when `/proc` cannot be read.
 */
export function listChildren(): number[] | null {
  const pids: number[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync('/proc/self/task');
  } catch {
    return null; // no /proc: the caller must not read "no children" into this
  }
  for (const tid of tasks) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/self/task/${tid}/children`, 'utf8');
    } catch {
      continue; // the thread ended between readdir and read
    }
    for (const word of text.split(' ')) {
      const pid = Number(word);
      if (word !== '' && Number.isInteger(pid) && pid > 0) pids.push(pid);
    }
  }
  return pids;
}

/** The one-letter state (`R`, `S`, `Z` …) of `pid` from `/proc/<pid>/stat`, or null when it is gone. */
export function processState(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may itself contain spaces or ')': the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || null;
  } catch {
    return null;
  }
}

/** The parent pid of `pid` from `/proc/<pid>/stat`, or null when it is gone. */
export function parentPid(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}
