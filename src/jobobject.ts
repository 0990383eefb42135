/**
 * `taskio/jobobject`: hcsshim's job object API in camelCase ({@link JobObject}: create or open,
 * assign, pids, terminate, CPU, memory and IO limits, stats, notifications with
 * `MsgAllProcessesExited` and `MsgJobMemoryLimit`) on Linux cgroups — v1, v2 and hybrid, detected at run time — and on Windows
 * kernel32 job objects. The Windows binding loads koffi only on Windows and is **not verified on
 * Windows**; other platforms get `ERR_PLATFORM_NOT_SUPPORTED` from {@link JobObject.create}.
 * @packageDocumentation
 */
export {
  CPULimitMin, CPULimitMax, CPUWeightMin, CPUWeightMax, CPURateControlType, CFSPeriodMicros, MemoryLimitMax,
  rateToCFS, weightToShares, weightToCgroupWeight, type JobLimits, type CFSBandwidth,
  JobObject, isJobUnavailable, type JobObjectOptions, type JobObjectOpenOptions,
  MsgAllProcessesExited, MsgJobMemoryLimit, MsgUnimplemented, PollIntervalMs, type JobNotification,
  EnterJobFailedExitCode, type JobCommand, type JobSpawnOptions,
  type JobMemoryStats, type JobProcessorStats, type JobStorageStats, type JobIOAttributionStats,
  cgroupLayout, type CgroupLayout, ParentName, Win32Error,
  // A supervisor that never moves itself between cgroups turns on what the daemon does (README).
  enableCgroupWarmup,
} from './runtime/jobobject/index.js';
