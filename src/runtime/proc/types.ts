import type { ProcessSpec } from '../oci/index.js';
import type { ProcessMonitor } from '../reaper/index.js';

/** A process's stdio as paths or URIs (a `Config` of `src/fifo`): what {@link Init.stdio} returns. */
export interface Stdio {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** A mount of the container's rootfs (containerd's `mount.Mount`); passed through, not mounted by taskio. */
export interface Mount {
  type: string;
  source: string;
  target?: string;
  options?: string[];
}

/** What {@link Init.create} needs (gVisor shim's `CreateConfig`). */
export interface CreateConfig {
  /** The container id; must match the id the Init was made with. */
  id: string;
  /** The bundle directory (holds `config.json`). */
  bundle: string;
  /** The runtime binary's name, for the record (the Init's runtime is what runs). */
  runtime?: string;
  rootfs?: Mount[];
  terminal: boolean;
  stdin: string;
  stdout: string;
  stderr: string;
}

/** What {@link Init.exec} needs (gVisor shim's `ExecConfig`). */
export interface ExecConfig {
  /** The exec id, unique within the container. */
  id: string;
  terminal: boolean;
  stdin: string;
  stdout: string;
  stderr: string;
  /** The OCI process to run (its `terminal` is set from {@link terminal}). */
  spec: ProcessSpec;
}

/** What {@link Init.restore} needs: a create plus the checkpoint image to start from. */
export interface RestoreConfig extends CreateConfig {
  /** The directory `checkpoint` wrote. */
  imagePath: string;
  /** runc/criu's work directory; runsc ignores it. */
  workPath?: string;
}

/** What {@link Init.checkpoint} takes. */
export interface CheckpointConfig {
  /** Where the image is written. */
  imagePath: string;
  /** Keep the container running afterwards (default: it stops). */
  leaveRunning?: boolean;
  /** runc/criu's work directory; runsc ignores it. */
  workPath?: string;
}

/** Options of an {@link Init} beyond gVisor's constructor. */
export interface InitOptions {
  /** The reaper whose exits give the statuses. Default: the process-wide `defaultMonitor`. */
  monitor?: ProcessMonitor;
  /** `CONTAINER_NAMESPACE` for `binary://` loggers. Default `'default'`. */
  namespace?: string;
  /** How long `delete()` waits for output to be delivered (a client reading the FIFO) before dropping it, ms. Default 2000. */
  drainTimeout?: number;
  /** How long to wait for the runtime to send a pty master, ms. Default 10000. */
  consoleTimeout?: number;
}

/** The states of a process, as `status()` reports them. */
export type ProcessStatus = 'created' | 'running' | 'paused' | 'stopped' | 'deleted';

/** What {@link Init.status} returns: a {@link ProcessStatus}, or `unknown` before create. */
export type InitStatus = ProcessStatus | 'unknown';

/** What an exec'd process's `status()` returns (it cannot be paused on its own). */
export type ExecStatus = Exclude<ProcessStatus, 'paused'>;
