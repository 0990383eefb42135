import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { TaskioError } from '../errors.js';
import { assertsDirectory, preserveTrailing, specifiesCurrentDir, splitPathDirEntry, type CopyDestination } from './cpPaths.js';

/**
 * The local side of `taskio cp`: what a local source and destination are (moby's
 * `CopyInfoSourcePath`, `CopyInfoDestinationPath`) and the host's GNU tar that makes and extracts
 * the archives.
 *
 * GNU tar, not a tar of taskio's own, because of what its extraction refuses by default and has
 * been hardened to refuse: members with `..` (skipped), absolute names (made relative), and any
 * write through a symbolic link the archive made — a link whose target is absolute or holds `..`
 * is extracted as a placeholder file and made only at the end, so `evil -> /` then `evil/etc/x`
 * fails instead of writing `/etc/x`. {@link TarRebase} before it keeps every member under the copy's
 * top entry, and `LinkGuard` (`cpLinkGuard.ts`) any from going through a link that was in the
 * destination already, which tar would follow. `TAR_OPTIONS` is dropped from its environment: nothing can turn those defaults off.
 */

/** A local source as tar archives it. */
export interface LocalSource {
  /** The directory tar runs in, and the entry it archives there (`.`: the directory's contents). */
  dir: string;
  base: string;
  isDir: boolean;
  /** The name of the copy: the source's own (a followed link's name, not its target's). */
  name: string;
}

function notFound(p: string, err: unknown): TaskioError {
  return new TaskioError('ERR_NOT_FOUND', `lstat ${p}: no such file or directory`, { cause: err });
}

/**
 * A local source path (absolute, its trailing `/` or `/.` kept): the links on the way to it
 * resolved, and the last one too with `follow` (`-L`) or a trailing `/`; otherwise a link is
 * copied as a link.
 * @throws TaskioError `ERR_NOT_FOUND` when it does not exist.
 */
export function localSource(p: string, follow: boolean): LocalSource {
  const { base: name } = splitPathDirEntry(p);
  let resolved: string;
  try {
    if (follow || assertsDirectory(p)) resolved = fs.realpathSync(p);
    else resolved = path.join(fs.realpathSync(path.dirname(p)), path.basename(p));
    const st = fs.lstatSync(resolved);
    const { dir, base } = splitPathDirEntry(preserveTrailing(resolved, p));
    if (specifiesCurrentDir(p) && !st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    return { dir, base, isDir: st.isDirectory(), name };
  } catch (err) {
    if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) throw notFound(p, err);
    throw err;
  }
}

/** At most this many symbolic links are followed at a destination (moby's limit). */
const maxLinks = 10;

/**
 * A local destination path: its last symbolic links followed (a link to a directory is that
 * directory); one that does not exist must have a directory above it. Anything but a directory or
 * a regular file is refused, as docker does (a copy never replaces a FIFO, a socket, a device).
 * @throws TaskioError `ERR_NOT_FOUND` (no parent directory), `ERR_INVALID_ARG_VALUE`.
 */
export function localDestination(p: string): CopyDestination {
  let cur = p;
  for (let n = 0; ; n++) {
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(cur, { throwIfNoEntry: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
      throw new TaskioError('ERR_INVALID_ARG_VALUE', `destination ${cur}: not a directory`, { cause: err });
    }
    if (st === undefined) {
      const parent = splitPathDirEntry(cur).dir;
      if (!fs.statSync(parent, { throwIfNoEntry: false })?.isDirectory()) throw new TaskioError('ERR_NOT_FOUND', `no such directory: ${parent}`);
      return { path: cur, exists: false, isDir: false };
    }
    if (!st.isSymbolicLink()) {
      if (!st.isDirectory() && !st.isFile()) throw new TaskioError('ERR_INVALID_ARG_VALUE', `destination ${cur} must be a directory or a regular file`);
      return { path: cur, exists: true, isDir: st.isDirectory() };
    }
    if (n >= maxLinks) throw new TaskioError('ERR_INVALID_ARG_VALUE', `too many symlinks in ${p}`);
    const target = fs.readlinkSync(cur);
    cur = path.isAbsolute(target) ? target : path.join(splitPathDirEntry(cur).dir, target);
  }
}

/** The host tar's environment: nothing in it changes what tar does, and its messages are in English. */
function tarEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
  delete env['TAR_OPTIONS'];
  return env;
}

/** The host's tar, with nothing from the environment changing what it does. */
function tar(args: string[], stdio: ['pipe' | 'ignore', 'pipe' | 'ignore', 'pipe']): ChildProcess {
  return spawn('tar', args, { stdio, env: tarEnv() });
}

/** Resolves once `child` exited 0; else rejects with its stderr (`ERR_COPY_FAILED`). */
export function tarDone(child: ChildProcess, what: string): Promise<void> {
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 4096) stderr += d; });
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new TaskioError('ERR_COPY_FAILED', `cannot run the host's tar to ${what}: ${err.message}`, { cause: err })));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new TaskioError('ERR_COPY_FAILED', `the host's tar failed to ${what}: ${stderr.trim().split('\n')[0] || (signal ? `killed by ${signal}` : `exit code ${code}`)}`));
    });
  });
}

/** Refuses a host tar that is not GNU tar: the safety of an extraction rests on its defaults (see above). */
function checkGnuTar(): void {
  const r = spawnSync('tar', ['--version'], { encoding: 'utf8', env: tarEnv() });
  if (r.error || !/GNU tar/.test(r.stdout ?? '')) {
    throw new TaskioError('ERR_NOT_SUPPORTED', `cp extracts archives with GNU tar, and the host's tar is not GNU tar (${r.error?.message ?? (r.stdout ?? '').split('\n')[0]})`);
  }
}

/**
 * GNU tar archiving `base` in `dir` to its stdout, in the GNU format (what {@link TarRebase}
 * reads), with numeric owners (`-a` then gives the task the same ids).
 */
export function tarCreate(dir: string, base: string): ChildProcess {
  return tar(['-c', '-f', '-', '--format=gnu', '--numeric-owner', '-C', dir, '--', base], ['ignore', 'pipe', 'pipe']);
}

/**
 * GNU tar extracting its stdin into `dir`: modes kept (docker keeps them), owners not (files are
 * the invoking user's, as docker's), the metadata of directories that exist left as it is.
 */
export function tarExtract(dir: string): ChildProcess {
  checkGnuTar();
  return tar(['-x', '-f', '-', '-C', dir, '--no-same-owner', '--preserve-permissions', '--no-overwrite-dir'], ['pipe', 'ignore', 'pipe']);
}
