/**
 * The reattach soak: one task writes the seeded stream (stream.ts) without end; clients attach and
 * leave at seeded random points, in turn `newAttach` (the copy engine), `newDirectIO`, and a client
 * in a process of its own that is SIGKILLed instead of detaching. Everything clients received is
 * checked against the stream: bytes lost and duplicated, each place exactly.
 *
 * The contract checked: a detach (`cancel()`) loses nothing and repeats nothing; a client killed
 * with SIGKILL loses at most the one read it had taken from the pipe and not yet handed on — the
 * kernel gave those bytes to a process that died with them — and never more: what it left in the
 * pipe is the next client's.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { finished, Writable } from 'node:stream';
import { newAttach, withStreams } from '../attach/index.js';
import { newDirectIO } from '../direct/index.js';
import { newFIFOSet, newFIFOSetInDir, pipeSize, type FIFOSet } from '../fifo/index.js';
import { Init } from '../runtime/proc/index.js';
import { builtFile } from '../packageFiles.js';
import { awkCommand, isClean, newScratch, type Backend, type Leftovers } from './scratch.js';
import { StreamCheck, expectedSha256, prng, streamAwkArgs, type Jump } from './stream.js';

/** Options of {@link reattachSoak}. */
export interface ReattachOptions {
  backend: Exclude<Backend, 'runsc'>;
  /** Attachments before the last one (which reads to the task's end). */
  cycles: number;
  seed: number;
  /** Called every 10 % with the cycles done. */
  progress?: (done: number) => void;
}

/** The three ways a client leaves, in turn. */
export type ClientKind = 'attach' | 'direct' | 'killed';
const kinds: readonly ClientKind[] = ['attach', 'direct', 'killed'];

/** What {@link reattachSoak} measured. */
export interface ReattachResult {
  soak: 'reattach';
  backend: Backend;
  cycles: number;
  seed: number;
  sessions: Record<ClientKind, number>;
  /** Bytes received by all clients, and how far into the stream they reach. */
  received: number;
  reached: number;
  /** Lost where a client detached (attach, direct) or anywhere but a kill: target 0. */
  lostOnDetach: number;
  /** Received twice, anywhere: target 0. */
  duplicated: number;
  /**
   * Lost at a SIGKILL, each at most one read (`maxReadBytes`): expected, reported apart.
   * `inFlight`: kills whose loss is exactly the rest of the read the client was writing out
   * (known from its sizes log); the others died between a read and its log entry.
   */
  lostOnKill: { kills: number; withLoss: number; bytes: number; max: number; inFlight: number };
  /** The most one read can take: all a pipe holds (taskio sets FIFO pipes to this size). The bound on a killed client's loss. */
  maxReadBytes: number;
  corrupt: number;
  unanchored: number;
  /**
   * sha256 of all bytes clients received, and of the stream up to where they reached less the
   * kill losses: equal exactly when nothing else was lost and nothing repeated.
   */
  sha256: { received: string; expected: string; equal: boolean };
  /** Each place bytes were lost or repeated, with the client kind that was leaving there. */
  jumps: Array<Jump & { after: ClientKind | null }>;
  exitStatus: number;
  leftovers: Leftovers;
  clean: boolean;
  ms: number;
}

/** The separate-process client (built next to this file). */
const clientScript = builtFile('soak/client.js');

/** A sink that hands every chunk to the check; every few chunks it calls back late (pushback). */
function checkSink(check: StreamCheck, random: () => number, onBytes: (total: number) => void): Writable {
  let total = 0;
  return new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _e, cb) {
      check.feed(chunk);
      total += chunk.length;
      onBytes(total);
      if (random() < 0.3) setImmediate(cb);
      else cb();
    },
  });
}

/** Ends `sink` once every chunk given to it was written. */
function endSink(sink: Writable): Promise<void> {
  return new Promise((resolve) => sink.end(resolve));
}

/** One `newAttach` session: copies until `limit` bytes, then detaches from outside the copy's events. */
async function attachSession(set: FIFOSet, check: StreamCheck, random: () => number, limit: number): Promise<void> {
  let detach!: () => void;
  const enough = new Promise<void>((resolve) => { detach = resolve; });
  const sink = checkSink(check, random, (n) => { if (n >= limit) detach(); });
  const io = await newAttach(withStreams(null, sink, null))(set);
  await enough;
  await new Promise((r) => setImmediate(r));
  io.cancel();
  await io.wait();
  await endSink(sink);
  await io.close();
}

/** One `newDirectIO` session: pipes stdout into the check until `limit` bytes, then detaches. */
async function directSession(set: FIFOSet, check: StreamCheck, random: () => number, limit: number): Promise<void> {
  const io = await newDirectIO(set);
  let scheduled = false;
  const sink = checkSink(check, random, (n) => {
    if (!scheduled && n >= limit) {
      scheduled = true;
      setImmediate(() => io.cancel());
    }
  });
  const stdout = io.stdout!;
  stdout.pipe(sink, { end: false });
  // After the detach the reader still gives what it took, then ends.
  await new Promise<void>((resolve) => finished(stdout, () => resolve()));
  await endSink(sink);
  await io.wait();
  await io.close();
}

/**
 * A client process started ahead of its turn (a Node start takes longer than a session): it waits
 * for {@link run} to attach.
 */
class ClientProcess {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #file: string;
  readonly #exited: Promise<unknown>;
  #said = '';
  readonly #listeners = new Set<() => void>();

  constructor(stdoutFifo: string, file: string) {
    this.#file = file;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));
    this.#child = spawn(process.execPath, [clientScript, stdoutFifo, file], { stdio: 'pipe', env });
    this.#child.stderr.pipe(process.stderr, { end: false });
    this.#exited = once(this.#child, 'exit');
    this.#child.stdout.on('data', (d: Buffer) => {
      this.#said += d.toString();
      for (const l of this.#listeners) l();
    });
    this.#child.once('exit', () => { for (const l of this.#listeners) l(); });
  }

  /** Resolves once the client said `word`; rejects if it failed or exited first. */
  #until(word: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.#said.split('\n').includes(word)) done(resolve);
        else if (/^error/m.test(this.#said) || this.#child.exitCode !== null || this.#child.signalCode !== null) {
          done(() => reject(new Error(`soak client stopped before "${word}": ${this.#said.trim()}`)));
        }
      };
      const done = (f: () => void): void => { this.#listeners.delete(check); f(); };
      this.#listeners.add(check);
      check();
    });
  }

  /**
   * Lets the client attach and read until `limit` bytes, then SIGKILLs it at a random moment of
   * its reading (now or up to 3 ms later) and feeds what it wrote to its file to the check.
   * Returns the bytes it had read and not yet written when it died, as far as its sizes log tells.
   */
  async run(check: StreamCheck, random: () => number, limit: number): Promise<number> {
    await this.#until('ready');
    this.#child.stdin.end(`go ${limit}\n`);
    await this.#until('limit');
    // The kill lands at a seeded random moment of the client's reading, not at a synchronisation point.
    await new Promise((r) => setTimeout(r, random() * 3));
    this.#child.kill('SIGKILL');
    await this.#exited;
    const data = fs.readFileSync(this.#file);
    const announced = fs.readFileSync(`${this.#file}.sizes`, 'utf8').split('\n').reduce((n, l) => n + (Number(l) || 0), 0);
    check.feed(data);
    fs.rmSync(this.#file, { force: true });
    fs.rmSync(`${this.#file}.sizes`, { force: true });
    return announced - data.length;
  }

  /** Ends a client that never ran. */
  async stop(): Promise<void> {
    this.#child.kill('SIGKILL');
    await this.#exited;
  }
}

/**
 * Runs the reattach soak on `backend` and returns its figures. Needs root for runc; the host
 * backend runs anywhere (its task is `/usr/bin/busybox awk`).
 */
export async function reattachSoak(opts: ReattachOptions): Promise<ReattachResult> {
  const started = performance.now();
  const random = prng(opts.seed);
  const s = newScratch(opts.backend, 'reattach');
  const check = new StreamCheck(opts.seed);
  const sessionKinds: Array<ClientKind | 'last'> = [];
  const sessions: Record<ClientKind, number> = { attach: 0, direct: 0, killed: 0 };
  /** Per killed session: the bytes it had read and not written out when it died. */
  const unwritten = new Map<number, number>();
  let exitStatus = -1;
  let init: Init | null = null;
  let set: FIFOSet | null = null;
  let next: ClientProcess | null = null;
  try {
    const id = s.id('stream');
    const bundle = await s.bundle('stream', awkCommand(opts.backend, streamAwkArgs(opts.seed)));
    set = await newFIFOSetInDir(s.fifoDir, id, false);
    init = new Init(id, s.runtime, set.config);
    await init.create({ id, bundle, ...set.config });
    await init.start();
    // Clients take the paths only: closing one must not remove the set.
    const paths = newFIFOSet({ ...set.config, stdin: '', stderr: '' });
    const file = path.join(s.base, 'killed-client.out');
    if (opts.cycles > 2) next = new ClientProcess(paths.config.stdout, file);
    for (let cycle = 0; cycle < opts.cycles; cycle++) {
      const kind = kinds[cycle % kinds.length]!;
      // Most sessions take up to 128 KiB; one in ten almost nothing.
      const limit = Math.floor(random() * (cycle % 10 === 9 ? 4096 : 128 * 1024));
      const session = check.startSession();
      sessionKinds.push(kind);
      sessions[kind]++;
      if (kind === 'attach') await attachSession(paths, check, random, limit);
      else if (kind === 'direct') await directSession(paths, check, random, limit);
      else {
        const client = next!;
        next = null;
        unwritten.set(session, await client.run(check, random, limit));
        if (cycle + kinds.length < opts.cycles) next = new ClientProcess(paths.config.stdout, file);
      }
      if (opts.progress && (cycle + 1) % Math.max(1, Math.floor(opts.cycles / 10)) === 0) opts.progress(cycle + 1);
    }
    // The last client stays to the end: the task is killed, the client reads what is left to EOF.
    check.startSession();
    sessionKinds.push('last');
    const sink = checkSink(check, random, () => undefined);
    const last = await newAttach(withStreams(null, sink, null))(paths);
    await init.kill('KILL');
    await init.wait();
    exitStatus = init.exitStatus();
    await last.wait();
    await endSink(sink);
    await last.close();
  } finally {
    await next?.stop();
    await init?.delete().catch(() => undefined);
    await set?.close();
  }
  const leftovers = s.leftovers();
  s.dispose();
  const r = check.result();
  const jumps = r.jumps.map((j) => {
    const previous = j.atSessionStart && j.session > 0 ? sessionKinds[j.session - 1] : undefined;
    return { ...j, after: previous === undefined || previous === 'last' ? null : previous };
  });
  const killLoss = jumps.filter((j) => j.after === 'killed' && j.bytes > 0);
  const lostOnKill = killLoss.reduce((n, j) => n + j.bytes, 0);
  const sha = expectedSha256(check.expected, r.reached, killLoss);
  const inFlight = killLoss.filter((j) => unwritten.get(j.session - 1) === j.bytes).length;
  return {
    soak: 'reattach', backend: opts.backend, cycles: opts.cycles, seed: opts.seed, sessions,
    received: r.received, reached: r.reached,
    lostOnDetach: r.lost - lostOnKill, duplicated: r.duplicated,
    lostOnKill: { kills: sessions.killed, withLoss: killLoss.length, bytes: lostOnKill, max: Math.max(0, ...killLoss.map((j) => j.bytes)), inFlight },
    maxReadBytes: pipeSize,
    corrupt: r.corrupt, unanchored: r.unanchored,
    sha256: { received: r.sha256, expected: sha, equal: sha === r.sha256 },
    jumps, exitStatus, leftovers, clean: isClean(leftovers),
    ms: Math.round(performance.now() - started),
  };
}
