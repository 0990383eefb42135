import fs from 'node:fs';
import path from 'node:path';
import type { LogSink } from '../log.js';
import { removeInside } from '../removeInside.js';
import { copyDirPrefix, copyHelperCgroup, copyHelperId, copyTag } from './copyHelper.js';
import { killHelperProcess } from './copyHelperProcess.js';
import { removeStaleContainerCgroup } from './containerCgroup.js';
import type { DaemonLayout } from './layout.js';
import type { PidWatch } from './pidWatch.js';
import type { TaskRecord } from './records.js';
import { runscFor } from './runtimes.js';

/**
 * What the copy helpers (`copyHelper.ts`) of task `record` that a killed daemon left hold: their
 * runsc/runc containers (`delete --force`: processes, sandbox, runtime state), their cgroups, a host
 * task's helper processes (SIGKILL, `copyHelperProcess.ts`), and their `cp-<tag>` directories in the
 * task's. Run as the next daemon adopts the task, before any request can reach it. Only names of
 * the exact pattern, for this task: a container `<id>+cp+<8 hex>` the runtime lists — a namespace no
 * task id reaches (`+`), so every one is a helper of this task's — and a directory `cp-<8 hex>` that
 * is one (lstat) and the daemon's user's. A helper's directory is made before its container or
 * process and removed after its end, so a task without one has no helper left and its runtime is not
 * called; a directory whose helper cannot be ended is kept, for the next daemon to try again. Every
 * failure is logged; none stops the adoption.
 */
export async function removeCopyLeftovers(layout: DaemonLayout, record: TaskRecord, watch: PidWatch, logger: LogSink): Promise<void> {
  const taskDir = layout.taskDir(record.id);
  const tags = leftTags(taskDir, logger);
  if (tags.length === 0) return;
  const kept = record.runtime === 'host' ? await killProcesses(record, taskDir, tags, watch, logger) : await deleteContainers(layout, record, tags, logger);
  const removed = tags.filter((tag) => {
    if (kept.has(tag)) return false;
    try {
      removeInside(taskDir, path.join(taskDir, `${copyDirPrefix}${tag}`));
      return true;
    } catch (err) {
      logger.warn({ err, id: record.id, tag }, 'cannot remove the directory of a copy helper a killed daemon left');
      return false;
    }
  });
  if (removed.length > 0) logger.warn({ id: record.id, helpers: removed.map((tag) => copyHelperId(record, tag)) }, 'removed the copy helpers a killed daemon left');
}

/** The tags of the helper directories in `taskDir`: `cp-<8 hex>`, a directory (not followed), the daemon's user's. */
function leftTags(taskDir: string, logger: LogSink): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(taskDir);
  } catch (err) {
    logger.warn({ err, dir: taskDir }, 'cannot read the task directory for copy helpers a killed daemon left');
    return [];
  }
  return names.filter((name) => {
    if (!name.startsWith(copyDirPrefix) || !copyTag.test(name.slice(copyDirPrefix.length))) return false;
    const st = fs.lstatSync(path.join(taskDir, name), { throwIfNoEntry: false });
    return st !== undefined && st.isDirectory() && st.uid === process.getuid?.();
  }).map((name) => name.slice(copyDirPrefix.length));
}

/**
 * Kills the host helper processes that the directories of `tags` name.
 * @returns the tags whose directory stays: their process could not be killed, or the record not read.
 */
async function killProcesses(record: TaskRecord, taskDir: string, tags: string[], watch: PidWatch, logger: LogSink): Promise<Set<string>> {
  const kept = new Set<string>();
  for (const tag of tags) {
    try {
      const pid = await killHelperProcess(path.join(taskDir, `${copyDirPrefix}${tag}`), watch);
      if (pid !== null) logger.warn({ id: record.id, helperId: copyHelperId(record, tag), pid }, 'killed the process of a copy helper a killed daemon left');
    } catch (err) {
      logger.warn({ err, id: record.id, tag }, 'cannot end a copy helper a killed daemon left: it stays, for the next daemon');
      kept.add(tag);
    }
  }
  return kept;
}

/**
 * Deletes (`--force`) every helper container of the task its runtime lists, and removes their
 * cgroups and those of the helpers `tags` name (runsc leaves a cgroup it did not make).
 * @returns the tags whose directory stays: their container is still there, or the runtime could not say.
 */
async function deleteContainers(layout: DaemonLayout, record: TaskRecord, tags: string[], logger: LogSink): Promise<Set<string>> {
  const runtime = runscFor(record, layout.runtimeLog(record.id));
  const prefix = copyHelperId(record, '');
  let listed: string[];
  try {
    listed = (await runtime.list()).map((c) => c.id).filter((id) => id.startsWith(prefix) && copyTag.test(id.slice(prefix.length)));
  } catch (err) {
    logger.warn({ err, id: record.id }, 'cannot list the runtime\'s containers: the copy helpers a killed daemon left stay, for the next daemon');
    return new Set(tags);
  }
  const kept = new Set<string>();
  for (const helperId of new Set([...listed, ...tags.map((tag) => copyHelperId(record, tag))])) {
    const tag = helperId.slice(prefix.length);
    try {
      if (listed.includes(helperId)) await runtime.delete(helperId, { force: true });
      await removeStaleContainerCgroup(copyHelperCgroup(layout, helperId));
    } catch (err) {
      logger.warn({ err, id: record.id, helperId }, 'cannot delete a copy helper a killed daemon left: it stays, for the next daemon');
      kept.add(tag);
    }
  }
  return kept;
}
