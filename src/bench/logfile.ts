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
import { mkfifo } from '../sys/index.js';
import { openLogWriter } from '../logfile/logWriter.js';
import type { LogFormat } from '../logfile/options.js';

const run = promisify(execFile);

/** Where ciobench lives (override with `CIOBENCH`). */
export const ciobenchPath = process.env.CIOBENCH ?? '/work/shared/anchors/ciobench';

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
    // A non-blocking read open never waits (DESIGN fact 2) and lets the producer's blocking open go through.
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
