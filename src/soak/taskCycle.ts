/**
 * One task's whole life as a supervisor drives it, for the leak soak: a FIFO set, a client that
 * copies the task's output into a rotating CRI log, create → start → exit → delete, and everything
 * released again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { newAttach, withStreams } from '../attach/index.js';
import { newFIFOSetInDir } from '../fifo/index.js';
import { openLogWriter } from '../logfile/index.js';
import { Init } from '../runtime/proc/index.js';
import type { Scratch } from './scratch.js';

/** What one cycle did. */
export interface CycleResult {
  /** Rotations of its log. */
  rotations: number;
  exitStatus: number;
}

/** The log's size limit: small, so every cycle rotates. */
const maxSize = 4096;
const maxFiles = 2;

/**
 * Runs `bundle` once as task `id` under `s`: its stdout and stderr go through a FIFO set to a
 * client that writes them into `<base>/logs/<id>.log` (CRI, rotating at 4 KiB, 2 files). Everything
 * the cycle made is removed before it returns, also when it fails.
 */
export async function taskCycle(s: Scratch, bundle: string, id: string): Promise<CycleResult> {
  const logPath = path.join(s.base, 'logs', `${id}.log`);
  const set = await newFIFOSetInDir(s.fifoDir, id, false);
  const writer = openLogWriter(logPath, { format: 'cri', maxSize, maxFiles });
  let rotations = 0;
  let stall: Error | null = null;
  writer.on('rotate', () => rotations++);
  writer.on('error', (err: Error) => { stall = err; });
  const out = writer.stream('stdout'), err = writer.stream('stderr');
  const io = await newAttach(withStreams(null, out, err))(set).catch(async (e: unknown) => {
    await set.close();
    await writer.close().catch(() => undefined);
    throw e;
  });
  const init = new Init(id, s.runtime, set.config);
  let created = false;
  try {
    await init.create({ id, bundle, ...set.config });
    created = true;
    await init.start();
    await init.wait();
    await io.wait();
    await init.delete();
    created = false;
  } finally {
    if (created) await init.delete().catch(() => undefined);
    await io.close();
    await Promise.all([endOf(out), endOf(err)]);
    await writer.close();
    for (let i = 0; i < maxFiles; i++) fs.rmSync(i === 0 ? logPath : `${logPath}.${i}`, { force: true });
  }
  if (stall) throw stall;
  return { rotations, exitStatus: init.exitStatus() };
}

function endOf(w: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => w.end(resolve));
}
