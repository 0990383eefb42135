import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { OciSpec } from '../oci/index.js';
import { Init, type InitOptions, type Runtime, type Stdio } from '../proc/index.js';
import type { ContainerBackend } from './backend.js';
import { Container, type ContainerConfig } from './container.js';
import { ContainerError, ErrorCode, toContainerError } from './errors.js';

/** What {@link createContainer} takes. */
export interface CreateContainerOptions {
  /** The container id: 1–1024 of `[A-Za-z0-9_.-]`, starting with a letter or digit. */
  id: string;
  /** The OCI bundle (a directory with `config.json`; for the host backend its `process` is run on the host). */
  bundle: string;
  /** Where the container runs: {@link ociBackend} (runsc, runc) or {@link hostBackend}. */
  backend: ContainerBackend;
  /** The init's stdio as paths or URIs (a client's `io.config()`); default: none. */
  stdio?: Partial<Stdio>;
  /**
   * Directory for the exec'd processes' pid files, removed by destroy. Default
   * `/run/taskio/container/<id>` (`$XDG_RUNTIME_DIR/taskio/container/<id>` when not root).
   */
  stateDir?: string;
  /** Options of the container's {@link Init} (monitor, namespace, drain and console timeouts). */
  init?: InitOptions;
  /** How long destroy waits for the init's exit after SIGKILL, ms. Default 10000. */
  killTimeout?: number;
}

// Ids of live containers per runtime object: a second create with a live id fails IdInUse even on
// runtimes (the host's) that keep no state of their own to refuse it.
const liveIds = new WeakMap<Runtime, Set<string>>();

/**
 * Creates a container and starts its init (libcontainer's `Factory.Create`): on success the
 * container is `running`. Atomic as libcontainer's: on any failure what was made is removed and
 * the call rejects with `IdInUse` (the id is live), `InvalidIdFormat`, `ConfigInvalid` (no or a
 * broken `config.json`, a bad stdio URI) or `SystemError` (the runtime failed; `cause` says why).
 */
export async function createContainer(opts: CreateContainerOptions): Promise<Container> {
  const { id, backend } = opts;
  const bundle = path.resolve(opts.bundle);
  const spec = readSpec(bundle);
  const stdio: Stdio = { stdin: opts.stdio?.stdin ?? '', stdout: opts.stdio?.stdout ?? '', stderr: opts.stdio?.stderr ?? '', terminal: opts.stdio?.terminal ?? spec.process.terminal === true };
  const ids = liveIds.get(backend.runtime) ?? new Set<string>();
  liveIds.set(backend.runtime, ids);
  if (ids.has(id)) throw new ContainerError(ErrorCode.IdInUse, `container id ${JSON.stringify(id)} is already in use`);
  const stateDir = opts.stateDir ?? path.join(defaultStateRoot(), String(id));
  const init = new Init(id, backend.runtime, stdio, opts.init);
  ids.add(id);
  let created = false;
  try {
    await init.create({ id, bundle, terminal: stdio.terminal, stdin: stdio.stdin, stdout: stdio.stdout, stderr: stdio.stderr });
    created = true;
    await init.start();
  } catch (err) {
    ids.delete(id);
    if (created) {
      await init.killAll();
      await init.delete().catch(() => undefined);
    }
    fs.rmSync(stateDir, { recursive: true, force: true });
    throw toContainerError(err, `create container ${JSON.stringify(id)}`);
  }
  const config: ContainerConfig = deepFreeze({ id, bundle, spec, stdio });
  return new Container({
    init, backend, config, stateDir, killTimeout: opts.killTimeout ?? 10_000,
    onDestroyed: () => ids.delete(id),
  });
}

/** Reads and checks `config.json`: a missing or broken one is `ConfigInvalid` before any runtime call. */
function readSpec(bundle: string): OciSpec {
  const file = path.join(bundle, 'config.json');
  let spec: OciSpec;
  try {
    spec = JSON.parse(fs.readFileSync(file, 'utf8')) as OciSpec;
  } catch (cause) {
    throw new ContainerError(ErrorCode.ConfigInvalid, `bundle ${bundle}: cannot read config.json: ${(cause as Error).message}`, { cause });
  }
  const args = (spec as { process?: { args?: unknown } } | null)?.process?.args;
  if (!Array.isArray(args) || args.length === 0 || !args.every((a) => typeof a === 'string')) {
    throw new ContainerError(ErrorCode.ConfigInvalid, `bundle ${bundle}: config.json has no process.args`);
  }
  return spec;
}

/** `/run/taskio/container` for root, as the FIFO default is `/run/taskio/fifo`; a per-user runtime dir otherwise. */
function defaultStateRoot(): string {
  if (process.getuid?.() === 0) return '/run/taskio/container';
  return path.join(process.env.XDG_RUNTIME_DIR ?? os.tmpdir(), 'taskio', 'container');
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}
