import { TaskioError } from '../errors.js';
import type { OciSpec } from '../runtime/oci/index.js';
import { builtinSeccompProfile } from './builtinSeccomp.js';
import { hostDevices, type OciDevice } from './hostDevices.js';
import { ociSeccomp, type OciSeccomp } from './seccomp.js';
import { checkRunscSeccomp } from './runscSeccomp.js';
import type { SecurityOptions } from './securityOpt.js';

/** What docker's `--privileged` and `--security-opt` change in a runsc or runc task's spec (its capabilities aside). */
export interface TaskSecurity {
  /** `/sys` and the cgroup hierarchies mounted writable (privileged). */
  writableSystem: boolean;
  /** runc, privileged: the device cgroup allows every device, and these nodes are made in `/dev`. Null: as the spec has it. */
  devices: OciDevice[] | null;
  /** No masked and no read-only paths (privileged, `systempaths=unconfined`). */
  unconfinedPaths: boolean;
  /** `process.noNewPrivileges`; undefined: the spec's. */
  noNewPrivileges?: boolean;
  /** `linux.seccomp`: a filter, or null for none; undefined: the spec's own. */
  seccomp?: OciSeccomp | null;
}

/**
 * The security of a runsc or runc task, as docker gives it. `privileged`: every capability (set by
 * the caller), no seccomp filter (also over a `seccomp=` option, as docker), no masked or read-only
 * paths, `/sys` and the cgroup hierarchies writable, and on runc the host's devices — every node
 * of its `/dev`, the device cgroup allowing all, as containerd's `HostDevices` gives docker's. On
 * runsc the sentry keeps its own `/dev` (null, zero, full, random, urandom, tty, ptmx, fuse,
 * net/tun): runsc (2022-12) passes no host device in, so privileged there is the capabilities —
 * mounts, raw sockets, … inside the sandbox — and the unmasked paths. Without `privileged`, a runc
 * task that is not from a bundle gets taskio's default seccomp profile ({@link builtinSeccompProfile});
 * a bundle keeps its own unless an option says otherwise; a profile (`seccomp=` JSON) is the
 * filter on runsc too (runsc gets `--oci-seccomp`; see {@link checkRunscSeccomp}).
 * `capabilities`: the task's bounding set, which a profile's `includes`/`excludes` look at.
 * {@link checkRuntimeSecurity} has refused what the runtime cannot apply.
 */
export function taskSecurity(opts: SecurityOptions, privileged: boolean, runtime: 'runsc' | 'runc', fromBundle: boolean, capabilities: readonly string[]): TaskSecurity {
  return {
    writableSystem: privileged,
    devices: privileged && runtime === 'runc' ? hostDevices() : null,
    unconfinedPaths: privileged || opts.unconfinedPaths === true,
    ...(opts.noNewPrivileges !== undefined ? { noNewPrivileges: opts.noNewPrivileges } : {}),
    seccomp: seccompFilter(opts, privileged, runtime, fromBundle, capabilities),
  };
}

/**
 * Refuses, before anything is made, what `runtime` cannot do: a host task runs with the daemon's
 * privileges and no filter; runsc cannot turn no_new_privs off (gVisor always sets it), nor apply
 * a profile's every action and errno ({@link checkRunscSeccomp}: every rule, whatever the task's
 * capabilities; a bundle's own filter is checked once read).
 * @throws TaskioError `ERR_NOT_SUPPORTED` naming the option.
 */
export function checkRuntimeSecurity(opts: SecurityOptions, given: { privileged?: boolean | undefined; securityOpt?: string[] | undefined }, runtime: 'runsc' | 'runc' | 'host'): void {
  if (runtime === 'host' && (given.privileged || given.securityOpt?.length)) {
    throw new TaskioError('ERR_NOT_SUPPORTED', `${given.privileged ? '--privileged needs' : 'security options need'} runtime runsc or runc: a host task runs with the daemon's privileges, unconfined`);
  }
  if (runtime === 'runsc' && opts.noNewPrivileges === false) {
    throw new TaskioError('ERR_NOT_SUPPORTED', 'no-new-privileges=false needs runtime runc: gVisor always runs a task with no_new_privs set');
  }
  if (runtime === 'runsc' && typeof opts.seccomp === 'object') checkRunscSeccomp(opts.seccomp, 'the seccomp profile');
}

function seccompFilter(opts: SecurityOptions, privileged: boolean, runtime: 'runsc' | 'runc', fromBundle: boolean, capabilities: readonly string[]): OciSeccomp | null | undefined {
  if (privileged || opts.seccomp === 'unconfined') return null;
  if (typeof opts.seccomp === 'object') return ociSeccomp(opts.seccomp, { capabilities });
  // runsc's default is gVisor's own sandbox, without a filter in it — `builtin` too: taskio's
  // profile fences host kernel interfaces the sentry stands in front of, and its ENOSYS for clone3
  // would be EPERM under runsc, which glibc does not fall back from (see checkRunscSeccomp).
  if (runtime === 'runsc') return opts.seccomp === undefined ? undefined : null;
  if (opts.seccomp === undefined && fromBundle) return undefined;
  return ociSeccomp(builtinSeccompProfile, { capabilities });
}

/**
 * The seccomp filter a runsc or runc task's processes run under, as `inspect` shows it: taskio's
 * default profile (`builtin`, runc), a `seccomp=` profile given with the request (`profile`), the
 * bundle's own `linux.seccomp` (`bundle`), or none (`unconfined`: `--privileged`, `seccomp=unconfined`,
 * a bundle without one, and runsc's default and `seccomp=builtin`, where gVisor's sentry is the
 * sandbox). On runsc 2022-12 the processes `exec` starts run unfiltered whatever it says.
 */
export type SeccompMode = 'builtin' | 'profile' | 'bundle' | 'unconfined';

/** The {@link SeccompMode} of a task made with `opts` and `s`, whose spec has a filter (`linux.seccomp`) or not. */
export function seccompMode(opts: SecurityOptions, s: TaskSecurity, specHasFilter: boolean): SeccompMode {
  if (!specHasFilter) return 'unconfined';
  if (s.seccomp === undefined) return 'bundle'; // the spec's own kept
  return typeof opts.seccomp === 'object' ? 'profile' : 'builtin';
}

/** Puts `s` into `spec`. */
export function applySecurity(spec: OciSpec, s: TaskSecurity): void {
  const linux = (spec.linux ??= {}) as {
    seccomp?: OciSeccomp; maskedPaths?: string[]; readonlyPaths?: string[]; devices?: OciDevice[];
    resources?: { devices?: Array<{ allow: boolean; access?: string }> };
  };
  if (s.noNewPrivileges !== undefined) spec.process.noNewPrivileges = s.noNewPrivileges;
  if (s.seccomp === null) delete linux.seccomp;
  else if (s.seccomp !== undefined) linux.seccomp = s.seccomp;
  if (s.unconfinedPaths) {
    delete linux.maskedPaths;
    delete linux.readonlyPaths;
  }
  if (s.writableSystem) {
    spec.mounts = (spec.mounts ?? []).map((m) => (m.destination === '/sys' || m.type === 'cgroup') && m.options ? { ...m, options: m.options.filter((o) => o !== 'ro') } : m);
  }
  if (s.devices !== null) {
    (linux.resources ??= {}).devices = [{ allow: true, access: 'rwm' }];
    const given = new Set(s.devices.map((d) => d.path));
    linux.devices = [...(linux.devices ?? []).filter((d) => !given.has(d.path)), ...s.devices];
  }
}
