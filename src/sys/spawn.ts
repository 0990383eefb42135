import fs from 'node:fs';
import { libc } from './libc.js';
import { sysError } from './errno.js';
import { dupFd } from './files.js';

const O_RDWR = 2;
const POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSID = 0x80;
// glibc's opaque types are 80 (file actions), 336 (attributes) and 128 (sigset_t) bytes on every
// 64-bit Linux it supports; the buffers are larger so a bigger layout can never be overrun.
const ACTIONS_SIZE = 256, ATTR_SIZE = 1024, SIGSET_SIZE = 256;

/** What the child finds at one of its fds: an fd of this process, or `/dev/null`. */
export type SpawnFd = number | 'ignore';

/** Options of {@link posixSpawn}. */
export interface PosixSpawnOptions {
  /** The child's fds from 0 up (at least 0–2); every other fd of this process is close-on-exec. */
  fds: readonly SpawnFd[];
  /** The child's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** A session of its own (`setsid`), as `child_process`'s `detached`: its own process group, no terminal. */
  setsid?: boolean;
}

/**
 * Starts `file` (looked up in `PATH` when it has no slash) with `args` through glibc's
 * `posix_spawnp` and returns its pid. The child is not reaped by libuv: whoever reaps this process's
 * other children (the exit monitor) reaps it.
 *
 * Why not `child_process`: libuv forks, and a fork copies the page tables of the whole process —
 * 3.6 ms for a bare Node on this machine kind, 8 ms for a daemon with 100 MB resident, 9.4 ms with
 * 250 MB — during which the event loop stands still, once per runtime command. `posix_spawn` clones
 * with the memory shared (`CLONE_VM | CLONE_VFORK`) and costs about 0.5 ms at any size.
 *
 * The child starts as libuv starts its children: every signal at its default action and none
 * blocked (this process ignores `SIGPIPE`; its children must not). Each fd is first duplicated above
 * the highest target, so a source that is also a target (fd 4 → 3 while fd 3 → 4) is never
 * overwritten before it is copied.
 * @throws a system error with the code of the failure: `ENOENT` or `EACCES` when `file` cannot be run.
 */
export function posixSpawn(file: string, args: readonly string[], opts: PosixSpawnOptions): number {
  const actions = Buffer.alloc(ACTIONS_SIZE), attr = Buffer.alloc(ATTR_SIZE);
  const all = Buffer.alloc(SIGSET_SIZE), none = Buffer.alloc(SIGSET_SIZE);
  const copies: number[] = [];
  libc.posix_spawn_file_actions_init(actions);
  libc.posix_spawnattr_init(attr);
  try {
    opts.fds.forEach((fd, target) => {
      if (fd === 'ignore') {
        check(libc.posix_spawn_file_actions_addopen(actions, target, '/dev/null', O_RDWR, 0), 'posix_spawn_file_actions_addopen');
        return;
      }
      const copy = dupFd(fd, opts.fds.length);
      copies.push(copy);
      check(libc.posix_spawn_file_actions_adddup2(actions, copy, target), 'posix_spawn_file_actions_adddup2');
    });
    libc.sigfillset(all);
    libc.sigemptyset(none);
    check(libc.posix_spawnattr_setsigdefault(attr, all), 'posix_spawnattr_setsigdefault');
    check(libc.posix_spawnattr_setsigmask(attr, none), 'posix_spawnattr_setsigmask');
    check(libc.posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (opts.setsid ? POSIX_SPAWN_SETSID : 0)), 'posix_spawnattr_setflags');
    const env = Object.entries(opts.env ?? process.env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
    const pid = new Int32Array(1);
    // posix_spawn returns the error number instead of setting errno.
    const rc = libc.posix_spawnp(pid, file, actions, attr, [file, ...args, null], [...env, null]) as number;
    if (rc !== 0) throw sysError('posix_spawnp', rc, file);
    return pid[0]!;
  } finally {
    libc.posix_spawn_file_actions_destroy(actions);
    libc.posix_spawnattr_destroy(attr);
    for (const fd of copies) fs.closeSync(fd);
  }
}

/** The setup calls return an error number (0 on success), as posix_spawn itself does. */
function check(rc: number, call: string): void {
  if (rc !== 0) throw sysError(call, rc);
}
