/**
 * Log writer benchmarks: CRI lines per second and raw MB/s from a separate producer process
 * (`ciobench produce`, containerd's side of the fence), beside containerd's shim file copy
 * (`ciobench logfile`). Each function returns one JSON-able result; `npm run bench` prints them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkfifo, pipe2 } from '../sys/index.js';
import { ciobench, median } from './measure.js';
import { openLogWriter } from '../logfile/logWriter.js';
import { parseCriTime } from '../logfile/criTime.js';
import { parseCriEntry, type CriEntry } from '../logfile/criParse.js';
import type { LogFormat } from '../logfile/options.js';

const run = promisify(execFile);

/** Where ciobench lives: `CIOBENCH`, else `../shared/anchors/ciobench` beside the repository. */
const ciobenchPath = process.env.CIOBENCH ?? ciobench ?? '../shared/anchors/ciobench';

/** One measured run of a taskio log writer. */
export interface LogWriterBenchResult {
  bench: string;
  format: LogFormat;
  bytes: number;
  lines?: number;
  wall_s: number;
  /** Consumer (this process) CPU seconds. */
  cpu_self_s: number;
  mb_s: number;
  lines_s?: number;
  peak_rss_kib: number;
}

interface ProduceSpec {
  format: LogFormat;
  /** Arguments after `ciobench produce --stdout <fifo>`. */
  produce: string[];
  /** Bytes the producer sends. */
  bytes: number;
  lines?: number;
  /** Use the Writable-stream path (net.Socket piped into `stream()`) instead of `copyFrom`. */
  viaStream?: boolean;
}

async function measure(name: string, spec: ProduceSpec, dir?: string): Promise<LogWriterBenchResult> {
  const root = fs.mkdtempSync(path.join(dir ?? os.tmpdir(), 'taskio-bench-log-'));
  try {
    const fifo = path.join(root, 'task-stdout');
    const log = path.join(root, 'task.log');
    mkfifo(fifo, 0o600);
    // A non-blocking read open of a FIFO never waits for a writer and lets the producer's blocking open go through.
    const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const writer = openLogWriter(log, { format: spec.format });
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const producer = spawn(ciobenchPath, ['produce', '--stdout', fifo, ...spec.produce], { stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => producer.on('exit', resolve));
    if (spec.viaStream) {
      const net = await import('node:net');
      const sock = new net.Socket({ fd, readable: true, writable: false });
      const { pipeline } = await import('node:stream/promises');
      await pipeline(sock, writer.stream('stdout'));
    } else {
      await writer.copyFrom('stdout', fd);
    }
    await writer.close();
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const code = await exited;
    if (code !== 0) throw new Error(`ciobench produce exited ${code}`);
    const size = fs.statSync(log).size;
    if (spec.format === 'raw' && size !== spec.bytes) throw new Error(`log has ${size} bytes, want ${spec.bytes}`);
    const result: LogWriterBenchResult = {
      bench: name,
      format: spec.format,
      bytes: spec.bytes,
      wall_s: +wall.toFixed(6),
      cpu_self_s: +((cpu.user + cpu.system) / 1e6).toFixed(3),
      mb_s: +(spec.bytes / wall / 1e6).toFixed(3),
      peak_rss_kib: process.resourceUsage().maxRSS,
    };
    if (spec.lines !== undefined) {
      const entries = await countLines(log);
      if (entries !== spec.lines) throw new Error(`log has ${entries} entries, want ${spec.lines}`);
      result.lines = spec.lines;
      result.lines_s = Math.round(spec.lines / wall);
    }
    return result;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer;
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  }
  return n;
}

/**
 * CRI lines per second: 1 M lines of 100 bytes (one write(2) each) from `ciobench produce` through a
 * FIFO into taskio's CRI writer (`copyFrom`, or the Writable path with `viaStream`).
 */
export async function benchCriLines(opts: { lines?: number; size?: number; viaStream?: boolean; dir?: string } = {}): Promise<LogWriterBenchResult> {
  const lines = opts.lines ?? 1_000_000, size = opts.size ?? 100;
  return measure(opts.viaStream ? 'logfile-cri-stream' : 'logfile-cri', {
    format: 'cri', produce: ['--lines', String(lines), '--size', String(size)], bytes: lines * size, lines,
    ...(opts.viaStream ? { viaStream: true } : {}),
  }, opts.dir);
}

/**
 * How soon a line reaches a CRI log (`copyFrom`): `lines` lines of one write each, each written as
 * soon as the one before is in the file. Each read is small, so the copy pauses 1 ms after writing
 * it (LogCopy's gathering): the delay from a write to its entry in the file is what is left of that
 * pause, the read, the file write and this process's poll. A figure, not a test: a loaded machine
 * stretches it (writer.test.ts checks that a line gets there by itself, with no write after it).
 */
export async function benchCriLineLatency(opts: { lines?: number; dir?: string } = {}): Promise<{ bench: string; lines: number; median_ms: number; p90_ms: number }> {
  const lines = opts.lines ?? 200;
  const root = fs.mkdtempSync(path.join(opts.dir ?? os.tmpdir(), 'taskio-bench-latency-'));
  const p = pipe2();
  let writing = true;
  try {
    const log = path.join(root, 'task.log');
    const writer = openLogWriter(log, { format: 'cri' });
    const copied = writer.copyFrom('stdout', p.read);
    const until = async (cond: () => boolean): Promise<void> => {
      while (!cond()) await new Promise((r) => setImmediate(r));
    };
    const ms: number[] = [];
    for (let i = 0; i < lines; i++) {
      const t0 = process.hrtime.bigint();
      fs.writeSync(p.write, `line ${i}\n`);
      await until(() => fs.existsSync(log) && fs.readFileSync(log).filter((b) => b === 10).length > i);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    fs.closeSync(p.write);
    writing = false;
    await copied;
    await writer.close();
    ms.sort((a, b) => a - b);
    return { bench: 'logfile-cri-line-latency', lines, median_ms: +median(ms).toFixed(3), p90_ms: +ms[Math.floor(ms.length * 0.9)]!.toFixed(3) };
  } finally {
    if (writing) fs.closeSync(p.write);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Raw MB/s: 1 GiB in 32 KiB writes from `ciobench produce` through a FIFO into taskio's raw writer. */
export async function benchRawLog(opts: { bytes?: number; chunk?: string; viaStream?: boolean; dir?: string } = {}): Promise<LogWriterBenchResult> {
  const bytes = opts.bytes ?? 1 << 30;
  return measure(opts.viaStream ? 'logfile-raw-stream' : 'logfile-raw', {
    format: 'raw', produce: ['--bytes', String(bytes), '--chunk', opts.chunk ?? '32K'], bytes,
    ...(opts.viaStream ? { viaStream: true } : {}),
  }, opts.dir);
}

/** containerd's shim file copy (`ciobench logfile --buf 4K`): the raw writer's peer, same producer. */
export async function benchContainerdLogfile(opts: { bytes?: string; buf?: string; dir?: string } = {}): Promise<Record<string, unknown>> {
  const args = ['logfile', '--bytes', opts.bytes ?? '1G', '--buf', opts.buf ?? '4K'];
  if (opts.dir) args.push('--dir', opts.dir);
  const { stdout } = await run(ciobenchPath, args, { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

/** What {@link benchConmonK8sFile} measured, or why it could not. */
export interface ConmonBenchResult {
  bench: 'conmon-k8s-file';
  measured: boolean;
  reason?: string;
  lines?: number;
  /** With `bytes`: what was produced, the log's size and MB/s over the wall span. */
  bytes?: number;
  log_bytes?: number;
  mb_s?: number;
  /** Entries conmon cut where a read ended (`P` entries for lines shorter than its buffer). */
  split_entries?: number;
  /** F entries beyond the lines sent (conmon writes an empty one at the end). */
  extra_entries?: number;
  /** From spawning conmon (it creates the container) until its exit file: creation included, as the daemon's. */
  wall_s?: number;
  /** First to last log entry, by the log's own timestamps ({@link logEntrySpan}). */
  log_span_s?: number;
  /** Lines per second over the log span. */
  lines_s?: number;
  /** Lines per second over the whole wall span. */
  wall_lines_s?: number;
  /** conmon's own CPU seconds (user + system) from `runc start` to its exit file (sampled every 5 ms). */
  cpu_s?: number;
}

/** A process's CPU seconds so far (user + system, from `/proc/<pid>/stat`); 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Seconds from a CRI / k8s-file log's first entry to its last entry with content (conmon ends its
 * log with an empty entry written at exit): the span the lines took through the logger, read off
 * the timestamps the logger itself wrote, so container creation and exit handling are out of it
 * for every logger alike.
 */
export function logEntrySpan(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const read = (length: number, position: number): CriEntry[] => {
      const buf = Buffer.alloc(Math.min(size, length));
      fs.readSync(fd, buf, 0, buf.length, position);
      return buf.toString('latin1').split('\n').map((l) => parseCriEntry(Buffer.from(l, 'latin1'))).filter((e): e is CriEntry => e !== null);
    };
    const first = read(4096, 0)[0];
    // The tail's first line may be cut in the middle: entries are taken from its end.
    const last = read(64 * 1024, Math.max(0, size - 64 * 1024)).reverse().find((e) => e.content.length > 0);
    if (first === undefined || last === undefined) throw new Error(`${file}: no CRI entry with content at its start and its end`);
    const ns = (e: CriEntry): bigint => parseCriTime(e.timestamp)!.ns;
    return Number(ns(last) - ns(first)) / 1e9;
  } finally {
    fs.closeSync(fd);
  }
}

async function waitForFile(file: string, timeoutMs: number, onPoll?: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Setup only, not timed: a short poll keeps this independent of inotify on odd filesystems.
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`);
    onPoll?.();
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * conmon writing `k8s-file` logs for the same output: a runc container whose process is
 * `ciobench produce --stdout /proc/self/fd/1 --lines N --size S`, under Debian's conmon. The wall
 * clock runs from spawning conmon (which creates the container) until conmon writes the exit file
 * (it drains the output first): the same span as the daemon's, from its create request to its
 * wait answer. Lines/s are also read off the log's own timestamps ({@link logEntrySpan}).
 * Returns `measured: false` with the reason when conmon, runc or root is missing.
 */
export async function benchConmonK8sFile(opts: { lines?: number; size?: number; bytes?: number; conmon?: string; runc?: string } = {}): Promise<ConmonBenchResult> {
  const conmon = opts.conmon ?? '/usr/bin/conmon', runcBin = opts.runc ?? '/usr/sbin/runc';
  const lines = opts.lines ?? 1_000_000, size = opts.size ?? 100;
  // `bytes`: that many bytes in 32 KiB writes instead of lines (MB/s; no entry count to check).
  const produce = opts.bytes !== undefined ? ['--bytes', String(opts.bytes), '--chunk', '32768'] : ['--lines', String(lines), '--size', String(size)];
  for (const bin of [conmon, runcBin, ciobenchPath]) {
    if (!fs.existsSync(bin)) return { bench: 'conmon-k8s-file', measured: false, reason: `${bin} is not installed` };
  }
  if (process.getuid?.() !== 0) return { bench: 'conmon-k8s-file', measured: false, reason: 'runc containers need root here' };
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-bench-conmon-'));
  const id = `taskio-bench-${process.pid}-${Date.now()}`;
  const runcRoot = path.join(root, 'runc');
  try {
    const bundle = path.join(root, 'bundle');
    fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
    fs.copyFileSync(ciobenchPath, path.join(bundle, 'rootfs', 'ciobench'));
    fs.chmodSync(path.join(bundle, 'rootfs', 'ciobench'), 0o755);
    await run(runcBin, ['spec', '--bundle', bundle]);
    const specFile = path.join(bundle, 'config.json');
    const spec = JSON.parse(fs.readFileSync(specFile, 'utf8')) as { process: { terminal: boolean; args: string[] }; root: { readonly: boolean } };
    spec.process.terminal = false;
    spec.process.args = ['/ciobench', 'produce', '--stdout', '/proc/self/fd/1', ...produce];
    fs.writeFileSync(specFile, JSON.stringify(spec));
    for (const d of ['exit', 'sock']) fs.mkdirSync(path.join(root, d));
    const log = path.join(root, 'ctr.log');
    const pidFile = path.join(root, 'pid');
    const t0 = process.hrtime.bigint();
    const mon = spawn(conmon, [
      '--api-version', '1', '-c', id, '-u', id, '-n', id, '-r', runcBin, '-b', bundle, '-p', pidFile,
      '-l', `k8s-file:${log}`, '--exit-dir', path.join(root, 'exit'), '--socket-dir-path', path.join(root, 'sock'),
      '--runtime-arg', `--root=${runcRoot}`, '--log-level', 'error', '--no-sync-log', '--sync',
    ], { stdio: ['ignore', 'ignore', 'inherit'] });
    const monExit = new Promise<void>((resolve) => mon.on('exit', () => resolve()));
    await waitForFile(pidFile, 30_000);
    const cpu0 = processCpuSeconds(mon.pid!);
    await run(runcBin, ['--root', runcRoot, 'start', id]);
    // conmon exits right after its exit file, often before this process sees the file: its CPU is
    // sampled at every poll (5 ms) and the last sample counts, so at most one poll's worth is missed.
    let cpuEnd = cpu0;
    const sample = (): void => { cpuEnd = Math.max(cpuEnd, processCpuSeconds(mon.pid!)); };
    await waitForFile(path.join(root, 'exit', id), 120_000, sample);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    sample();
    const cpu = cpuEnd - cpu0;
    await monExit;
    if (opts.bytes !== undefined) {
      return { bench: 'conmon-k8s-file', measured: true, bytes: opts.bytes, log_bytes: fs.statSync(log).size, wall_s: +wall.toFixed(6), mb_s: Math.round(opts.bytes / 1e6 / wall), cpu_s: +cpu.toFixed(2) };
    }
    let entries = 0, split = 0;
    let carry = Buffer.alloc(0);
    for await (const chunk of fs.createReadStream(log, { highWaterMark: 1 << 20 })) {
      // Keep the last bytes of the previous chunk so a marker across the boundary is still seen.
      const b = Buffer.concat([carry, chunk as Buffer]);
      for (let i = b.indexOf(10, carry.length); i >= 0; i = b.indexOf(10, i + 1)) entries++;
      for (let i = b.indexOf(' stdout P '); i >= 0; i = b.indexOf(' stdout P ', i + 1)) if (i + 10 > carry.length) split++;
      carry = b.subarray(Math.max(0, b.length - 9));
    }
    const full = entries - split;
    // conmon ends the log with one empty F entry of its own; anything less than N is a loss.
    if (full < lines) throw new Error(`conmon's log has ${full} F entries, want ${lines}`);
    const span = logEntrySpan(log);
    return {
      bench: 'conmon-k8s-file', measured: true, lines, split_entries: split, extra_entries: full - lines,
      wall_s: +wall.toFixed(6), log_span_s: +span.toFixed(6), lines_s: Math.round(lines / span), wall_lines_s: Math.round(lines / wall),
      cpu_s: +cpu.toFixed(2),
    };
  } finally {
    await run(runcBin, ['--root', runcRoot, 'delete', '--force', id]).catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  }
}
