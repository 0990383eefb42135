import { TaskioError } from '../errors.js';

/**
 * The stdio of a task as paths: FIFO paths for a FIFO set, or log URIs (`file://`, `binary://`).
 * An empty string means the stream is not used (containerd's blank path).
 */
export interface Config {
  /** True when the task has a terminal: output is one stream and `stderr` is empty. */
  terminal: boolean;
  stdin: string;
  stdout: string;
  stderr: string;
}

const validId = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,75}$/;

/**
 * Checks a task id before it becomes part of a path. The id names files inside the FIFO
 * directory, so anything that could escape it (`../x`, `a/b`) or is empty is refused.
 * @throws TaskioError `ERR_INVALID_ID`
 */
export function validateId(id: unknown): string {
  if (typeof id !== 'string' || !validId.test(id)) {
    throw new TaskioError('ERR_INVALID_ID', `invalid task id ${JSON.stringify(id)}: it must match ${validId.source}`);
  }
  return id;
}
