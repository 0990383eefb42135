import { RuntimeError } from '../runtime/oci/index.js';
import type { TaskRecord } from './records.js';

/** 128 + SIGKILL: how a runsc the OOM killer ended exits (its sandbox runs in the task's memory cgroup). */
const killedStatus = 137;

/**
 * Adds to a failed runsc start what its own message does not say: runsc puts the whole sandbox in
 * the task's cgroups, so its own memory and threads count against the task's limits.
 *
 * Memory: the sentry, the gofer and runsc itself need about 14 MiB to start (measured with runsc
 * 2022-12-19; 13 MiB failed); below that the OOM killer ends runsc and it says only "no message
 * (exit status 137)". Pids: its Go threads, its gofer and (ptrace platform) a host stub per task
 * thread count against `--pids-limit`. Below about 25 on a 2-CPU machine (more with more CPUs: the
 * sentry runs more threads) the sandbox cannot start, and runsc reports only "cannot create gofer
 * process" or "waiting for sandbox to start: EOF". Other errors are returned as they are.
 */
export function withSandboxLimitHint(err: unknown, record: Pick<TaskRecord, 'runtime' | 'limits'>): unknown {
  if (record.runtime !== 'runsc' || !(err instanceof RuntimeError)) return err;
  const { memory, pids } = record.limits ?? {};
  if (memory !== undefined && err.exitCode === killedStatus) {
    err.message += `; runsc's sandbox runs in the task's memory cgroup and was killed at its memory limit (${+(memory / 2 ** 20).toFixed(2)} MiB): a sandbox needs about 16 MiB, raise --memory`;
  } else if (pids !== undefined && pids >= 0) {
    err.message += `; runsc counts its sandbox's own threads against the pids limit (${pids}): raise --pids-limit`;
  }
  return err;
}
