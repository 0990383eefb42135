import fs from 'node:fs';
import { TaskioError } from '../errors.js';

/**
 * The host side of a copy out of a task: no member of the task's archive is written through a
 * symbolic link, neither one the archive made nor one that was in the destination already.
 *
 * GNU tar guards only against the links it made itself with an absolute or `..` target; a link
 * that was there before it ran it follows like any directory. A hostile task copied twice into the
 * same destination (`cp box:/out/. ./artifacts`, as a CI job does) gets its link `b -> /etc` in the
 * first copy — a link is copied as a link, as docker does — and writes `b/cron.d/x` through it, as
 * root, in the second, its archive holding `b/cron.d/x` without a `b/` directory member (with one,
 * tar would replace the link by a directory). Archives that tar makes never hold a member under one
 * of their own links, and the links already in the destination are this machine's, not the task's
 * to walk through: both are refused, naming the member.
 *
 * The check runs ahead of the extraction (the extractor reads what {@link TarRebase} passed on),
 * and still sees what the extraction will: a name the archive declared is taken as declared (a
 * directory replaces a link that was there, a link replaces anything), and a name it did not declare
 * is as it was before the copy — tar creates only missing directories beside what it is told to.
 */
export class LinkGuard {
  /** The directory, as the names: bytes as a latin1 string. */
  readonly #dir: string;
  /** Names the archive declared as symbolic links (the last declaration of a name counts). */
  readonly #links = new Set<string>();
  /** Names that are no symbolic link when the extraction comes to them (declared otherwise over a link, or seen so on disk). */
  readonly #safe = new Set<string>();

  /** A guard of an extraction into directory `dir` (absolute, the links on the way to it resolved). */
  constructor(dir: string) {
    this.#dir = Buffer.from(dir).toString('latin1');
  }

  /**
   * Checks member `name` (relative to the directory; a hard link's `link` target too) and records
   * what it declares. Names are bytes as latin1 strings, as {@link TarRebase} keeps them.
   * @throws TaskioError `ERR_INVALID_ARG_VALUE` when a directory above it is a symbolic link.
   */
  member(name: string, type: string, link: string): void {
    this.#through(name, name);
    if (type === '1') this.#through(link, name);
    const declared = parts(name).join('/');
    if (declared === '') return;
    if (type === '2') {
      this.#links.add(declared);
      this.#safe.delete(declared);
    } else if (this.#links.delete(declared) || this.#isLinkOnDisk(declared)) {
      this.#safe.add(declared);
    }
  }

  /** Refuses `p` when a directory above it is a symbolic link. */
  #through(p: string, member: string): void {
    const names = parts(p);
    for (let i = 1; i < names.length; i++) {
      const above = names.slice(0, i).join('/');
      if (this.#safe.has(above)) continue;
      if (this.#links.has(above) || this.#isLinkOnDisk(above)) {
        throw new TaskioError('ERR_INVALID_ARG_VALUE', `tar member ${shown(member)} would be written through the symbolic link ${shown(`${this.#dir}/${above}`)}: refused`);
      }
      this.#safe.add(above);
    }
  }

  #isLinkOnDisk(name: string): boolean {
    try {
      return fs.lstatSync(Buffer.from(`${this.#dir}/${name}`, 'latin1')).isSymbolicLink();
    } catch (err) {
      if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return false;
      throw err;
    }
  }
}

/** A name as a message shows it (UTF-8, as its bytes most likely are). */
function shown(name: string): string {
  return JSON.stringify(Buffer.from(name, 'latin1').toString('utf8'));
}

function parts(name: string): string[] {
  return name.split('/').filter((p) => p !== '' && p !== '.');
}
