import fs from 'node:fs';
import path from 'node:path';
import { TaskioError } from '../errors.js';
import { readRegularFileSync } from '../readRegularFile.js';

/** The user a task's process runs as (OCI's `process.user`), and its home from the passwd file. */
export interface TaskUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
  /** The passwd entry's home directory, when the user was found there. */
  home?: string;
}

/** uid_t and gid_t are 32 bits; (uid_t)-1 means "unchanged" to the kernel. */
const maxId = 2 ** 32 - 2;

function parseId(s: string): number | null {
  if (!/^\d{1,10}$/.test(s)) return null;
  const n = Number(s);
  return n <= maxId ? n : null;
}

/**
 * Reads `<rootfs>/etc/<name>` as root would inside the task, without ever leaving the rootfs on the
 * host: `/etc` must be a real directory (a link there could point at the host's own files) and the
 * file is read with {@link readRegularFileSync}. Null when there is no such file (a rootfs without
 * one: numeric ids still work, names do not).
 */
function rootfsFile(rootfs: string, name: 'passwd' | 'group'): string[][] | null {
  const etc = path.join(rootfs, 'etc');
  if (!fs.lstatSync(etc, { throwIfNoEntry: false })?.isDirectory()) return null;
  let text: string | null;
  try {
    text = readRegularFileSync(path.join(etc, name));
  } catch (err) {
    if (['ENOENT', 'ELOOP'].includes((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
  return text === null ? null : text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(':'));
}

/**
 * Resolves docker's `--user` value, `user[:group]` with names or numbers, against the passwd and
 * group files of the task's rootfs (as docker and containerd do: the names are the task's, not the
 * host's). A user found there brings its primary group and, when no group is given, the groups that
 * list it as a member; a number found nowhere runs with group 0, as in docker.
 * @throws TaskioError `ERR_INVALID_USER` for a malformed value or a name the rootfs does not know.
 */
export function resolveUser(spec: string, rootfs: string): TaskUser {
  const bad = (why: string) => new TaskioError('ERR_INVALID_USER', `invalid user ${JSON.stringify(spec)}: ${why}`);
  const parts = spec.split(':');
  const [userPart = '', groupPart] = parts;
  if (parts.length > 2 || userPart === '' || groupPart === '' || /[\s\0]/.test(spec)) throw bad('expected user[:group], as names or numbers');
  const passwd = rootfsFile(rootfs, 'passwd') ?? [];
  const uid = parseId(userPart);
  if (uid === null && /^\d+$/.test(userPart)) throw bad(`uid ${userPart} is out of range (0 to ${maxId})`);
  const entry = passwd.find((f) => (uid === null ? f[0] === userPart : parseId(f[2] ?? '') === uid));
  if (!entry && uid === null) throw bad(`unable to find user ${userPart}: no matching entries in ${path.join(rootfs, 'etc/passwd')}`);
  const user: TaskUser = { uid: uid ?? parseId(entry![2] ?? '') ?? 0, gid: entry ? (parseId(entry[3] ?? '') ?? 0) : 0 };
  if (entry?.[5]) user.home = entry[5];
  const groups = rootfsFile(rootfs, 'group') ?? [];
  if (groupPart !== undefined) {
    const gid = parseId(groupPart);
    if (gid === null && /^\d+$/.test(groupPart)) throw bad(`gid ${groupPart} is out of range (0 to ${maxId})`);
    const group = gid === null ? groups.find((f) => f[0] === groupPart) : undefined;
    if (gid === null && !group) throw bad(`unable to find group ${groupPart}: no matching entries in ${path.join(rootfs, 'etc/group')}`);
    user.gid = gid ?? parseId(group![2] ?? '') ?? 0;
  } else if (entry) {
    const extra = groups.filter((f) => (f[3] ?? '').split(',').includes(entry[0]!)).map((f) => parseId(f[2] ?? '')).filter((g): g is number => g !== null && g !== user.gid);
    if (extra.length > 0) user.additionalGids = [...new Set(extra)];
  }
  return user;
}

/** OCI's `process.user` of `u` (without the home). */
export function ociUser(u: TaskUser): { uid: number; gid: number; additionalGids?: number[] } {
  return { uid: u.uid, gid: u.gid, ...(u.additionalGids ? { additionalGids: u.additionalGids } : {}) };
}
