import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { TaskioError } from '../errors.js';
import { readJson, writeJsonAtomic } from './atomicJson.js';
import type { PidWatch } from './pidWatch.js';
import { processStartTime } from './procStat.js';

/**
 * The process of a host task's copy helper (`copyHelper.ts`), named in its `cp-<tag>` directory
 * (`process.json`: pid and start time) so that the next daemon can end it when a SIGKILLed one left
 * it. It does not end by itself: its stdout is the exec's output FIFO opened read-write (as a task's
 * is, kept open), so it is a reader of its own output — once its client is gone or stops reading, a
 * `tar -c` blocks for ever on the full FIFO instead of getting EPIPE.
 */
const processFile = 'process.json';

/** How long a killed helper process may take to exit, ms: SIGKILL is not caught, so this is slack. */
const exitTimeoutMs = 5000;

/** Names host copy helper process `pid` in its directory `dir`; nothing when it is gone already. */
export function recordHelperProcess(dir: string, pid: number): void {
  const startTime = processStartTime(pid);
  if (startTime !== null) writeJsonAtomic(path.join(dir, processFile), { pid, startTime });
}

/**
 * Kills the host copy helper process that directory `dir` names, when it still runs — through a
 * pidfd, once its start time matched (a pid reused since is another process's: {@link PidWatch.kill})
 * — and waits until it exited.
 * @returns its pid, or null when none is named or it is gone.
 * @throws TaskioError `ERR_CORRUPT_STATE` when the file names no process; `ETIMEDOUT` when it still
 *   runs after the kill (bounded).
 */
export async function killHelperProcess(dir: string, watch: PidWatch): Promise<number | null> {
  const file = path.join(dir, processFile);
  const named = readJson<{ pid?: unknown; startTime?: unknown }>(file);
  if (named === null) return null;
  const { pid, startTime } = named;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0 || typeof startTime !== 'string') {
    throw new TaskioError('ERR_CORRUPT_STATE', `${file} names no process (a pid and its start time)`);
  }
  const killed = await Promise.race([watch.kill(pid, startTime), delay(exitTimeoutMs, 'late' as const, { ref: false })]);
  if (killed === 'late') throw new TaskioError('ETIMEDOUT', `copy helper process ${pid} still runs ${exitTimeoutMs} ms after SIGKILL`);
  return killed ? pid : null;
}
