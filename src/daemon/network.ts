import { TaskioError } from '../errors.js';
import type { OciSpec } from '../runtime/oci/index.js';
import type { RuntimeName } from './records.js';

/**
 * docker's `--network` modes a task can have. `none`: a network namespace of its own, with only a
 * loopback (runc: a new `network` namespace in the spec; runsc: `--network=none`, a sandbox with
 * no interface but its own loopback); `host`: the host's network (runc: no `network` namespace;
 * runsc: `--network=host`, the sentry's sockets passed through to the host's stack). docker's
 * `bridge`, `container:ID` and named networks need a network manager taskio does not have.
 */
export const networkModes = ['none', 'host'] as const;
/** A mode of {@link networkModes}. */
export type NetworkMode = (typeof networkModes)[number];

/**
 * A task's network as `inspect` shows it: a mode, or podman's `ns:PATH` for a runc task whose
 * bundle joins a network namespace by path (kept as the bundle has it when no mode was asked).
 */
export type TaskNetwork = NetworkMode | `ns:${string}`;

/**
 * `value` as a mode of {@link networkModes}.
 * @throws TaskioError `code` (the caller's: a flag's or a field's) naming the value and the modes there are.
 */
export function networkMode(value: unknown, code: string): NetworkMode {
  if (!(networkModes as readonly unknown[]).includes(value)) {
    throw new TaskioError(code, `network mode ${JSON.stringify(value)} is not supported (supported: ${networkModes.join(', ')})`);
  }
  return value as NetworkMode;
}

interface Namespace { type: string; path?: string }

function namespacesOf(spec: OciSpec): Namespace[] {
  return (spec.linux as { namespaces?: Namespace[] } | undefined)?.namespaces ?? [];
}

/**
 * Gives `spec` the network namespace of `mode`: `none` a new one (one the spec joined by path is
 * replaced, in place), `host` none at all. runsc needs this too for `host`: given a network
 * namespace, it starts its sandbox in a new one, whatever `--network` says.
 */
export function setNetwork(spec: OciSpec, mode: NetworkMode): void {
  const linux = (spec.linux ??= {}) as { namespaces?: Namespace[] };
  const namespaces = linux.namespaces ?? [];
  const others = namespaces.filter((n) => n.type !== 'network');
  if (mode === 'host') linux.namespaces = others;
  else if (others.length < namespaces.length) linux.namespaces = namespaces.map((n) => (n.type === 'network' ? { type: 'network' } : n));
  else linux.namespaces = [...namespaces, { type: 'network' }];
}

/**
 * The network a task of `runtime` gets from its final `spec` when no mode was asked: a host task
 * the host's; runsc `none` (its `--network=none` makes a new namespace whatever the spec says);
 * runc what the spec says — a bundle without a network namespace is on the host's network.
 */
export function specNetwork(spec: OciSpec, runtime: RuntimeName): TaskNetwork {
  if (runtime === 'host') return 'host';
  if (runtime === 'runsc') return 'none';
  const ns = namespacesOf(spec).find((n) => n.type === 'network');
  if (ns === undefined) return 'host';
  return ns.path ? `ns:${ns.path}` : 'none';
}

/** A task record's network, also for a record written before taskio had one: a host task's is the host's, any other's was `none`. */
export function recordNetwork(record: { runtime: RuntimeName; network?: TaskNetwork }): TaskNetwork {
  return record.network ?? (record.runtime === 'host' ? 'host' : 'none');
}
