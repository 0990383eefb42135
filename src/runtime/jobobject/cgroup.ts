import fs from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { TaskioError } from '../../errors.js';
import { cgroupLayout, type CgroupLayout } from './hierarchy.js';

/** The directory every job lives under, in each hierarchy: `<mount>/taskio/<name>`. */
export const ParentName = 'taskio';

/** A job's cgroup as a path from a hierarchy's root: `/taskio/<name>`. */
export function jobCgroupPath(name: string): string {
  return `/${ParentName}/${name}`;
}

/** Where one concern of a job is controlled: a directory and the cgroup version its files follow. */
export interface Place {
  version: 1 | 2;
  dir: string;
}

/**
 * The cgroup directories of one job across every hierarchy it joins, and which of them answers
 * for each concern. A controller is used from cgroup2 when the cgroup2 root offers it, else from its
 * v1 hierarchy; so a unified-only machine and this hybrid one run the same code with other places.
 */
export class CgroupSet {
  /** Every directory a process of the job must be written into (one per joined hierarchy). */
  readonly dirs: readonly string[];
  /** CPU limits (`cpu.max`/`cpu.weight` or `cpu.cfs_*`/`cpu.shares`), if any hierarchy has them. */
  readonly cpu?: Place;
  /** CPU time (`cpu.stat` on cgroup2, always there; else v1 `cpuacct`). */
  readonly cpuStat?: Place;
  /** Memory limits and usage. */
  readonly memory?: Place;
  /** Block I/O limits and counters (`io.*` or `blkio.throttle.*`). */
  readonly io?: Place;
  /**
   * Every freezer the job is in: cgroup2's `cgroup.freeze` and the v1 `freezer.state`, each where it
   * is mounted. A hybrid machine joins both: systemd owns the cgroup2 hierarchy there and may move a
   * process out of the job's cgroup2 directory, and the v1 freezer still holds that one (terminate).
   */
  readonly freezers: readonly Place[];
  /** The cgroup2 directory, which has `cgroup.kill` and `cgroup.events`. */
  readonly unified?: string;
  /** The cgroup2 directory's `cgroup.events` (`populated`, `frozen`), where there is one. */
  get eventsFile(): string | undefined {
    return this.unified === undefined ? undefined : path.join(this.unified, 'cgroup.events');
  }
  /** The directory whose `cgroup.procs` lists the job's processes. */
  readonly listDir: string;

  readonly #parents: string[] = [];
  readonly #v2Enable: string[] = [];
  /**
   * Directories a job made by an earlier taskio lacks: the hybrid machine's v1 freezer, joined since.
   * Such a job still exists; {@link fillIn} makes them, and {@link exists} does not ask for them.
   */
  readonly #joinedLater: string[] = [];

  constructor(
    readonly name: string,
    readonly layout: CgroupLayout = cgroupLayout(),
  ) {
    const dirs: string[] = [];
    const join = (mount: string): string => {
      const parent = path.join(mount, ParentName);
      const dir = path.join(parent, name);
      if (!dirs.includes(dir)) {
        dirs.push(dir);
        this.#parents.push(parent);
      }
      return dir;
    };
    const v2has = (c: string): boolean => layout.v2 !== undefined && layout.v2Controllers.has(c);
    const v1 = (c: string): Place | undefined => {
      const mount = layout.v1.get(c);
      return mount === undefined ? undefined : { version: 1, dir: join(mount) };
    };
    if (layout.v2 !== undefined) this.unified = join(layout.v2);
    const v2place = (c: string): Place | undefined => {
      if (!v2has(c) || this.unified === undefined) return undefined;
      this.#v2Enable.push(c);
      return { version: 2, dir: this.unified };
    };
    this.cpu = v2place('cpu') ?? v1('cpu');
    this.memory = v2place('memory') ?? v1('memory');
    this.io = v2place('io') ?? v1('blkio');
    this.cpuStat = this.unified !== undefined ? { version: 2, dir: this.unified } : v1('cpuacct');
    const v1Freezer = v1('freezer');
    this.freezers = [...(this.unified !== undefined ? [{ version: 2 as const, dir: this.unified }] : []), ...(v1Freezer ? [v1Freezer] : [])];
    if (this.unified !== undefined && v1Freezer !== undefined) this.#joinedLater.push(v1Freezer.dir);
    const first = dirs[0];
    if (first === undefined) {
      throw new TaskioError('ERR_NOT_SUPPORTED', `job object ${JSON.stringify(name)}: no cgroup hierarchy (v1 or v2) is mounted`);
    }
    this.dirs = dirs;
    this.listDir = this.unified ?? first;
  }

  /**
   * The `cgroup.procs` file of every joined hierarchy, the one {@link pids} reads last: a process
   * that writes itself into them in this order is in every hierarchy once `pids` lists it.
   */
  procsFiles(): string[] {
    return [...this.dirs.filter((d) => d !== this.listDir), this.listDir].map((d) => path.join(d, 'cgroup.procs'));
  }

  /**
   * True when the job's directories exist (all of them, so a half-removed job is not "found").
   * A name that is a file there — a cgroup interface file such as `cgroup.procs` or v1's `tasks`,
   * which the name pattern cannot tell from a job on every kernel — is `ERR_INVALID_ARG_VALUE`:
   * reading it as a job would fail later on a path through a file, and making it would fail halfway.
   */
  async exists(): Promise<boolean> {
    let all = true;
    for (const d of this.dirs) {
      try {
        if (!(await fs.lstat(d)).isDirectory()) {
          throw new TaskioError('ERR_INVALID_ARG_VALUE', `job object name ${JSON.stringify(this.name)} is invalid here: ${d} is a file of the cgroup hierarchy, not a job`);
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (!this.#joinedLater.includes(d)) all = false;
      }
    }
    return all;
  }

  /**
   * Makes what an existing job made by an earlier taskio lacks (see `#joinedLater`), so that spawn
   * and assign can enter every hierarchy. Its processes stay out of them, as they were.
   */
  async fillIn(): Promise<void> {
    for (const d of this.#joinedLater) {
      await fs.mkdir(path.dirname(d), { recursive: true }); // the last job's close there removed its parent
      await fs.mkdir(d).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
  }

  /**
   * Makes the job's directories (existing ones are kept, so create of an existing name opens it, as
   * Windows' CreateJobObject does), first enabling the cgroup2 controllers it needs for the children of
   * the root and of the `taskio` parent. A failure removes the directories this call made: a job made
   * in some hierarchies only would be listed by `JobObject.names()` yet never found by open.
   */
  async create(): Promise<void> {
    const made: string[] = [];
    try {
      await this.#create(made);
    } catch (err) {
      for (const d of made.reverse()) await fs.rmdir(d).catch(() => undefined);
      for (const p of this.#parents) await fs.rmdir(p).catch(() => undefined); // only if empty
      throw err;
    }
  }

  async #create(made: string[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        for (const parent of this.#parents) await fs.mkdir(parent, { recursive: true });
        if (this.unified !== undefined && this.#v2Enable.length > 0) {
          const want = this.#v2Enable.map((c) => `+${c}`).join(' ');
          const root = this.layout.v2!;
          await fs.writeFile(path.join(root, 'cgroup.subtree_control'), want);
          await fs.writeFile(path.join(path.dirname(this.unified), 'cgroup.subtree_control'), want);
        }
        for (const d of this.dirs) {
          if (made.includes(d)) continue;
          try {
            await fs.mkdir(d);
            made.push(d);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          }
        }
        return;
      } catch (err) {
        // Another job's close may remove an empty `taskio` parent between our mkdirs: make it again.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw err;
      }
    }
  }

  /**
   * Removes the job's directories, then each `taskio` parent that became empty. `EBUSY` means
   * processes are still inside; the caller decides whether to wait. The directory that lists the
   * job goes last, so a removal stopped halfway leaves a job that `JobObject.names()` still lists.
   */
  async remove(): Promise<void> {
    for (const d of [...this.dirs.filter((x) => x !== this.listDir), this.listDir]) {
      try {
        await fs.rmdir(d);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    for (const p of this.#parents) {
      // Best effort: another job may live there (ENOTEMPTY/EBUSY) or another close got there first.
      await fs.rmdir(p).catch(() => undefined);
    }
  }

  /** The pids in the job (its `cgroup.procs`, in the cgroup2 directory when there is one). */
  async pids(): Promise<number[]> {
    return readProcs(this.listDir);
  }

  /**
   * Whether any of the job's directories holds a process. On a hybrid machine the hierarchies are
   * separate: a process moved out of the job's cgroup2 directory by another program (systemd owns
   * that hierarchy there) is still in its v1 ones, charged to its memory limit, and makes their
   * rmdir fail `EBUSY`, though {@link pids} no longer lists it. A directory that is gone holds none.
   */
  async anyProcess(): Promise<boolean> {
    for (const pids of (await this.procsByDir()).values()) if (pids.length > 0) return true;
    return false;
  }

  /** The pids in each of the job's directories (`cgroup.procs`); a directory that is gone holds none. */
  async procsByDir(): Promise<Map<string, number[]>> {
    const byDir = new Map<string, number[]>();
    for (const d of this.dirs) {
      try {
        byDir.set(d, await readProcs(d));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        byDir.set(d, []);
      }
    }
    return byDir;
  }

  /** Moves `pid` into every joined hierarchy. */
  async assign(pid: number): Promise<void> {
    for (const f of this.procsFiles()) await fs.writeFile(f, `${pid}\n`);
  }
}

async function readProcs(dir: string): Promise<number[]> {
  const text = await fs.readFile(path.join(dir, 'cgroup.procs'), 'utf8');
  return text.split('\n').filter(Boolean).map(Number);
}

/** Reads a cgroup file as text, or `undefined` when the kernel does not have it. */
export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Reads a file of a process under `/proc/<pid>/` as text, or `undefined` once the process is gone:
 * `ENOENT` when it was reaped before the open, `ESRCH` when it went between the open and the read
 * (a child of the job's spawn that exits while its join is checked).
 */
export async function readProcFile(file: string): Promise<string | undefined> {
  try {
    return await readOptional(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw err;
  }
}

/** True when a cgroup file exists (some, like `cgroup.kill`, are write-only and cannot be read to check). */
export async function fileExists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** Parses `key value` lines (`cpu.stat`, `memory.stat`, `cgroup.events`) into a map. */
export function parseKeyed(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.split(/\s+/);
    if (k && v !== undefined) m.set(k, Number(v));
  }
  return m;
}

/**
 * `fs.watch` that never throws nor emits an unhandled `'error'`: when the watch cannot be made (inotify
 * limits, a file that is gone) it returns undefined, and when it fails later it is dropped and
 * `onFail` runs, so the caller can fall back to polling.
 */
export function watchQuietly(file: string, onChange: () => void, onFail: () => void): FSWatcher | undefined {
  let w: FSWatcher;
  try {
    w = watch(file, onChange);
  } catch {
    return undefined;
  }
  w.on('error', () => {
    w.close();
    onFail();
  });
  return w;
}
