/** Job objects (hcsshim's `jobobject` API) on Linux cgroups. */
export * from './limits.js';
export { JobObject, type JobObjectOptions, type JobObjectOpenOptions } from './jobobject.js';
export { MsgAllProcessesExited, MsgUnimplemented, type JobNotification } from './notifications.js';
export { EnterJobFailedExitCode, type JobSpawnOptions } from './spawn.js';
export type { JobMemoryStats, JobProcessorStats, JobStorageStats, JobIOAttributionStats } from './stats.js';
export { cgroupLayout, parseLayout, type CgroupLayout } from './hierarchy.js';
