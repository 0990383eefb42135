import { TaskioError } from '../errors.js';

/** docker's version prefix of a path: `/v1.41/containers/json`. */
const prefix = /^\/v([0-9.]+)(?=\/)/;

/**
 * A request path without docker's API version prefix (`/v1/tasks` is `/tasks`), as docker's router
 * takes every route with or without one. taskio's API has one version, `current`: a path asking for
 * another is refused as docker refuses a version outside its range (400, its words), rather than
 * answered by a route of another version or a 404 that names no version.
 * @throws TaskioError `ERR_API_VERSION`.
 */
export function withoutApiVersion(path: string, current: number): string {
  const m = prefix.exec(path);
  if (!m) return path;
  const asked = m[1]!;
  const order = compareVersions(asked, String(current));
  if (order > 0) throw new TaskioError('ERR_API_VERSION', `client version ${asked} is too new. Maximum supported API version is ${current}`);
  if (order < 0) throw new TaskioError('ERR_API_VERSION', `client version ${asked} is too old. Minimum supported API version is ${current}, please upgrade your client to a newer version`);
  return path.slice(m[0].length);
}

/** Compares dotted versions part by part as docker does (`1` is `1.0`; a part that is no number is 0). */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.'), pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const x = Number.parseInt(pa[i] ?? '0', 10) || 0, y = Number.parseInt(pb[i] ?? '0', 10) || 0;
    if (x !== y) return x > y ? 1 : -1;
  }
  return 0;
}
