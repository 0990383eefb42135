import fs from 'node:fs';
import { TaskioError } from '../errors.js';
import type { TaskMount } from './mounts.js';

/** Where docker's `--init` process comes from: tini's static build (Debian's `tini` package). */
export const initBinary = '/usr/bin/tini-static';
/** Where the task sees it (docker's is /sbin/docker-init). */
export const initPath = '/sbin/taskio-init';

/**
 * docker's `--init`: a small init as the task's pid 1 that hands signals on to the command and reaps
 * the zombies it leaves (a shell or a JVM as pid 1 ignores SIGTERM and SIGINT without a handler of
 * its own, and reaps nothing). tini's static build is mounted read-only into the task and runs the
 * command; its exit code is the command's. Returns the command and the mount.
 * @throws TaskioError `ERR_NOT_SUPPORTED` when tini's static build is not installed.
 */
export function withInit(args: string[]): { args: string[]; mount: TaskMount } {
  if (!fs.existsSync(initBinary)) throw new TaskioError('ERR_NOT_SUPPORTED', `--init needs ${initBinary} (install the tini package)`);
  return { args: [initPath, '--', ...args], mount: { type: 'bind', source: initBinary, target: initPath, readonly: true } };
}
