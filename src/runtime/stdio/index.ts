/**
 * Process-side stdio (containerd's shim `processIO`): what a runtime gives a task as fds 0–2, and
 * what keeps the task's output and input working while clients come and go.
 *
 * Decisions recorded here:
 * - Output FIFOs are written by the task directly (no copy in Node, full pipe speed): its fd is an
 *   `O_RDWR` open of its own, so it never gets `EPIPE` with no client. taskio keeps one more `O_RDWR`
 *   keep-alive so output still unread when the task exits survives until a client reads it;
 *   `drain()` closes it once the FIFO is empty (that close is the client's EOF). Not for an exec's
 *   output (`keepOpen: false`): its one client opened its reader before asking for the process, so
 *   the fds here are write-only, and a client that left gives the process EPIPE/SIGPIPE instead of
 *   a pipe nobody reads (docker's exec'd process ends so too); nobody reattaches to an exec.
 * - stdin is copied in Node from the FIFO into a real pipe; taskio holds a keep-alive writer of the
 *   FIFO, so a detaching client never ends it. `closeStdin()` closes only that writer (containerd's
 *   `CloseIO`): the FIFO drains to EOF, then the pipe ends. `stdin()` writes into the same pipe.
 * - `file://` without options: an `O_APPEND` fd to the runtime (runsc writes regular files from its
 *   own offset and chowns its stdio to 65534 — the file's owner changes under runsc). With options
 *   (`format=cri`, `maxSize` …): real pipes copied by `src/logfile`'s log writer.
 * - `binary://`: the logger's own stderr is kept (last 4 KiB) to explain "did not call ready".
 *   Close: our pipe ends closed, SIGTERM, SIGKILL after the grace period.
 */
export { createIO, ProcessIO, type CreateIOOptions, type ProcessIOEvents } from './processIO.js';
export { parseTarget, type Target } from './target.js';
