import crypto from 'node:crypto';
import path from 'node:path';

/**
 * The prefix of the ids a runtime binary knows the containers under runtime root `root` by
 * (`--root`, named by one path): 8 hex digits of the sha256 of the resolved path, and a `-`.
 * Container `id` is `<prefix><id>++` to the binary ({@link runtimeIdEnd}): 9 + 76 + 2 characters
 * at most (9 + 94 + 2 for a daemon helper's `<id>+<kind>+<8 hex>`, `validateContainerId`).
 *
 * Why: the runtimes name host-wide things after the container id, not per `--root`. runsc
 * (2022-12-19) binds its sandbox's control socket to the abstract `@runsc-sandbox.<id>`, one
 * name in the network namespace of the host: a second root's container of the same id fails
 * "creating control server socket for sandbox "<id>": address already in use". And both runsc
 * and runc name the cgroup of a container whose spec has no `linux.cgroupsPath` after the id (runsc
 * `/<id>`, runc `<id>` below the caller's own cgroup): two roots' runc containers of one id, made
 * from one process, share it, and `kill --all` of one kills the other. Everything taskio
 * shows keeps the caller's id; only the runtime's command line, its state files, its processes'
 * command lines and those default cgroups carry the prefixed one.
 */
export function runtimeIdPrefix(root: string): string {
  return `${crypto.createHash('sha256').update(path.resolve(root)).digest('hex').slice(0, 8)}-`;
}

/**
 * What ends every id a runtime binary knows a container by (after `<prefix><id>`), so that no
 * runtime id under a root is the beginning of another.
 *
 * Why: runsc (2022-12-19) takes the id a command names as the beginning of a container's id
 * (`findContainerID`): once two state files match it, it refuses, even with one an exact match —
 * "id "<p>-box" is ambiguous and could refer to multiple containers". With task `box-cp-0a1b2c3d`
 * or `box2` beside `box`, or a copy helper `box+cp+<tag>` running, every runsc command on `box`
 * failed: its `rm -f` left its sandbox running, its state and its cgroup in every hierarchy. No id
 * holds `++` (a task id no `+`; a helper's `+` are apart and it ends in a hex digit), so an id
 * that ends with it is the beginning of no other id that does. runc finds ids exactly; it gets
 * the same ids, so that both runtimes name a container alike.
 */
export const runtimeIdEnd = '++';
