import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type IPty } from '../runtime/host/pty.js';

/** The built `taskio` command as bin/taskio runs it (its bundle, dist/cli/taskio.cjs), run by the node running the demo. */
const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../cli/taskio.cjs');

/**
 * One `taskio …` command run in a real pty, as a person would type it: what it prints is shown
 * (indented) as it comes, kept for {@link waitFor}, and its exit code is {@link exited}.
 */
export class TypedCommand {
  readonly #pty: IPty;
  #text = '';
  #waiters: Array<{ text: string; resolve: () => void }> = [];
  /** The command's exit code (128+n for a signal). */
  readonly exited: Promise<number>;

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    process.stdout.write(`\n$ taskio ${args.map(quote).join(' ')}\n`);
    this.#pty = spawn(process.execPath, [cli, ...args], { name: 'xterm', cols: 100, rows: 30, env: env as Record<string, string> });
    let atLineStart = true;
    this.#pty.onData((d) => {
      // Without carriage returns (the pty's, and a terminal task's own): a transcript, and text to wait for.
      const shown = d.replace(/\r/g, '');
      this.#text += shown;
      let out = '';
      for (const ch of shown) {
        if (atLineStart && ch !== '\n') out += '  ';
        out += ch;
        atLineStart = ch === '\n';
      }
      process.stdout.write(out);
      this.#waiters = this.#waiters.filter((w) => (this.#text.includes(w.text) ? (w.resolve(), false) : true));
    });
    this.exited = new Promise((resolve) => this.#pty.onExit(({ exitCode, signal }) => resolve(signal ? 128 + signal : exitCode)));
  }

  /** All the command printed so far (newlines without carriage returns). */
  get text(): string {
    return this.#text;
  }

  /** Resolves once the command printed `text` (rejects if it exits first). */
  waitFor(text: string): Promise<void> {
    if (this.#text.includes(text)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiters.push({ text, resolve });
      void this.exited.then(() => {
        if (!this.#text.includes(text)) reject(new Error(`taskio exited before it printed ${JSON.stringify(text)}`));
      });
    });
  }

  /** Types `keys` into the command's terminal. */
  type(keys: string): void {
    this.#pty.write(keys);
  }

  /** Kills the command (the demo's cleanup after a failure). */
  kill(): void {
    try {
      this.#pty.kill();
    } catch {
      // Gone already.
    }
  }
}

function quote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Runs one command to its end; returns its exit code, printed after its output. */
export async function typeCommand(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; text: string }> {
  const c = new TypedCommand(args, env);
  const code = await c.exited;
  if (code !== 0) process.stdout.write(`  (exit code ${code})\n`);
  return { code, text: c.text };
}
