import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { TaskioError } from '../errors.js';
import { mergeEnv } from '../mergeEnv.js';
import { removeInside } from '../removeInside.js';
import { createBusyboxBundle, ociJson, readBundleConfig, type ConsoleSize, type OciRlimit, type OciSpec } from '../runtime/oci/index.js';
import type { DaemonLayout } from './layout.js';
import { withTaskMounts, type TaskMount } from './mounts.js';
import { startConsoleSize } from './consoleSize.js';
import { setNetwork, type NetworkMode } from './network.js';
import type { TaskLimits } from './records.js';
import { applySecurity, type TaskSecurity } from './security.js';
import { ociUser, type TaskUser } from './taskUser.js';

const busyboxBinary = '/usr/bin/busybox';

/**
 * The embedded default bundle, `<root>/rootfs/busybox` (config.json + rootfs/ with busybox-static),
 * built once: into a fresh temp directory, then renamed into place, so a daemon killed midway never
 * leaves a half-built rootfs where the next one would use it.
 * @throws TaskioError `ERR_NO_DEFAULT_ROOTFS` when busybox-static is not installed.
 */
export async function ensureDefaultBundle(layout: DaemonLayout): Promise<string> {
  const dir = layout.busyboxBundle;
  if (fs.existsSync(path.join(dir, 'config.json'))) return dir;
  if (!fs.existsSync(busyboxBinary)) {
    throw new TaskioError('ERR_NO_DEFAULT_ROOTFS', `no default rootfs: ${busyboxBinary} is missing (install busybox-static), or give "rootfs" or "bundle"`);
  }
  fs.mkdirSync(layout.rootfs, { recursive: true, mode: 0o700 });
  const tmp = path.join(layout.rootfs, `.busybox-${crypto.randomBytes(4).toString('hex')}`);
  try {
    await createBusyboxBundle(tmp, { args: ['sh'], busybox: busyboxBinary });
    fs.renameSync(tmp, dir);
  } catch (err) {
    removeInside(layout.rootfs, tmp);
    // Another build won the rename: use it.
    if (fs.existsSync(path.join(dir, 'config.json'))) return dir;
    throw err;
  }
  return dir;
}

/**
 * Reads and checks a bundle's config.json, named by a client: with {@link readBundleConfig}, so never
 * through a symlink and never a FIFO's blocking open.
 */
export function readSpec(bundle: string): OciSpec {
  const spec = readBundleConfig(bundle) as OciSpec | null;
  if (typeof spec !== 'object' || spec === null || typeof spec.process !== 'object' || spec.process === null || typeof spec.root?.path !== 'string') {
    throw new TaskioError('ERR_INVALID_BUNDLE', `${path.join(path.resolve(bundle), 'config.json')} has no process or root.path`);
  }
  return spec;
}

/** What a task changes in its base spec. */
export interface SpecEdits {
  args?: string[];
  /** `linux.cgroupsPath` unless the base spec has one. */
  cgroupsPath?: string;
  env?: string[];
  cwd?: string;
  terminal: boolean;
  /** The terminal's size at the start (with `terminal`; default: the spec's, else 80x24). */
  consoleSize?: ConsoleSize | undefined;
  /** The rootfs (absolute) and whether the task sees it read-only. */
  rootPath: string;
  readonly: boolean;
  limits: TaskLimits | null;
  /** Set when the spec has a UTS namespace (docker: the container id). */
  hostname: string;
  /** The network namespace of this mode (see {@link setNetwork}); absent: the spec's as it is. */
  network?: NetworkMode | undefined;
  /** Mounts added to (or replacing those at the same place in) the spec's. */
  mounts?: readonly TaskMount[];
  /** The process's user (docker's `--user`, resolved); its home becomes `HOME` unless the env sets one. */
  user?: TaskUser | undefined;
  /** The process's capabilities, replacing the spec's (`process.capabilities`). */
  capabilities?: Record<string, string[]> | undefined;
  /** The process's resource limits, replacing the spec's (`process.rlimits`). */
  rlimits?: OciRlimit[] | undefined;
  /** What `--privileged` and `--security-opt` change (runsc, runc). */
  security?: TaskSecurity | undefined;
}

/**
 * The task's OCI spec: `base` (the default bundle's, a rootfs's, or the user's bundle's) with the
 * task's process, an absolute rootfs (the bundle lives in the task directory, not beside it) and
 * its limits as `linux.resources` (runsc and runc put the task in a cgroup of their own).
 */
export function taskSpec(base: OciSpec, e: SpecEdits): OciSpec {
  const spec = structuredClone(base);
  const proc = spec.process;
  if (e.args) proc.args = e.args;
  if (!Array.isArray(proc.args) || proc.args.length === 0) throw new TaskioError('ERR_INVALID_FIELD', 'the task has no command: give "args"');
  const env = mergeEnv([...(proc.env ?? []), ...(e.terminal && !(proc.env ?? []).some((x) => x.startsWith('TERM=')) ? ['TERM=xterm'] : []), ...(e.env ?? [])]);
  if (e.capabilities) proc.capabilities = e.capabilities;
  if (e.rlimits) proc.rlimits = e.rlimits;
  if (e.user) {
    proc.user = ociUser(e.user);
    if (e.user.home !== undefined && !env.some((kv) => kv.startsWith('HOME='))) env.push(`HOME=${e.user.home}`);
  }
  proc.env = env;
  if (e.cwd) proc.cwd = e.cwd;
  proc.terminal = e.terminal;
  // The size asked, else the bundle's, else 80x24. runsc 2022-12 reads none of it: the daemon
  // sizes its pty's master before the start (see `#launch`).
  if (e.terminal) proc.consoleSize = startConsoleSize(e.consoleSize ?? proc.consoleSize);
  spec.root = { path: e.rootPath, readonly: e.readonly };
  if (e.mounts?.length) spec.mounts = withTaskMounts(spec.mounts ?? [], e.mounts);
  // A hostname needs a UTS namespace of its own (runc refuses one without).
  const namespaces = (spec.linux as { namespaces?: { type: string }[] } | undefined)?.namespaces ?? [];
  if (namespaces.some((n) => n.type === 'uts')) spec.hostname = e.hostname;
  if (e.network !== undefined) setNetwork(spec, e.network);
  if (e.cgroupsPath !== undefined) {
    const linux = (spec.linux ??= {}) as { cgroupsPath?: string };
    linux.cgroupsPath ??= e.cgroupsPath;
  }
  if (e.security) applySecurity(spec, e.security);
  if (e.limits) setLimits(spec, e.limits);
  return spec;
}

/**
 * `limits` as OCI `linux.resources` (what runc's `update --resources` reads too): memory, its reservation and memory+swap in bytes (-1: unlimited swap),
 * CPUs as a CFS quota per 100 ms period, the cpuset as `cpu.cpus`, the weight as `cpu.shares`, pids (-1: no limit, as runc writes `max`).
 */
export function ociResources(limits: TaskLimits): Record<string, { [k: string]: number | string }> {
  const cpu = {
    ...(limits.cpus !== undefined ? { quota: Math.round(limits.cpus * 100_000), period: 100_000 } : {}),
    ...(limits.cpusetCpus !== undefined ? { cpus: limits.cpusetCpus } : {}),
    ...(limits.cpuShares !== undefined ? { shares: limits.cpuShares } : {}),
  };
  const memory = {
    ...(limits.memory !== undefined ? { limit: limits.memory } : {}),
    ...(limits.memoryReservation !== undefined ? { reservation: limits.memoryReservation } : {}),
    ...(limits.memorySwap !== undefined ? { swap: limits.memorySwap } : {}),
  };
  return {
    ...(Object.keys(memory).length > 0 ? { memory } : {}),
    ...(Object.keys(cpu).length > 0 ? { cpu } : {}),
    ...(limits.pids !== undefined ? { pids: { limit: limits.pids } } : {}),
  };
}

/** Puts `limits` into `spec`'s `linux.resources`, over what the spec had for each (runsc and runc put the task in a cgroup of its own). */
export function setLimits(spec: OciSpec, limits: TaskLimits): void {
  const linux = (spec.linux ??= {}) as { resources?: Record<string, unknown> };
  const res = (linux.resources ??= {});
  for (const [key, value] of Object.entries(ociResources(limits))) res[key] = { ...(res[key] as object | undefined), ...value };
}

/** Writes `spec` as `<dir>/config.json` (dir created 0700). */
export function writeBundle(dir: string, spec: OciSpec): void {
  fs.mkdirSync(dir, { mode: 0o700 });
  fs.writeFileSync(path.join(dir, 'config.json'), ociJson(spec, 2), { mode: 0o600 });
}
