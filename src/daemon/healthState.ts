/** docker's health statuses of a task with a check (`none`, docker's word for no check, is `health: null`). */
export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** One check's result, as docker's `State.Health.Log` entry (`Start`, `End`, `ExitCode`, `Output`). */
export interface HealthResult {
  start: string;
  end: string;
  /** The check's exit code: 0 healthy, anything else a failure; -1 when it timed out or could not run. */
  exitCode: number;
  /** Its stdout and stderr together, the first 4096 bytes (`...` after a cut one); the reason for -1. */
  output: string;
}

/** What `inspect` shows of a task's health: docker's `State.Health`. */
export interface HealthView {
  status: HealthStatus;
  /** Consecutive failures counted (not those in the start period before a first success). */
  failingStreak: number;
  /** The last {@link healthLogSize} results, oldest first. */
  log: HealthResult[];
}

/** How many results docker keeps (moby's `maxLogEntries`). */
export const healthLogSize = 5;

/**
 * docker's health state machine (moby's `handleProbeResult`): `starting` until the first success;
 * `healthy` after a success; `unhealthy` once `retries` failures followed each other. A failure
 * while still `starting` and within the start period does not count. The status only, no timers.
 */
export class HealthState {
  #status: HealthStatus = 'starting';
  #failingStreak = 0;
  readonly #log: HealthResult[] = [];
  readonly #retries: number;
  readonly #startPeriodMs: number;
  readonly #startedAt: number;

  /** @param startedAt - when the task's run started, ms since the epoch (the start period counts from it). */
  constructor(retries: number, startPeriodMs: number, startedAt: number) {
    this.#retries = retries;
    this.#startPeriodMs = startPeriodMs;
    this.#startedAt = startedAt;
  }

  get status(): HealthStatus {
    return this.#status;
  }

  /** Whether the start period is over at `now` (ms since the epoch). */
  startPeriodOver(now: number): boolean {
    return now - this.#startedAt >= this.#startPeriodMs;
  }

  /** Takes a check's result; returns the new status when it changed (docker's `health_status` event), else null. */
  record(result: HealthResult): HealthStatus | null {
    const before = this.#status;
    this.#log.push(result);
    if (this.#log.length > healthLogSize) this.#log.shift();
    if (result.exitCode === 0) {
      this.#failingStreak = 0;
      this.#status = 'healthy';
    } else if (this.#status !== 'starting' || this.startPeriodOver(Date.parse(result.start))) {
      this.#failingStreak += 1;
      if (this.#failingStreak >= this.#retries) this.#status = 'unhealthy';
    }
    return this.#status === before ? null : this.#status;
  }

  /**
   * The task stopped running (exited): `unhealthy`, as docker sets it "for compatibility reasons"
   * when a container's checks stop — without an event, as docker.
   */
  stopped(): void {
    this.#status = 'unhealthy';
  }

  view(): HealthView {
    return { status: this.#status, failingStreak: this.#failingStreak, log: this.#log.map((r) => ({ ...r })) };
  }
}
