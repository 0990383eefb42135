import { libc, lastErrno } from './libc.js';
import { sysError } from './errno.js';

const SOL_SOCKET = 1, SCM_RIGHTS = 1, MSG_DONTWAIT = 0x40, MSG_CTRUNC = 0x8, MSG_CMSG_CLOEXEC = 0x40000000;
const CMSG_HDR = 16; // cmsg_len (size_t) + cmsg_level (int) + cmsg_type (int) on 64-bit Linux
/**
 * Room for this many fds in one message. One is expected; the room for more is there so that fds a
 * sender added are received, and can be closed, rather than left in this process unseen: the kernel
 * installs as many fds as the control buffer holds (a buffer for one already holds two, the size
 * being rounded up to 8 bytes) and drops the rest with `MSG_CTRUNC`.
 */
const MAX_FDS = 8;

/** What {@link recvFd} received: the message bytes and the fds that came with them. */
export interface ReceivedFd {
  /** The fds passed with `SCM_RIGHTS` (close-on-exec, owned by the caller), in order; empty when none. */
  fds: number[];
  /** True when the sender passed more fds than fit: the kernel closed the rest. */
  truncated: boolean;
  /** The ordinary bytes of the message (runc sends the console path here). */
  data: Buffer;
}

/**
 * Receives one message with the `SCM_RIGHTS` fds it carries from the unix socket `sockFd` without
 * waiting. Throws `EAGAIN` when nothing is there yet; returns no fds and empty data at end of stream.
 */
export function recvFd(sockFd: number, maxData = 4096): ReceivedFd {
  const data = Buffer.alloc(maxData);
  const control = Buffer.alloc(CMSG_HDR + 4 * MAX_FDS);
  const msg = { name: null, namelen: 0, iov: { base: data, len: data.length }, iovlen: 1,
    control, controllen: control.length, flags: 0 };
  const n = Number(libc.recvmsg(sockFd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
  if (n < 0) throw sysError('recvmsg', lastErrno());
  const fds: number[] = [];
  // A unix socket without SO_PASSCRED carries one control message at most: the SCM_RIGHTS one.
  const cmsgLen = Math.min(Number(msg.controllen) >= CMSG_HDR ? Number(control.readBigUInt64LE(0)) : 0, Number(msg.controllen));
  if (cmsgLen >= CMSG_HDR + 4 && control.readInt32LE(8) === SOL_SOCKET && control.readInt32LE(12) === SCM_RIGHTS) {
    for (let at = CMSG_HDR; at + 4 <= cmsgLen; at += 4) fds.push(control.readInt32LE(at));
  }
  return { fds, truncated: (Number(msg.flags) & MSG_CTRUNC) !== 0, data: data.subarray(0, n) };
}

/**
 * The fd behind a Node socket (`net.Socket`, or an upgraded connection as a `Duplex`), or null
 * when it has none (closed, or not fd-backed). Node keeps it on the socket's internal `_handle`;
 * the polls and `recvmsg` calls taskio makes on a connection need it.
 */
export function socketFd(socket: unknown): number | null {
  const fd = (socket as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}
