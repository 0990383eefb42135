/**
 * What the `taskio cp` tests share (cp.test.ts: host and runc; cpRunsc.test.ts: runsc): the
 * command with a file as its input or output, a small source tree and how to describe one, a
 * rootfs of its own, and what a copy's helper may leave behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { containerCgroupParent } from '../../src/daemon/containerCgroup.js';
import { jobPrefix } from '../../src/daemon/runtimes.js';
import { hierarchyMounts } from '../../src/runtime/jobobject/hierarchy.js';
import { cliMain, runtimeIdOf } from '../daemon/helpers.js';
import { taskioEnv } from './taskioCommand.js';

/** `taskio ARGS…` with stdin read from `stdinFile` and stdout written to `stdoutFile` (a tar stream is bytes, not text). */
export async function taskioFiles(root: string, args: string[], files: { stdin?: string; stdout?: string }): Promise<{ status: number | null; stderr: string }> {
  const input = files.stdin ? fs.openSync(files.stdin, 'r') : 'ignore';
  const output = files.stdout ? fs.openSync(files.stdout, 'w') : 'ignore';
  const child = spawn(process.execPath, ['--', cliMain, ...args], { env: taskioEnv(root), stdio: [input, output, 'pipe'] });
  for (const fd of [input, output]) if (typeof fd === 'number') fs.closeSync(fd);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const status = await new Promise<number | null>((resolve, reject) => { child.once('error', reject); child.once('close', resolve); });
  return { status, stderr };
}

/** Every path under `dir` with its type and permission bits (`f 640 sub/g`), and each file's text. */
export function described(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).map((e) => {
    const p = path.join(e.parentPath, e.name);
    const st = fs.lstatSync(p);
    const rel = path.relative(dir, p);
    return `${e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : 'f'} ${(st.mode & 0o7777).toString(8)} ${rel}${e.isFile() ? ` ${fs.readFileSync(p, 'utf8').trim()}` : ''}`;
  }).sort();
}

/** A source tree: the directory (755), `f` (640), `sub/` (750) with `g` (644). */
export function makeTree(dir: string): void {
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'f'), 'file\n');
  fs.writeFileSync(path.join(dir, 'sub', 'g'), 'g\n');
  for (const [p, mode] of [['', 0o755], ['f', 0o640], ['sub', 0o750], ['sub/g', 0o644]] as const) fs.chmodSync(path.join(dir, p), mode);
}


export const tree = ['d 750 sub', 'f 640 f file', 'f 644 sub/g g'];
export const under = (name: string): string[] => tree.map((l) => l.replace(/^(\S+ \S+ )/, `$1${name}/`));
/** A small rootfs of its own at `dir` (busybox-static and the applets a task and cp's helper use): writable, unlike the daemon's busybox one. */
export function makeRootfs(dir: string): void {
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.copyFileSync('/usr/bin/busybox', path.join(dir, 'bin', 'busybox'));
  fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of ['sh', 'tar', 'cat', 'cp', 'mkdir', 'readlink', 'dirname']) fs.symlinkSync('busybox', path.join(dir, 'bin', applet));
}

/** The pids whose command line names `marker` or whose root is `root`: a copy's helper that is left. */
export function processesOf(marker: string | null, root?: string): number[] {
  return fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid).filter((n) => {
    try {
      if (root !== undefined && fs.readlinkSync(`/proc/${n}/root`) === root) return true;
      return marker !== null && fs.readFileSync(`/proc/${n}/cmdline`, 'utf8').includes(marker);
    } catch {
      return false; // gone meanwhile
    }
  }).map(Number);
}

/**
 * The runtime ids of task `box`'s copy helpers in `root` (`<id>+cp+<tag>`, each as `runtimeIdOf`
 * makes it): `start`, what every one begins with, and `pattern`, what matches one.
 */
export function helperRuntimeIds(root: string, runtime: 'runc' | 'runsc'): { start: string; pattern: RegExp } {
  const [start, end] = runtimeIdOf(root, runtime, 'box+cp+00000000').split('00000000') as [string, string];
  const quoted = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return { start, pattern: new RegExp(`^${quoted(start)}[0-9a-f]{8}${quoted(end)}$`) };
}

/**
 * The containers the daemon's runc or runsc knows (`list`, sorted), task `id`'s copy helpers'
 * bundles left in its directory, and their cgroups left in any hierarchy.
 */
export function runtimeLeft(root: string, id: string, runtime: 'runc' | 'runsc' = 'runc'): { containers: string[]; helperDirs: string[]; helperCgroups: string[] } {
  const list = spawnSync(runtime, ['--root', path.join(root, 'runtime', runtime), 'list', '--quiet'], { encoding: 'utf8' });
  const dir = path.join(root, 'tasks', id);
  const helperCgroups = hierarchyMounts().flatMap((m) => {
    const parent = path.join(m, containerCgroupParent);
    return fs.existsSync(parent) ? fs.readdirSync(parent).filter((n) => n.startsWith(`${jobPrefix(root)}${id}+cp+`)).map((n) => path.join(parent, n)) : [];
  });
  return { containers: list.stdout.split('\n').filter(Boolean).sort(), helperDirs: fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith('cp-')) : [], helperCgroups };
}
