import path from 'node:path';
import { TaskioError } from '../errors.js';
import { JobObject } from '../runtime/jobobject/index.js';
import { ociJson, type LinuxResources } from '../runtime/oci/index.js';
import { writeFileAtomic } from '../writeFileAtomic.js';
import { ociResources, readSpec, setLimits } from './bundle.js';
import { checkFields } from './check.js';
import { checkLimits, checkLimitsTogether } from './createRequest.js';
import type { TaskLimits, TaskRecord } from './records.js';
import { checkRestartPolicy, type RestartPolicy } from './restartPolicy.js';
import { jobLimits, refuseJobLimits, runscFor } from './runtimes.js';

/**
 * The body of `POST /tasks/:id/update` (docker's update): new resource limits, each replacing the
 * task's own (`pids: -1` takes its pids limit away), and a new restart policy.
 */
export interface TaskUpdate {
  limits?: TaskLimits;
  restartPolicy?: RestartPolicy;
}

/**
 * Checks an update's body: the limits as a create's (`pids` may also be -1), the policy as a
 * create's, and at least one of them.
 * @throws TaskioError `ERR_INVALID_FIELD` / `ERR_INVALID_LIMIT` naming the value.
 */
export function checkTaskUpdate(body: unknown): TaskUpdate {
  const u = checkFields<TaskUpdate>(body ?? {}, { limits: 'object', restartPolicy: 'object' });
  if (u.limits === undefined && u.restartPolicy === undefined) {
    throw new TaskioError('ERR_INVALID_FIELD', 'an update needs limits or restartPolicy: there is nothing to change');
  }
  if (u.limits !== undefined) {
    const { pids, ...rest } = u.limits;
    checkLimits(pids === -1 ? rest : u.limits);
    if (Object.keys(u.limits).length === 0) throw new TaskioError('ERR_INVALID_FIELD', 'field "limits" names no limit (memory, cpus, pids, cpusetCpus, cpuShares, memoryReservation, memorySwap)');
  }
  if (u.restartPolicy !== undefined) checkRestartPolicy(u.restartPolicy);
  return u;
}

/** The task's limits after `change`: each one given replaces the task's, `pids: -1` removes its pids limit. */
export function updatedLimits(own: TaskLimits | null, change: TaskLimits): TaskLimits {
  const { pids, ...rest } = { ...own, ...change };
  return pids === -1 || pids === undefined ? rest : { ...rest, pids };
}

/**
 * Refuses a change of limits the task's runtime cannot take, before anything changes: a pids
 * limit, a cpuset, CPU shares a memory reservation or a swap limit on a host task (a job object has none of
 * them), and limits that do not fit together once changed (a memory limit below the reservation or the swap limit), and any on a host task that runs without a job
 * object (none could be made when it was created).
 */
export function checkLimitsChange(record: TaskRecord, change: TaskLimits): void {
  checkLimitsTogether(updatedLimits(record.limits, change));
  if (record.runtime !== 'host') return;
  refuseJobLimits(change);
  if (record.job === null) {
    throw new TaskioError('ERR_NOT_SUPPORTED', `cannot change the limits of task ${record.id}: it runs without a job object (none could be made when it was created)`);
  }
}

/**
 * Applies `change` to the running task of `record`: runc through `runc update` (the task's cgroup),
 * a host task through its job object. runsc 2022 has no `update`: `ERR_NOT_SUPPORTED`, and its
 * sandbox keeps the limits it started with.
 */
export async function changeLiveLimits(record: TaskRecord, change: TaskLimits, cpus: number, runtimeLog: string): Promise<void> {
  if (record.runtime !== 'host') {
    try {
      await runscFor(record, runtimeLog).update(record.id, ociResources(change) as LinuxResources);
    } catch (err) {
      if ((err as TaskioError).code !== 'ERR_NOT_SUPPORTED') throw err;
      const runtime = (err as Error).message.replace(/ does not support update$/, '');
      throw new TaskioError('ERR_NOT_SUPPORTED', `cannot change the limits of running task ${record.id}: ${runtime} has no update command`, { cause: err });
    }
    return;
  }
  const { memory, cpus: rate } = change;
  const limits = { ...(memory !== undefined ? { memory } : {}), ...(rate !== undefined ? { cpus: rate } : {}) };
  const job = await JobObject.open(record.job!);
  try {
    await job.setResourceLimits(jobLimits(limits, cpus));
  } finally {
    await job.close();
  }
}

/**
 * Writes the task's limits into its bundle (taskio's own, `<root>/tasks/<id>/bundle`), so every
 * later run of it has them. A limit taken away (`pids: -1`) leaves the bundle's resource out.
 */
export function writeBundleLimits(bundle: string, limits: TaskLimits, removedPids: boolean): void {
  const spec = readSpec(bundle);
  setLimits(spec, limits);
  if (removedPids) delete (spec.linux as { resources?: { pids?: unknown } } | undefined)?.resources?.pids;
  writeFileAtomic(path.join(bundle, 'config.json'), ociJson(spec, 2));
}
