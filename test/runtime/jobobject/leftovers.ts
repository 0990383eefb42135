import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Test } from 'tap';
import { JobObject, type CgroupLayout } from '../../../src/runtime/jobobject/index.js';

/**
 * Checks that no cgroup named `prefix…` is left under any `taskio` parent of `layout`. Another
 * test process's job close removes a shared parent once it is empty, at any moment, so a parent
 * that vanishes while it is read counts as empty.
 */
export function checkNoJobsLeft(t: Test, layout: CgroupLayout, prefix: string): void {
  const roots = new Set([layout.v2, ...layout.v1.values()].filter((r): r is string => r !== undefined));
  for (const root of roots) {
    const parent = path.join(root, 'taskio');
    let left: string[] = [];
    try {
      left = fs.readdirSync(parent).filter((n) => n.startsWith(prefix));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    t.same(left, [], `nothing under ${parent}`);
  }
}

/**
 * Makes job `name` and assigns a `sleep` to it. Teardown kills the sleep and removes the job's
 * directories it left empty (whatever the test did with the handle).
 */
export async function jobWithSleep(t: Test, name: string): Promise<{ job: JobObject; dirs: readonly string[]; sleeper: ChildProcess; exited: Promise<unknown> }> {
  const job = await JobObject.create({ name });
  const dirs = job.cgroupPaths;
  const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
  const exited = once(sleeper, 'exit');
  t.teardown(async () => {
    sleeper.kill('SIGKILL');
    await exited;
    for (const d of dirs) if (fs.existsSync(d) && fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8') === '') fs.rmdirSync(d);
  });
  await once(sleeper, 'spawn');
  await job.assign(sleeper.pid!);
  return { job, dirs, sleeper, exited };
}
