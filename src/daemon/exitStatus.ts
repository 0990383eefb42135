import { signalName } from '../runtime/oci/signal.js';
import type { ExitRecord } from './records.js';

/** The signal of a death by signal `n` under its name (`SIGKILL`, `SIGRTMIN+1`), null for one that has none. */
function deathSignal(n: number): string | null {
  if (n < 1 || n > 64) return null;
  const name = signalName(n);
  return name.startsWith('SIG') ? name : null;
}

/** An exit record from a status (code, or 128 + signal as the reaper reports it). */
export function exitFromStatus(status: number, at: Date | null): ExitRecord {
  return {
    exitCode: status,
    signal: status > 128 ? deathSignal(status - 128) : null,
    exitedAt: (at ?? new Date()).toISOString(),
  };
}

/** A task's exit nobody could see: no code is made up, nor an OOM kill (docker's false). */
export function unknownExit(reason: string, at: Date | null = new Date()): ExitRecord {
  return { exitCode: null, signal: null, exitedAt: at ? at.toISOString() : null, reason, oomKilled: false };
}
