import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fdTargets } from '../../src/soak/resources.js';
import { mkfifo } from '../../src/sys/index.js';

interface Teardown { teardown(fn: () => unknown): void }

/** A fresh temp directory removed when the test ends. */
export function tmpDir(t: Teardown, prefix = 'taskio-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A fresh temp directory holding what a call that fails must leave as it was: a regular file `reg`
 * (holding `x`) and a FIFO `old`, both there before the call.
 */
export function dirWithPlanted(t: Teardown): { dir: string; reg: string; old: string } {
  const dir = tmpDir(t);
  const reg = path.join(dir, 'reg'), old = path.join(dir, 'old');
  fs.writeFileSync(reg, 'x');
  mkfifo(old);
  return { dir, reg, old };
}

export { fdCount } from '../../src/soak/resources.js';

/** The fds of this process that point at `prefix` (a path), for leak checks. */
export function fdsUnder(prefix: string): string[] {
  return fdTargets().filter((target) => target.startsWith(prefix));
}

/** A Writable that collects what it gets (copying, since it keeps the chunks). */
export class Collector extends Writable {
  chunks: Buffer[] = [];
  bytes = 0;
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    this.bytes += chunk.length;
    this.emit('bytes', this.bytes);
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString();
  }
  buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Resolves once `c` has received at least `n` bytes. */
export function untilBytes(c: Collector, n: number): Promise<void> {
  return new Promise((resolve) => {
    if (c.bytes >= n) return resolve();
    const on = (b: number) => { if (b >= n) { c.off('bytes', on); resolve(); } };
    c.on('bytes', on);
  });
}

/** sha256 of a buffer, hex. */
export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Waits until `cond()` is true, checking every few ms, failing after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The repository root (for dist/, test fixtures that are not TypeScript, and ../shared). Tests run
 * compiled, from dist-test/test/…, so the root is above dist-test; the sources' own path is kept
 * for an editor or ts-node running a test file in place.
 */
export const repoRoot = ((): string => {
  const above = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  return path.basename(above) === 'dist-test' ? path.dirname(above) : above;
})();

/** A file of the test tree that is run, not compiled (`.mjs` and `.py` fixtures): its path in the sources. */
export function testFile(relative: string): string {
  return path.join(repoRoot, 'test', relative);
}

/** Runs `script` in /bin/sh as a separate process (a task writing to its FIFOs), args as $1…. */
export function sh(script: string, ...args: string[]): import('node:child_process').ChildProcess {
  return spawn('/bin/sh', ['-c', script, 'sh', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Resolves with the exit status of `child`: its code, or 128 + the signal that ended it. */
export function exitOf(child: import('node:child_process').ChildProcess): Promise<number> {
  const status = () => child.exitCode ?? 128 + os.constants.signals[child.signalCode!];
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(status());
  return new Promise((resolve) => child.once('exit', () => resolve(status())));
}

/** Mounts a small tmpfs (`size=64k` and any extra options) on a fresh directory, unmounted with the test. */
export function mountTmpfs(t: Teardown, options = 'size=64k', prefix = 'taskio-tmpfs-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  t.teardown(() => {
    try { execFileSync('umount', [dir]); } catch { execFileSync('umount', ['-l', dir]); }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Every way a root can be unsafe, each made fresh under `base`; the value is the reason's words. */
export function unsafeRoots(base: string): Array<[string, string, RegExp]> {
  const foreign = path.join(base, 'foreign');
  fs.mkdirSync(foreign, { mode: 0o700 });
  fs.chownSync(foreign, 65534, 65534); // nobody
  const groupWritable = path.join(base, 'group-writable');
  fs.mkdirSync(groupWritable);
  fs.chmodSync(groupWritable, 0o770);
  const target = path.join(base, 'target');
  fs.mkdirSync(target, { mode: 0o700 });
  const link = path.join(base, 'link');
  fs.symlinkSync(target, link);
  return [
    ['a root owned by uid 65534', foreign, /owned by uid 65534/],
    ['a group-writable root', groupWritable, /writable by its group/],
    ['a symlink', link, /symlink/],
  ];
}
