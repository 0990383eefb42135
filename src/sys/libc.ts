import type * as Koffi from 'koffi';
import { loadNative, nativeError, requirePlatform } from './native.js';

/**
 * The raw libc functions taskio needs, bound through koffi. Nothing outside `src/sys` declares a libc
 * function; the typed wrappers beside this file are the only callers. Every function here is called in
 * a non-blocking way (WNOHANG, LOCK_NB, MSG_DONTWAIT), so none of them ever stalls the event loop.
 *
 * Nothing native loads at import. Each entry of {@link libc} starts as a stub; the first call of any of
 * them checks the platform (`ERR_PLATFORM_NOT_SUPPORTED` off Linux), loads koffi and libc
 * (`ERR_NATIVE_MODULE` when either cannot be loaded) and replaces every stub with the bound koffi
 * function, so later calls go straight to koffi with no check on the way.
 */
const signatures = {
  mkfifo: 'int mkfifo(const char *path, uint32 mode)',
  unlink: 'int unlink(const char *path)',
  flock: 'int flock(int fd, int op)',
  pipe2: 'int pipe2(_Out_ int *fds, int flags)',
  fcntl: 'int fcntl(int fd, int cmd, ...)',
  ioctl: 'int ioctl(int fd, unsigned long req, ...)',
  prctl: 'int prctl(int option, ...)',
  waitid: 'int waitid(int idtype, uint32 id, void *info, int options)',
  waitpid: 'int waitpid(int pid, _Out_ int *status, int options)',
  recvmsg: 'intptr_t recvmsg(int fd, _Inout_ taskio_msghdr *msg, int flags)',
  strerror: 'const char *strerror(int errnum)',
  syscall: 'long syscall(long number, ...)',
  mallopt: 'int mallopt(int param, int value)',
  malloc_trim: 'int malloc_trim(size_t pad)',
  posix_spawnp: 'int posix_spawnp(_Out_ int *pid, const char *file, void *actions, void *attr, const char **argv, const char **envp)',
  posix_spawn_file_actions_init: 'int posix_spawn_file_actions_init(void *actions)',
  posix_spawn_file_actions_destroy: 'int posix_spawn_file_actions_destroy(void *actions)',
  posix_spawn_file_actions_adddup2: 'int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)',
  posix_spawn_file_actions_addopen: 'int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int oflag, uint32 mode)',
  posix_spawnattr_init: 'int posix_spawnattr_init(void *attr)',
  posix_spawnattr_destroy: 'int posix_spawnattr_destroy(void *attr)',
  posix_spawnattr_setflags: 'int posix_spawnattr_setflags(void *attr, short flags)',
  posix_spawnattr_setsigdefault: 'int posix_spawnattr_setsigdefault(void *attr, void *set)',
  posix_spawnattr_setsigmask: 'int posix_spawnattr_setsigmask(void *attr, void *set)',
  sigfillset: 'int sigfillset(void *set)',
  sigemptyset: 'int sigemptyset(void *set)',
} as const;

type Libc = Record<keyof typeof signatures, Koffi.KoffiFunction>;

/** The glibc soname; musl and other libcs are not supported (their error says so through `ERR_NATIVE_MODULE`). */
const LIBC = 'libc.so.6';

let koffi: typeof Koffi | undefined;

/** The libc functions, bound on the first call of any of them. */
export const libc = {} as Libc;
for (const name of Object.keys(signatures) as (keyof Libc)[]) {
  libc[name] = ((...args: unknown[]) => {
    bind(`libc ${name}()`);
    return libc[name](...args);
  }) as Koffi.KoffiFunction;
}

function bind(call: string): void {
  requirePlatform(call);
  const k = loadNative<typeof Koffi>('koffi', call);
  let lib: Koffi.IKoffiLib;
  try {
    lib = k.load(LIBC);
  } catch (cause) {
    throw nativeError(LIBC, call, cause);
  }
  if (koffi === undefined) {
    // koffi's type names are process-wide: declare them once, even if a binding below failed before.
    k.struct('taskio_iovec', { base: 'void *', len: 'size_t' });
    k.struct('taskio_msghdr', {
      name: 'void *',
      namelen: 'uint32',
      iov: 'taskio_iovec *',
      iovlen: 'size_t',
      control: 'void *',
      controllen: 'size_t',
      flags: 'int',
    });
    koffi = k;
  }
  for (const name of Object.keys(signatures) as (keyof Libc)[]) libc[name] = lib.func(signatures[name]);
}

/** The errno of the last libc call made through koffi on this thread. */
export function lastErrno(): number {
  // Only read after a libc call failed, so koffi is loaded by then.
  return koffi!.errno();
}
