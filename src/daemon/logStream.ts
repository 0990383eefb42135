import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { followLog, type LogEntry } from '../logfile/index.js';
import { StreamType, frameHeader } from './stdcopy.js';
import type { DaemonTask } from './task.js';

/** What of a task's log to stream, and how. */
export interface LogStreamOptions {
  follow: boolean;
  /** Last N entries (lines); undefined: the whole log; 0: only what comes next (attach). */
  tail?: number;
  since?: Date;
  timestamps: boolean;
  stdout: boolean;
  stderr: boolean;
  signal: AbortSignal;
}

/**
 * Streams a task's log into `out` as the bytes the task wrote (CRI entries decoded back: a `P`
 * entry adds no newline), framed per stream for a non-terminal task (Docker's multiplexed format)
 * or raw for a terminal. With `follow`, it ends once the task's output is complete (it exited
 * and everything it wrote is in the log). A slow `out` slows only this stream: the log is a file.
 */
export async function streamLog(task: DaemonTask, out: Writable, opts: LogStreamOptions): Promise<void> {
  const { logPath, logFormat, terminal } = task.record;
  if (logPath === null || logFormat === null) return;
  const entries = followLog(logPath, {
    format: logFormat, follow: opts.follow, signal: opts.signal, until: task.outputDone,
    ...(opts.tail !== undefined ? { tail: opts.tail } : {}), ...(opts.since ? { since: opts.since } : {}),
    // Timestamps are per line, as docker prints them.
    ...(opts.timestamps && logFormat === 'cri' ? { reassemble: true } : {}),
  });
  for await (const e of entries) {
    const stream = e.stream === 'stderr' ? StreamType.Stderr : StreamType.Stdout;
    if (stream === StreamType.Stdout ? !opts.stdout : !opts.stderr) continue;
    const payload = encodeEntry(e, opts.timestamps);
    if (!terminal) out.write(frameHeader(stream, payload.length));
    if (!out.write(payload)) await once(out, 'drain', { signal: opts.signal });
  }
}

function encodeEntry(e: LogEntry, timestamps: boolean): Buffer {
  const parts: Buffer[] = [];
  if (timestamps && e.timestamp !== '') parts.push(Buffer.from(`${e.timestamp} `));
  parts.push(e.content);
  if (!e.partial && e.stream !== null) parts.push(newline);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

const newline = Buffer.from('\n');
