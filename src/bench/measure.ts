import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** One benchmark result: printed as one JSON line. */
export type Result = Record<string, string | number | boolean | null>;

/** `../shared/anchors/ciobench` beside the repository, when it is there (containerd's `cio`). */
export const ciobench = [path.resolve(new URL('../../..', import.meta.url).pathname, 'shared/anchors/ciobench')]
  .find((p) => fs.existsSync(p)) ?? null;

/** Wall seconds and this process's CPU seconds spent in `fn`. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
  const value = await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { value, wall, cpu: (c.user + c.system) / 1e6 };
}

/** Runs a command to completion; rejects on a non-zero exit with its stderr. Resolves with stdout. */
export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** Runs a ciobench subcommand and parses its JSON line. */
export async function ciobenchRun(args: string[]): Promise<Result> {
  if (!ciobench) throw new Error('ciobench is not there');
  return JSON.parse((await run(ciobench, args)).trim()) as Result;
}

/** The median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Parses sizes like `1G`, `32K`, `100`. */
export function parseSize(s: string): number {
  const m = /^(\d+)([KMG]?)$/i.exec(s);
  if (!m) throw new Error(`bad size ${s}`);
  return Number(m[1]) * ({ '': 1, K: 1024, M: 1 << 20, G: 1 << 30 } as Record<string, number>)[m[2]!.toUpperCase()]!;
}
