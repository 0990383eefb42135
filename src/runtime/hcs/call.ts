import { TaskioError } from '../../errors.js';
import { errnoFromHresult, isPending, processHcsResult, type ErrorEvent } from './errors.js';
import type { TransportResult } from './transport.js';
import type { NotificationType } from './notification.js';
import type { NotificationWatcher, WaitOutcome } from './watcher.js';

/** One transport call, decoded: the error (or null), the output, the error events, and whether it is pending. */
export interface CallOutcome<T> extends WaitOutcome {
  /** The call's output. */
  value: T | undefined;
  /** True when HCS accepted the call and will report completion with a notification. */
  pending: boolean;
}

/**
 * Runs one transport call and turns both kinds of failure — a failed HRESULT and a rejected promise —
 * into one outcome, so every caller handles errors in one place.
 */
export async function callHcs<T>(fn: () => Promise<TransportResult<T>>): Promise<CallOutcome<T>> {
  try {
    const r = await fn();
    const err = errnoFromHresult(r.hr);
    return { err, value: r.value, events: processHcsResult(r.result), pending: isPending(err) };
  } catch (e) {
    return { err: e instanceof Error ? e : new TaskioError('ERR_HCS_CALL', `the HCS call threw ${String(e)}`), value: undefined, events: [] as ErrorEvent[], pending: false };
  }
}

/**
 * hcsshim's `processAsyncHcsResult`: a pending call waits for its completion notification (bounded by
 * `timeoutMs`); any other answer is final as it is.
 */
export function completeAsync<T>(r: CallOutcome<T>, watcher: NotificationWatcher, expected: NotificationType, timeoutMs?: number): Promise<WaitOutcome> {
  return r.pending ? watcher.wait(expected, timeoutMs) : Promise.resolve({ err: r.err, events: r.events });
}
