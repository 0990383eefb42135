import type { TaskEvent, TaskEventType } from '../daemon/events.js';
import { TaskioError } from '../errors.js';
import { hasLabel, parseLabelFilter, type LabelFilter } from '../labelFilter.js';

/**
 * The event names a filter takes (the daemon's, docker's words): `health_status` alone takes every
 * health event, as docker's filter does (moby matches it as a prefix).
 */
const eventTypes: ReadonlyArray<TaskEventType | 'health_status'> = [
  'create', 'start', 'restart', 'exit', 'delete', 'oom', 'pause', 'resume', 'exec-start', 'exec-exit',
  'health_status', 'health_status: starting', 'health_status: healthy', 'health_status: unhealthy',
];

/** One `events --filter`: docker's `container=` (or taskio's `task=`), `event=` and `label=`. */
export type EventFilter = { key: 'task'; id: string } | { key: 'event'; type: TaskEventType | 'health_status' } | LabelFilter;

/**
 * Reads one `events --filter` value.
 * @throws TaskioError `ERR_INVALID_ARG_VALUE` naming an unknown key or event.
 */
export function parseEventFilter(value: string): EventFilter {
  const eq = value.indexOf('=');
  const key = value.slice(0, eq), v = value.slice(eq + 1);
  if (eq <= 0 || v === '') throw new TaskioError('ERR_INVALID_ARG_VALUE', 'bad format of filter (expected name=value)');
  if (key === 'task' || key === 'container') return { key: 'task', id: v };
  if (key === 'event') {
    if (!(eventTypes as readonly string[]).includes(v)) throw new TaskioError('ERR_INVALID_ARG_VALUE', `invalid filter 'event=${v}': expected one of ${eventTypes.join(', ')}`);
    return { key, type: v as TaskEventType | 'health_status' };
  }
  if (key === 'label') return parseLabelFilter(v, (why) => new TaskioError('ERR_INVALID_ARG_VALUE', `invalid filter '${value}': ${why}`));
  throw new TaskioError('ERR_INVALID_ARG_VALUE', `invalid filter '${key}' (task, container, event, label)`);
}

/**
 * docker's rule: any value of a key may match, every key given must — except labels, which must all
 * match (the task's labels ride on each of its events).
 */
export function passesEventFilters(e: TaskEvent, filters: readonly EventFilter[]): boolean {
  const match = (f: EventFilter): boolean => (f.key === 'task' ? e.id === f.id
    : f.key === 'event' ? e.type === f.type || (f.type === 'health_status' && e.type.startsWith('health_status: '))
      : hasLabel(e.labels, f));
  if (!filters.every((f) => f.key !== 'label' || match(f))) return false;
  return ['task', 'event'].every((k) => !filters.some((f) => f.key === k) || filters.some((f) => f.key === k && match(f)));
}
