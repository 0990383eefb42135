import { EventEmitter } from 'node:events';

/** The kinds of task events the daemon publishes (Docker's names). */
export type TaskEventType = 'create' | 'start' | 'restart' | 'exit' | 'delete' | 'oom' | 'pause' | 'resume' | 'exec-start' | 'exec-exit';

/** One event, as a line of `GET /events`. */
export interface TaskEvent {
  type: TaskEventType;
  id: string;
  time: string;
  /** exit / exec-exit: the code (null when unknown). */
  exitCode?: number | null;
  /** exec-start / exec-exit: the exec's id. */
  execId?: string;
}

/** The daemon's event bus: every subscriber gets every event from the moment it subscribed. */
export class EventBus {
  readonly #emitter = new EventEmitter<{ event: [TaskEvent] }>();

  constructor() {
    this.#emitter.setMaxListeners(0);
  }

  publish(e: Omit<TaskEvent, 'time'>): void {
    this.#emitter.emit('event', { ...e, time: new Date().toISOString() });
  }

  /** Calls `fn` for each event until the returned function is called. */
  subscribe(fn: (e: TaskEvent) => void): () => void {
    this.#emitter.on('event', fn);
    return () => this.#emitter.off('event', fn);
  }
}
