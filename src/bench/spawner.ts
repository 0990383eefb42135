import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/** What the spawner reports for one command. */
export interface SpawnResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Set when the command could not be started at all (ENOENT, EACCES …). */
  error?: string;
}

/** Runs `cmd` with `args` (and `env`, else this process's) here and collects how it ended. */
export function runCollected(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<SpawnResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let stdout = '', stderr = '', error: string | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (err) => { error = err.message; });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ...(error === undefined ? {} : { error }) }));
  });
}

/**
 * The bench's helper commands (producers, ciobench) started by a small process of their own,
 * itself started once before anything is measured.
 *
 * Why: Node's `child_process` forks (libuv clones without `CLONE_VM`). A fork write-protects every
 * page of the forking process, so each page it writes afterwards takes a copy-on-write fault, once
 * — about 10 µs each on this machine kind. The throughput benches start their producer inside the
 * timed window; the copy path for sinks that keep chunks recycles some 200 MB of malloc heap per
 * GiB, so after that one spawn every page of it faulted again: 35,000–45,000 faults per GiB, half
 * the CPU of the copy, and the figure said more about the harness than about the copy path.
 * containerd's `ciobench`, in Go, spawns with a vfork-style clone and pays nothing of the kind.
 * A supervisor that spawns pays it once per spawn, for the heap it has then, not per byte copied.
 */
export class Spawner {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (r: SpawnResult) => void>();
  #nextId = 0;
  #pending = '';

  constructor() {
    const main = fileURLToPath(new URL('./spawnerMain.js', import.meta.url));
    this.#child = spawn(process.execPath, [main], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#child.stdout!.setEncoding('utf8').on('data', (d: string) => this.#onData(d));
    this.#child.on('exit', () => {
      for (const resolve of this.#waiting.values()) resolve({ code: null, signal: null, stdout: '', stderr: '', error: 'the spawner exited' });
      this.#waiting.clear();
    });
    this.#idle();
  }

  /** Runs `cmd` with `args` (and `env`, else the spawner's, which is this process's) in the spawner. */
  run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<SpawnResult> {
    const id = this.#nextId++;
    if (this.#waiting.size === 0) this.#busy();
    this.#child.stdin!.write(`${JSON.stringify({ id, cmd, args, env })}\n`);
    return new Promise((resolve) => this.#waiting.set(id, resolve));
  }

  #onData(d: string): void {
    this.#pending += d;
    for (let nl = this.#pending.indexOf('\n'); nl >= 0; nl = this.#pending.indexOf('\n')) {
      const { id, ...result } = JSON.parse(this.#pending.slice(0, nl)) as SpawnResult & { id: number };
      this.#pending = this.#pending.slice(nl + 1);
      this.#waiting.get(id)?.(result);
      this.#waiting.delete(id);
    }
    if (this.#waiting.size === 0) this.#idle();
  }

  /** An idle spawner does not keep the bench process alive; it exits when its stdin closes. */
  #idle(): void {
    this.#child.unref();
    (this.#child.stdout as Socket).unref();
    (this.#child.stdin as unknown as Socket).unref();
  }

  #busy(): void {
    this.#child.ref();
    (this.#child.stdout as Socket).ref();
    (this.#child.stdin as unknown as Socket).ref();
  }
}
