import { signalNumber } from '../oci/index.js';
import { HostRuntime } from '../host/index.js';
import type { Init, Process, Runtime } from '../proc/index.js';
import type { ContainerBackend } from './backend.js';
import { JobRuntime, type JobRuntimeOptions } from './jobRuntime.js';

/** Options of {@link hostBackend}. */
export interface HostBackendOptions extends JobRuntimeOptions {
  /** The runtime whose processes are grouped. Default: a new `HostRuntime`. */
  runtime?: Runtime;
}

/**
 * The backend for plain host processes: the host runtime's processes grouped in one job object
 * (a cgroup) per container through a {@link JobRuntime}, so `processes()` lists the job,
 * `pause()`/`resume()` use the cgroup freezer and `stats()` reads the cgroup — the same behaviour as
 * a container's cgroup under runc. Pids are host pids.
 */
export function hostBackend(options: HostBackendOptions = {}): ContainerBackend & { readonly runtime: JobRuntime } {
  // The host runtime asks the JobRuntime for each task's job, so its processes are born inside it.
  const runtime: JobRuntime = new JobRuntime(options.runtime ?? new HostRuntime({ jobFor: (id) => runtime.jobOf(id) }), options);
  return {
    name: 'host',
    runtime,
    processes: (id) => runtime.pids(id),
    initPid: (init: Init) => init.pid(),
    execPid: (p: Process) => p.pid(),
    async signalPid(_id, pid, signal) {
      process.kill(pid, signalNumber(signal));
    },
  };
}
