import fs from 'node:fs';
import { TaskioError } from '../errors.js';
import type { OciSpec } from '../runtime/oci/index.js';

type OciMount = OciSpec['mounts'][number];

/** Whether an OCI mount is a bind mount (`type: bind`, or an `rbind`/`bind` option, as runc reads it). */
export function isBindMount(m: OciMount): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/**
 * Refuses a runsc start whose bind mount source is gone: removed between `create` and `start`, or
 * before a restart. runsc 2022-12 then fails with `cannot read client sync file: waiting for
 * sandbox to start: EOF`, naming nothing; runc names it (`error mounting "/src" to rootfs at
 * "/data": stat /src: no such file or directory`), docker says `bind source path does not exist`.
 * @throws TaskioError `ERR_INVALID_MOUNT` naming the source and where it was to be mounted.
 */
export function checkBindSources(spec: OciSpec): void {
  for (const m of spec.mounts ?? []) {
    if (!isBindMount(m) || m.source === undefined) continue;
    try {
      fs.statSync(m.source);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as Error).message})`;
      throw new TaskioError('ERR_INVALID_MOUNT', `bind source path ${m.source} (mounted at ${m.destination}) ${why}`, { cause: err });
    }
  }
}
