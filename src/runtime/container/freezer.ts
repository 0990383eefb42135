import fs from 'node:fs/promises';
import path from 'node:path';
import { TaskioError } from '../../errors.js';

/**
 * The freezer of a job's cgroup, for pause/resume of the host backend. `JobObject` has no freeze
 * call (Windows jobs cannot be frozen), but its cgroup directories are public
 * (`JobObject.cgroupPaths`): cgroup2's `cgroup.freeze` is used where the job has a cgroup2
 * directory (v2 and hybrid machines), else the v1 `freezer.state`.
 */
export class Freezer {
  readonly #file: string;
  readonly #v2: boolean;

  private constructor(file: string, v2: boolean) {
    this.#file = file;
    this.#v2 = v2;
  }

  /** The freezer of the job whose cgroup directories are `dirs`; `ERR_NOT_SUPPORTED` without one. */
  static async of(dirs: readonly string[]): Promise<Freezer> {
    for (const [name, v2] of [['cgroup.freeze', true], ['freezer.state', false]] as const) {
      for (const dir of dirs) {
        const file = path.join(dir, name);
        if (await fs.access(file).then(() => true, () => false)) return new Freezer(file, v2);
      }
    }
    throw new TaskioError('ERR_NOT_SUPPORTED', `no cgroup freezer for ${dirs.join(', ') || 'a job without cgroups'}`);
  }

  /**
   * Freezes every task and waits until the kernel says the whole group is frozen (a freeze is
   * asynchronous, and a task may still fork until it completes), at most `timeoutMs`. A freeze
   * that does not complete is withdrawn before the error: left asked for, it would complete by
   * itself once the task that held it up (one in uninterruptible sleep, one frozen by another
   * freezer) moves on, and freeze a group its owner believes running — runc thaws the same way.
   */
  async freeze(timeoutMs = 5000): Promise<void> {
    await fs.writeFile(this.#file, this.#v2 ? '1' : 'FROZEN');
    try {
      await this.#untilFrozen(timeoutMs);
    } catch (err) {
      await this.thaw().catch(() => undefined);
      throw err;
    }
  }

  async #untilFrozen(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.frozen())) {
      if (Date.now() > deadline) throw new TaskioError('ETIMEDOUT', `${this.#file}: not frozen after ${timeoutMs} ms`);
      // v1 needs the state re-written to retry a freeze it could not finish (FREEZING).
      if (!this.#v2) await fs.writeFile(this.#file, 'FROZEN');
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Thaws the group; immediate. */
  async thaw(): Promise<void> {
    await fs.writeFile(this.#file, this.#v2 ? '0' : 'THAWED');
  }

  /** Whether the whole group is frozen now. */
  async frozen(): Promise<boolean> {
    if (!this.#v2) return (await fs.readFile(this.#file, 'utf8')).trim() === 'FROZEN';
    const events = await fs.readFile(path.join(path.dirname(this.#file), 'cgroup.events'), 'utf8');
    return /^frozen 1$/m.test(events);
  }
}
