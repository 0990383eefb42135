import fs from 'node:fs';

/** The v1 controllers a job uses; each one it finds mounted on its own v1 hierarchy it joins. */
export const v1Controllers = ['cpu', 'cpuacct', 'memory', 'blkio', 'freezer'] as const;
/** A v1 controller name that taskio uses. */
export type V1Controller = (typeof v1Controllers)[number];

/**
 * What cgroups look like on this machine, read from `/proc/mounts`: `'v1'` (legacy only), `'v2'`
 * (unified only) or `'hybrid'` (v1 controllers plus a cgroup2 mount, which then has few or no controllers
 * but still gives `cgroup.kill`, `cgroup.freeze`, `cgroup.events` and the basic `cpu.stat`).
 */
export interface CgroupLayout {
  /** Which of the three kinds this machine is. */
  mode: 'v1' | 'v2' | 'hybrid';
  /** Mount point of the cgroup2 hierarchy, if any. */
  v2?: string;
  /** Controllers the cgroup2 root offers (`cgroup.controllers`), e.g. `cpu memory io pids`. */
  v2Controllers: ReadonlySet<string>;
  /** Mount point of each v1 controller that is mounted (co-mounted ones share a path). */
  v1: ReadonlyMap<string, string>;
}

/** Parses `/proc/mounts` text into a {@link CgroupLayout} (pure, so tests can feed other machines). */
export function parseLayout(mounts: string, readControllers: (v2Root: string) => string): CgroupLayout {
  let v2: string | undefined;
  const v1 = new Map<string, string>();
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type, options] = line.split(' ');
    if (mountPoint === undefined || options === undefined) continue;
    const where = unescapeMount(mountPoint);
    if (type === 'cgroup2') v2 ??= where;
    else if (type === 'cgroup') {
      // Only controller names matter here, not a named hierarchy's `name=…`.
      for (const name of v1Names(options)) if (!name.includes('=') && !v1.has(name)) v1.set(name, where);
    }
  }
  const v2Controllers = new Set<string>();
  if (v2 !== undefined) {
    for (const c of readControllers(v2).split(/\s+/)) if (c) v2Controllers.add(c);
  }
  const hasV1 = v1Controllers.some((c) => v1.has(c));
  const mode = v2 === undefined ? 'v1' : hasV1 ? 'hybrid' : 'v2';
  return { mode, v2, v2Controllers, v1 };
}

// Generic and cgroup-v1 mount options that can appear beside controller names.
const mountOptions = new Set([
  'rw', 'ro', 'relatime', 'noatime', 'strictatime', 'nodiratime', 'lazytime', 'nosuid', 'nodev', 'noexec',
  'sync', 'dirsync', 'noprefix', 'clone_children', 'xattr', 'cpuset_v2_mode', 'nsdelegate', 'none',
]);

/**
 * The names a v1 hierarchy mounted with `options` goes by in `/proc/<pid>/cgroup`: its controllers
 * and its `name=…` (a named hierarchy such as `name=systemd`); v1 mount options mix them with
 * rw/relatime/release_agent=….
 */
function v1Names(options: string): string[] {
  return options.split(',').filter((opt) => opt.startsWith('name=') || (!opt.includes('=') && !mountOptions.has(opt)));
}

// /proc/mounts escapes space, tab, newline and backslash as octal.
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

let cached: CgroupLayout | undefined;

/** Reads this machine's {@link CgroupLayout} once (mounts do not change under a running program). */
export function cgroupLayout(): CgroupLayout {
  cached ??= parseLayout(fs.readFileSync('/proc/mounts', 'utf8'), (root) => {
    try {
      return fs.readFileSync(`${root}/cgroup.controllers`, 'utf8');
    } catch {
      return '';
    }
  });
  return cached;
}

/**
 * One cgroup hierarchy: where it is mounted, and the names of its line in `/proc/<pid>/cgroup`
 * (a v1 one's controllers and `name=…`; none for cgroup2, whose line is `0::<path>`).
 */
export interface Hierarchy {
  mount: string;
  version: 1 | 2;
  names: readonly string[];
}

/**
 * Every cgroup hierarchy in `/proc/mounts` text `mounts` (pure, so tests can feed other machines):
 * each v1 one (named ones such as `name=systemd` too, which {@link CgroupLayout} leaves out because
 * no controller lives there) and the cgroup2 one, each mount point once.
 */
export function parseHierarchies(mounts: string): Hierarchy[] {
  const seen = new Map<string, Hierarchy>();
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type, options] = line.split(' ');
    if (mountPoint === undefined || options === undefined || (type !== 'cgroup' && type !== 'cgroup2')) continue;
    const mount = unescapeMount(mountPoint);
    if (!seen.has(mount)) seen.set(mount, { mount, version: type === 'cgroup2' ? 2 : 1, names: type === 'cgroup2' ? [] : v1Names(options) });
  }
  return [...seen.values()];
}

let hierarchyList: readonly Hierarchy[] | undefined;

/** This machine's hierarchies ({@link parseHierarchies}), read once. A runtime makes a container's cgroup in each it knows. */
export function hierarchies(): readonly Hierarchy[] {
  hierarchyList ??= parseHierarchies(fs.readFileSync('/proc/mounts', 'utf8'));
  return hierarchyList;
}

/** The mount point of every cgroup hierarchy here ({@link hierarchies}). */
export function hierarchyMounts(): readonly string[] {
  return hierarchies().map((h) => h.mount);
}

/**
 * The cgroup path in `/proc/<pid>/cgroup` text `procCgroup` of the v1 hierarchy that goes by one of
 * `names` (its controllers, `name=…`), or of the cgroup2 one when `names` is null. Null when no line
 * is that hierarchy's, or its path is not absolute or climbs (`..`).
 */
export function cgroupPathIn(procCgroup: string, names: readonly string[] | null): string | null {
  const line = procCgroup.split('\n').find((l) => names === null
    ? l.startsWith('0::')
    : l.split(':')[1]?.split(',').some((n) => names.includes(n)));
  const rel = line?.split(':').slice(2).join(':');
  return rel === undefined || !rel.startsWith('/') || rel.split('/').includes('..') ? null : rel;
}

/** Where a process is in one hierarchy: its mount point and the cgroup's path from the hierarchy's root. */
export interface ProcessCgroup {
  mount: string;
  path: string;
}

/**
 * The cgroup of process `pid` (`self`: this one) in one hierarchy, from `/proc/<pid>/cgroup`: the
 * v1 hierarchy of `controller` when it is mounted, else the cgroup2 one; without a controller, the
 * cgroup2 one, else the first v1 hierarchy. Null when the file cannot be read, names no such
 * hierarchy, or gives a path that is not absolute or climbs (`..`).
 */
export function processCgroup(pid: number | 'self', controller?: string): ProcessCgroup | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return null;
  }
  const layout = cgroupLayout();
  const wanted = controller ?? (layout.v2 === undefined ? [...layout.v1.keys()][0] : undefined);
  const v1Mount = wanted === undefined ? undefined : layout.v1.get(wanted);
  const mount = v1Mount ?? layout.v2;
  const rel = cgroupPathIn(text, v1Mount !== undefined ? [wanted!] : null);
  return mount === undefined || rel === null ? null : { mount, path: rel };
}
