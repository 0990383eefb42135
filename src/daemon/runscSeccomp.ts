import { TaskioError } from '../errors.js';

/**
 * What runsc (2022-12-19) does with a spec's seccomp filter, given `--oci-seccomp` (seen on it):
 * the sentry filters the container's init and every process it starts — not the processes
 * `runsc exec` starts — with the actions ALLOW, ERRNO, KILL, TRAP and TRACE (no tracer: ENOSYS);
 * LOG, KILL_PROCESS and KILL_THREAD fail its create (`invalid action`). SCMP_ACT_ERRNO always
 * answers EPERM: `errnoRet` and `defaultErrnoRet` are not applied. A filter written for another
 * errno would then mean something else — a `clone3` answered EPERM instead of ENOSYS makes glibc's
 * `pthread_create` fail, where ENOSYS makes it fall back to `clone` — so it is refused here, as
 * the actions runsc cannot apply are, before anything is made.
 */

/** The actions runsc 2022-12 applies. */
const runscActions = ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_TRAP', 'SCMP_ACT_TRACE'];
const EPERM = 1;

interface SpecSeccomp {
  defaultAction?: unknown;
  defaultErrnoRet?: unknown;
  syscalls?: Array<{ names?: unknown; name?: unknown; action?: unknown; errnoRet?: unknown }>;
}

/**
 * Checks a seccomp filter for a runsc task — its spec's `linux.seccomp` (absent: nothing to check),
 * or a profile in docker's format, every rule of it — for what runsc applies as written. `where`
 * names the filter's source (`the seccomp profile`, `bundle /b's seccomp filter`).
 * @throws TaskioError `ERR_NOT_SUPPORTED` naming the action or the errno and the syscalls.
 */
export function checkRunscSeccomp(filter: unknown, where: string): void {
  if (typeof filter !== 'object' || filter === null) return;
  const f = filter as SpecSeccomp;
  const refuse = (what: string, why: string) => new TaskioError('ERR_NOT_SUPPORTED', `${where}: ${what}: runsc (2022-12) ${why} (runtime runc applies it; --security-opt seccomp=unconfined leaves it out)`);
  // `at` names the rule ('syscalls clone3: ') or nothing for the default; `fields` its two field names.
  const check = (at: string, fields: [string, string], action: unknown, errnoRet: unknown) => {
    if (typeof action === 'string' && !runscActions.includes(action)) {
      throw refuse(`${at}${fields[0]} ${action}`, `applies ${runscActions.join(', ')} only`);
    }
    if (action === 'SCMP_ACT_ERRNO' && errnoRet !== undefined && errnoRet !== EPERM) {
      throw refuse(`${at}${fields[1]} ${String(errnoRet)}`, 'answers EPERM to every SCMP_ACT_ERRNO, whatever errno the filter names');
    }
  };
  check('', ['defaultAction', 'defaultErrnoRet'], f.defaultAction, f.defaultErrnoRet);
  for (const rule of Array.isArray(f.syscalls) ? f.syscalls : []) {
    const names = Array.isArray(rule?.names) ? rule.names.join(',') : typeof rule?.name === 'string' ? rule.name : '?';
    check(`syscalls ${names}: `, ['action', 'errnoRet'], rule?.action, rule?.errnoRet);
  }
}
