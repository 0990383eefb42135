/**
 * How long an operation waits for its completion notification, in milliseconds. hcsshim's
 * `internal/timeout` values; each defaults to 4 minutes there, and here.
 */
export interface HcsTimeouts {
  /** Waiting for `SystemCreateCompleted`; on expiry the half-created system is terminated. */
  systemCreate: number;
  /** Waiting for `SystemStartCompleted`. */
  systemStart: number;
  /** Waiting for `SystemPauseCompleted`. */
  systemPause: number;
  /** Waiting for `SystemResumeCompleted`. */
  systemResume: number;
  /** Waiting for `SystemSaveCompleted`. */
  systemSave: number;
}

/** hcsshim's default for every operation wait: 4 minutes. */
export const defaultTimeoutMs = 4 * 60 * 1000;

/** The defaults, used for any field a caller does not set. */
export const defaultTimeouts: Readonly<HcsTimeouts> = Object.freeze({
  systemCreate: defaultTimeoutMs,
  systemStart: defaultTimeoutMs,
  systemPause: defaultTimeoutMs,
  systemResume: defaultTimeoutMs,
  systemSave: defaultTimeoutMs,
});

/**
 * How long a process waits, after HCS said it is gone (a signal failed with "not found" / "invalid
 * state"), for its exit notification before it asks HCS for the exit status itself. hcsshim waits one
 * second before it force-unblocks waiters.
 */
export const defaultLostExitDelayMs = 1000;
