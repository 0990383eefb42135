import fs from 'node:fs/promises';
import path from 'node:path';
import type { ProcessSpec } from './types.js';

/** Options of {@link createBusyboxBundle}. */
export interface BusyboxBundleOptions {
  /** The container's command, e.g. `['sh', '-c', 'echo hi']` (looked up in `/bin`). */
  args: string[];
  /** Give the process a terminal (needs a console socket at create). Default false. */
  terminal?: boolean;
  /** Extra `KEY=value` entries after `PATH` (and `TERM` for a terminal). */
  env?: string[];
  /** Working directory inside the container. Default `/`. */
  cwd?: string;
  /** The static busybox to copy. Default `/usr/bin/busybox` (Debian's busybox-static). */
  busybox?: string;
  /** Hostname inside the container. Default `taskio`. */
  hostname?: string;
  /** Mount the rootfs read-only. Default false (tests write into it). */
  readonly?: boolean;
}

/** What {@link createBusyboxBundle} made. */
export interface BusyboxBundle {
  /** The bundle directory (holds `config.json` and `rootfs`). */
  dir: string;
  /** `<dir>/rootfs`. */
  rootfs: string;
  /** The OCI spec written as `config.json`. */
  spec: OciSpec;
}

/** An OCI runtime spec, typed only as far as the bundle builder fills it. */
export interface OciSpec {
  ociVersion: string;
  process: ProcessSpec;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: Array<{ destination: string; type: string; source: string; options?: string[] }>;
  linux: Record<string, unknown>;
  [key: string]: unknown;
}

/** Applets linked into `/bin` when busybox cannot list its own (it always can when static). */
const FALLBACK_APPLETS = ['sh', 'cat', 'echo', 'dd', 'sleep', 'stty', 'true', 'false', 'head', 'tail', 'ls', 'ps', 'kill', 'wc', 'seq', 'env', 'id', 'printf', 'test', 'yes', 'tr', 'grep', 'od'];

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Capabilities runc's default spec grants, enough for `kill` between processes of the task. */
const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

/**
 * Writes a minimal OCI bundle into `dir` (created if needed): a rootfs with busybox-static and a
 * link per applet in `/bin`, and a `config.json` that both runsc and runc accept as root on a host
 * with v1 cgroup controllers (no cgroup namespace, no cgroup mount, no devices beyond the defaults).
 */
export async function createBusyboxBundle(dir: string, opts: BusyboxBundleOptions): Promise<BusyboxBundle> {
  const rootfs = path.join(dir, 'rootfs');
  const bin = path.join(rootfs, 'bin');
  await fs.mkdir(bin, { recursive: true });
  for (const d of ['proc', 'dev', 'sys', 'tmp', 'etc', 'root']) await fs.mkdir(path.join(rootfs, d), { recursive: true });
  await fs.chmod(path.join(rootfs, 'tmp'), 0o1777);
  await fs.copyFile(opts.busybox ?? '/usr/bin/busybox', path.join(bin, 'busybox'));
  await fs.chmod(path.join(bin, 'busybox'), 0o755);
  for (const applet of await applets(opts.busybox ?? '/usr/bin/busybox')) {
    if (applet === 'busybox' || applet.includes('/')) continue;
    await fs.symlink('busybox', path.join(bin, applet)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  // Some tools read these; an empty rootfs makes `id`, `ps` and `hostname` lookups noisy.
  await fs.writeFile(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await fs.writeFile(path.join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');

  const terminal = opts.terminal ?? false;
  const spec: OciSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal,
      user: { uid: 0, gid: 0 },
      args: opts.args,
      env: [PATH_ENV, ...(terminal ? ['TERM=xterm'] : []), ...(opts.env ?? [])],
      cwd: opts.cwd ?? '/',
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS, ambient: CAPS },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: opts.readonly ?? false },
    hostname: opts.hostname ?? 'taskio',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
      // As in docker's and `runc spec`'s defaults: a task sees its own limits where JVMs, Go's
      // automaxprocs and libuv look for them (runc mounts the container's own cgroups here,
      // read-only), and POSIX message queues work. runsc (2022-12) skips both without an error; its
      // tasks see their memory limit as /proc/meminfo's MemTotal instead.
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: ['/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return { dir, rootfs, spec };
}

/** The applet names busybox reports (`--list`), else a fixed set that the tests and demo use. */
async function applets(busybox: string): Promise<string[]> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile(busybox, ['--list'], { encoding: 'utf8' }, (err, stdout) => {
      const names = err ? [] : stdout.split('\n').map((s) => s.trim()).filter(Boolean);
      resolve(names.length > 0 ? names : FALLBACK_APPLETS);
    });
  });
}
