import fs from 'node:fs';
import { TaskioError } from '../errors.js';

/** The Linux capabilities by number (`linux/capability.h`, up to 5.9's CAP_CHECKPOINT_RESTORE). */
export const allCapabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

/**
 * docker's default set (moby's `DefaultCapabilities`): what a root process in a container may do
 * that programs and package managers expect (chown, setuid, binding low ports, raw sockets for
 * ping), without the ones that reach the host (SYS_ADMIN, NET_ADMIN, SYS_PTRACE, …).
 */
export const defaultCapabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/**
 * The capabilities runsc (2022-12) does not know: its sandbox fails to start when one is in the
 * spec (`cannot read client sync file`), so taskio refuses them up front and leaves them out of `ALL`.
 */
export const unknownToRunsc = ['CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE'];

/**
 * A capability as docker takes it: any case, with or without `CAP_`, or `ALL`.
 * @throws TaskioError `ERR_INVALID_FIELD` naming an unknown one.
 */
export function capabilityName(name: string): string {
  const upper = name.toUpperCase();
  if (upper === 'ALL') return upper;
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!(allCapabilities as readonly string[]).includes(full)) throw new TaskioError('ERR_INVALID_FIELD', `unknown capability: ${JSON.stringify(name)}`);
  return full;
}

let ownSet: readonly string[] | undefined;

/**
 * The capabilities this process may pass on: its bounding set (`CapBnd`). A task cannot hold one
 * outside it — the runtime would fail to apply it — and a host may withhold some (a container host,
 * a machine kind like this one without CAP_SYS_RESOURCE). `status`: a `/proc/<pid>/status` text to read instead.
 */
export function ownCapabilities(status?: string): readonly string[] {
  // This process's set, read once: a bounding set never grows, and the daemon never drops from it.
  if (status === undefined) return (ownSet ??= ownCapabilities(fs.readFileSync('/proc/self/status', 'utf8')));
  const bits = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0'}`);
  return allCapabilities.filter((_, i) => (bits >> BigInt(i)) & 1n);
}

/**
 * `base` with docker's `--cap-drop` then `--cap-add` applied: `ALL` in the drops starts from none,
 * `ALL` in the adds gives every one `own` holds but the drops; an add wins over a drop of the same capability.
 * @throws TaskioError `ERR_NOT_SUPPORTED` for an add that `own` (the daemon's bounding set) lacks.
 */
export function applyCapabilityChanges(base: readonly string[], add: readonly string[], drop: readonly string[], own: readonly string[] = ownCapabilities()): string[] {
  const adds = add.map(capabilityName), drops = drop.map(capabilityName);
  // docker's order: ALL in the adds is every one but the drops (a drop of ALL then drops nothing).
  if (adds.includes('ALL')) return own.filter((c) => !drops.includes(c));
  const missing = adds.find((c) => !own.includes(c));
  if (missing) throw new TaskioError('ERR_NOT_SUPPORTED', `cannot add ${missing}: the daemon does not hold it (its bounding set), so no task it starts can`);
  const kept = drops.includes('ALL') ? [] : base.filter((c) => !drops.includes(c) && own.includes(c));
  return [...new Set([...kept, ...adds])];
}

/** OCI's `process.capabilities` for `caps`: as the bounding set; effective and permitted too for root (none for another user, as the kernel gives a non-root process after exec). */
export function processCapabilities(caps: readonly string[], root: boolean): Record<string, string[]> {
  const held = root ? [...caps] : [];
  return { bounding: [...caps], effective: held, permitted: held, inheritable: [], ambient: [] };
}
