import { RuntimeError } from '../runtime/oci/index.js';
import type { TaskRecord } from './records.js';

/**
 * Adds to a failed runsc start what its own message does not say: runsc puts the whole sandbox in
 * the task's pids cgroup, so its Go threads, its gofer and (ptrace platform) a host stub per task
 * thread count against `--pids-limit`. Below about 25 on a 2-CPU machine (more with more CPUs:
 * the sentry runs more threads) the sandbox cannot start, and runsc reports only "cannot create
 * gofer process" or "waiting for sandbox to start: EOF". Other errors are returned as they are.
 */
export function withPidsLimitHint(err: unknown, record: Pick<TaskRecord, 'runtime' | 'limits'>): unknown {
  const pids = record.limits?.pids;
  if (record.runtime !== 'runsc' || pids === undefined || pids < 0 || !(err instanceof RuntimeError)) return err;
  err.message += `; runsc counts its sandbox's own threads against the pids limit (${pids}): raise --pids-limit`;
  return err;
}
