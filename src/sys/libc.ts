import koffi from 'koffi';

/**
 * The raw libc functions taskio needs, bound once through koffi. Nothing outside `src/sys`
 * declares a libc function; the typed wrappers beside this file are the only callers.
 * Every function here is called in a non-blocking way (WNOHANG, LOCK_NB, MSG_DONTWAIT), so
 * none of them ever stalls the event loop.
 */
const lib = koffi.load('libc.so.6');

export const iovec = koffi.struct('taskio_iovec', { base: 'void *', len: 'size_t' });
export const msghdr = koffi.struct('taskio_msghdr', {
  name: 'void *',
  namelen: 'uint32',
  iov: 'taskio_iovec *',
  iovlen: 'size_t',
  control: 'void *',
  controllen: 'size_t',
  flags: 'int',
});

export const libc = {
  mkfifo: lib.func('int mkfifo(const char *path, uint32 mode)'),
  flock: lib.func('int flock(int fd, int op)'),
  pipe2: lib.func('int pipe2(_Out_ int *fds, int flags)'),
  fcntl: lib.func('int fcntl(int fd, int cmd, ...)'),
  ioctl: lib.func('int ioctl(int fd, unsigned long req, ...)'),
  prctl: lib.func('int prctl(int option, ...)'),
  waitid: lib.func('int waitid(int idtype, uint32 id, void *info, int options)'),
  waitpid: lib.func('int waitpid(int pid, _Out_ int *status, int options)'),
  recvmsg: lib.func('intptr_t recvmsg(int fd, _Inout_ taskio_msghdr *msg, int flags)'),
  strerror: lib.func('const char *strerror(int errnum)'),
  syscall: lib.func('long syscall(long number, ...)'),
};

/** The errno of the last libc call made through koffi on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}
