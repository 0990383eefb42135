import fs from 'node:fs';
import os from 'node:os';
import { TaskioError } from '../errors.js';
import { validateId } from '../ids.js';
import { parseLogOptions, validateLogWriterOptions, type LogWriterOptions } from '../logfile/index.js';
import { notRegularFile } from '../notRegularFile.js';
import type { ConsoleSize } from '../runtime/oci/index.js';
import { parseTarget } from '../runtime/stdio/index.js';
import { absolutePath, checkEnv, checkFields, checkStopTimeout, workingDir } from './check.js';
import { checkConsoleSize } from './consoleSize.js';
import { capabilityName } from './capabilities.js';
import { checkMounts, type TaskMount } from './mounts.js';
import { networkMode, type NetworkMode } from './network.js';
import { readSecurityOpts, type SecurityOptions } from './securityOpt.js';
import { checkUlimits, type TaskUlimit } from './ulimits.js';
import { checkRestartPolicy, type RestartPolicy } from './restartPolicy.js';
import { checkHealthConfig, type HealthConfig } from './healthcheck.js';
import { signalName, signalNumber } from '../runtime/oci/signal.js';
import type { RuntimeName, TaskLimits } from './records.js';
import { checkCpusetCpus, maxCpuShares, minCpuShares } from './cpuset.js';

/** The body of `POST /tasks`. */
export interface CreateTaskRequest {
  /** The task id (containerd's rule); generated when left out. */
  id?: string;
  /** `runsc`, `runc` or `host`; default: runsc when installed and root, else runc, else host. */
  runtime?: RuntimeName;
  /** An OCI bundle directory (its config.json); `args`, `env`, `cwd`, `terminal` override its process. */
  bundle?: string;
  /** A root filesystem directory to run `args` in (instead of the embedded busybox rootfs). */
  rootfs?: string;
  args?: string[];
  env?: string[];
  cwd?: string;
  terminal?: boolean;
  /**
   * The terminal's size from the start (docker's `ConsoleSize`, OCI's `process.consoleSize`), so
   * what runs first already sees it; a resize changes it later. Ignored for a task without one;
   * without it a terminal starts at 80x24 (the bundle's `process.consoleSize` if it has one).
   */
  consoleSize?: ConsoleSize;
  /** Give the task a stdin (a FIFO clients write; EOF only through close-stdin). Default false. */
  stdin?: boolean;
  /** Log URI (`file:///…?format=cri&maxSize=…`, `binary:///…`) or `none` (FIFO mode). Default: CRI log in the task directory. */
  log?: string;
  /**
   * Rotation of the default log (without `log`), which stays in the task directory: a file URI
   * cannot name it, as a client's log path inside the state root is refused. `taskio run
   * --log-opt max-size=… --log-opt max-file=…` sends it. Not with `log` (its URI carries its own).
   */
  logOptions?: DefaultLogOptions;
  limits?: TaskLimits;
  /** Host paths and memory filesystems mounted into the task (runsc, runc). */
  mounts?: TaskMount[];
  /** Mount the task's root filesystem read-only (docker's `ReadonlyRootfs`; the embedded busybox always is). runsc, runc. */
  readonlyRootfs?: boolean;
  /**
   * The user the process runs as, docker's `--user`: `user[:group]`, names or numbers, names
   * looked up in the task's rootfs (`/etc/passwd`, `/etc/group`; the host's for a host task).
   * Default: the bundle's, else root.
   */
  user?: string;
  /** The task's hostname (docker's `Hostname`; default: its id, cut at 63). runsc, runc. */
  hostname?: string;
  /**
   * docker's `NetworkMode`: `none`, a network namespace of its own with only a loopback (runsc and
   * runc; the default for them, a bundle under runc excepted: without it, the bundle's namespaces
   * stay as they are), or `host`, the host's network (a host task always has it, and refuses `none`).
   */
  network?: NetworkMode;
  /** Key-value metadata for people and tools (docker's `Labels`): `ps --filter label=…` selects on it. */
  labels?: Record<string, string>;
  /** Run the command under a small init that hands on signals and reaps zombies (docker's `Init`, tini). runsc, runc. */
  init?: boolean;
  /** Resource limits of the process (docker's `Ulimits`: `{name: "nofile", soft, hard}`, -1 unlimited); each replaces the spec's. */
  ulimits?: TaskUlimit[];
  /** Capabilities added to and dropped from the default set (docker's; a bundle's own set for a bundle): names with or without `CAP_`, or `ALL`. runsc, runc. */
  capAdd?: string[];
  capDrop?: string[];
  /**
   * docker's `Privileged`: every capability the daemon holds (`capAdd`/`capDrop` do not apply, as
   * in docker), no seccomp filter, no masked or read-only paths, `/sys` and the cgroup hierarchies
   * writable; runc: every device of the host's `/dev`. runsc, runc.
   */
  privileged?: boolean;
  /**
   * docker's `SecurityOpt`: `no-new-privileges[=true|false]`, `seccomp=unconfined|builtin|<profile
   * JSON in docker's format>`, `systempaths=unconfined`, `apparmor=unconfined`, `label=disable`
   * (no AppArmor or SELinux here: no-ops). runsc, runc; runsc takes no `no-new-privileges=false`, and a
   * profile only where it applies every action and errno of it (see `checkRunscSeccomp`).
   */
  securityOpt?: string[];
  /** Start the task again after it exited (docker's `RestartPolicy`); not with `autoRemove`. Default `no`. */
  restartPolicy?: RestartPolicy;
  /** What `stop` sends first (docker's `StopSignal`): a name or number. Default SIGTERM. */
  stopSignal?: string | number;
  /** Seconds `stop` waits after it before KILL (docker's `StopTimeout`); -1: for ever. Default 10. */
  stopTimeout?: number;
  /**
   * Remove the task once it exited and its output is complete (docker's `AutoRemove`, what
   * `run --rm` asks for): done by the daemon, so it happens too when no client is there any more;
   * the client that created it may still attach first (see `TaskManager`'s removal rule).
   */
  autoRemove?: boolean;
  /**
   * docker's `Healthcheck`: a command run in the task every `interval` (`run --health-cmd`), whose
   * results make its health `starting`, `healthy` or `unhealthy` (`inspect`'s `health`, `ps`,
   * `health_status` events). `{"test": ["NONE"]}` is no check (`--no-healthcheck`). A bundle has no
   * image HEALTHCHECK: without this field, no check.
   */
  healthcheck?: HealthConfig;
  /**
   * `false`: the task is made — bundle and record — but not started (docker's create); it
   * is `created` until `POST /tasks/:id/start`. Not with an attached create. Default true.
   */
  start?: boolean;
}

/** `logOptions`: the default log's rotation, as a `file://` URI's `maxSize` and `maxFiles` (bytes, a count; `maxFiles` only with `maxSize`). */
export type DefaultLogOptions = Pick<LogWriterOptions, 'maxSize' | 'maxFiles'>;

const schema = {
  id: 'string', runtime: 'string', bundle: 'string', rootfs: 'string', args: 'string[]', env: 'string[]',
  cwd: 'string', terminal: 'boolean', consoleSize: 'object', stdin: 'boolean', log: 'string', logOptions: 'object', limits: 'object', autoRemove: 'boolean',
  mounts: 'object[]', readonlyRootfs: 'boolean', user: 'string', restartPolicy: 'object', stopSignal: 'signal', stopTimeout: 'integer',
  capAdd: 'string[]', capDrop: 'string[]', privileged: 'boolean', securityOpt: 'string[]', hostname: 'string', network: 'string', labels: 'object', ulimits: 'object[]', init: 'boolean', start: 'boolean',
  healthcheck: 'object',
} as const;

/** How a task's output is kept, from its `log` field. */
export type LogPlan =
  | { mode: 'none' }
  | { mode: 'file'; uri: string; path: string; options: LogWriterOptions; format: 'cri' | 'raw' }
  | { mode: 'binary'; uri: string }
  | { mode: 'default'; options: DefaultLogOptions };

/** A checked `POST /tasks` body. */
export interface CheckedCreate extends CreateTaskRequest {
  logPlan: LogPlan;
  /** What `securityOpt` asks for. */
  security: SecurityOptions;
}

/**
 * Checks a `POST /tasks` body completely before anything is made: shape and unknown fields, the id,
 * runtime name, paths (absolute, existing), environment, log URI and options, limits, security options.
 * @throws TaskioError with a 4xx code naming the bad value.
 */
export function checkCreateRequest(body: unknown): CheckedCreate {
  const req = checkFields<CreateTaskRequest>(body, schema);
  if (req.id !== undefined) validateId(req.id);
  if (req.runtime !== undefined && !['runsc', 'runc', 'host'].includes(req.runtime)) {
    throw new TaskioError('ERR_INVALID_FIELD', `unknown runtime ${JSON.stringify(req.runtime)} (known: runsc, runc, host)`);
  }
  if (req.bundle !== undefined && req.rootfs !== undefined) throw new TaskioError('ERR_INVALID_FIELD', 'give "bundle" or "rootfs", not both');
  if (req.bundle !== undefined) {
    req.bundle = absolutePath('bundle', req.bundle);
    if (!fs.existsSync(`${req.bundle}/config.json`)) throw new TaskioError('ERR_INVALID_BUNDLE', `bundle ${req.bundle} does not exist or has no config.json`);
  }
  if (req.rootfs !== undefined) {
    req.rootfs = absolutePath('rootfs', req.rootfs);
    if (!fs.statSync(req.rootfs, { throwIfNoEntry: false })?.isDirectory()) throw new TaskioError('ERR_INVALID_ROOTFS', `rootfs ${req.rootfs} is not a directory`);
  }
  if (req.args !== undefined && (req.args.length === 0 || req.args.some((a) => a.includes('\0')) || req.args[0] === '')) {
    throw new TaskioError('ERR_INVALID_FIELD', `field "args" must be a non-empty command, got ${JSON.stringify(req.args)}`);
  }
  if (req.args === undefined && req.bundle === undefined) throw new TaskioError('ERR_INVALID_FIELD', 'missing field "args": the command to run (or a "bundle")');
  if (req.env) checkEnv(req.env);
  if (req.cwd !== undefined) req.cwd = workingDir('cwd', req.cwd);
  if (req.limits !== undefined) checkLimitsTogether(checkLimits(req.limits));
  if (req.mounts !== undefined) req.mounts = checkMounts(req.mounts);
  if (req.hostname !== undefined && !/^[a-zA-Z0-9](?:[a-zA-Z0-9.-]{0,61}[a-zA-Z0-9])?$/.test(req.hostname)) {
    throw new TaskioError('ERR_INVALID_FIELD', `invalid hostname ${JSON.stringify(req.hostname)}: 1 to 63 letters, digits, dots and hyphens, not starting or ending with a dot or hyphen`);
  }
  if (req.network !== undefined) networkMode(req.network, 'ERR_INVALID_FIELD');
  if (req.labels !== undefined) checkLabels(req.labels);
  if (req.ulimits !== undefined) checkUlimits(req.ulimits);
  if (req.capAdd) req.capAdd = req.capAdd.map(capabilityName);
  if (req.capDrop) req.capDrop = req.capDrop.map(capabilityName);
  if (req.restartPolicy !== undefined) {
    checkRestartPolicy(req.restartPolicy);
    if (req.restartPolicy.name !== 'no' && req.autoRemove === true) throw new TaskioError('ERR_INVALID_FIELD', 'conflicting options: a restart policy and autoRemove');
  }
  if (req.stopSignal !== undefined) req.stopSignal = signalName(signalNumber(req.stopSignal));
  if (req.stopTimeout !== undefined) checkStopTimeout('stopTimeout', req.stopTimeout);
  if (req.consoleSize !== undefined) checkConsoleSize(req.consoleSize);
  if (req.healthcheck !== undefined) {
    const check = checkHealthConfig(req.healthcheck);
    if (check === null) delete req.healthcheck; // NONE: no check
  }
  const security = readSecurityOpts(req.securityOpt ?? []);
  return { ...req, logPlan: logPlan(req.log, req.logOptions), security };
}

function logPlan(log: string | undefined, logOptions: DefaultLogOptions | undefined): LogPlan {
  if (logOptions !== undefined && log !== undefined) {
    throw new TaskioError('ERR_INVALID_FIELD', `field "logOptions" is for the default log: with "log" ${JSON.stringify(log)}, give the options in its URI`);
  }
  if (log === undefined) return { mode: 'default', options: logOptions === undefined ? {} : checkDefaultLogOptions(logOptions) };
  if (log === 'none') return { mode: 'none' };
  const target = parseTarget(log);
  if (target.kind === 'file') {
    const parsed = parseLogOptions(target.url);
    const { path, format, ...options } = parsed;
    // Refused before anything is made: the log writer would refuse it too, but only once the task
    // ran, with its output waiting in the pipe for a log that can never be written.
    const st = fs.lstatSync(path, { throwIfNoEntry: false });
    if (st !== undefined && !st.isFile()) throw notRegularFile(path, st, { code: 'ERR_INVALID_LOG_PATH' });
    return { mode: 'file', uri: log, path, format, options: { ...options, format } };
  }
  if (target.kind === 'binary') {
    checkLogger(target.path);
    return { mode: 'binary', uri: log };
  }
  throw new TaskioError('ERR_INVALID_LOG_URI', `field "log" must be a file:// or binary:// URI, or none; got ${JSON.stringify(log)}`);
}

/** Checks `logOptions` as a log URI's query is checked (`maxFiles` needs `maxSize`, at most 1000 files). */
function checkDefaultLogOptions(options: DefaultLogOptions): DefaultLogOptions {
  checkFields<DefaultLogOptions>(options, { maxSize: 'integer', maxFiles: 'integer' }, 'logOptions');
  validateLogWriterOptions(options);
  return options;
}

/**
 * A binary logger that cannot run is the request's fault, said before the task is made: the
 * logger would fail only once started, and the task with it (`ERR_LOGGER_NOT_READY`, a 500).
 */
function checkLogger(file: string): void {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (st === undefined) throw new TaskioError('ERR_COMMAND_NOT_FOUND', `logger ${file} does not exist`);
  if (!st.isFile()) throw new TaskioError('ERR_COMMAND_NOT_EXECUTABLE', `logger ${file} is not a regular file`);
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    throw new TaskioError('ERR_COMMAND_NOT_EXECUTABLE', `logger ${file} is not executable`);
  }
}

/** docker's smallest memory limit (`linuxMinMemory`): a runc task below it barely starts, a runsc sandbox never does. */
const minMemory = 6 * 1024 * 1024;

/**
 * Checks the limits of one task against each other, docker's way: a memory limit at least the
 * reservation (`Minimum memory limit can not be less than memory reservation limit, see usage`),
 * a swap limit only with a memory limit and not below it. A create checks its limits, an update
 * the task's after the change (`--memory-swap` alone changes a task that has a memory limit).
 * @throws TaskioError `ERR_INVALID_LIMIT`.
 */
export function checkLimitsTogether(l: TaskLimits): void {
  if (l.memory !== undefined && l.memoryReservation !== undefined && l.memory < l.memoryReservation) {
    throw new TaskioError('ERR_INVALID_LIMIT', `invalid limits memory=${l.memory}, memoryReservation=${l.memoryReservation}: Minimum memory limit can not be less than memory reservation limit, see usage`);
  }
  if (l.memorySwap === undefined || l.memorySwap === -1) return;
  if (l.memory === undefined) {
    throw new TaskioError('ERR_INVALID_LIMIT', `invalid limit memorySwap=${l.memorySwap}: You should always set the Memory limit when using Memoryswap limit, see usage`);
  }
  if (l.memorySwap < l.memory) {
    throw new TaskioError('ERR_INVALID_LIMIT', `invalid limits memory=${l.memory}, memorySwap=${l.memorySwap}: Minimum memoryswap limit should be larger than memory limit, see usage`);
  }
}

/** Checks `limits`: memory ≥ 6 MiB (docker's minimum), 0.01 ≤ cpus ≤ the CPUs here, pids ≥ 1, a cpuset of CPUs here, cpuShares in the kernel's range, a memory reservation ≥ 6 MiB, a swap limit -1 or above 0 (each alone: see {@link checkLimitsTogether}). */
export function checkLimits(limits: unknown): TaskLimits {
  const l = checkFields<TaskLimits>(limits, { memory: 'integer', cpus: 'number', pids: 'integer', cpusetCpus: 'string', cpuShares: 'integer', memoryReservation: 'integer', memorySwap: 'integer' }, 'limits');
  const cpus = os.availableParallelism();
  const bad = (what: string, v: unknown, range: string) => new TaskioError('ERR_INVALID_LIMIT', `invalid limit ${what}=${JSON.stringify(v)}: ${range}`);
  if (l.memory !== undefined && (l.memory < minMemory || l.memory > Number.MAX_SAFE_INTEGER)) throw bad('memory', l.memory, 'expected bytes, at least 6 MiB (docker\'s "Minimum memory limit allowed is 6MB")');
  if (l.cpus !== undefined && !(l.cpus >= 0.01 && l.cpus <= cpus)) throw bad('cpus', l.cpus, `expected 0.01 to ${cpus} (the CPUs of this machine)`);
  if (l.pids !== undefined && (l.pids < 1 || l.pids > 4_194_304)) throw bad('pids', l.pids, 'expected 1 to 4194304');
  if (l.cpusetCpus !== undefined) checkCpusetCpus(l.cpusetCpus);
  if (l.memoryReservation !== undefined && (l.memoryReservation < minMemory || l.memoryReservation > Number.MAX_SAFE_INTEGER)) throw bad('memoryReservation', l.memoryReservation, 'expected bytes, at least 6 MiB (docker\'s "Minimum memory reservation allowed is 6MB")');
  if (l.memorySwap !== undefined && (l.memorySwap < -1 || l.memorySwap === 0 || l.memorySwap > Number.MAX_SAFE_INTEGER)) throw bad('memorySwap', l.memorySwap, 'expected bytes of memory and swap together, or -1 for unlimited swap');
  if (l.cpuShares !== undefined && (l.cpuShares < minCpuShares || l.cpuShares > maxCpuShares)) throw bad('cpuShares', l.cpuShares, `expected ${minCpuShares} to ${maxCpuShares} (the kernel's cpu.shares; 1024 is the default)`);
  return l;
}

/** Checks `labels`: string values, keys neither empty nor holding `=` or NUL (a key must read back from `label=KEY=VALUE`). */
function checkLabels(labels: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(labels)) {
    if (k === '' || /[=\0]/.test(k)) throw new TaskioError('ERR_INVALID_FIELD', `invalid label key ${JSON.stringify(k)}: not empty, without "=" or NUL`);
    if (typeof v !== 'string' || v.includes('\0')) throw new TaskioError('ERR_INVALID_FIELD', `label ${JSON.stringify(k)} must have a string value, got ${JSON.stringify(v)}`);
  }
}
