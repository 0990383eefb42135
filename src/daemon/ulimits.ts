import fs from 'node:fs';
import { TaskioError } from '../errors.js';
import type { OciRlimit } from '../runtime/oci/index.js';
import { checkFields } from './check.js';

/** docker's `--ulimit` names and the resource each one is, with the row `/proc/<pid>/limits` shows it in. */
const resources: Record<string, { type: string; row: string }> = {
  core: { type: 'RLIMIT_CORE', row: 'Max core file size' },
  cpu: { type: 'RLIMIT_CPU', row: 'Max cpu time' },
  data: { type: 'RLIMIT_DATA', row: 'Max data size' },
  fsize: { type: 'RLIMIT_FSIZE', row: 'Max file size' },
  locks: { type: 'RLIMIT_LOCKS', row: 'Max file locks' },
  memlock: { type: 'RLIMIT_MEMLOCK', row: 'Max locked memory' },
  msgqueue: { type: 'RLIMIT_MSGQUEUE', row: 'Max msgqueue size' },
  nice: { type: 'RLIMIT_NICE', row: 'Max nice priority' },
  nofile: { type: 'RLIMIT_NOFILE', row: 'Max open files' },
  nproc: { type: 'RLIMIT_NPROC', row: 'Max processes' },
  rss: { type: 'RLIMIT_RSS', row: 'Max resident set' },
  rtprio: { type: 'RLIMIT_RTPRIO', row: 'Max realtime priority' },
  rttime: { type: 'RLIMIT_RTTIME', row: 'Max realtime timeout' },
  sigpending: { type: 'RLIMIT_SIGPENDING', row: 'Max pending signals' },
  stack: { type: 'RLIMIT_STACK', row: 'Max stack size' },
  as: { type: 'RLIMIT_AS', row: 'Max address space' },
};

/** The names `--ulimit` takes. */
export const ulimitNames = Object.keys(resources);

/** One resource limit of a task (docker's `Ulimits` entry): -1 is unlimited. */
export interface TaskUlimit {
  name: string;
  soft: number;
  hard: number;
}

/**
 * Checks the API's `ulimits`: known names, each once, whole numbers (-1: unlimited), soft ≤ hard.
 * @throws TaskioError `ERR_INVALID_FIELD` naming the entry and what is wrong.
 */
export function checkUlimits(value: unknown): TaskUlimit[] {
  if (!Array.isArray(value)) throw new TaskioError('ERR_INVALID_FIELD', `field "ulimits" must be an array of {name, soft, hard}, got ${JSON.stringify(value)}`);
  const seen = new Set<string>();
  return value.map((raw: unknown, i) => {
    const u = checkFields<TaskUlimit>(raw, { name: 'string!', soft: 'integer!', hard: 'integer!' }, `ulimits[${i}]`);
    const bad = (why: string) => new TaskioError('ERR_INVALID_FIELD', `invalid ulimit ${u.name}=${u.soft}:${u.hard}: ${why}`);
    if (!ulimitNames.includes(u.name)) throw bad(`unknown name (known: ${ulimitNames.join(', ')})`);
    if (seen.has(u.name)) throw bad('given twice');
    seen.add(u.name);
    if (u.soft < -1 || u.hard < -1) throw bad('limits are 0 or more, or -1 for unlimited');
    if (u.hard !== -1 && (u.soft === -1 || u.soft > u.hard)) throw bad('the soft limit is above the hard one');
    return u;
  });
}

/** The hard limit of `name` this process has (-1: unlimited), from `/proc/self/limits`. */
export function ownHardLimit(name: string, limits = fs.readFileSync('/proc/self/limits', 'utf8')): number {
  const row = limits.split('\n').find((l) => l.startsWith(resources[name]!.row));
  const hard = row?.slice(resources[name]!.row.length).trim().split(/\s+/)[1];
  return hard === undefined || hard === 'unlimited' ? -1 : Number(hard);
}

/**
 * The spec's rlimits with the task's: each ulimit replaces the spec's limit of its resource.
 * `canRaise`: the daemon may raise a hard limit above its own (it holds CAP_SYS_RESOURCE); without
 * that, runc (and the host backend) would fail to start the task, so such a limit is refused here.
 * @throws TaskioError `ERR_NOT_SUPPORTED` for a hard limit above the daemon's own that it cannot raise.
 */
export function withUlimits(base: readonly OciRlimit[], ulimits: readonly TaskUlimit[], canRaise: boolean): OciRlimit[] {
  for (const u of ulimits) {
    const own = ownHardLimit(u.name);
    if (!canRaise && own !== -1 && (u.hard === -1 || u.hard > own)) {
      throw new TaskioError('ERR_NOT_SUPPORTED', `ulimit ${u.name} hard limit ${u.hard === -1 ? 'unlimited' : u.hard} is above the daemon's own (${own}), which it cannot raise without CAP_SYS_RESOURCE`);
    }
  }
  const types = new Set(ulimits.map((u) => resources[u.name]!.type));
  return [...base.filter((r) => !types.has(r.type)), ...ulimits.map((u) => ({ type: resources[u.name]!.type, soft: u.soft, hard: u.hard }))];
}
