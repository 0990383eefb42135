import { TaskioError } from '../errors.js';
import type { VerbRun } from './verb.js';

/**
 * TEMPORARY SCAFFOLDING — the one place that stands in for the verbs that need the daemon (run,
 * attach, logs, exec, ps, inspect, top, stats, kill, stop, wait, rm, pause, unpause, daemon) until
 * they are written: the verb parses its command line (so usage errors and `--help` already work)
 * and then fails with `taskio VERB: not available yet`, exit 125. Replace an entry of the dispatch
 * table in `verbs.ts` to implement a verb; delete this file when none uses it.
 */
export async function notAvailableYet(): Promise<VerbRun> {
  return () => {
    throw new TaskioError('ERR_NOT_AVAILABLE', 'not available yet');
  };
}
