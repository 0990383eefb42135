import type { Duplex } from 'node:stream';
import { peerClosed, socketFd } from '../sys/index.js';

/** How often an attach's connection is looked at for a client that went away. */
const probeMs = 1000;

/**
 * Destroys an upgraded attach connection once its client has closed it (exited, or was
 * SIGKILLed), which ends the attach as the client leaving does and lets go of its fds. Node learns
 * that a peer closed only by reading its EOF or failing a write, and an attach often does neither:
 * one without stdin never reads its connection, one whose task stopped reading its stdin leaves
 * the connection paused with input queued, and a task that writes nothing gives it nothing to
 * write — such an attach held its socket, log reader and stdin FIFO for as long as the task ran,
 * and the socket for ever once the attach was over. `POLLHUP` says the peer closed whatever is
 * queued; a client that only half-closed (its stdin ended) still reads its output and is left
 * alone. Watches until the connection closes.
 */
export function destroyWhenPeerCloses(socket: Duplex): void {
  const probe = (): void => {
    const fd = socketFd(socket);
    if (fd === null) return;
    let closed: boolean;
    try {
      closed = peerClosed(fd);
    } catch {
      return; // the fd went as the socket closed: its 'close' stops the probes
    }
    if (closed) socket.destroy();
  };
  const timer = setInterval(probe, probeMs);
  timer.unref();
  // An EOF read is the first sign, when the connection is read at all.
  socket.on('end', probe);
  socket.once('close', () => {
    clearInterval(timer);
    socket.off('end', probe);
  });
}
