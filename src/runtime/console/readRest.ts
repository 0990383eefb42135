import fs from 'node:fs';

/**
 * Reads what a non-blocking pty master still holds, handing each chunk to `deliver` (a copy, not a
 * view of a reused buffer), until the read says there is no more: `EIO` once every slave fd is
 * closed and the buffers are empty, `EAGAIN` while a slave is open and nothing waits.
 *
 * Why: the readers Node gives a pty master stop before the terminal is read out. libuv ends a
 * stream at `POLLHUP` when its last read came back short, without reading again, and node-pty
 * destroys its socket 200 ms after the exit; a master reports `POLLHUP` as soon as the last slave
 * fd closed, while one read returns at most what the line discipline holds (4 KiB) and the rest
 * waits in the pty's buffer. Never call it on a blocking fd: the read would wait for the process.
 */
export function readRest(fd: number, deliver: (chunk: Buffer) => void): void {
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch {
      return; // EIO: read to its end; EAGAIN: nothing more now
    }
    if (n <= 0) return;
    deliver(Buffer.from(buf.subarray(0, n)));
  }
}
