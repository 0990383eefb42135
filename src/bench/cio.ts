import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Transform, Writable, pipeline } from 'node:stream';
import { finished } from 'node:stream/promises';
import { newCreator, nonRetaining, withFIFODir, withStreams, type Opt } from '../index.js';
import { openFifoFd, pipeSize } from '../fifo/index.js';
import { setPipeSize } from '../sys/index.js';
import { ciobench, ciobenchRun, ciokeep, run, timed, type Result } from './measure.js';

/** A sink that counts bytes and, for line runs, newlines — what ciobench's counter does. */
class Counter extends Writable {
  bytes = 0;
  lines = 0;
  constructor(private readonly countLines: boolean) {
    super({ highWaterMark: 1 << 20 });
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.bytes += chunk.length;
    if (this.countLines) for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) this.lines++;
    cb();
  }
}

/**
 * The shared producer: `ciobench produce`, a separate process writing the set's FIFOs; a `load`
 * with `--rate` (MB/s) is `ciokeep produce` instead, which paces its writes. Resolves with the
 * producer's own CPU seconds when it reports them ({@link producerCpu}).
 */
function produce(stdout: string, stderr: string, load: string[]): Promise<number | null> {
  if (load.includes('--rate')) {
    if (!ciokeep) throw new Error('a paced load needs ciokeep (scripts/anchors/build.sh)');
    return run(ciokeep, ['produce', '--stdout', stdout, '--stderr', stderr, ...load]).then(producerCpu);
  }
  if (ciobench) return run(ciobench, ['produce', '--stdout', stdout, '--stderr', stderr, ...load]).then(producerCpu);
  // Without the anchor, `head` is the producer (bytes only; its write size is its own).
  const bytes = load[load.indexOf('--bytes') + 1] ?? String(Number(load[load.indexOf('--lines') + 1]) * 100);
  return run('/bin/sh', ['-c', 'exec 3>"$2"; head -c "$3" /dev/zero > "$1"', 'sh', stdout, stderr, bytes]).then(() => null);
}

function fifoDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-bench-'));
}

/**
 * The sinks a caller passes, each ending in a byte counter: `lend` a counter marked
 * {@link nonRetaining} (buffers lent, never copied); `writable` the same counter unmarked (what any
 * Writable gets); `passthrough` a `PassThrough` read by a `'data'` listener; `array` a collector that
 * keeps every chunk in an array (dropped every 64 MiB, as a batching uploader would);
 * `pipeline` a `PassThrough` piped through an identity `Transform` into the counter.
 */
export type SinkKind = 'lend' | 'writable' | 'passthrough' | 'array' | 'pipeline';

/**
 * A sink of `kind` ending in `out`. `counted` settles once everything written to the sink reached
 * `out`, after `end()` for the sinks that forward (taskio never ends a caller's sink; its owner does).
 */
function sinkFor(kind: SinkKind, out: Counter): { sink: Writable; forwards: boolean; counted: Promise<void> } {
  if (kind === 'lend' || kind === 'writable') return { sink: kind === 'lend' ? nonRetaining(out) : out, forwards: false, counted: Promise.resolve() };
  if (kind === 'array') {
    let kept: Buffer[] = [], size = 0;
    const sink = new Writable({ highWaterMark: 1 << 20, write(c: Buffer, _e, cb) {
      kept.push(c);
      out.bytes += c.length;
      if ((size += c.length) >= 64 << 20) { kept = []; size = 0; }
      cb();
    } });
    return { sink, forwards: false, counted: Promise.resolve() };
  }
  const pt = new PassThrough();
  if (kind === 'passthrough') {
    pt.on('data', (c: Buffer) => { out.bytes += c.length; });
    return { sink: pt, forwards: true, counted: new Promise((resolve) => pt.on('end', resolve)) };
  }
  const identity = new Transform({ transform(c: Buffer, _e, cb) { cb(null, c); } });
  return { sink: pt, forwards: true, counted: new Promise((resolve, reject) => pipeline(pt, identity, out, (err) => (err ? reject(err) : resolve()))) };
}

/**
 * taskio's consumer: `newCreator` with a sink of `kind` (see {@link SinkKind}) and `opts`, fed by
 * the producer process; its line is named `impl`.
 */
export async function taskioStream(kind: 'throughput' | 'lines', load: string[], sinkKind: SinkKind, opts: Opt[] = [], impl = `taskio-${sinkKind}`): Promise<Result> {
  const dir = fifoDir();
  try {
    const out = new Counter(kind === 'lines'), err = new Counter(false);
    const { sink, forwards, counted } = sinkFor(sinkKind, out);
    const { value: taskCpu, wall, cpu, markCompacts } = await timed(async () => {
      const io = await newCreator(withStreams(null, sink, err), withFIFODir(dir), ...opts)('bench');
      const c = io.config();
      const [producerCpuS] = await Promise.all([produce(c.stdout, c.stderr, load), io.wait()]);
      if (forwards) sink.end();
      await counted;
      await io.close();
      return producerCpuS;
    });
    return result(impl, kind, out, wall, cpu, markCompacts, taskCpu);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A consumer without taskio on the same producer: `consume` gets the stdout FIFO's read fd (1 MiB
 * pipe) and the counter, and resolves when it saw EOF; the stderr FIFO is opened and left idle.
 */
async function bareConsumer(impl: string, kind: 'throughput' | 'lines', load: string[], consume: (fd: number, out: Counter) => Promise<void>): Promise<Result> {
  const dir = fifoDir();
  try {
    const out = new Counter(kind === 'lines');
    const stdout = path.join(dir, 'out'), stderr = path.join(dir, 'err');
    const { value: taskCpu, wall, cpu, markCompacts } = await timed(async () => {
      const fd = openFifoFd(stdout, 'r', { create: true });
      const efd = openFifoFd(stderr, 'r', { create: true });
      const [producerCpuS] = await Promise.all([produce(stdout, stderr, load), consume(fd, out)]);
      fs.closeSync(efd);
      return producerCpuS;
    });
    return result(impl, kind, out, wall, cpu, markCompacts, taskCpu);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Node's own copy for reference: the FIFO as a `net.Socket` (`'data'` events, a fresh buffer per
 * read) piped into the same sink as taskio's variant of `sinkKind` (a counter, a `PassThrough`
 * read by a `'data'` listener, the array collector) — what that sink costs without taskio.
 */
export function nodePipe(kind: 'throughput' | 'lines', load: string[], sinkKind: 'writable' | 'passthrough' | 'array' = 'writable'): Promise<Result> {
  return bareConsumer(sinkKind === 'writable' ? 'node-pipe' : `node-pipe-${sinkKind}`, kind, load, async (fd, out) => {
    const socket = new net.Socket({ fd, readable: true, writable: false });
    const { sink, forwards, counted } = sinkFor(sinkKind, out);
    socket.pipe(sink);
    await (forwards ? counted : finished(sink));
  });
}

/** The Node ceiling: one non-blocking FIFO read loop into one reused 1 MiB buffer, no streams. */
export function plainFifo(kind: 'throughput' | 'lines', load: string[]): Promise<Result> {
  return bareConsumer('plain-fifo', kind, load, (fd, out) => new Promise((resolve) => {
    setPipeSize(fd, pipeSize);
    const buf = Buffer.allocUnsafeSlow(pipeSize);
    const countLines = kind === 'lines';
    const options = { fd, readable: true, writable: false, onread: { buffer: buf, callback: (n: number) => {
      out.bytes += n;
      if (!countLines) return;
      const view = n === buf.length ? buf : buf.subarray(0, n);
      for (let i = view.indexOf(10); i >= 0; i = view.indexOf(10, i + 1)) out.lines++;
    } } };
    new net.Socket(options as net.SocketConstructorOpts).on('end', resolve);
  }));
}

function result(impl: string, kind: string, out: Counter, wall: number, cpu: number, markCompacts: number, taskCpu: number | null): Result {
  const gib = out.bytes / 2 ** 30;
  const r: Result = { bench: kind, impl, bytes: out.bytes, wall_s: round(wall), mb_s: round(out.bytes / wall / 1e6), cpu_s_per_gib: round(cpu / gib), mark_compacts: markCompacts, ...taskCost(cpu, taskCpu, gib) };
  // Said on every line, not only in the info line: a copy of this code run from elsewhere (an A/B
  // of two builds) finds no anchor beside it, and its figures are then not comparable.
  if (!ciobench) r.producer = 'head (no ciobench: write sizes are head\'s own)';
  if (kind === 'lines') Object.assign(r, { lines: out.lines, lines_s: Math.round(out.lines / wall) });
  return r;
}

/** A line of a Go anchor's copy (`ciobench`, `ciokeep`: `wall_s`, `mb_s`, `cpu_self_s`) as the bench's result. */
function anchorCopy(kind: string, impl: string, r: Result, bytes: number): Result {
  return { bench: kind, impl, bytes, wall_s: Number(r.wall_s), mb_s: round(Number(r.mb_s)), cpu_s_per_gib: round(Number(r.cpu_self_s) / (bytes / 2 ** 30)) };
}

/**
 * The CPU seconds the producer (the task) reported for itself, or null when it reports none: the
 * paced producer (`ciokeep produce`) does, `ciobench produce` does not. How a reader reads changes
 * what each write costs the task — a write that finds the pipe empty wakes the reader, one that
 * finds it holding data takes a fresh page — so a reader that saves its own CPU could be handing
 * the bill to the task; these lines show both.
 */
function producerCpu(said: string): number | null {
  const line = said.trim().split('\n').at(-1);
  if (!line?.startsWith('{')) return null;
  const cpu = (JSON.parse(line) as Result).cpu_s;
  return typeof cpu === 'number' ? cpu : null;
}

/** `task_cpu_s_per_gib` and `total_cpu_s_per_gib` (copy and task) when the task's CPU is known. */
function taskCost(copyCpu: number, taskCpu: number | null, gib: number): Result {
  return taskCpu === null ? {} : { task_cpu_s_per_gib: round(taskCpu / gib), total_cpu_s_per_gib: round((copyCpu + taskCpu) / gib) };
}

/** containerd's `cio` on the same producer (`ciobench throughput|lines`). */
export async function containerdStream(kind: 'throughput' | 'lines', args: string[]): Promise<Result> {
  const r = await ciobenchRun([kind, ...args]);
  const bytes = Number(r.bytes ?? Number(r.lines) * 100);
  return { ...anchorCopy(kind, 'containerd-cio', r, bytes), ...(kind === 'lines' ? { lines_s: Number(r.lines_s) } : {}) };
}

/**
 * containerd's `cio` into a collector that keeps what it is given and lets go of it every 64 MiB,
 * as the `array` sink does (`scripts/anchors/ciokeep`, producer `ciobench produce`). A Go sink may not
 * keep the slice `cio` lends it, so it keeps a copy: the same bytes kept as long as taskio's.
 */
export function containerdArray(load: string[]): Promise<Result> {
  return ciokeepCopy('containerd-cio-array', 64 << 20, load);
}

/** containerd's `cio` into its discarding counter, fed by `ciokeep produce` at the `--rate` in `load`. */
export function containerdPaced(load: string[]): Promise<Result> {
  return ciokeepCopy('containerd-cio', 0, load);
}

/** A `ciokeep` run on `load`, its sink keeping `keep` bytes at a time (0: it only counts). */
async function ciokeepCopy(impl: string, keep: number, load: string[]): Promise<Result> {
  if (!ciokeep || !ciobench) throw new Error('ciokeep is not there');
  const r = JSON.parse((await run(ciokeep, ['--ciobench', ciobench, '--keep', String(keep), ...load])).trim()) as Result;
  const bytes = Number(r.bytes);
  // Its producer is its child; only the paced one is weighed, as only it reports on taskio's side.
  const task = load.includes('--rate') ? taskCost(Number(r.cpu_self_s), Number(r.cpu_children_s), bytes / 2 ** 30) : {};
  return { ...anchorCopy('throughput', impl, r, bytes), gcs: Number(r.gcs), ...task };
}

const wronly = fs.constants.O_WRONLY | fs.constants.O_NONBLOCK;

/** FIFO sets per second: create, open, 1 byte, close, remove — as `ciobench sets` does. */
export async function taskioSets(count: number, root: string): Promise<Result> {
  fs.mkdirSync(root, { recursive: true });
  const dir = fs.mkdtempSync(path.join(root, 'taskio-sets-'));
  try {
    const { wall, cpu, markCompacts } = await timed(async () => {
      for (let i = 0; i < count; i++) {
        const out = new Counter(false);
        const io = await newCreator(withStreams(null, out, new Counter(false)), withFIFODir(dir))(`set${i}`);
        const c = io.config();
        // The shim side opens as ciobench's does (os.OpenFile): one open each, the reader exists.
        const wo = fs.openSync(c.stdout, wronly), we = fs.openSync(c.stderr, wronly);
        fs.writeSync(wo, 'x');
        fs.closeSync(wo);
        fs.closeSync(we);
        await io.wait();
        if (out.bytes !== 1) throw new Error(`set ${i}: read ${out.bytes} bytes`);
        await io.close();
      }
    });
    return { bench: 'sets', impl: 'taskio', count, fifo_dir: root, wall_s: round(wall), sets_s: Math.round(count / wall), cpu_s: round(cpu), mark_compacts: markCompacts };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `ciobench sets` on the same directory. */
export async function containerdSets(count: number, root: string): Promise<Result> {
  const r = await ciobenchRun(['sets', '--count', String(count), '--fifo-dir', root]);
  return { bench: 'sets', impl: 'containerd-cio', count, fifo_dir: root, wall_s: Number(r.wall_s), sets_s: Number(r.sets_s), cpu_s: Number(r.cpu_self_s) };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
