/**
 * What a soak counts to tell a leak: this process's fds and children, mounts, cgroups and entries
 * of directories, and the heap after a full GC — each counted only where this process's own tasks
 * leave things (other programs on the machine come and go beside it).
 */
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { isAlive } from '../pidAlive.js';
import { processesByArgv } from '../procArgv.js';

/** How many fds this process has open. */
export function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** What each fd of this process points at (`/proc/self/fd`), for leak checks. */
export function fdTargets(): string[] {
  return fs.readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [fs.readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return []; // closed while we looked (the directory's own fd among them)
    }
  });
}

/** The fds of this process whose target mentions `text` (a path prefix, an id prefix). */
export function fdsMentioning(text: string): string[] {
  return fdTargets().filter((target) => target.includes(text));
}

/** This process's children, live or zombie (a zombie is a leak too: nobody reaped it). */
export function childPids(): number[] {
  const out: number[] = [];
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      for (const w of fs.readFileSync(`/proc/self/task/${tid}/children`, 'utf8').split(' ')) if (w) out.push(Number(w));
    } catch {
      // The thread ended while we looked.
    }
  }
  return out;
}

/** Live processes (not zombies) other than this one whose command line mentions `text`. */
export function processesMentioning(text: string): number[] {
  return processesByArgv((argv) => argv.join('\0').includes(text)).filter((pid) => pid !== process.pid && isAlive(pid));
}

/** The mount points of this mount namespace (`/proc/self/mountinfo`). */
export function mountPoints(): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '');
}

/** Mount points in this mount namespace whose path mentions `text`. */
export function mountsMentioning(text: string): string[] {
  return mountPoints().filter((m) => m.includes(text));
}

/**
 * cgroup directories whose name starts with one of `prefixes`, at any depth of every hierarchy under
 * `/sys/fs/cgroup` (a match is not searched further). Not only the top: runc puts a container without
 * an absolute `cgroupsPath` below the caller's own cgroup, which may be nested deep (a CI runner's,
 * a systemd service's), and taskio's job objects go to `/taskio/<name>`.
 */
export function cgroupsNamed(prefixes: readonly string[], root = '/sys/fs/cgroup'): string[] {
  const out: string[] = [];
  const named = (n: string) => prefixes.some((p) => n.startsWith(p));
  const dirs = (d: string) => {
    try {
      return fs.readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return [];
    }
  };
  const walk = (dir: string): void => {
    for (const name of dirs(dir)) {
      if (named(name)) out.push(path.join(dir, name));
      else walk(path.join(dir, name));
    }
  };
  // A v1 + v2 hybrid has a hierarchy per controller and `unified`; a pure v2 host has one at the root.
  if (fs.existsSync(path.join(root, 'cgroup.procs'))) walk(root);
  else for (const h of dirs(root)) walk(path.join(root, h));
  return out;
}

/** Entries of a directory (0 when it does not exist). */
export function entriesOf(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

let gc: (() => void) | null = null;

/**
 * Bytes of the V8 heap in use after full collections. Works without `--expose-gc`: the flag is
 * turned on at run time and `gc` taken from a fresh context, as V8's own tests do.
 */
export function heapAfterGc(): number {
  if (gc === null) {
    const own = (globalThis as { gc?: () => void }).gc;
    if (own) gc = own;
    else {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    }
  }
  // Twice: the first collection's finalizers free more for the second.
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** The least-squares slope of `ys` over `xs` (0 for fewer than two points). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  let sx = 0, sy = 0;
  for (let i = 0; i < n; i++) { sx += xs[i]!; sy += ys[i]!; }
  const mx = sx / n, my = sy / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
