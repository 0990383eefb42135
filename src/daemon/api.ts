import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { TaskioError } from '../errors.js';
import { abortable } from '../abortable.js';
import { validateId } from '../ids.js';
import { signalNumber, type ConsoleSize, type ProcessSpec, type Stats } from '../runtime/oci/index.js';
import { peerShutWrite, socketFd } from '../sys/index.js';
import { checkLogNotRemoved } from './removedLog.js';
import { destroyWhenPeerCloses } from './peerWatch.js';
import { openEarlyLog, openRunLog, prepareAttach, type AttachConnection, type AttachOptions, type AttachOutcome, type AttachSession, type EarlyLog } from './attach.js';
import { readSpec } from './bundle.js';
import { absolutePath, checkCells, checkEnv, checkFields, checkQuery, checkStopTimeout, workingDir } from './check.js';
import { parsePsArgs } from './psArgs.js';
import { psTop } from './psTop.js';
import { checkCreateRequest } from './createRequest.js';
import { checkConsoleSize, startConsoleSize } from './consoleSize.js';
import { refuseLoggingDriver } from './attachable.js';
import { nsToMs, parseApiTimeNs } from './apiTime.js';
import { clockPasses } from './clockPasses.js';
import { mergeEnv } from '../mergeEnv.js';
import { eventBacklogBytes, type TaskEvent } from './events.js';
import { ociUser, resolveUser } from './taskUser.js';
import { processCapabilities } from './capabilities.js';
import { defaultDetachKeys, parseDetachKeys } from './detachKeys.js';
import type { EventBus } from './events.js';
import type { DaemonLayout } from './layout.js';
import { systemInfo } from './info.js';
import { openLog } from './logStream.js';
import type { Runtimes } from './runtimes.js';
import { Router, readUpgradeBody, type RouteContext } from './server.js';
import { streamStats } from './statsStream.js';
import { StreamType, frameHeader, multiplexedType, rawType, taskHeader } from './stdcopy.js';
import type { DaemonExec, DaemonTask } from './task.js';
import { classifyStartError, type TaskManager } from './tasks.js';
import type { ExitRecord } from './records.js';
import { checkTaskUpdate } from './taskUpdate.js';
import { pruneSelector } from './prune.js';
import type { Logger } from 'pino';

/** What the API serves from. */
export interface ApiContext {
  version: string;
  layout: DaemonLayout;
  runtimes: Runtimes;
  tasks: TaskManager;
  events: EventBus;
  logger: Logger;
}

/** The API version in `GET /version`; it changes only with an incompatible change. */
export const apiVersion = 1;

const noBody = {} as const;

function statsView(id: string, s: Stats, cpuPercent: number | null): Record<string, unknown> {
  return { id, read: new Date().toISOString(), cpu: s.cpu, cpuPercent, memory: s.memory, pids: s.pids };
}

function execView(e: DaemonExec): Record<string, unknown> {
  return { id: e.id, pid: e.process.pid(), args: e.args, terminal: e.terminal, running: e.exit === null, exit: e.exit };
}

/** Streams newline-delimited JSON into `res` until the client leaves; `next` pushes one value. */
function ndjson(res: http.ServerResponse): (value: unknown) => void {
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  return (value) => { if (!res.destroyed) res.write(`${JSON.stringify(value)}\n`); };
}

/** One promise per connection (a keep-alive one carries many creates): resolves once it closed. */
const closedConnections = new WeakMap<Socket, Promise<void>>();
function connectionClosed(socket: Socket): Promise<void> {
  let closed = closedConnections.get(socket);
  if (!closed) {
    closed = socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
    closedConnections.set(socket, closed);
  }
  return closed;
}

/**
 * Answers an upgraded attach with docker's `101` (`headers`: more lines, each ending in CRLF) and
 * runs the prepared attach on the connection; `head` is what the client sent after its request.
 */
async function runUpgradedAttach(socket: Duplex, t: DaemonTask, session: AttachSession, head: Buffer, headers = ''): Promise<AttachOutcome> {
  destroyWhenPeerCloses(socket);
  socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${t.record.terminal ? rawType : multiplexedType}\r\n${headers}Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
  if (head.length > 0) socket.unshift(head);
  return session.run();
}

/**
 * Ends a create-and-attach stream that asked for the exit (`exit=1`) with the task's exit record
 * in a frame of its own, once there is one, then closes it. Nothing but the end when the output
 * was not all sent (a detach) or the exit cannot be had: the client then asks `wait`.
 */
async function endWithExit(socket: Duplex, exit: Promise<ExitRecord> | null): Promise<void> {
  try {
    if (exit !== null) {
      const payload = Buffer.from(JSON.stringify(await exit));
      if (!socket.destroyed) socket.write(Buffer.concat([frameHeader(StreamType.Exit, payload.length), payload]));
    }
  } catch {
    // No exit frame: the client falls back to a wait, which reports why.
  } finally {
    if (!socket.destroyed) socket.end();
  }
}

/**
 * Makes this connection the attach of the task `launch` creates or starts (create-and-attach,
 * `start -a`). `launch` gets `left`, which settles once the attach is over — all of the output is
 * in the connection, the client reads the rest from there — or the connection closed, whichever
 * comes first (an autoRemove task waits for it), and `keepLog` for the log it opened before the
 * task ran. The attach is prepared on that log, answered with `101`, run; `exit=1` (a multiplexed
 * stream only: a terminal's is raw, its client asks wait) ends it with the exit — the removal's,
 * with autoRemove. When the attach cannot be made no one will see the task's output: a `--rm`
 * task goes (as docker's run when its attach fails).
 */
async function attachLaunched(
  tasks: TaskManager, ctx: RouteContext, socket: Duplex, rest: Buffer, opts: AttachOptions & { exit: boolean },
  launch: (left: Promise<void>, keepLog: (early: EarlyLog | null) => void) => Promise<DaemonTask>,
): Promise<void> {
  let over!: () => void;
  const attachEnded = new Promise<void>((resolve) => { over = resolve; });
  let early = null as EarlyLog | null;
  let t: DaemonTask;
  try {
    t = await launch(Promise.race([connectionClosed(socket as Socket), attachEnded]), (log) => { early = log; });
  } catch (err) {
    early?.cancel();
    throw err;
  }
  const exitInBand = opts.exit && !t.record.terminal;
  let session: AttachSession;
  try {
    session = await prepareAttach(t, opts, { ...upgradedConnection(socket, ctx.signal), leaveOpen: exitInBand }, early);
  } catch (err) {
    early?.cancel();
    if (t.record.autoRemove === true) await tasks.remove(t.id, true).catch(() => undefined);
    throw err;
  }
  let outcome: AttachOutcome = 'stopped';
  try {
    outcome = await runUpgradedAttach(socket, t, session, rest, `${taskHeader}: ${t.id}\r\n`);
  } finally {
    over();
    if (exitInBand) {
      const exit = outcome === 'complete' ? tasks.wait(t.id, t.record.autoRemove === true ? 'removed' : 'not-running', ctx.signal) : null;
      void endWithExit(socket, exit);
    }
  }
}

/**
 * An upgraded connection as an attach's client side. Its input is shut once the client half-closed
 * it, which the kernel knows before Node has read up to the EOF (`POLLRDHUP` on the socket).
 */
function upgradedConnection(socket: Duplex, signal: AbortSignal): AttachConnection {
  const inputShut = (): boolean => {
    if (socket.readableEnded || socket.destroyed) return true;
    const fd = socketFd(socket);
    try {
      return fd !== null && peerShutWrite(fd);
    } catch {
      return false; // not known: treated as still sending (cut at close-stdin, as before)
    }
  };
  return { output: socket, input: socket, inputShut, signal };
}

/** Builds the daemon's route table. */
export function apiRouter(api: ApiContext): Router {
  const { tasks, events } = api;
  const r = new Router(api.logger, apiVersion);
  const task = (ctx: RouteContext): DaemonTask => tasks.get(ctx.params.id!);

  // docker's ping: a plain "OK" (nothing on HEAD), for health checks and clients that probe first.
  const ping = async (ctx: RouteContext, res: http.ServerResponse): Promise<void> => {
    checkQuery(ctx.query, {});
    const body = ctx.req.method === 'HEAD' ? '' : 'OK';
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache' });
    res.end(body);
  };
  r.add('GET', '/_ping', ping);
  r.add('HEAD', '/_ping', ping);

  r.add('GET', '/version', async (ctx) => {
    checkQuery(ctx.query, {});
    return {
      body: {
        version: api.version, apiVersion, pid: process.pid, root: api.layout.root, node: process.version,
        runtimes: { runsc: api.runtimes.runsc, runc: api.runtimes.runc, host: true, default: api.runtimes.default },
      },
    };
  });

  // docker's info: the tasks counted by state and what this host and daemon give them.
  r.add('GET', '/info', async (ctx) => {
    checkQuery(ctx.query, {});
    return { body: await systemInfo({ version: api.version, apiVersion, root: api.layout.root, runtimes: api.runtimes, tasks: tasks.states() }) };
  });

  r.add('POST', '/tasks', async (ctx) => {
    checkQuery(ctx.query, {});
    const t = await tasks.create(checkCreateRequest(await ctx.body()), connectionClosed(ctx.req.socket));
    return { status: 201, body: t.view() };
  }, async (ctx, socket: Duplex, head) => {
    // `run` attached in one round trip (docker's create, attach, start): the task is created and
    // started, then this connection is its attach, as `POST /tasks/:id/attach` with the same query,
    // and `exit=1` adds the exit after the output (the removal's, with autoRemove), as a wait would.
    const opts = attachOptions(ctx, true);
    const { body, rest } = await readUpgradeBody(ctx.req, socket, head);
    // The log is opened while the runtime starts the task: the answer follows the start at once.
    await attachLaunched(tasks, ctx, socket, rest, opts, (left, keepLog) =>
      tasks.create(checkCreateRequest(body), left, true, (log) => keepLog(openEarlyLog(log, opts))));
  });

  r.add('POST', '/tasks/prune', async (ctx) => {
    checkQuery(ctx.query, {});
    return { body: await tasks.prune(pruneSelector(await ctx.body())) };
  });

  r.add('GET', '/tasks', async (ctx) => {
    const q = checkQuery(ctx.query, { all: 'boolean' });
    return { body: tasks.views(q.all === true) };
  });

  r.add('GET', '/tasks/:id', async (ctx) => {
    checkQuery(ctx.query, {});
    return { body: tasks.inspect(ctx.params.id!) };
  });

  r.add('DELETE', '/tasks/:id', async (ctx) => {
    const q = checkQuery(ctx.query, { force: 'boolean' });
    checkFields(await ctx.body(), noBody);
    await tasks.remove(ctx.params.id!, q.force === true);
  });

  r.add('POST', '/tasks/:id/kill', async (ctx) => {
    checkQuery(ctx.query, {});
    const b = checkFields<{ signal?: string | number; all?: boolean }>(await ctx.body(), { signal: 'signal', all: 'boolean' });
    await tasks.kill(ctx.params.id!, signalNumber(b.signal ?? 'KILL'), b.all === true);
  });

  // docker's stop, start and restart: the daemon's, so that a restart policy knows a stop was asked.
  r.add('POST', '/tasks/:id/stop', async (ctx) => {
    checkQuery(ctx.query, {});
    const b = checkFields<{ signal?: string | number; timeout?: number }>(await ctx.body(), { signal: 'signal', timeout: 'integer' });
    await tasks.stop(ctx.params.id!, { ...(b.signal !== undefined ? { signal: signalNumber(b.signal) } : {}), ...stopTimeout(b.timeout) });
  });
  r.add('POST', '/tasks/:id/start', async (ctx) => {
    checkQuery(ctx.query, {});
    checkFields(await ctx.body(), noBody);
    return { body: (await tasks.start(ctx.params.id!)).view() };
  }, async (ctx, socket: Duplex, head) => {
    // docker's `start -a`: the task started with this connection as its attach (the query and the
    // exit frame of create-and-attach), which reads the run's output from its very start.
    const opts = attachOptions(ctx, true);
    const { body, rest } = await readUpgradeBody(ctx.req, socket, head);
    checkFields(body, noBody);
    const { record } = task(ctx);
    refuseLoggingDriver(ctx.params.id!, record.log, record.logPath);
    await attachLaunched(tasks, ctx, socket, rest, opts, (left, keepLog) => tasks.start(ctx.params.id!, {
      left,
      logReady: (log) => {
        const run = openRunLog(log, opts);
        keepLog(run.early);
        return run.ready;
      },
    }));
  });
  r.add('POST', '/tasks/:id/restart', async (ctx) => {
    checkQuery(ctx.query, {});
    const b = checkFields<{ timeout?: number }>(await ctx.body(), { timeout: 'integer' });
    // Refused before its stop, which would call off a restart its policy has waiting for the copies.
    tasks.get(ctx.params.id!).refuseStartWhileCopying();
    await tasks.stop(ctx.params.id!, stopTimeout(b.timeout));
    return { body: (await tasks.start(ctx.params.id!)).view() };
  });

  // docker's update: limits (at once where the task runs, and for every later run) and the restart policy.
  r.add('POST', '/tasks/:id/update', async (ctx) => {
    checkQuery(ctx.query, {});
    return { body: (await tasks.update(ctx.params.id!, checkTaskUpdate(await ctx.body()))).view() };
  });

  r.add('POST', '/tasks/:id/wait', async (ctx) => {
    const { condition = 'not-running' } = checkQuery(ctx.query, { condition: 'string' });
    checkFields(await ctx.body(), noBody);
    if (condition !== 'not-running' && condition !== 'removed') {
      throw new TaskioError('ERR_INVALID_FIELD', `query parameter condition must be not-running or removed, got ${JSON.stringify(condition)}`);
    }
    return { body: await tasks.wait(ctx.params.id!, condition, ctx.signal) };
  });

  for (const op of ['pause', 'resume'] as const) {
    r.add('POST', `/tasks/:id/${op}`, async (ctx) => {
      checkQuery(ctx.query, {});
      checkFields(await ctx.body(), noBody);
      await task(ctx)[op]();
    });
  }

  r.add('POST', '/tasks/:id/resize', async (ctx) => {
    checkQuery(ctx.query, {});
    const ws = checkWinSize(await ctx.body());
    await task(ctx).resize(ws);
  });

  r.add('POST', '/tasks/:id/close-stdin', async (ctx) => {
    checkQuery(ctx.query, {});
    checkFields(await ctx.body(), noBody);
    const t = task(ctx);
    if (t.record.stdio.stdin === '') throw new TaskioError('ERR_INVALID_STATE', `task ${t.id} has no stdin`);
    await t.closeStdin();
  });

  // docker's top: without ps_args the daemon's own table; with them the host's ps (psTop.ts).
  r.add('GET', '/tasks/:id/top', async (ctx) => {
    const psArgs = parsePsArgs(checkQuery(ctx.query, { ps_args: 'string' }).ps_args as string | undefined);
    const t = task(ctx);
    if (psArgs.length > 0 && t.record.runtime === 'runsc') {
      // runsc's processes live in the sandbox's kernel: the host's ps sees only the sandbox, and `runsc ps` takes no ps options.
      throw new TaskioError('ERR_NOT_SUPPORTED', `ps options need runtime runc or host: task ${t.id} runs on runsc, whose processes the host's ps cannot see (top ${t.id} without options lists them)`);
    }
    const list = await t.processes();
    if (psArgs.length > 0) return { body: await psTop(psArgs, list.map((p) => p.pid)) };
    return { body: { titles: ['PID', 'PPID', 'COMMAND'], processes: list.map((p) => [String(p.pid), p.ppid === null ? '' : String(p.ppid), p.command]) } };
  });

  r.add('GET', '/tasks/:id/stats', async (ctx, res) => {
    const q = checkQuery(ctx.query, { stream: 'boolean' });
    const t = task(ctx);
    const sample = async (prev: { s: Stats; at: number } | null): Promise<{ s: Stats; at: number; pct: number | null }> => {
      const s = await t.stats();
      const at = performance.now();
      const pct = prev ? ((s.cpu.usageTotal - prev.s.cpu.usageTotal) / 1e6 / (at - prev.at)) * 100 : null;
      return { s, at, pct: pct === null ? null : Math.max(0, Math.round(pct * 100) / 100) };
    };
    // CPU % needs two samples: a one-shot answer takes them 250 ms apart.
    let prev = await sample(null);
    if (!q.stream) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const now = await sample(prev);
      return { body: statsView(t.id, now.s, now.pct) };
    }
    ndjson(res);
    let first: Record<string, unknown> | null = statsView(t.id, prev.s, null);
    await streamStats(res, {
      sample: async () => {
        if (first) {
          const s = first;
          first = null;
          return s;
        }
        if (t.state !== 'running' && t.state !== 'paused') return null;
        try {
          prev = await sample(prev);
        } catch {
          return null; // exited meanwhile
        }
        return statsView(t.id, prev.s, prev.pct);
      },
      interval: () => delay(1000, undefined, { signal: ctx.signal }),
      signal: ctx.signal,
    });
    res.end();
  });

  r.add('GET', '/tasks/:id/logs', async (ctx, res) => {
    const q = checkQuery(ctx.query, { follow: 'boolean', tail: 'string', since: 'string', until: 'string', timestamps: 'boolean', details: 'boolean', stdout: 'boolean', stderr: 'boolean' });
    const t = task(ctx);
    if (t.record.logPath === null) {
      throw new TaskioError('ERR_NO_LOG', `task ${t.id} has no log the daemon can read (log: ${t.record.log})`);
    }
    await checkLogNotRemoved(t);
    const since = queryTimeNs(q, 'since'), until = queryTimeNs(q, 'until');
    // A raw log (a terminal's default) holds no times, nor lines (its entries are the chunks read):
    // refused rather than ignored. docker's json-file has a time per line, tty or not; a terminal's
    // raw log does not, so that a prompt is logged at once.
    const asks = [['since', since !== null], ['until', until !== null], ['timestamps', q.timestamps === true], ['details', q.details === true]] as const;
    for (const [name, asked] of asks) {
      if (asked && t.record.logFormat !== 'cri') throw new TaskioError('ERR_INVALID_FIELD', `task ${t.id} has a raw log: ${name} needs format=cri`);
    }
    const log = await openLog(t, {
      // docker follows only a task that runs (daemon/logs.go: no follow with a logger made for a
      // stopped container): `logs -f` of a created task is its empty log at once, not a wait for a
      // start that may never come. A paused or running task is followed to its exit.
      follow: q.follow === true && t.state !== 'created', ...tailQuery(q.tail), ...(since !== null ? { since } : {}), ...(until !== null ? { until } : {}),
      timestamps: q.timestamps === true, details: q.details === true, stdout: q.stdout !== false, stderr: q.stderr !== false, signal: ctx.signal,
    });
    res.writeHead(200, { 'Content-Type': t.record.terminal ? rawType : multiplexedType });
    res.flushHeaders();
    try {
      await log.pump(res);
    } catch (err) {
      if ((err as Error).name !== 'AbortError') api.logger.error({ err, id: t.id }, 'log stream failed');
    }
    res.end();
  });

  const attachQuery = { stdin: 'boolean', stdout: 'boolean', stderr: 'boolean', logs: 'boolean', detachKeys: 'string', stdinOnce: 'boolean' } as const;
  /** The attach query; `withExit`: create-and-attach's, which may ask for the exit after the output. */
  const attachOptions = (ctx: RouteContext, withExit = false) => {
    const q = checkQuery(ctx.query, withExit ? { ...attachQuery, exit: 'boolean' } as const : attachQuery);
    return {
      stdin: q.stdin === true, stdout: q.stdout !== false, stderr: q.stderr !== false, logs: q.logs === true,
      detachKeys: parseDetachKeys(q.detachKeys === undefined ? defaultDetachKeys : String(q.detachKeys)), stdinOnce: q.stdinOnce === true,
      exit: q['exit'] === true,
    };
  };
  r.add('POST', '/tasks/:id/attach', async (ctx, res) => {
    // Without an upgrade there is no way to send input: the output alone, streamed.
    const opts = { ...attachOptions(ctx), stdin: false };
    const t = task(ctx);
    const conn: AttachConnection = { output: res, input: null, signal: ctx.signal };
    const session = await prepareAttach(t, opts, conn);
    res.writeHead(200, { 'Content-Type': t.record.terminal ? rawType : multiplexedType });
    res.flushHeaders();
    await session.run();
  }, async (ctx, socket: Duplex, head) => {
    const opts = attachOptions(ctx);
    const t = task(ctx);
    const session = await prepareAttach(t, opts, upgradedConnection(socket, ctx.signal));
    await runUpgradedAttach(socket, t, session, head);
  });

  r.add('POST', '/tasks/:id/exec', async (ctx) => {
    checkQuery(ctx.query, {});
    const b = checkFields<{ id?: string; args: string[]; env?: string[]; cwd?: string; terminal?: boolean; consoleSize?: ConsoleSize; stdin?: string; stdout?: string; stderr?: string; user?: string; helper?: boolean }>(
      await ctx.body(),
      { id: 'string', args: 'string[]!', env: 'string[]', cwd: 'string', terminal: 'boolean', consoleSize: 'object', stdin: 'string', stdout: 'string', stderr: 'string', user: 'string', helper: 'boolean' },
    );
    const execId = b.id === undefined ? crypto.randomBytes(6).toString('hex') : validateId(b.id, 'exec');
    if (b.args.length === 0 || b.args[0] === '') throw new TaskioError('ERR_INVALID_FIELD', 'field "args" must be a non-empty command');
    if (b.env) checkEnv(b.env);
    if (b.cwd !== undefined) b.cwd = workingDir('cwd', b.cwd);
    if (b.consoleSize !== undefined) checkConsoleSize(b.consoleSize);
    const terminal = b.terminal === true;
    if (terminal && b.stderr) throw new TaskioError('ERR_INVALID_FIELD', 'a terminal exec has no stderr: leave "stderr" out');
    const helper = b.helper === true;
    if (helper && terminal) throw new TaskioError('ERR_INVALID_FIELD', 'a helper exec has no terminal: leave "terminal" out');
    const stdio = { stdin: b.stdin ?? '', stdout: b.stdout ?? '', stderr: b.stderr ?? '' };
    for (const [name, p] of Object.entries(stdio)) {
      if (p === '') continue;
      absolutePath(name, p);
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (!st?.isFIFO()) throw new TaskioError('ERR_NOT_FIFO', `field "${name}" must name a FIFO the client made, got ${JSON.stringify(p)} (${st ? 'not a FIFO' : 'missing'})`);
    }
    const t = task(ctx);
    const taskSpec = readSpec(t.record.bundle);
    const base = taskSpec.process;
    // docker exec -u: the names are the task's (its rootfs's passwd), and HOME the user's.
    const user = b.user === undefined ? null : resolveUser(b.user, taskSpec.root.path);
    const env = mergeEnv([...(base.env ?? []), ...(user?.home !== undefined ? [`HOME=${user.home}`] : []), ...(b.env ?? [])]);
    // Another user holds the task's capabilities as root does, or none (see taskCapabilities).
    const bounding = base.capabilities?.bounding;
    const asUser = user ? { user: ociUser(user), ...(bounding ? { capabilities: processCapabilities(bounding, user.uid === 0) } : {}) } : {};
    // Its terminal's own size (as the task's create, ignored without one), never the one the task
    // started with (stale once the task's terminal was resized).
    const spec: ProcessSpec = { ...base, ...asUser, args: b.args, env, cwd: b.cwd ?? base.cwd, terminal, consoleSize: startConsoleSize(b.consoleSize) };
    if (!terminal) delete spec.consoleSize;
    const config = { id: execId, terminal, ...stdio, spec };
    const e = await (helper ? t.execHelper(config) : t.exec(config)).catch((err: unknown) => { throw classifyStartError(err, b.args[0]); });
    return { status: 201, body: execView(e) };
  });

  const exec = (ctx: RouteContext): DaemonExec => task(ctx).getExec(validateId(ctx.params.exec!, 'exec'));
  r.add('GET', '/tasks/:id/exec/:exec', async (ctx) => {
    checkQuery(ctx.query, {});
    return { body: execView(exec(ctx)) };
  });
  r.add('POST', '/tasks/:id/exec/:exec/wait', async (ctx) => {
    checkQuery(ctx.query, {});
    checkFields(await ctx.body(), noBody);
    const e = exec(ctx);
    task(ctx).copyWaiting(e.id);
    const exit = await abortable(e.exited, ctx.signal).catch((err: unknown) => {
      // Its client went away before the exit (a cp that is ctrl-C'd, killed, its output closed).
      if (ctx.signal.aborted) task(ctx).copyAbandoned(e.id);
      throw err;
    });
    task(ctx).execWaited(e.id);
    return { body: exit };
  });
  r.add('POST', '/tasks/:id/exec/:exec/kill', async (ctx) => {
    checkQuery(ctx.query, {});
    const b = checkFields<{ signal?: string | number }>(await ctx.body(), { signal: 'signal' });
    await exec(ctx).process.kill(signalNumber(b.signal ?? 'KILL'));
  });
  r.add('POST', '/tasks/:id/exec/:exec/resize', async (ctx) => {
    checkQuery(ctx.query, {});
    const ws = checkWinSize(await ctx.body());
    const e = exec(ctx);
    // As the task's resize: without a terminal there is nothing to resize, and a 204 would say it was done.
    if (!e.terminal) throw new TaskioError('ERR_INVALID_STATE', `exec ${e.id} of task ${ctx.params.id!} has no terminal to resize`);
    await e.process.resize(ws);
  });
  r.add('POST', '/tasks/:id/exec/:exec/close-stdin', async (ctx) => {
    checkQuery(ctx.query, {});
    checkFields(await ctx.body(), noBody);
    await exec(ctx).process.closeStdin();
  });
  r.add('DELETE', '/tasks/:id/exec/:exec', async (ctx) => {
    checkQuery(ctx.query, {});
    checkFields(await ctx.body(), noBody);
    await task(ctx).deleteExec(validateId(ctx.params.exec!, 'exec'));
  });

  // docker's events: the kept ones since `since` first, then live ones (the same turn: none is
  // missed or repeated) until the clock passes `until` or the client leaves.
  r.add('GET', '/events', async (ctx, res) => {
    const q = checkQuery(ctx.query, { id: 'string', since: 'string', until: 'string' });
    if (q.id !== undefined) validateId(q.id as string);
    const since = queryTime(q, 'since'), until = queryTime(q, 'until');
    const wanted = (e: TaskEvent): boolean => (q.id === undefined || e.id === q.id) && (until === null || e.time <= until.toISOString());
    const send = ndjson(res);
    let dropped = 0;
    // Dropped rather than the stream ended: a client that reads slowly through a burst (an `rm` of
    // many tasks) keeps its stream and misses only what it could not take, as with docker.
    const push = (e: TaskEvent): void => {
      if (res.writableLength < eventBacklogBytes) return send(e);
      if (dropped++ === 0) api.logger.warn({ backlog: res.writableLength }, 'an events client is not reading: its events are dropped until it catches up');
    };
    if (since !== null) for (const e of events.since(since)) if (wanted(e)) push(e);
    if (until !== null && until.getTime() <= Date.now()) {
      res.end();
      return;
    }
    const off = events.subscribe((e) => { if (wanted(e)) push(e); });
    const passed = until === null ? null : clockPasses(until.getTime());
    await Promise.race([once(ctx.signal, 'abort'), ...(passed ? [passed.reached] : [])]);
    passed?.cancel();
    off();
    if (dropped > 0) api.logger.warn({ dropped }, 'an events client that did not read left; events dropped for it');
    res.end();
  });

  return r;
}

function checkWinSize(body: unknown): { cols: number; rows: number } {
  return checkCells(body, ['cols', 'rows']);
}

/** A request's stop `timeout` (seconds; -1: for ever), checked. */
function stopTimeout(timeout: number | undefined): { timeout?: number } {
  return timeout === undefined ? {} : { timeout: checkStopTimeout('timeout', timeout) };
}

/**
 * A log's `tail` query as docker's API takes it: a count of lines, or `all` (docker's default; a
 * negative count means the same, as docker's daemon reads it). Anything else is refused, naming it,
 * where docker's daemon would quietly send the whole log.
 */
function tailQuery(tail: string | number | boolean | undefined): { tail?: number } {
  if (tail === undefined || tail === 'all') return {};
  if (typeof tail === 'string' && /^-?\d{1,15}$/.test(tail)) return Number(tail) < 0 ? {} : { tail: Number(tail) };
  throw new TaskioError('ERR_INVALID_FIELD', `query parameter tail must be a number of lines or all, got ${JSON.stringify(tail)}`);
}

/**
 * A time in a query (`since`, `until` of logs and events), as docker takes them: RFC 3339 or Unix
 * seconds (with a fraction), in nanoseconds since the epoch.
 */
function queryTimeNs(q: Record<string, string | number | boolean>, key: string): bigint | null {
  if (q[key] === undefined) return null;
  const ns = parseApiTimeNs(String(q[key]), { unixSeconds: true });
  if (ns === null) throw new TaskioError('ERR_INVALID_FIELD', `query parameter ${key} must be an RFC 3339 time or Unix seconds, got ${JSON.stringify(q[key])}`);
  return ns;
}

/** {@link queryTimeNs} to the millisecond below (events' times have milliseconds). */
function queryTime(q: Record<string, string | number | boolean>, key: string): Date | null {
  const ns = queryTimeNs(q, key);
  return ns === null ? null : new Date(nsToMs(ns));
}
