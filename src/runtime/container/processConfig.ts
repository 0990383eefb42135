import path from 'node:path';
import type { OciSpec, ProcessSpec } from '../oci/index.js';
import { ContainerError, ErrorCode } from './errors.js';

/**
 * A process to start in a running container (libcontainer's `ProcessConfig`): what to run and where
 * its stdio goes. Unset fields are taken from the container's own `process` in `config.json`
 * (environment, working directory, user, capabilities, rlimits), as `runc exec` does.
 */
export interface ProcessConfig {
  /** The command and its arguments; `args[0]` is looked up in the container's `PATH`. */
  args: string[];
  /** `KEY=value` entries; default: the container's. */
  env?: string[];
  /** An absolute working directory inside the container; default: the container's. */
  cwd?: string;
  /** Run as this user; default: the container's. */
  user?: { uid: number; gid: number; additionalGids?: number[] };
  /** Give the process a terminal (its output then comes on `stdout`; there is no `stderr`). */
  terminal?: boolean;
  /** Paths or URIs of its stdio (a client's `io.config()`); empty or unset: none. */
  stdin?: string;
  stdout?: string;
  stderr?: string;
}

/**
 * Checks a {@link ProcessConfig} and turns it into the OCI `process` to exec, inheriting what it
 * leaves out from the container's spec. A wrong shape fails with `ConfigInvalid` before the runtime
 * is asked, since runsc and runc would report it as an opaque runtime failure.
 */
export function processSpecOf(cfg: ProcessConfig, container: OciSpec): ProcessSpec {
  const invalid = (why: string): never => {
    throw new ContainerError(ErrorCode.ConfigInvalid, `invalid process config: ${why}`);
  };
  if (cfg === null || typeof cfg !== 'object') invalid('it must be an object');
  if (!Array.isArray(cfg.args) || cfg.args.length === 0 || !cfg.args.every((a) => typeof a === 'string') || cfg.args[0] === '') {
    invalid('args must be a non-empty array of strings with a command first');
  }
  if (cfg.env !== undefined && (!Array.isArray(cfg.env) || !cfg.env.every((e) => typeof e === 'string' && e.includes('=')))) {
    invalid('env must be an array of KEY=value strings');
  }
  if (cfg.cwd !== undefined && (typeof cfg.cwd !== 'string' || !path.posix.isAbsolute(cfg.cwd))) {
    invalid(`cwd must be an absolute path, got ${JSON.stringify(cfg.cwd)}`);
  }
  if (cfg.user !== undefined && !(Number.isInteger(cfg.user.uid) && cfg.user.uid >= 0 && Number.isInteger(cfg.user.gid) && cfg.user.gid >= 0)) {
    invalid('user needs non-negative integer uid and gid');
  }
  for (const k of ['stdin', 'stdout', 'stderr'] as const) {
    if (cfg[k] !== undefined && typeof cfg[k] !== 'string') invalid(`${k} must be a path or URI string`);
  }
  const base = container.process;
  return {
    ...base,
    terminal: cfg.terminal === true,
    args: [...cfg.args],
    env: [...(cfg.env ?? base.env ?? [])],
    cwd: cfg.cwd ?? base.cwd,
    ...(cfg.user ? { user: { ...cfg.user } } : {}),
  };
}
