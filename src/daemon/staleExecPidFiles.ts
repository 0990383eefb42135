import fs from 'node:fs';
import path from 'node:path';
import type { LogSink } from '../log.js';
import { unlinkIfPresent } from '../sys/index.js';

/** A pid file an exec's start writes: `<exec id>.pid`, and runsc's `<exec id>-internal.pid`. */
const pidFileName = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,75}\.pid$/;

/**
 * Removes the pid files an earlier daemon's execs left in a task's `execs/` directory, at adoption:
 * their records were that daemon's, in memory (a new daemon knows none, as dockerd forgets its
 * execs), so nothing will ever delete them — nor read them: a pid file is read once, at its exec's
 * start. Only regular files with a pid file's name go, one by one (`unlink` never follows a
 * symlink); a directory that is not one (a symlink) is left alone, with a warning.
 */
export function removeStaleExecPidFiles(dir: string, logger: LogSink): void {
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (st === undefined) return;
  if (!st.isDirectory()) {
    logger.warn({ dir }, 'the exec pid file directory is not a directory: left alone');
    return;
  }
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    logger.warn({ err, dir }, 'cannot read the exec pid file directory: left as it is');
    return;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    if (!pidFileName.test(name) || !fs.lstatSync(file, { throwIfNoEntry: false })?.isFile()) continue;
    try {
      unlinkIfPresent(file);
    } catch (err) {
      logger.warn({ err, file }, 'cannot remove an earlier daemon\'s exec pid file');
    }
  }
}
