import os from 'node:os';
import { readRegularFileSync } from '../readRegularFile.js';
import { detectFeatures } from '../runtime/oci/index.js';
import { cgroupLayout, type CgroupLayout } from '../runtime/jobobject/index.js';
import type { RuntimeName } from './records.js';
import type { Runtimes } from './runtimes.js';
import type { TaskState } from './task.js';

/** One runtime of `GET /info`: docker's `path` (none for the host backend, which is the daemon's own code) and its version. */
export interface InfoRuntime {
  path?: string;
  /** Its `--version`, the number alone (`1.1.5+ds1`); null when the binary would not say. */
  version?: string | null;
}

/**
 * What `GET /info` tells: docker's `docker info` where it means something for taskio, under
 * docker's field names (`Containers` are tasks; `RootDir` is docker's `DockerRootDir`).
 */
export interface SystemInfo {
  /** Every task the daemon has, and how many of them run, are paused, or neither (created, exited, restarting: docker's Stopped). */
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  ServerVersion: string;
  ApiVersion: number;
  /** The state root. */
  RootDir: string;
  /** The runtimes a task can be given here (runsc and runc need root), by name. */
  Runtimes: Partial<Record<RuntimeName, InfoRuntime>>;
  DefaultRuntime: RuntimeName;
  /** The log a task gets unless it asks for another: CRI lines in its task directory, podman's `k8s-file`. */
  LoggingDriver: 'k8s-file';
  /** taskio writes the cgroup files itself (job objects, runc's `cgroupsPath`), as docker's `cgroupfs` driver. */
  CgroupDriver: 'cgroupfs';
  /** docker's: `2` on a unified-only host, else `1`. */
  CgroupVersion: '1' | '2';
  /** What jobs join here: `hybrid` is v1 controllers plus the cgroup2 mount (for kill, freeze, events). */
  CgroupMode: CgroupLayout['mode'];
  /** docker's `name=seccomp,profile=builtin` form: what applies to tasks unless they ask otherwise. */
  SecurityOptions: string[];
  /** Tasks keep running when the daemon stops, and the next daemon adopts them. */
  LiveRestoreEnabled: true;
  KernelVersion: string;
  /** `PRETTY_NAME` of os-release(5); empty when there is none. */
  OperatingSystem: string;
  OSType: string;
  /** The machine's (`uname -m`, `x86_64`), as docker's. */
  Architecture: string;
  NCPU: number;
  MemTotal: number;
  /** The host name. */
  Name: string;
  NodeVersion: string;
  Pid: number;
  /** What may not work as asked here, one sentence each. */
  Warnings: string[];
}

/** What the daemon knows that `GET /info` shows. */
export interface InfoSource {
  version: string;
  apiVersion: number;
  root: string;
  runtimes: Runtimes;
  /**
   * Every task's state (one waiting for its restart policy is exited: Stopped, as docker counts it;
   * a dead one, whose record cannot be used, is Stopped too, as docker counts its dead containers).
   */
  tasks: ReadonlyArray<{ state: TaskState | 'dead' }>;
}

/** `PRETTY_NAME` of os-release(5): `/etc/os-release`, else `/usr/lib/os-release`; empty when neither says. */
export function operatingSystem(): string {
  for (const file of ['/etc/os-release', '/usr/lib/os-release']) {
    let text: string | null;
    try {
      text = readRegularFileSync(file, { followLinks: true, maxBytes: 64 * 1024 }); // /etc/os-release is a link to the other
    } catch {
      continue;
    }
    const line = text?.split('\n').find((l) => l.startsWith('PRETTY_NAME='));
    if (line !== undefined) return line.slice('PRETTY_NAME='.length).replace(/^(["'])(.*)\1$/, '$2');
  }
  return '';
}

/** A runtime's version number from the first line of its `--version` (`runc version 1.1.5+ds1` → `1.1.5+ds1`). */
function versionNumber(firstLine: string): string {
  return firstLine.replace(/^\S+ version\s+/i, '');
}

/** The runtimes usable here with their versions, and a warning for each that is not. */
async function usableRuntimes(runtimes: Runtimes, warnings: string[]): Promise<SystemInfo['Runtimes']> {
  const out: SystemInfo['Runtimes'] = { host: {} };
  const root = process.getuid?.() === 0;
  for (const name of ['runc', 'runsc'] as const) {
    const bin = runtimes[name];
    if (bin === null) {
      warnings.push(`runtime ${name} is not installed (not found in PATH): ${name} tasks cannot run`);
    } else if (!root) {
      warnings.push(`runtime ${name} needs root, and the daemon runs as uid ${process.getuid?.()}: ${name} tasks cannot run`);
    } else {
      const version = await detectFeatures(bin).then((f) => versionNumber(f.version), (err: unknown) => {
        warnings.push(`runtime ${name} (${bin}) does not tell its version: ${(err as Error).message}`);
        return null;
      });
      out[name] = { path: bin, version };
    }
  }
  return out;
}

/** Builds `GET /info`'s answer; runs each runtime's `--version` once per daemon. */
export async function systemInfo(src: InfoSource): Promise<SystemInfo> {
  const warnings: string[] = [];
  const runtimes = await usableRuntimes(src.runtimes, warnings);
  const count = (s: TaskState): number => src.tasks.filter((t) => t.state === s).length;
  const running = count('running'), paused = count('paused');
  const cgroups = cgroupLayout();
  if (cgroups.v2 === undefined && cgroups.v1.size === 0) warnings.push('no cgroup hierarchy is mounted: host tasks run without a job object, and cannot be paused or limited');
  return {
    Containers: src.tasks.length,
    ContainersRunning: running,
    ContainersPaused: paused,
    ContainersStopped: src.tasks.length - running - paused,
    ServerVersion: src.version,
    ApiVersion: src.apiVersion,
    RootDir: src.root,
    Runtimes: runtimes,
    DefaultRuntime: src.runtimes.default,
    LoggingDriver: 'k8s-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: cgroups.mode === 'v2' ? '2' : '1',
    CgroupMode: cgroups.mode,
    // runc tasks get taskio's profile (not from a bundle, not privileged); runsc's sandbox is gVisor itself.
    SecurityOptions: runtimes.runc !== undefined ? ['name=seccomp,profile=builtin'] : [],
    LiveRestoreEnabled: true,
    KernelVersion: os.release(),
    OperatingSystem: operatingSystem(),
    OSType: process.platform,
    Architecture: os.machine(),
    NCPU: os.availableParallelism(),
    MemTotal: os.totalmem(),
    Name: os.hostname(),
    NodeVersion: process.version,
    Pid: process.pid,
    Warnings: warnings,
  };
}
