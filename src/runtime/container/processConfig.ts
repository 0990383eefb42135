import path from 'node:path';
import type { OciSpec, ProcessSpec } from '../oci/index.js';
import { showValue } from '../../errors.js';
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
  if (cfg === null || typeof cfg !== 'object') invalid(`it must be an object, got ${showValue(cfg)}`);
  // exec(2) takes C strings: runsc and runc would cut an argument, a variable or the cwd at a NUL
  // and run something else than asked (Node's own spawn refuses it, so the host backend did).
  if (!Array.isArray(cfg.args) || cfg.args.length === 0 || !cfg.args.every(isCString) || cfg.args[0] === '') {
    invalid('args must be a non-empty array of strings without NUL, with a command first');
  }
  if (cfg.env !== undefined && (!Array.isArray(cfg.env) || !cfg.env.every((e) => isCString(e) && e.includes('=')))) {
    invalid('env must be an array of KEY=value strings without NUL');
  }
  if (cfg.cwd !== undefined && (!isCString(cfg.cwd) || !path.posix.isAbsolute(cfg.cwd))) {
    invalid(`cwd must be an absolute path without NUL, got ${showValue(cfg.cwd)}`);
  }
  if (cfg.user !== undefined) checkUser(cfg.user, invalid);
  if (cfg.terminal !== undefined && typeof cfg.terminal !== 'boolean') invalid(`terminal must be a boolean, got ${showValue(cfg.terminal)}`);
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

/** A string exec(2) takes whole: no NUL. */
function isCString(v: unknown): v is string {
  return typeof v === 'string' && !v.includes('\0');
}

/** An OCI `user`: uid and gid (and any additional gids) are uint32s, as runc and runsc parse them. */
function checkUser(user: unknown, invalid: (why: string) => never): void {
  const isId = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffff_ffff;
  if (user === null || typeof user !== 'object') invalid(`user must be an object { uid, gid }, got ${showValue(user)}`);
  const { uid, gid, additionalGids } = user as { uid?: unknown; gid?: unknown; additionalGids?: unknown };
  if (!isId(uid) || !isId(gid)) invalid(`user needs uid and gid that are integers from 0 to 4294967295, got ${showValue(uid)} and ${showValue(gid)}`);
  if (additionalGids !== undefined && (!Array.isArray(additionalGids) || !additionalGids.every(isId))) {
    invalid('user.additionalGids must be an array of integers from 0 to 4294967295');
  }
}
