import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import type { CgroupLayout } from '../../../src/runtime/jobobject/index.js';

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
