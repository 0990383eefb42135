import fs from 'node:fs';
import path from 'node:path';
import { TaskioError } from '../errors.js';
import { propagations, type TaskMount } from '../daemon/mounts.js';
import { ramInBytes } from './units.js';

/**
 * The mount flags of `taskio run`, docker's three spellings of one thing: `-v HOST:TASK[:OPTS]`,
 * `--mount type=bind|tmpfs,…` and `--tmpfs TASK[:OPTS]`. Each parses to the API's
 * {@link TaskMount}; whether the source exists, and duplicates, are the daemon's to check.
 * taskio has no named volumes: a source is a host path.
 */

function invalid(message: string): TaskioError {
  return new TaskioError('ERR_INVALID_ARG_VALUE', message);
}

/** docker's `:z`/`:Z` relabel for SELinux: nothing to do where SELinux is off, refused where it is on. */
function selinuxLabel(): void {
  if (fs.existsSync('/sys/fs/selinux/enforce')) throw invalid('SELinux relabeling (z, Z) is not supported: label the host path yourself');
}

/**
 * docker's consistency modes (`-v …:cached`, `--mount consistency=delegated`): a Docker Desktop
 * file-sharing hint that docker takes and ignores on Linux, so scripts and compose files written on
 * a Mac run here as they are. Nothing is shared through a VM here either: taken, changing nothing.
 */
const consistencies = ['consistent', 'cached', 'delegated'];

/** A host path as docker's CLI takes it: absolute, or relative to here when it starts with `.`. */
function hostPath(source: string): string {
  if (path.isAbsolute(source)) return source;
  if (source.startsWith('.')) return path.resolve(source);
  throw invalid(`${JSON.stringify(source)} is not a host path: taskio has no named volumes (give an absolute path, or one starting with ".")`);
}

/**
 * `-v HOST:TASK[:OPTS]`: a bind mount. OPTS, comma-separated: `ro` or `rw`, a propagation
 * (`rprivate`, `rslave`, …), `z`/`Z` (see {@link selinuxLabel}).
 */
export function parseVolume(value: string): TaskMount {
  const parts = value.split(':');
  if (parts.length === 1) throw invalid('taskio has no anonymous volumes: give HOST-PATH:TASK-PATH[:OPTIONS]');
  if (parts.length > 3 || parts.some((p) => p === '')) throw invalid('expected HOST-PATH:TASK-PATH[:OPTIONS]');
  const [source, target, opts] = parts as [string, string, string | undefined];
  const m: TaskMount = { type: 'bind', source: hostPath(source), target };
  let access: string | null = null, consistency: string | null = null;
  for (const opt of opts?.split(',') ?? []) {
    if (opt === 'ro' || opt === 'rw') {
      if (access !== null && access !== opt) throw invalid(`conflicting options ${access} and ${opt}`);
      access = opt;
      m.readonly = opt === 'ro';
    } else if ((propagations as readonly string[]).includes(opt)) {
      if (m.propagation !== undefined) throw invalid(`two propagations: ${m.propagation} and ${opt}`);
      m.propagation = opt as TaskMount['propagation'];
    } else if (opt === 'z' || opt === 'Z') {
      selinuxLabel();
    } else if (consistencies.includes(opt)) {
      if (consistency !== null) throw invalid(`two consistency modes: ${consistency} and ${opt}`);
      consistency = opt;
    } else {
      throw invalid(`unknown option ${JSON.stringify(opt)} (known: ro, rw, ${propagations.join(', ')}, z, Z, ${consistencies.join(', ')})`);
    }
  }
  return m;
}

function tmpfsMode(v: string): number {
  if (!/^[0-7]{1,4}$/.test(v)) throw invalid(`mode ${JSON.stringify(v)} must be octal (e.g. 1777)`);
  return parseInt(v, 8);
}

/**
 * `--tmpfs TASK[:OPTS]`: a memory filesystem, `noexec,nosuid,nodev` as docker's. OPTS: `size=`,
 * `mode=` (octal), `ro`/`rw`, `exec`/`noexec`; `nosuid` and `nodev` are always on.
 */
export function parseTmpfs(value: string): TaskMount {
  const at = value.indexOf(':');
  const target = at < 0 ? value : value.slice(0, at);
  if (target === '') throw invalid('expected TASK-PATH[:OPTIONS]');
  const m: TaskMount = { type: 'tmpfs', target };
  for (const opt of at < 0 ? [] : value.slice(at + 1).split(',')) {
    const [key, v] = opt.split('=', 2) as [string, string | undefined];
    if (key === 'size' && v) m.size = ramInBytes(v);
    else if (key === 'mode' && v) m.mode = tmpfsMode(v);
    else if ((key === 'ro' || key === 'rw') && v === undefined) m.readonly = key === 'ro';
    else if ((key === 'exec' || key === 'noexec') && v === undefined) m.exec = key === 'exec';
    else if ((key === 'nosuid' || key === 'nodev') && v === undefined) continue;
    else throw invalid(`unknown tmpfs option ${JSON.stringify(opt)} (known: size=, mode=, ro, rw, exec, noexec, nosuid, nodev)`);
  }
  return m;
}

const mountKeys = ['type', 'source', 'src', 'target', 'destination', 'dst', 'readonly', 'ro', 'bind-propagation', 'tmpfs-size', 'tmpfs-mode', 'consistency'];

/** `readonly`, `readonly=true|false|1|0` as docker takes it. */
function flagValue(key: string, v: string | undefined): boolean {
  if (v === undefined || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalid(`${key}=${v}: expected true or false`);
}

/**
 * `--mount type=bind,source=HOST,target=TASK[,readonly][,bind-propagation=P]` or
 * `--mount type=tmpfs,target=TASK[,tmpfs-size=N][,tmpfs-mode=OCTAL]` (docker's keys and aliases).
 */
export function parseMount(value: string): TaskMount {
  const fields = new Map<string, string | undefined>();
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (!mountKeys.includes(key)) throw invalid(`unknown key ${JSON.stringify(key)} (known: ${mountKeys.join(', ')})`);
    const canonical = key === 'src' ? 'source' : key === 'destination' || key === 'dst' ? 'target' : key === 'ro' ? 'readonly' : key;
    if (fields.has(canonical)) throw invalid(`${canonical} is given twice`);
    fields.set(canonical, eq < 0 ? undefined : field.slice(eq + 1));
  }
  const need = (key: string): string => {
    const v = fields.get(key);
    if (v === undefined || v === '') throw invalid(`${key}=… is required`);
    return v;
  };
  const type = fields.get('type');
  if (type !== 'bind' && type !== 'tmpfs') throw invalid(`type=${type ?? ''}: taskio mounts are type=bind or type=tmpfs (it has no volumes of its own)`);
  const m: TaskMount = { type, target: need('target') };
  if (fields.has('readonly')) m.readonly = flagValue('readonly', fields.get('readonly'));
  const consistency = fields.get('consistency');
  if (fields.has('consistency') && !['default', ...consistencies].includes(consistency ?? '')) {
    throw invalid(`consistency=${consistency ?? ''}: expected one of default, ${consistencies.join(', ')}`);
  }
  const wrongType = [...fields.keys()].find((k) => (type === 'bind' ? k.startsWith('tmpfs-') : k === 'source' || k === 'bind-propagation'));
  if (wrongType) throw invalid(`${wrongType} is not an option of type=${type}`);
  if (type === 'bind') {
    m.source = hostPath(need('source'));
    const propagation = fields.get('bind-propagation');
    if (propagation !== undefined) {
      if (!(propagations as readonly string[]).includes(propagation)) throw invalid(`bind-propagation=${propagation}: expected one of ${propagations.join(', ')}`);
      m.propagation = propagation as TaskMount['propagation'];
    }
  } else {
    if (fields.has('tmpfs-size')) m.size = ramInBytes(need('tmpfs-size'));
    if (fields.has('tmpfs-mode')) m.mode = tmpfsMode(need('tmpfs-mode'));
  }
  return m;
}
