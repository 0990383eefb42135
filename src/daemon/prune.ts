import fs from 'node:fs';
import path from 'node:path';
import { TaskioError } from '../errors.js';
import { hasLabel, parseLabelFilter, type LabelFilter } from '../labelFilter.js';
import { parseApiTime } from './apiTime.js';
import { checkFields } from './check.js';

/**
 * The body of `POST /tasks/prune` (docker's container prune filters): only tasks created before
 * `until` (an RFC 3339 time), having every `label` (`KEY` or `KEY=VALUE`) and none of `label!`.
 */
export interface PruneFilters {
  until?: string;
  label?: string[];
  'label!'?: string[];
}

/** What a prune's filters look at in a task: its record's (a dead task's, as far as its record tells). */
export interface PruneCandidate {
  created: string;
  labels?: Record<string, string>;
}

/** What a prune removed: the tasks' ids and the bytes their directories held. */
export interface PruneReport {
  tasksDeleted: string[];
  spaceReclaimed: number;
}

/**
 * Checks a prune body and returns which tasks it selects.
 * @throws TaskioError `ERR_INVALID_FIELD` naming the field and the value.
 */
export function pruneSelector(body: unknown): (t: PruneCandidate) => boolean {
  const f = checkFields<PruneFilters>(body, { until: 'string', label: 'string[]', 'label!': 'string[]' });
  const until = f.until === undefined ? null : parseApiTime(f.until, { unixSeconds: false })?.getTime() ?? NaN;
  if (Number.isNaN(until)) throw new TaskioError('ERR_INVALID_FIELD', `field "until" must be an RFC 3339 time, not ${JSON.stringify(f.until)}`);
  const labels = (field: 'label' | 'label!'): LabelFilter[] => (f[field] ?? []).map((v) => parseLabelFilter(v, (why) => new TaskioError('ERR_INVALID_FIELD', `field "${field}": ${JSON.stringify(v)}: ${why}`)));
  const want = labels('label'), refuse = labels('label!');
  return (t) => (until === null || Date.parse(t.created) < until)
    && want.every((l) => hasLabel(t.labels, l)) && !refuse.some((l) => hasLabel(t.labels, l));
}

/** The bytes of the files under `dir` (links not followed; what cannot be read counts 0). */
export function diskUsage(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += diskUsage(p);
    else if (e.isFile()) total += fs.lstatSync(p, { throwIfNoEntry: false })?.size ?? 0;
  }
  return total;
}
