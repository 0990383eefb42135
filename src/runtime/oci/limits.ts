/** How a runtime command ended when it did not end by itself. */
export type Cut = 'timeout' | 'abort' | null;

/** The bounds of one runtime command: a time limit in ms (0 or absent: none) and an abort signal. */
export interface CommandBounds {
  timeout?: number;
  signal?: AbortSignal;
}

/** A running command's bounds: how it was cut off, if it was; `done()` once it ended. */
export interface CommandLimit {
  cut(): Cut;
  done(): void;
}

/**
 * SIGKILLs the process group led by `pid` (the command runs in a session of its own) when the
 * time limit passes or the signal aborts — the runtime CLI and whatever it started that is still in
 * its group (a wrapper script's children, a half-made container's helpers). The runtime's children
 * that should outlive a call — runsc's sandbox and gofer, runc's init — are only touched when the
 * call that starts them is cut off, and then the container is not usable anyway.
 */
export function limitCommand(pid: number | undefined, bounds: CommandBounds): CommandLimit {
  let cut: Cut = null;
  const kill = (why: Exclude<Cut, null>): void => {
    if (cut !== null || pid === undefined) return;
    cut = why;
    killGroup(pid);
  };
  const timer = bounds.timeout ? setTimeout(() => kill('timeout'), bounds.timeout) : undefined;
  const onAbort = (): void => kill('abort');
  bounds.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    cut: () => cut,
    done: () => {
      clearTimeout(timer);
      bounds.signal?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * SIGKILL to the process group led by `pid` (the command is not reaped yet, so the id is still
 * its own), or to the process alone if it has not made its group yet.
 */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already: it ended as the limit came.
    }
  }
}
