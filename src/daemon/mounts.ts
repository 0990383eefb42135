import fs from 'node:fs';
import path from 'node:path';
import { TaskioError } from '../errors.js';
import type { OciSpec } from '../runtime/oci/index.js';
import { absolutePath, checkFields } from './check.js';

/** Bind-mount propagation, as docker's `-v SRC:DST:rslave` and the kernel name it. */
export const propagations = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'] as const;

/**
 * A mount of a task (the API's `mounts`, docker's `HostConfig.Mounts`): a host directory or file
 * (`bind`: `-v`, `--mount type=bind`) or a memory filesystem (`tmpfs`: `--tmpfs`,
 * `--mount type=tmpfs`) at `target` inside the task. runsc and runc only: a host task sees the
 * host's files as they are.
 */
export interface TaskMount {
  type: 'bind' | 'tmpfs';
  /** bind: the host path (absolute; a link is resolved when the task is created). */
  source?: string;
  /** Where the task sees it: an absolute path, not `/`. */
  target: string;
  /** Mounted read-only. Default false. */
  readonly?: boolean;
  /** bind: mount propagation. Default: the runtime's (`rprivate`). */
  propagation?: (typeof propagations)[number];
  /** tmpfs: its size in bytes. Default: the kernel's (half the RAM). */
  size?: number;
  /** tmpfs: the mode of its root directory, e.g. 0o1777. Default 0o1777 (docker's). */
  mode?: number;
  /** tmpfs: programs may run from it. Default false (`noexec`, as docker's `--tmpfs`). */
  exec?: boolean;
}

const schema = { type: 'string!', source: 'string', target: 'string!', readonly: 'boolean', propagation: 'string', size: 'integer', mode: 'integer', exec: 'boolean' } as const;

function invalid(where: string, message: string): TaskioError {
  return new TaskioError('ERR_INVALID_MOUNT', `${where}: ${message}`);
}

/**
 * Checks the API's `mounts` before anything is made: shapes, absolute targets given once each and
 * never `/`, options that belong to the type, and for a bind an existing source, resolved to its
 * real path (what the runtime will mount, whatever a link there points to later).
 * @throws TaskioError `ERR_INVALID_FIELD` for a bad shape, `ERR_INVALID_MOUNT` naming the mount and what is wrong.
 */
export function checkMounts(value: unknown): TaskMount[] {
  if (!Array.isArray(value)) throw new TaskioError('ERR_INVALID_FIELD', `field "mounts" must be an array of mounts, got ${JSON.stringify(value)}`);
  const targets = new Set<string>();
  return value.map((raw: unknown, i) => {
    const m = { ...checkFields<TaskMount>(raw, schema, `mounts[${i}]`) };
    const where = `mounts[${i}] (${m.type} at ${JSON.stringify(m.target)})`;
    // resolve, not normalize: `/a/` and `/a` are one mount point.
    m.target = path.posix.resolve(absolutePath(`mounts[${i}].target`, m.target));
    if (m.target === '/') throw invalid(where, 'the target cannot be "/" (give a rootfs or a bundle for that)');
    if (targets.has(m.target)) throw invalid(where, `duplicate mount point ${m.target}`);
    targets.add(m.target);
    if (m.type === 'bind') {
      for (const k of ['size', 'mode', 'exec'] as const) if (m[k] !== undefined) throw invalid(where, `"${k}" is an option of tmpfs mounts`);
      if (m.source === undefined) throw invalid(where, 'a bind mount needs a "source" (a host path)');
      const source = absolutePath(`mounts[${i}].source`, m.source);
      try {
        m.source = fs.realpathSync(source);
      } catch (err) {
        throw invalid(where, `source ${source} ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be resolved (${(err as Error).message})`}`);
      }
      if (m.propagation !== undefined && !(propagations as readonly string[]).includes(m.propagation)) {
        throw invalid(where, `unknown propagation ${JSON.stringify(m.propagation)} (known: ${propagations.join(', ')})`);
      }
    } else if (m.type === 'tmpfs') {
      for (const k of ['source', 'propagation'] as const) if (m[k] !== undefined) throw invalid(where, `"${k}" is an option of bind mounts`);
      if (m.size !== undefined && m.size < 4096) throw invalid(where, `size ${m.size} is too small (at least 4096 bytes)`);
      if (m.mode !== undefined && (m.mode < 0 || m.mode > 0o7777)) throw invalid(where, `mode ${m.mode} is not a file mode (0 to 0o7777)`);
    } else {
      throw invalid(where, `unknown type ${JSON.stringify(m.type)} (known: bind, tmpfs)`);
    }
    return m;
  });
}

/** The OCI mount of `m`, with docker's options. */
function ociMount(m: TaskMount): OciSpec['mounts'][number] {
  const access = m.readonly === true ? 'ro' : 'rw';
  if (m.type === 'bind') return { destination: m.target, type: 'bind', source: m.source!, options: ['rbind', access, ...(m.propagation ? [m.propagation] : [])] };
  const options = ['nosuid', 'nodev', m.exec === true ? 'exec' : 'noexec', access, `mode=${(m.mode ?? 0o1777).toString(8)}`];
  if (m.size !== undefined) options.push(`size=${m.size}`);
  return { destination: m.target, type: 'tmpfs', source: 'tmpfs', options };
}

/** How deep a target lies: `/a` 1, `/a/b` 2 (targets are resolved, so no `..` nor `//`). */
const depth = (target: string): number => target.split('/').length;

/**
 * The spec's mounts with the task's: a task mount replaces a spec mount at the same place (docker:
 * `-v /data:/tmp` replaces the default tmpfs there) and comes after the others, so a mount below
 * one of them (`/dev/…`) lands on it. The task's own go shallowest first, as docker sorts them:
 * runtimes mount in the spec's order, so `-v B:/data/sub -v A:/data` in the order given would
 * mount A over B (runc: B hidden; runsc: the sandbox does not start).
 */
export function withTaskMounts(base: OciSpec['mounts'], mounts: readonly TaskMount[]): OciSpec['mounts'] {
  const taken = new Set(mounts.map((m) => m.target));
  const ordered = [...mounts].sort((a, b) => depth(a.target) - depth(b.target));
  return [...base.filter((b) => !taken.has(path.posix.resolve('/', b.destination))), ...ordered.map(ociMount)];
}
