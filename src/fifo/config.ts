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

/** The id rule lives in one place for all of taskio. */
export { validateId } from '../ids.js';
