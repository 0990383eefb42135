import { libc, lastErrno } from './libc.js';
import { sysError } from './errno.js';

const SOL_SOCKET = 1, SCM_RIGHTS = 1, MSG_DONTWAIT = 0x40, MSG_CMSG_CLOEXEC = 0x40000000;
const CMSG_HDR = 16; // cmsg_len (size_t) + cmsg_level (int) + cmsg_type (int) on 64-bit Linux

/** What {@link recvFd} received: the message bytes and the fd that came with them, if any. */
export interface ReceivedFd {
  /** The fd passed with `SCM_RIGHTS` (close-on-exec), or -1 when the message carried none. */
  fd: number;
  /** The ordinary bytes of the message (runc sends the console path here). */
  data: Buffer;
}

/**
 * Receives one message carrying at most one `SCM_RIGHTS` fd from the unix socket `sockFd`
 * without waiting. Throws `EAGAIN` when nothing is there yet; returns `{ fd: -1, data: empty }`
 * at end of stream.
 */
export function recvFd(sockFd: number, maxData = 4096): ReceivedFd {
  const data = Buffer.alloc(maxData);
  const control = Buffer.alloc(CMSG_HDR + 8);
  const msg = { name: null, namelen: 0, iov: { base: data, len: data.length }, iovlen: 1,
    control, controllen: control.length, flags: 0 };
  const n = Number(libc.recvmsg(sockFd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
  if (n < 0) throw sysError('recvmsg', lastErrno());
  let fd = -1;
  if (Number(msg.controllen) >= CMSG_HDR + 4 && control.readInt32LE(8) === SOL_SOCKET && control.readInt32LE(12) === SCM_RIGHTS) {
    fd = control.readInt32LE(CMSG_HDR);
  }
  return { fd, data: data.subarray(0, n) };
}
