import { TaskioError } from '../../errors.js';
import type { JobBackend } from './backend.js';
import { CgroupJob } from './cgroupJob.js';
import type { JobObjectOpenOptions, JobObjectOptions } from './jobobject.js';

/** Makes and opens the backends of one platform for {@link JobObject}. */
export interface BackendFactory {
  /** Creates (or opens, if the name exists) a job; `afterCreate` runs on it before it is returned, and a failure there closes it. */
  create(options: JobObjectOptions, afterCreate: (backend: JobBackend) => Promise<void>): Promise<JobBackend>;
  /** Opens an existing job by name. */
  open(name: string, options: JobObjectOpenOptions): Promise<JobBackend>;
  /** The names of the jobs that exist, where the platform can list them (Windows cannot). */
  names?(): Promise<string[]>;
}

/** The cgroup backend (Linux). */
export const cgroupBackends: BackendFactory = {
  create: (o, after) =>
    CgroupJob.create(o.name, { notifications: o.notifications, terminateOnLastHandleClose: o.terminateOnLastHandleClose, ioDevices: o.ioDevices, layout: o.layout }, after),
  open: (name, o) => CgroupJob.open(name, o),
  names: () => CgroupJob.names(),
};

let replaced: BackendFactory | undefined;

/**
 * Replaces the platform's backends until called again without one. For tests only: they run the
 * Windows backend over a scripted kernel32 on Linux.
 * @internal
 */
export function useBackends(factory?: BackendFactory): void {
  replaced = factory;
}

/**
 * The backends of this platform, chosen at run time: cgroups on Linux, kernel32 job objects on Windows.
 * The Windows modules (and with them koffi and kernel32.dll) are imported only on Windows, so nothing of
 * them is loaded elsewhere.
 */
export async function platformBackends(): Promise<BackendFactory> {
  if (replaced !== undefined) return replaced;
  if (process.platform === 'linux') return cgroupBackends;
  if (process.platform === 'win32') {
    const [{ windowsBackends }, { kernel32 }] = await Promise.all([import('./windows/windowsJob.js'), import('./windows/kernel32.js')]);
    return windowsBackends(kernel32());
  }
  throw new TaskioError('ERR_PLATFORM_NOT_SUPPORTED', `job objects on ${process.platform}: only Linux (cgroups) and Windows (kernel32) have a backend`);
}
