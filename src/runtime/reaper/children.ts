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

/** What taskio reads of `/proc/<pid>/stat`. */
export interface ProcStat {
  /** The one-letter state (`R`, `S`, `Z` …). */
  state: string;
  /** The parent pid. */
  ppid: number;
  /** The session id. */
  session: number;
  /**
   * When the process started, in clock ticks after boot. With the pid it names one process: a pid
   * is reused only by a process that starts later, so the pair tells a reused pid from the old one.
   */
  startTime: number;
}

/** Parses `/proc/<pid>/stat` (the process may be a zombie); null when it is gone. */
export function procStat(pid: number): ProcStat | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is in parentheses and may itself contain spaces or ')': the fields follow the last ')'.
  // After it: state(0) ppid(1) pgrp(2) session(3) … starttime(19).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = f[0], ppid = Number(f[1]), session = Number(f[3]), startTime = Number(f[19]);
  if (!state || !Number.isInteger(ppid) || !Number.isInteger(session) || !Number.isInteger(startTime)) return null;
  return { state, ppid, session, startTime };
}

/** The one-letter state (`R`, `S`, `Z` …) of `pid` from `/proc/<pid>/stat`, or null when it is gone. */
export function processState(pid: number): string | null {
  return procStat(pid)?.state ?? null;
}

/** The parent pid of `pid` from `/proc/<pid>/stat`, or null when it is gone. */
export function parentPid(pid: number): number | null {
  return procStat(pid)?.ppid ?? null;
}

/** The start time of `pid` (see {@link ProcStat.startTime}), or null when it is gone. */
export function startTimeOf(pid: number): number | null {
  return procStat(pid)?.startTime ?? null;
}
