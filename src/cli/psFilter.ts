import { TaskioError } from '../errors.js';
import type { TaskView } from '../daemon/task.js';
import { hasLabel, parseLabelFilter, type LabelFilter } from '../labelFilter.js';

/**
 * One `ps --filter key=value`, as docker reads it: `id` and `name` (a task's id is its name) match
 * the id as an unanchored regular expression — `name` also the id with docker's leading slash
 * (`/web`, the `.Name` of `inspect`), so the scripts' exact match `name=^/web$` finds task `web`
 * as `name=^web$` does (moby#37728) — `status` is a state, `exited` an exit code, and
 * `runtime` (taskio's own) the runtime's name, `label` a label's key (`label=KEY`) or key and value
 * (`label=KEY=VALUE`), `health` a health status (`none`: a task without a check).
 */
export type PsFilter =
  | { key: 'id' | 'name'; match: RegExp }
  | { key: 'status'; status: string }
  | { key: 'exited'; code: number }
  | { key: 'runtime'; runtime: string }
  | { key: 'health'; health: string }
  | LabelFilter;

/** The states docker's `status` filter takes; taskio's tasks are only ever in the first four. */
const statuses = ['created', 'running', 'paused', 'exited', 'restarting', 'removing', 'dead'];
const runtimes = ['runsc', 'runc', 'host'];
/** docker's `health` filter values. */
const healths = ['starting', 'healthy', 'unhealthy', 'none'];

function invalid(message: string): TaskioError {
  return new TaskioError('ERR_INVALID_ARG_VALUE', message);
}

/**
 * Reads one `--filter` value.
 * @throws TaskioError `ERR_INVALID_ARG_VALUE` naming it: no `=`, an unknown key, a state, exit code
 * or runtime that is not one, or an expression that does not compile.
 */
export function parsePsFilter(value: string): PsFilter {
  const eq = value.indexOf('=');
  if (eq <= 0) throw invalid('bad format of filter (expected name=value)');
  const key = value.slice(0, eq), v = value.slice(eq + 1);
  const bad = (why: string): TaskioError => invalid(`invalid filter '${value}': ${why}`);
  switch (key) {
    case 'id':
    case 'name':
      try {
        return { key, match: new RegExp(v) };
      } catch (err) {
        throw bad(`not a regular expression (${(err as Error).message})`);
      }
    case 'status':
      if (!statuses.includes(v)) throw bad(`expected one of ${statuses.join(', ')}`);
      return { key, status: v };
    case 'exited':
      if (!/^\d{1,3}$/.test(v) || Number(v) > 255) throw bad('expected an exit code, 0 to 255');
      return { key, code: Number(v) };
    case 'runtime':
      if (!runtimes.includes(v)) throw bad(`expected one of ${runtimes.join(', ')}`);
      return { key, runtime: v };
    case 'health':
      if (!healths.includes(v)) throw bad(`expected one of ${healths.join(', ')}`);
      return { key, health: v };
    case 'label':
      return parseLabelFilter(v, bad);
    default:
      throw invalid(`invalid filter '${key}' (id, name, label, status, exited, health, runtime)`);
  }
}

function matches(t: TaskView, f: PsFilter): boolean {
  switch (f.key) {
    case 'id':
      return f.match.test(t.id);
    case 'name':
      return f.match.test(t.id) || f.match.test(`/${t.id}`);
    case 'status':
      return t.status === f.status;
    case 'exited':
      return t.status === 'exited' && t.exit?.exitCode === f.code;
    case 'runtime':
      return t.runtime === f.runtime;
    case 'health':
      return (t.health?.status ?? 'none') === f.health;
    case 'label':
      return hasLabel(t.labels, f);
  }
}

/**
 * Whether `t` passes `filters`, docker's rule: any value of a key may match, and every key given
 * must — except labels, which must all match (`label=a --filter label=b`: tasks with both).
 */
export function passesFilters(t: TaskView, filters: readonly PsFilter[]): boolean {
  if (!filters.every((f) => f.key !== 'label' || matches(t, f))) return false;
  const keys = new Set(filters.map((f) => f.key).filter((k) => k !== 'label'));
  return [...keys].every((k) => filters.some((f) => f.key === k && matches(t, f)));
}

/** A `status` or `exited` filter looks at stopped tasks too, as in docker: it implies `--all`. */
export function filtersShowAll(filters: readonly PsFilter[]): boolean {
  return filters.some((f) => f.key === 'status' || f.key === 'exited');
}
