import fs from 'node:fs';
import path from 'node:path';
import { TaskioError, showValue } from '../../errors.js';
import { validateId } from '../../ids.js';
import { maxTimerMs } from '../../maxTimerMs.js';
import { ensureRuntimeRoot, runtimeDir } from '../../privateDir.js';
import { readBundleConfig, type OciSpec } from '../oci/index.js';
import { Init, type InitOptions, type Stdio } from '../proc/index.js';
import type { ContainerBackend } from './backend.js';
import { Container, removeStateDir, type ContainerConfig } from './container.js';
import { ContainerError, ErrorCode, toContainerError } from './errors.js';

/** What {@link createContainer} takes. */
export interface CreateContainerOptions {
  /** The container id: containerd's rule, 1–76 of `[A-Za-z0-9_.-]` starting with a letter or digit. */
  id: string;
  /** The OCI bundle (a directory with `config.json`; for the host backend its `process` is run on the host). */
  bundle: string;
  /** Where the container runs: {@link ociBackend} (runsc, runc) or {@link hostBackend}. */
  backend: ContainerBackend;
  /** The init's stdio as paths or URIs (a client's `io.config()`); default: none. */
  stdio?: Partial<Stdio>;
  /**
   * Directory for the exec'd processes' pid files: made by the factory (it must not exist; its
   * parent is made 0700 when missing and must be private), removed by destroy. Default
   * `/run/taskio/container/<id>` for root, else `$XDG_RUNTIME_DIR/taskio/container/<id>` or
   * `<tmpdir>/taskio-<uid>/container/<id>`.
   */
  stateDir?: string;
  /** Options of the container's {@link Init} (monitor, namespace, drain and console timeouts). */
  init?: InitOptions;
  /** How long destroy waits for the init's exit after SIGKILL: whole ms, 0 to 2147483647. Default 10000. */
  killTimeout?: number;
}

/**
 * Creates a container and starts its init (libcontainer's `Factory.Create`): on success the
 * container is `running`. Atomic as libcontainer's: on any failure what this call made is removed
 * — never what it found — and the call rejects with `InvalidIdFormat` (checked before any path is
 * built from the id), `IdInUse` (the runtime has the id, or its state directory exists: containerd
 * refuses an existing bundle directory the same way), `ConfigInvalid` (no or a broken
 * `config.json`, a bad stdio URI, a state directory whose parent another user could control:
 * `ERR_UNSAFE_DIR` as the cause; an option of the wrong type or value: `ERR_INVALID_ARG_TYPE` /
 * `ERR_INVALID_ARG_VALUE` naming it) or `SystemError` (the runtime failed; `cause` says why).
 */
export async function createContainer(opts: CreateContainerOptions): Promise<Container> {
  const what = `create container ${JSON.stringify(opts?.id)}`;
  try {
    validateId(opts?.id, 'container');
  } catch (err) {
    throw toContainerError(err, what);
  }
  try {
    checkOptions(opts);
  } catch (err) {
    throw toContainerError(err, what);
  }
  const { id, backend } = opts;
  const bundle = path.resolve(opts.bundle);
  const spec = readSpec(bundle, what);
  const stdio: Stdio = { stdin: opts.stdio?.stdin ?? '', stdout: opts.stdio?.stdout ?? '', stderr: opts.stdio?.stderr ?? '', terminal: opts.stdio?.terminal ?? spec.process.terminal === true };
  const stateDir = path.resolve(opts.stateDir ?? path.join(runtimeDir(), 'container', id));
  let init: Init;
  try {
    init = new Init(id, backend.runtime, stdio, opts.init);
    ensureRuntimeRoot(path.dirname(stateDir));
    makeStateDir(stateDir, id);
  } catch (err) {
    throw toContainerError(err, what);
  }
  let created = false;
  try {
    await init.create({ id, bundle, terminal: stdio.terminal, stdin: stdio.stdin, stdout: stdio.stdout, stderr: stdio.stderr });
    created = true;
    await init.start();
  } catch (err) {
    if (created) {
      await init.killAll();
      await init.delete().catch(() => undefined);
    }
    removeStateDir(stateDir); // made above
    throw toContainerError(err, what);
  }
  const config: ContainerConfig = deepFreeze({ id, bundle, spec, stdio });
  return Container.fromParts({ init, backend, config, stateDir, killTimeout: opts.killTimeout ?? 10_000 });
}


/**
 * Checks what the factory reads from the options besides the id, before anything is made: a
 * bundle or state directory that is no string failed inside `path.resolve` with Node's bare
 * TypeError, a missing backend as a SystemError, an object-less `stdio` or `init` was ignored, and
 * a `killTimeout` that `setTimeout` cannot hold (`'10s'`, NaN, Infinity) made every destroy give
 * up after 1 ms.
 * @throws TaskioError `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` naming the option and value.
 */
function checkOptions(opts: CreateContainerOptions): void {
  const type = (name: string, want: string, got: unknown): never => {
    throw new TaskioError('ERR_INVALID_ARG_TYPE', `${name} must be ${want}, got ${showValue(got)}`);
  };
  if (typeof opts.bundle !== 'string') type('bundle', 'a path (a string)', opts.bundle);
  if (opts.stateDir !== undefined && typeof opts.stateDir !== 'string') type('stateDir', 'a path (a string)', opts.stateDir);
  const backend = opts.backend as Partial<ContainerBackend> | null | undefined;
  if (backend === null || typeof backend !== 'object' || backend.runtime === null || typeof backend.runtime !== 'object') {
    type('backend', 'a ContainerBackend (ociBackend() or hostBackend())', backend);
  }
  for (const name of ['stdio', 'init'] as const) {
    const v = opts[name];
    if (v !== undefined && (v === null || typeof v !== 'object')) type(name, 'an object', v);
  }
  const kt = opts.killTimeout;
  if (kt !== undefined && !(Number.isInteger(kt) && kt >= 0 && kt <= maxTimerMs)) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `killTimeout must be a whole number of ms from 0 to ${maxTimerMs}, got ${showValue(kt)}`);
  }
}

/** Makes the container's own state directory; one that exists belongs to a container with that id (`ERR_ALREADY_EXISTS`). */
function makeStateDir(dir: string, id: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new TaskioError('ERR_ALREADY_EXISTS', `container ${JSON.stringify(id)}: its state directory ${dir} already exists`, { cause: err });
  }
}

/**
 * Reads and checks `config.json` with the runtimes' own reader (never a blocking open, only a
 * regular file): a missing or broken one is `ConfigInvalid` before any runtime call.
 */
function readSpec(bundle: string, what: string): OciSpec {
  let spec: OciSpec;
  try {
    spec = readBundleConfig(bundle) as OciSpec;
  } catch (err) {
    throw toContainerError(err, what);
  }
  const args = (spec as { process?: { args?: unknown } } | null)?.process?.args;
  if (!Array.isArray(args) || args.length === 0 || !args.every((a) => typeof a === 'string')) {
    throw new ContainerError(ErrorCode.ConfigInvalid, `bundle ${bundle}: config.json has no process.args`);
  }
  return spec;
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}
