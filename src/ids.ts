import { TaskioError, showValue } from './errors.js';

/**
 * The one id rule of taskio, containerd's: 1–76 characters of `[A-Za-z0-9_.-]`, starting with a
 * letter or digit. An id becomes a path component (FIFO names, state and log directories, cgroup
 * names) and a positional argument of runsc/runc, so it can never be `.`, `..`, contain `/`, a NUL
 * or a newline, start with `-` (a flag), or be long enough to overflow a unix socket path.
 */
const validId = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,75}$/;

/**
 * Checks an id before any path or command line is built from it — at every API boundary that
 * takes one (task, container, exec). Returns the id.
 * @param what - what the id names, for the message (`task`, `container`, `exec` …).
 * @throws TaskioError `ERR_INVALID_ID`, naming the value and the rule.
 */
export function validateId(id: unknown, what = 'task'): string {
  if (typeof id !== 'string' || !validId.test(id)) {
    const shown = typeof id === 'string' && id.length > 80 ? `${JSON.stringify(id.slice(0, 80))}… (${id.length} characters)` : showValue(id);
    throw new TaskioError('ERR_INVALID_ID', `invalid ${what} id ${shown}: it must match ${validId.source}`);
  }
  return id;
}

/**
 * The id of a transient container the daemon makes for a task (a copy helper, `copyHelper.ts`):
 * `<task id>+<kind>+<8 hex>`. No id of the rule above holds a `+`, so a helper's id can never be a
 * task's — nor can a task's id fall into a task's helpers' (which the next daemon deletes as
 * leftovers) — and runc and runsc take it (both check `^[\w+.-]+$`-like rules: runc's
 * libcontainer `idRegex`, gVisor's `validateID`). Its parts are path-safe as an id's are.
 */
const helperId = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,75}\+[a-z]{1,8}\+[0-9a-f]{8}$/;

/**
 * Checks a container id as {@link validateId} does, and also takes a helper's (`<task id>+<kind>+<8
 * hex>`, see `helperId` above): for the runtime layer (a container, a host task), which runs
 * the daemon's helpers as well as its tasks. Returns the id.
 * @throws TaskioError `ERR_INVALID_ID`, naming the value and the (task) rule.
 */
export function validateContainerId(id: unknown, what = 'container'): string {
  return typeof id === 'string' && helperId.test(id) ? id : validateId(id, what);
}

/**
 * Checks a process id given to a call that signals, reaps or moves a process: a positive integer
 * up to `max` (Linux's `pid_t`; Windows pids are 32-bit unsigned). Never `0` or a negative number,
 * which `kill(2)` and `waitpid(2)` read as "my process group" or "every process". Returns the pid.
 * @throws TaskioError `ERR_INVALID_ARG_VALUE` naming the value.
 */
export function validatePid(pid: unknown, max = 0x7fffffff): number {
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0 || pid > max) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `invalid pid: ${showValue(pid)}`);
  }
  return pid;
}
