import path from 'node:path';
import { TaskioError } from '../errors.js';
import { validateId } from '../ids.js';
import { restartPolicyNames, type RestartPolicy } from '../daemon/restartPolicy.js';
import { ulimitNames, type TaskUlimit } from '../daemon/ulimits.js';
import { maxStopSeconds } from '../daemon/check.js';
import { maxCpuShares, minCpuShares } from '../daemon/cpuset.js';
import { ramInBytes } from './units.js';

/**
 * The value parsers of the `taskio` flags (sizes are `ramInBytes`, signals `signalNumber`, detach
 * keys `parseDetachKeys`). Each takes the text of one flag value and returns what
 * the verb uses, or throws a {@link TaskioError} whose message says what is wrong with it; the flag
 * parser prefixes which flag and value (`invalid argument "x" for "--cpus" flag: …`).
 */

function invalid(message: string): TaskioError {
  return new TaskioError('ERR_INVALID_ARG_VALUE', message);
}

/**
 * `--cpus`: a decimal number of CPUs (`0.5`, `2`, `1.25`), returned in nano-CPUs as docker's API
 * carries it; finer than a nano-CPU is refused, as docker does. 0 is none given, as docker's
 * `NanoCpus` 0 (no limit; `update --cpus 0` changes nothing): scripts pass `--cpus "${CPUS:-0}"`.
 */
export function parseCpus(value: string): number | undefined {
  const m = /^(\d+)(?:\.(\d+))?$|^\.(\d+)$/.exec(value);
  if (!m) throw invalid(`failed to parse ${value} as a rational number`);
  const frac = (m[2] ?? m[3] ?? '').replace(/0+$/, '');
  if (frac.length > 9) throw invalid('value is too precise');
  const nano = BigInt(m[1] ?? '0') * 1_000_000_000n + BigInt(frac.padEnd(9, '0'));
  if (nano === 0n) return undefined;
  if (nano > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${value} CPUs is out of range`);
  return Number(nano);
}

/** A whole number (Go's `strconv.ParseInt` in base 10, within the safe integers). */
export function parseInteger(value: string): number {
  const n = /^[+-]?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw invalid(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  return n;
}

/** `--pids-limit`: a positive number of processes, or `undefined` for no limit (0 or -1, as docker). */
export function parsePidsLimit(value: string): number | undefined {
  const n = parseInteger(value);
  if (n < -1) throw invalid('the pids limit must be positive, or -1 for unlimited');
  return n > 0 ? n : undefined;
}

/**
 * `--cpuset-cpus`: the list as given (`0-1,3`), which the daemon checks against its machine's CPUs;
 * `""` is none, as docker's empty value.
 */
export function parseCpusetCpus(value: string): string | undefined {
  return value === '' ? undefined : value;
}

/**
 * `-c, --cpu-shares`: a whole number, 0 for the default (none given), taken into the kernel's 2 to
 * 262144 as docker's daemon takes it (`Changing requested CPUShares of 1 to minimum allowed of 2`);
 * a negative weight is refused.
 */
export function parseCpuShares(value: string): number | undefined {
  const n = parseInteger(value);
  if (n < 0) throw invalid('CPU shares must be positive, or 0 for the default');
  return n === 0 ? undefined : Math.min(maxCpuShares, Math.max(minCpuShares, n));
}

/**
 * `-m, --memory`, `--memory-reservation`: a size as {@link ramInBytes} reads it; 0 is none given, as
 * docker's (no limit at create, nothing changed by `update`).
 */
export function parseLimitBytes(value: string): number | undefined {
  const bytes = ramInBytes(value);
  return bytes === 0 ? undefined : bytes;
}

/**
 * `--memory-swap`: a size as `--memory`'s, memory and swap together, or -1 for unlimited swap
 * (docker's `MemSwapBytes`); 0 is none given, as docker's.
 */
export function parseMemorySwap(value: string): number | undefined {
  return value === '-1' ? -1 : parseLimitBytes(value);
}

/** `stop -t`: seconds to wait after TERM before KILL; -1 waits for ever (docker's API). */
export function parseStopTimeout(value: string): number {
  const n = parseInteger(value);
  if (n < -1 || n > maxStopSeconds) throw invalid(`the timeout must be 0 to ${maxStopSeconds} seconds (24.8 days), or -1 to wait for ever`);
  return n;
}

/** `run -a`: a stream to attach to, as docker's `ValidateAttach` (any case). */
export function parseAttachStream(value: string): 'stdin' | 'stdout' | 'stderr' {
  const stream = value.toLowerCase();
  if (stream === 'stdin' || stream === 'stdout' || stream === 'stderr') return stream;
  throw invalid('valid streams are STDIN, STDOUT and STDERR');
}

/**
 * `logs --tail`: how many lines from the end, or `all`. As docker's daemon (which reads the value
 * with Go's `strconv.Atoi` and takes a failure for -1, and any negative count for all): a negative
 * number or anything that is not a whole number means the whole log, it is not refused.
 */
export function parseTail(value: string): number | 'all' {
  const n = /^[+-]?\d+$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : 'all';
}

/**
 * `-e K=V`: one environment variable. `-e K` takes `K`'s value from this process's environment,
 * as docker does; when `K` is not set there the variable is left out (docker then removes it from
 * the image's environment — a taskio task has no image environment to remove it from).
 * @returns `K=V`, or `undefined` when the variable is left out.
 */
export function parseEnv(value: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const eq = value.indexOf('=');
  const key = eq < 0 ? value : value.slice(0, eq);
  if (key === '') throw invalid(`invalid environment variable: ${value}`);
  if (value.includes('\0')) throw invalid(`invalid environment variable: ${JSON.stringify(value)} contains a NUL byte`);
  if (eq >= 0) return value;
  const own = env[key];
  return own === undefined ? undefined : `${key}=${own}`;
}

/**
 * `inspect --type`: docker's `container`, what scripts pass to say "not an image", or `task`,
 * taskio's word for one; taskio has no other kind of object to inspect.
 */
export function parseInspectType(value: string): 'container' | 'task' {
  if (value === 'container' || value === 'task') return value;
  throw invalid('taskio inspects tasks only: container (or task)');
}

/** `--name`: a task id, by taskio's one id rule. */
export function parseTaskId(value: string): string {
  return validateId(value, 'task');
}

const runtimes = ['runsc', 'runc', 'host'] as const;
/** A runtime taskio runs tasks on. */
export type RuntimeName = (typeof runtimes)[number];

/** `--runtime`: `runsc`, `runc` or `host`. */
export function parseRuntime(value: string): RuntimeName {
  if (!(runtimes as readonly string[]).includes(value)) throw invalid(`unknown runtime (expected ${runtimes.join(', ')})`);
  return value as RuntimeName;
}

/**
 * `--rootfs`, `--bundle`: a directory on this machine, made absolute against the current
 * directory here, because the daemon that uses it runs elsewhere.
 */
export function parseHostDir(value: string): string {
  if (value === '' || value.includes('\0')) throw invalid('expected a directory path');
  return path.resolve(value);
}

/** `--cidfile`: a file path on this host, as given (a relative one is the command's, from its working directory). */
export function parseHostFile(value: string): string {
  if (value === '' || value.includes('\0')) throw invalid('expected a file path');
  return value;
}

/** `-w`/`--workdir`: an absolute path inside the task, as docker requires. */
export function parseWorkdir(value: string): string {
  if (!path.posix.isAbsolute(value) || value.includes('\0')) {
    throw invalid(`the working directory '${value}' is invalid, it needs to be an absolute path`);
  }
  return value;
}

/** `--log`: `none` (FIFO mode), or a log URI with an absolute path: `file:///…` or `binary:///…`. */
export function parseLog(value: string): string {
  if (value === 'none') return value;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  // The text itself must say file:/// or binary:///: the URL parser would make `file:x` absolute.
  if (!url || !/^(file|binary):\/\/\/./.test(value) || url.host !== '' || url.pathname === '/') {
    throw invalid('expected none, file:///absolute/path or binary:///absolute/path');
  }
  return url.href;
}

/**
 * `-u`/`--user`: `name|uid[:group|gid]`, checked for its shape only: the names are the task's,
 * looked up by the daemon in the task's rootfs.
 */
export function parseUser(value: string): string {
  if (!/^[^:\s\0]+(?::[^:\s\0]+)?$/.test(value)) throw invalid('expected <name|uid>[:<group|gid>]');
  return value;
}

/**
 * `--restart`: docker's `no`, `on-failure[:max-retries]`, `always`, `unless-stopped`, as the API's
 * restart policy.
 */
export function parseRestartPolicy(value: string): RestartPolicy {
  const [name = '', count, extra] = value.split(':');
  if (extra !== undefined || !(restartPolicyNames as readonly string[]).includes(name)) {
    throw invalid(`invalid restart policy format: expected one of ${restartPolicyNames.join(', ')}, with :max-retries after on-failure`);
  }
  if (count === undefined) return { name: name as RestartPolicy['name'] };
  if (name !== 'on-failure') throw invalid(`maximum retry count cannot be used with restart policy '${name}'`);
  if (!/^\d{1,9}$/.test(count)) throw invalid(`maximum retry count must be a number of 0 or more, got ${JSON.stringify(count)}`);
  return { name, maximumRetryCount: Number(count) };
}

/** `-h`/`--hostname`: checked by the daemon (it names the rule); here only that it is one word. */
export function parseHostname(value: string): string {
  if (value === '' || /[\s\0]/.test(value)) throw invalid('expected a host name');
  return value;
}

/** `-l`/`--label KEY[=VALUE]`: a label, docker's way (no `=`: an empty value). */
export function parseLabel(value: string): [string, string] {
  const eq = value.indexOf('=');
  const key = eq < 0 ? value : value.slice(0, eq);
  if (key === '') throw invalid('expected KEY[=VALUE]');
  return [key, eq < 0 ? '' : value.slice(eq + 1)];
}

/** `--ulimit NAME=SOFT[:HARD]`, docker's: one number sets both, -1 is unlimited; checked by the daemon too. */
export function parseUlimit(value: string): TaskUlimit {
  const m = /^([a-z]+)=(-1|\d{1,18})(?::(-1|\d{1,18}))?$/.exec(value);
  if (!m) throw invalid('expected NAME=SOFT[:HARD], e.g. nofile=1024:2048 (-1: unlimited)');
  if (!ulimitNames.includes(m[1]!)) throw invalid(`unknown ulimit ${m[1]} (known: ${ulimitNames.join(', ')})`);
  const soft = Number(m[2]);
  return { name: m[1]!, soft, hard: m[3] === undefined ? soft : Number(m[3]) };
}
