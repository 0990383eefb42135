/**
 * Job objects (hcsshim's `jobobject` API in camelCase) on Linux cgroups v1, v2 and hybrid, and on Windows
 * kernel32 job objects through koffi (loaded only on Windows; not verified on Windows).
 */
export {
  CPULimitMin,
  CPULimitMax,
  CPUWeightMin,
  CPUWeightMax,
  CPURateControlType,
  CFSPeriodMicros,
  MemoryLimitMax,
  rateToCFS,
  weightToShares,
  weightToCgroupWeight,
  type JobLimits,
  type CFSBandwidth,
} from './limits.js';
export { JobObject, isJobUnavailable, type JobObjectOptions, type JobObjectOpenOptions } from './jobobject.js';
export { MsgAllProcessesExited, MsgJobMemoryLimit, MsgUnimplemented, PollIntervalMs, type JobNotification } from './notifications.js';
export { EnterJobFailedExitCode, type JobCommand, type JobSpawnOptions } from './spawn.js';
export type { JobMemoryStats, JobProcessorStats, JobStorageStats, JobIOAttributionStats } from './stats.js';
export { cgroupLayout, parseLayout, processCgroup, type CgroupLayout, type ProcessCgroup } from './hierarchy.js';
export { ParentName, jobCgroupPath } from './cgroup.js';
export { cgroupWarmupWrites, enableCgroupWarmup, holdCgroupWarmup, warmCgroupMigration } from './migrationWarmup.js';
export { Win32Error } from './windows/errors.js';
export type { JobBackend } from './backend.js';
