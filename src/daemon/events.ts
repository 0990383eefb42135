import { EventEmitter } from 'node:events';
import type { HealthStatus } from './healthState.js';

/** The kinds of task events the daemon publishes (Docker's names; `health_status: healthy` as docker's action, status and all). */
export type TaskEventType = 'create' | 'start' | 'restart' | 'exit' | 'delete' | 'oom' | 'pause' | 'resume' | 'exec-start' | 'exec-exit' | `health_status: ${HealthStatus}`;

/** One event, as a line of `GET /events`. */
export interface TaskEvent {
  type: TaskEventType;
  id: string;
  time: string;
  /** exit / exec-exit: the code (null when unknown). */
  exitCode?: number | null;
  /** exec-start / exec-exit: the exec's id. */
  execId?: string;
  /** The task's labels (`run --label`), when it has any: docker's events carry them. */
  labels?: Record<string, string>;
}

/** How many past events the daemon keeps for `events --since` (docker keeps 256 too). */
export const eventHistory = 256;

/**
 * How much of an events stream may wait in the daemon, unsent, for a client that does not read it:
 * past it that client's events are dropped until it catches up. docker's publisher likewise drops
 * an event a subscriber has not taken within 100 ms of a full buffer (1024 events); without a bound,
 * a client that stopped reading (a stalled pipe, a stopped process) grew the daemon by every event
 * for as long as it stayed connected.
 */
export const eventBacklogBytes = 256 * 1024;

/**
 * The daemon's event bus: every subscriber gets every event from the moment it subscribed, and the
 * last {@link eventHistory} are kept for a replay (`GET /events?since=`).
 */
export class EventBus {
  readonly #emitter = new EventEmitter<{ event: [TaskEvent] }>();
  readonly #past: TaskEvent[] = [];

  constructor() {
    this.#emitter.setMaxListeners(0);
  }

  publish(e: Omit<TaskEvent, 'time'>): void {
    const event = { ...e, time: new Date().toISOString() };
    this.#past.push(event);
    if (this.#past.length > eventHistory) this.#past.shift();
    this.#emitter.emit('event', event);
  }

  /** The kept events at or after `since`, oldest first. */
  since(since: Date): TaskEvent[] {
    const t = since.toISOString();
    return this.#past.filter((e) => e.time >= t);
  }

  /** Calls `fn` for each event until the returned function is called. */
  subscribe(fn: (e: TaskEvent) => void): () => void {
    this.#emitter.on('event', fn);
    return () => this.#emitter.off('event', fn);
  }
}
