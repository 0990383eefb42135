import os from 'node:os';
import { TaskioError } from '../errors.js';
import { allCapabilities } from './capabilities.js';
import { checkFields } from './check.js';

/**
 * Seccomp profiles in docker's JSON format (`--security-opt seccomp=profile.json`), checked for
 * what runc 1.1 can apply and made into the OCI spec's `linux.seccomp` as docker does: a rule's
 * `includes`/`excludes` decide, against the task's capabilities, this machine's architecture and
 * kernel, whether it is in the filter at all; `archMap` gives the architectures of this machine's.
 */

/** A seccomp profile in docker's format. */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  /** The architectures the filter covers (OCI's); not with `archMap`. */
  architectures?: string[];
  /** Per native architecture, the ones the filter covers with it (docker's). */
  archMap?: Array<{ architecture: string; subArchitectures?: string[] }>;
  syscalls?: SeccompRule[];
}

/** One entry of a docker profile's `syscalls`. */
export interface SeccompRule {
  names?: string[];
  /** docker's older form of `names`: one syscall. */
  name?: string;
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
  comment?: string;
  /** The rule counts only where all of these hold (every capability held, one of the arches, at least that kernel). */
  includes?: SeccompFilter;
  /** The rule counts only where none of these holds. */
  excludes?: SeccompFilter;
}

/** A condition on one argument of a syscall (libseccomp's `scmp_arg_cmp`). */
export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

/** docker's `includes`/`excludes`: capabilities (`CAP_…`), native architecture names (`amd64`), a kernel version (`4.8`). */
export interface SeccompFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

/** OCI's `linux.seccomp`, as taskio writes it. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls?: Array<{ names: string[]; action: string; errnoRet?: number; args?: SeccompArg[] }>;
}

/** The actions runc 1.1 applies (`runc features`), but SCMP_ACT_NOTIFY: that one needs an agent on a listener socket. */
const actions = ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP'];
/** The actions that return an errno, and so take `errnoRet`. */
const errnoActions = ['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE'];
const operators = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];

/** The architectures runc 1.1 knows (`runc features`), each with its native name as libseccomp says it (what `includes.arches` holds). */
const architectures: Record<string, string> = {
  SCMP_ARCH_X86: 'x86', SCMP_ARCH_X86_64: 'amd64', SCMP_ARCH_X32: 'x32', SCMP_ARCH_ARM: 'arm', SCMP_ARCH_AARCH64: 'arm64',
  SCMP_ARCH_MIPS: 'mips', SCMP_ARCH_MIPS64: 'mips64', SCMP_ARCH_MIPS64N32: 'mips64n32', SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64', SCMP_ARCH_MIPSEL64N32: 'mipsel64n32', SCMP_ARCH_PPC: 'ppc', SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le', SCMP_ARCH_S390: 's390', SCMP_ARCH_S390X: 's390x',
};
const nativeNames = Object.values(architectures);

/** This machine's architecture as libseccomp names it (docker compares `arches` with it). */
export function nativeArch(): string {
  switch (process.arch) {
    case 'x64': return 'amd64';
    case 'ia32': return 'x86';
    case 'ppc64': return os.endianness() === 'LE' ? 'ppc64le' : 'ppc64';
    case 'mips': return 'mips';
    case 'mipsel': return 'mipsel';
    default: return process.arch; // arm, arm64, s390, s390x: the same names
  }
}

const largest = Number.MAX_SAFE_INTEGER;

function invalid(where: string, message: string): TaskioError {
  return new TaskioError('ERR_INVALID_FIELD', `${where}: ${message}`);
}

function unsupported(where: string, message: string): TaskioError {
  return new TaskioError('ERR_NOT_SUPPORTED', `${where}: ${message}`);
}

/** A name from `known`, else an error naming it and them. */
function oneOf(where: string, what: string, value: string, known: readonly string[]): void {
  if (!known.includes(value)) throw invalid(where, `unknown ${what} ${JSON.stringify(value)} (known: ${known.join(', ')})`);
}

/** A whole number 0…2⁵³−1: a JSON number beyond that does not read back exactly, and the filter would compare with another value. */
function checkWhole(where: string, field: string, v: number | undefined, max = largest): void {
  if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0 && v <= max)) throw invalid(where, `"${field}" must be a whole number from 0 to ${max}, got ${v}`);
}

/**
 * Checks a profile in docker's format (a parsed JSON value) for what runc 1.1 applies: its
 * actions, comparison operators and architectures, at most 6 arguments, `errnoRet` only with an
 * errno action. Refused: unknown fields (a typo must not silently loosen a filter), `flags` (runc
 * 1.1 takes none), SCMP_ACT_NOTIFY and its listener (taskio runs no seccomp agent).
 * @throws TaskioError `ERR_INVALID_FIELD` or `ERR_UNKNOWN_FIELD` naming the field, `ERR_NOT_SUPPORTED` for what runc 1.1 cannot apply.
 */
export function checkSeccompProfile(value: unknown): SeccompProfile {
  const where = 'seccomp profile';
  const p = checkFields<SeccompProfile & { flags?: string[]; listenerPath?: string; listenerMetadata?: string }>(value, {
    defaultAction: 'string!', defaultErrnoRet: 'integer', architectures: 'string[]', archMap: 'object[]', syscalls: 'object[]',
    flags: 'string[]', listenerPath: 'string', listenerMetadata: 'string',
  }, where);
  if (p.flags?.length) throw unsupported(where, `flags ${p.flags.join(', ')}: runc 1.1 applies no seccomp flags`);
  if (p.listenerPath !== undefined || p.listenerMetadata !== undefined) throw unsupported(where, 'a listener (SCMP_ACT_NOTIFY) needs a seccomp agent, which taskio does not run');
  checkAction(where, 'defaultAction', p.defaultAction, p.defaultErrnoRet, 'defaultErrnoRet');
  if (p.architectures && p.archMap) throw invalid(where, 'give "architectures" or "archMap", not both');
  for (const a of p.architectures ?? []) oneOf(where, 'architecture', a, Object.keys(architectures));
  for (const [i, entry] of (p.archMap ?? []).entries()) {
    const at = `${where}'s archMap[${i}]`;
    const m = checkFields<{ architecture: string; subArchitectures?: string[] }>(entry, { architecture: 'string!', subArchitectures: 'string[]' }, at);
    for (const a of [m.architecture, ...(m.subArchitectures ?? [])]) oneOf(at, 'architecture', a, Object.keys(architectures));
  }
  for (const [i, rule] of (p.syscalls ?? []).entries()) checkRule(`${where}'s syscalls[${i}]`, rule);
  return p;
}

function checkAction(where: string, field: string, action: string, errnoRet: number | undefined, errnoField: string): void {
  if (action === 'SCMP_ACT_NOTIFY') throw unsupported(where, `${field} SCMP_ACT_NOTIFY needs a seccomp agent, which taskio does not run`);
  oneOf(where, field, action, actions);
  checkWhole(where, errnoField, errnoRet, 4095);
  if (errnoRet !== undefined && !errnoActions.includes(action)) throw invalid(where, `"${errnoField}" is for ${errnoActions.join(' and ')}, not ${action}`);
}

function checkRule(where: string, value: unknown): void {
  const r = checkFields<SeccompRule>(value, {
    names: 'string[]', name: 'string', action: 'string!', errnoRet: 'integer', args: 'object[]', comment: 'string', includes: 'object', excludes: 'object',
  }, where);
  if (r.name !== undefined && r.names !== undefined) throw invalid(where, 'give "names" or "name", not both');
  const names = r.names ?? (r.name === undefined ? [] : [r.name]);
  if (names.length === 0 || names.some((n) => !/^[a-z0-9_]+$/.test(n))) throw invalid(where, `"names" must list syscalls (lower case, digits, _), got ${JSON.stringify(names)}`);
  checkAction(where, 'action', r.action, r.errnoRet, 'errnoRet');
  for (const [j, arg] of (r.args ?? []).entries()) {
    const at = `${where}.args[${j}]`;
    const a = checkFields<SeccompArg>(arg, { index: 'integer!', value: 'number!', valueTwo: 'number', op: 'string!' }, at);
    checkWhole(at, 'index', a.index, 5); // a syscall has 6 arguments
    checkWhole(at, 'value', a.value);
    checkWhole(at, 'valueTwo', a.valueTwo);
    oneOf(at, 'op', a.op, operators);
  }
  for (const key of ['includes', 'excludes'] as const) {
    if (r[key] === undefined) continue;
    const at = `${where}.${key}`;
    const f = checkFields<SeccompFilter>(r[key], { caps: 'string[]', arches: 'string[]', minKernel: 'string' }, at);
    const cap = f.caps?.find((c) => !(allCapabilities as readonly string[]).includes(c));
    if (cap !== undefined) throw invalid(at, `unknown capability ${JSON.stringify(cap)} (names as capabilities(7) gives them: CAP_SYS_ADMIN, CAP_NET_RAW…)`);
    for (const a of f.arches ?? []) oneOf(at, 'architecture', a, nativeNames);
    if (f.minKernel !== undefined && kernelVersion(f.minKernel) === null) throw invalid(at, `"minKernel" must be a kernel version like "4.8", got ${JSON.stringify(f.minKernel)}`);
  }
}

/** `major.minor` of a kernel release (`6.1.0-13-amd64` is 6.1) as one comparable number; null when it is not one. */
function kernelVersion(release: string): number | null {
  const m = /^(\d{1,4})\.(\d{1,4})(?:$|[.-])/.exec(release);
  return m ? Number(m[1]) * 10_000 + Number(m[2]) : null;
}

/** Where a profile is made into a filter: the task's capabilities (its bounding set), the machine's architecture and kernel. */
export interface SeccompTarget {
  capabilities: readonly string[];
  arch?: string;
  kernel?: string;
}

/**
 * A checked profile as OCI's `linux.seccomp` for one task, as docker makes it: a rule whose
 * `excludes` hold (a capability the task has, this architecture, a kernel at least that new) or
 * whose `includes` do not (every capability held, one of the arches, the kernel) is left out;
 * `archMap` gives this architecture's entry, or none (libseccomp then takes the native one).
 */
export function ociSeccomp(profile: SeccompProfile, target: SeccompTarget): OciSeccomp {
  const arch = target.arch ?? nativeArch();
  const kernel = kernelVersion(target.kernel ?? os.release()) ?? 0;
  const atLeast = (v: string | undefined) => v !== undefined && kernel >= kernelVersion(v)!;
  const has = (c: string) => target.capabilities.includes(c);
  const counts = (r: SeccompRule): boolean => {
    const ex = r.excludes, inc = r.includes;
    if (ex && (ex.arches?.includes(arch) || ex.caps?.some(has) || atLeast(ex.minKernel))) return false;
    if (inc && ((inc.arches?.length && !inc.arches.includes(arch)) || (inc.caps && !inc.caps.every(has)) || (inc.minKernel !== undefined && !atLeast(inc.minKernel)))) return false;
    return true;
  };
  const mapped = profile.archMap?.find((m) => architectures[m.architecture] === arch);
  const arches = profile.architectures ?? (mapped ? [mapped.architecture, ...(mapped.subArchitectures ?? [])] : []);
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    ...(arches.length > 0 ? { architectures: arches } : {}),
    syscalls: (profile.syscalls ?? []).filter(counts).map((r) => ({
      names: r.names ?? [r.name!],
      action: r.action,
      ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}),
      ...(r.args?.length ? { args: r.args.map((a) => ({ index: a.index, value: a.value, ...(a.valueTwo !== undefined ? { valueTwo: a.valueTwo } : {}), op: a.op })) } : {}),
    })),
  };
}
