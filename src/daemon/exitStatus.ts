import os from 'node:os';
import type { ExitRecord } from './records.js';

const signalNames = new Map<number, string>(Object.entries(os.constants.signals).map(([name, n]) => [n, name]));

/** An exit record from a status (code, or 128 + signal as the reaper reports it). */
export function exitFromStatus(status: number, at: Date | null): ExitRecord {
  return {
    exitCode: status,
    signal: status > 128 ? (signalNames.get(status - 128) ?? null) : null,
    exitedAt: (at ?? new Date()).toISOString(),
  };
}

/** An exit nobody could see: no code is made up. */
export function unknownExit(reason: string, at: Date | null = new Date()): ExitRecord {
  return { exitCode: null, signal: null, exitedAt: at ? at.toISOString() : null, reason };
}
