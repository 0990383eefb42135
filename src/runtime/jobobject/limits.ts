import { TaskioError, showValue } from '../../errors.js';

/** The smallest CPU rate a job accepts: 1 = 0.01 % of the whole machine (hcsshim's `cpuLimitMin`). */
export const CPULimitMin = 1;
/** The largest CPU rate a job accepts: 10000 = 100 % of the whole machine (hcsshim's `cpuLimitMax`). */
export const CPULimitMax = 10000;
/** The smallest relative CPU weight (hcsshim's `cpuWeightMin`). */
export const CPUWeightMin = 1;
/** The largest relative CPU weight (hcsshim's `cpuWeightMax`). Windows' default weight is 5. */
export const CPUWeightMax = 9;

/** How {@link JobObject.setCPULimit} reads its value, as hcsshim's `CPURateControlType`. */
export enum CPURateControlType {
  /** A relative weight in `CPUWeightMin..CPUWeightMax` against other jobs (Windows `WEIGHT_BASED`). */
  WeightBased = 0,
  /** A hard cap in `CPULimitMin..CPULimitMax`, in 1/100 % of the whole machine (Windows `HARD_CAP`). */
  RateBased = 1,
}

/**
 * The resource limits of a job, as hcsshim's `JobLimits`. A field that is absent or 0 leaves that
 * resource as it is (hcsshim applies only non-zero fields). `cpuLimit` wins over `cpuWeight`.
 */
export interface JobLimits {
  /** Hard CPU cap in 1/100 % of the machine, `1..10000`. */
  cpuLimit?: number;
  /** Relative CPU weight, `1..9`; used only when `cpuLimit` is not given. */
  cpuWeight?: number;
  /** Memory limit of the whole job in bytes (> 0, < 2^63). */
  memoryLimitInBytes?: bigint | number;
  /** I/O operations per second, per device and per direction on Linux. */
  maxIOPS?: number;
  /** Bytes per second, per device and per direction on Linux. */
  maxBandwidth?: number;
}

/** The CFS period used for rate limits: 100 ms, the kernel's default. */
export const CFSPeriodMicros = 100_000;
const cfsQuotaMinMicros = 1_000; // the kernel refuses a quota below 1 ms
const cfsPeriodMaxMicros = 1_000_000; // ... and a period above 1 s

/** The largest memory limit a cgroup file takes (`memory.max` is an s64 in the kernel). */
export const MemoryLimitMax = (1n << 63n) - 1n;

function outOfRange(what: string, value: unknown, range: string): TaskioError {
  return new TaskioError('ERR_OUT_OF_RANGE', `${what} of \`${typeof value === 'number' || typeof value === 'bigint' ? String(value) : showValue(value)}\` is invalid: must be ${range}`);
}

function isInt(v: number): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** Checks a value for {@link CPURateControlType}, throwing `ERR_OUT_OF_RANGE` that names it. */
export function checkCPULimit(type: CPURateControlType, value: number): void {
  if (type === CPURateControlType.WeightBased) {
    if (!isInt(value) || value < CPUWeightMin || value > CPUWeightMax) {
      throw outOfRange('processor weight', value, `an integer in ${CPUWeightMin}..${CPUWeightMax}`);
    }
  } else if (type === CPURateControlType.RateBased) {
    if (!isInt(value) || value < CPULimitMin || value > CPULimitMax) {
      throw outOfRange('processor rate', value, `an integer in ${CPULimitMin}..${CPULimitMax}`);
    }
  } else {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `invalid job object cpu rate control type \`${String(type)}\``);
  }
}

/** Checks a memory limit and returns it as a bigint, throwing `ERR_OUT_OF_RANGE` that names it. */
export function checkMemoryLimit(bytes: bigint | number): bigint {
  if (typeof bytes === 'number' && !isInt(bytes)) throw outOfRange('memory limit', bytes, `an integer in 1..${MemoryLimitMax}`);
  if (typeof bytes !== 'number' && typeof bytes !== 'bigint') throw outOfRange('memory limit', bytes, 'a number or bigint');
  const b = BigInt(bytes);
  if (b < 1n || b > MemoryLimitMax) throw outOfRange('memory limit', bytes, `in 1..${MemoryLimitMax}`);
  return b;
}

/** Checks an I/O limit (0 = leave as is, like hcsshim), throwing `ERR_OUT_OF_RANGE` that names it. */
export function checkIOLimit(what: 'maxBandwidth' | 'maxIOPS', value: number): void {
  if (!isInt(value) || value < 0) throw outOfRange(what, value, `an integer in 0..${Number.MAX_SAFE_INTEGER}`);
}

/** Checks every field of a {@link JobLimits} before anything is written, so a bad one changes nothing. */
export function checkJobLimits(l: JobLimits): void {
  if (l.cpuLimit !== undefined && l.cpuLimit !== 0) checkCPULimit(CPURateControlType.RateBased, l.cpuLimit);
  else if (l.cpuWeight !== undefined && l.cpuWeight !== 0) checkCPULimit(CPURateControlType.WeightBased, l.cpuWeight);
  if (l.memoryLimitInBytes !== undefined && l.memoryLimitInBytes !== 0 && l.memoryLimitInBytes !== 0n) {
    checkMemoryLimit(l.memoryLimitInBytes);
  }
  if (l.maxBandwidth !== undefined) checkIOLimit('maxBandwidth', l.maxBandwidth);
  if (l.maxIOPS !== undefined) checkIOLimit('maxIOPS', l.maxIOPS);
}

/** A CFS bandwidth setting: at most `quotaMicros` of CPU time in every `periodMicros`. */
export interface CFSBandwidth {
  quotaMicros: number;
  periodMicros: number;
}

/**
 * Maps a Windows CPU rate (1/100 % of the whole machine) to CFS bandwidth: quota = rate·nCPU/10000 of
 * the period, period 100 ms. When that quota is below the kernel's 1 ms minimum (tiny rates), the period
 * grows up to 1 s to keep the ratio; below that the quota is clamped to 1 ms per 1 s, so on Linux a
 * rate under `1000/nCPU` (0.1 % of one CPU) allows slightly more than Windows would.
 */
export function rateToCFS(rate: number, nCPU: number): CFSBandwidth {
  const ratio = (rate * nCPU) / CPULimitMax; // CPUs' worth of time
  let periodMicros = CFSPeriodMicros;
  let quotaMicros = Math.round(ratio * periodMicros);
  if (quotaMicros < cfsQuotaMinMicros) {
    periodMicros = Math.min(cfsPeriodMaxMicros, Math.ceil(cfsQuotaMinMicros / ratio));
    quotaMicros = Math.max(cfsQuotaMinMicros, Math.round(ratio * periodMicros));
  }
  return { quotaMicros, periodMicros };
}

/**
 * Maps a Windows weight (1..9, default 5) to cgroup v1 `cpu.shares`, proportionally around the kernel
 * default: weight 5 → 1024, so shares = round(weight·1024/5) (1 → 205, 9 → 1843). Ratios between jobs are
 * kept as Windows has them (9:1), which is what a relative weight means.
 */
export function weightToShares(weight: number): number {
  return Math.round((weight * 1024) / 5);
}

/** Maps a Windows weight (1..9) to cgroup v2 `cpu.weight` the same way: 5 → 100 (the default), so 20·weight. */
export function weightToCgroupWeight(weight: number): number {
  return weight * 20;
}
