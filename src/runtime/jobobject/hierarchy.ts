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
      for (const opt of options.split(',')) {
        // v1 mount options mix controllers with rw/relatime/name=…; only controller names matter here.
        if (!opt.includes('=') && !mountOptions.has(opt) && !v1.has(opt)) v1.set(opt, where);
      }
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

let mounts: readonly string[] | undefined;

/**
 * The mount point of every cgroup hierarchy here, read once from `/proc/mounts`: each v1 hierarchy
 * (named ones such as `name=systemd` too, which {@link CgroupLayout} leaves out because no controller
 * lives there) and the cgroup2 one. A runtime makes a container's cgroup in all of them.
 */
export function hierarchyMounts(): readonly string[] {
  mounts ??= [...new Set(fs.readFileSync('/proc/mounts', 'utf8').split('\n').flatMap((line) => {
    const [, mountPoint, type] = line.split(' ');
    return mountPoint !== undefined && (type === 'cgroup' || type === 'cgroup2') ? [unescapeMount(mountPoint)] : [];
  }))];
  return mounts;
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
  let lines: string[];
  try {
    lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  } catch {
    return null;
  }
  const layout = cgroupLayout();
  const wanted = controller ?? (layout.v2 === undefined ? [...layout.v1.keys()][0] : undefined);
  const v1Mount = wanted === undefined ? undefined : layout.v1.get(wanted);
  const mount = v1Mount ?? layout.v2;
  const line = v1Mount !== undefined
    ? lines.find((l) => l.split(':')[1]?.split(',').includes(wanted!))
    : lines.find((l) => l.startsWith('0::'));
  const rel = line?.split(':').slice(2).join(':');
  if (mount === undefined || rel === undefined || !rel.startsWith('/') || rel.split('/').includes('..')) return null;
  return { mount, path: rel };
}
