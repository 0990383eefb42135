import { TaskioError } from '../errors.js';
import { parseSince, sinceDate } from './since.js';

/** One `--filter` of `prune`: docker's `until=TIME`, `label=KEY[=VALUE]`, `label!=KEY[=VALUE]`. */
export type PruneFilter = { key: 'until'; until: string } | { key: 'label' | 'label!'; value: string };

/**
 * Reads a `prune --filter` value. `until` takes what `logs --since` takes (a duration before now,
 * a timestamp), resolved here to the moment it names.
 * @throws TaskioError `ERR_INVALID_ARG_VALUE` (`ERR_INVALID_TIME` for a time) naming it.
 */
export function parsePruneFilter(value: string): PruneFilter {
  const eq = value.indexOf('=');
  const key = eq <= 0 ? '' : value.slice(0, eq), v = value.slice(eq + 1);
  if (key === 'until') return { key, until: sinceDate(parseSince(v)).toISOString() };
  if ((key === 'label' || key === 'label!') && v !== '' && !v.startsWith('=')) return { key, value: v };
  throw new TaskioError('ERR_INVALID_ARG_VALUE', `invalid filter '${value}': expected until=TIME, label=KEY[=VALUE] or label!=KEY[=VALUE]`);
}
