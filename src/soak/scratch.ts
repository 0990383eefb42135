/**
 * The scratch area of one soak run: a private directory under /run (tmpfs, where runtimes want
 * their state), a task runtime on the host backend, runc or runsc, busybox bundles, unique ids, and
 * the list of what the run may have left behind.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostRuntime } from '../runtime/host/index.js';
import { Runsc, createBusyboxBundle } from '../runtime/oci/index.js';
import type { Runtime } from '../runtime/proc/index.js';
import { removeInside } from '../removeInside.js';
import { cgroupsNamed, fdsMentioning, mountsMentioning, processesMentioning, entriesOf } from './resources.js';

/** Where each backend's task runs. */
export type Backend = 'host' | 'runc' | 'runsc';

/** The binaries of Debian's runc and runsc packages. */
export const runtimeBinaries: Record<Exclude<Backend, 'host'>, string> = { runc: '/usr/sbin/runc', runsc: '/usr/bin/runsc' };

/** One soak run's private area. */
export interface Scratch {
  backend: Backend;
  /** The directory everything lives in (removed by {@link dispose}). */
  base: string;
  /** Every id starts with it; unique per run, so counts of cgroups and processes are this run's. */
  prefix: string;
  runtime: Runtime;
  /** The runtime's state root (runc, runsc), or null (host). */
  root: string | null;
  /** `<base>/fifo`: where the run's FIFO sets are made. */
  fifoDir: string;
  /** A bundle running `args` (a busybox rootfs; the host backend runs the args on the host). */
  bundle(name: string, args: string[]): Promise<string>;
  /** A fresh task id. */
  id(name: string): string;
  /** What is left of the run's tasks now: see {@link Leftovers}. */
  leftovers(): Leftovers;
  /** Removes the area (it was made by this run, inside /run or the temp dir). */
  dispose(): void;
}

/** What a run's tasks may have left behind; all empty after a clean run. */
export interface Leftovers {
  /** Processes whose command line names the run's directory or id prefix. */
  processes: number[];
  /** fds of this process into the run's directory. */
  fds: string[];
  mounts: string[];
  cgroups: string[];
  /** Runtime state (runc, runsc) under the run's root, the log aside. */
  state: string[];
  /** FIFO sets left in the run's FIFO directory. */
  fifoSets: string[];
}

/** True when no list of `l` has anything. */
export function isClean(l: Leftovers): boolean {
  return Object.values(l).every((v: unknown[]) => v.length === 0);
}

/** Makes a scratch area for `backend` (runc and runsc need root). */
export function newScratch(backend: Backend, name: string): Scratch {
  const parent = process.getuid?.() === 0 ? '/run' : os.tmpdir();
  const tag = crypto.randomBytes(4).toString('hex');
  const base = fs.mkdtempSync(path.join(parent, `taskio-soak-${name}-`));
  fs.chmodSync(base, 0o711); // runc's init (another uid in runsc's gofer) walks into bundles here
  const prefix = `soak${tag}`;
  const fifoDir = path.join(base, 'fifo');
  const root = backend === 'host' ? null : path.join(base, 'root');
  const runtime: Runtime = backend === 'host'
    ? new HostRuntime()
    : new Runsc({ command: runtimeBinaries[backend], root: root!, logPath: path.join(base, `${backend}.log`) });
  let n = 0;
  return {
    backend, base, prefix, runtime, root, fifoDir,
    async bundle(bundleName, args) {
      const dir = path.join(base, 'bundles', bundleName);
      await createBusyboxBundle(dir, { args });
      return dir;
    },
    id: (idName) => `${prefix}-${idName}-${n++}`,
    leftovers: () => ({
      processes: [...new Set([...processesMentioning(base), ...processesMentioning(prefix)])],
      fds: fdsMentioning(base),
      mounts: [...new Set([...mountsMentioning(base), ...mountsMentioning(prefix)])],
      // The host backend's job objects are named after this process (`host-<pid>-…`).
      cgroups: cgroupsNamed([prefix, ...(backend === 'host' ? [`host-${process.pid}-`] : [])]),
      state: root ? entriesOf(root).filter((e) => e !== 'log.json') : [],
      fifoSets: entriesOf(fifoDir),
    }),
    dispose: () => removeInside(parent, base),
  };
}

/** The stream task's command: busybox awk in a container, or the host's busybox on the host. */
export function awkCommand(backend: Backend, args: string[]): string[] {
  return backend === 'host' ? ['/usr/bin/busybox', 'awk', ...args] : ['awk', ...args];
}

