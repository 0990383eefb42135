import { Writable } from 'node:stream';

/** The task output an attach shows: docker's `run -a` (`--attach`) list, both without it. */
export interface ShownOutput {
  stdout: boolean;
  stderr: boolean;
}

/**
 * The writables an attach gets for the task's output, of those `shown`. One not shown is not asked
 * for — the daemon then sends none of it; it is in the task's log all the same, as docker keeps it —
 * except from a FIFO-mode task (`fifo`), whose pipe nothing else reads: that one is read here and
 * dropped, so the task never blocks on a full pipe.
 */
export function outputStreams(shown: ShownOutput | undefined, streams: { stdout: Writable; stderr: Writable }, fifo: boolean): { stdout?: Writable; stderr?: Writable } {
  const pick = (name: 'stdout' | 'stderr') => {
    if (shown === undefined || shown[name]) return { [name]: streams[name] };
    return fifo ? { [name]: new Writable({ write: (_chunk, _enc, done) => done() }) } : {};
  };
  return { ...pick('stdout'), ...pick('stderr') };
}
