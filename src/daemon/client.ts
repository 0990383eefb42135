import fs from 'node:fs';
import path from 'node:path';
import type { Socket } from 'node:net';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { TaskioError } from '../errors.js';
import type { WinSize } from '../runtime/proc/index.js';
import type { ConsoleSize } from '../runtime/oci/index.js';
import type { CreateTaskRequest } from './createRequest.js';
import { DetachScanner, defaultDetachKeys, parseDetachKeys } from './detachKeys.js';
import type { TaskEvent } from './events.js';
import type { ErrorBody } from './httpError.js';
import { DaemonLayout, defaultDaemonRoot } from './layout.js';
import type { ExitRecord } from './records.js';
import { Demultiplexer, StreamType, multiplexedType, taskHeader } from './stdcopy.js';
import { StartGate } from './startGate.js';
import { UnixHttpClient, type HttpAnswer } from './unixHttp.js';
import type { SystemInfo } from './info.js';
import type { TaskView } from './task.js';
import type { TaskUpdate } from './taskUpdate.js';
import type { PruneFilters, PruneReport } from './prune.js';
import { refuseUnstarted } from './unstarted.js';
import { notPrivate } from '../privateDir.js';

/** Every call takes a signal: aborting it abandons the request (and closes a stream). */
export interface CallOptions {
  signal?: AbortSignal;
}

/**
 * A call's options as sent (`ownConnection`: the call's own connection, see `HttpCall` in
 * unixHttp.ts; `startDaemon: false`: no daemon started when none answers, the connect error thrown).
 */
export interface SendOptions extends CallOptions {
  ownConnection?: boolean;
  startDaemon?: boolean;
}

/** Options of {@link connectDaemon}. */
export interface ConnectOptions extends CallOptions {
  /** Start a daemon when none answers (default true). */
  start?: boolean;
  /** argv that starts the daemon, without `--root` (default: this Node running this package's CLI). */
  daemonCommand?: string[];
  /** How long a started daemon may take to answer, ms (default 30000). */
  startTimeout?: number;
}

/** What `GET /version` tells. */
export interface DaemonVersion {
  version: string;
  apiVersion: number;
  pid: number;
  root: string;
  node: string;
  runtimes: { runsc: string | null; runc: string | null; host: true; default: string };
}

/** One sample of `GET /tasks/:id/stats`. */
export interface TaskStats {
  id: string;
  read: string;
  cpu: { usageTotal: number; usageKernel?: number; usageUser?: number };
  /** CPU use since the previous sample, % of one CPU; null for a first sample. */
  cpuPercent: number | null;
  /** `inactiveFile`: the part of `usage` that is inactive page cache (see `Stats`); `stats` shows usage without it, as docker's. */
  memory: { usage: number; limit?: number; max?: number; inactiveFile?: number };
  pids: { current: number; limit?: number };
}

/** An exec'd process as the daemon shows it. */
export interface ExecView {
  id: string;
  pid: number;
  args: string[];
  terminal: boolean;
  running: boolean;
  exit: ExitRecord | null;
}

/** Options of {@link DaemonClient.logs}. */
export interface LogsOptions extends CallOptions {
  follow?: boolean;
  tail?: number;
  /**
   * Entries written at or after this time. A string is sent as it is, in a form of docker's API — RFC
   * 3339 or Unix seconds, to the nanosecond (`2026-12-06T01:02:03.123456789Z`, `1796518923.123456789`):
   * a `Date` has milliseconds, the log's times have nanoseconds.
   */
  since?: Date | string;
  /** Entries written at or before this time (docker's `until`; a string as for `since`); with `follow`, the follow ends there. */
  until?: Date | string;
  timestamps?: boolean;
  /** docker's `details`: each line after the attributes of its log (a task's log has none) and a space. */
  details?: boolean;
  stdout?: boolean;
  stderr?: boolean;
}

/** Options of {@link DaemonClient.attach}. */
export interface AttachOptions extends CallOptions {
  /** What is typed into the task (needs a task made with `stdin: true`). */
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** Log mode: replay the log from its start first. */
  logs?: boolean;
  /** Docker's format (default `ctrl-p,ctrl-q`; `''` for none). */
  detachKeys?: string;
  /** When `stdin` ends, the task's stdin ends too (docker's StdinOnce). */
  stdinOnce?: boolean;
  /** FIFO mode: relay through the daemon instead of reading the FIFO set here (default: here). */
  relay?: boolean;
  /**
   * The task as the caller already has it (from {@link DaemonClient.createTask} or
   * {@link DaemonClient.getTask}): it saves the round trip that asks which mode the task is in.
   */
  view?: TaskView;
}

/** Options of {@link DaemonClient.createAttached}. */
export interface CreateAttachOptions extends Omit<AttachOptions, 'view' | 'relay'> {
  /**
   * Have the task's exit sent after its output, in the same stream (with `autoRemove`: once the
   * task is removed), instead of asking `wait` on another connection: {@link CreatedAttachment.exit}.
   * A terminal task's stream is raw and has no room for it: `exit` is null there.
   */
  exit?: boolean;
}

/** How an attach ended. */
export type AttachEnd = 'exited' | 'detached' | 'aborted';

/** A running attach. */
export interface Attachment {
  /** Resolves once it ended: the task's output is complete, the detach keys were typed, or it was aborted. */
  readonly done: Promise<AttachEnd>;
  /** Detaches now; the task keeps running. */
  detach(): void;
  /**
   * Resolves once all of `stdin` has been handed on and its end sent (for an attach through the
   * daemon: the connection half-closed, so the daemon has the input up to its end); never when
   * the attach ends first, nor without `stdin`.
   */
  readonly inputSent: Promise<void>;
}

/** The attach of a task made by {@link DaemonClient.createAttached}. */
export interface CreatedAttachment extends Attachment {
  readonly id: string;
  /**
   * With the `exit` option, the task's exit once the attach ended, sent by the daemon after the
   * output; null when none came (not asked, a terminal task, a detach, or a daemon without it):
   * ask {@link DaemonClient.wait} then.
   */
  readonly exit: Promise<ExitRecord | null>;
}

/** Options of {@link DaemonClient.exec}. */
export interface ExecOptions extends CallOptions {
  args: string[];
  id?: string;
  env?: string[];
  cwd?: string;
  terminal?: boolean;
  /** The terminal's size from the start (docker's exec `ConsoleSize`; default 80x24); ignored without one. */
  consoleSize?: ConsoleSize;
  /** docker's `exec --user`: `user[:group]`, names from the task's rootfs. Default: the task's user. */
  user?: string;
  /**
   * Runs it in a transient helper made from the task's bundle (the exec request's `helper`), for a
   * task that does not run — created or exited (`taskio cp`); a running or paused task refuses it.
   */
  helper?: boolean;
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
}

/** An exec'd process started by {@link DaemonClient.exec}. */
export interface ExecHandle {
  readonly id: string;
  readonly pid: number;
  /** Resolves with the exit once the process exited and its output was copied; releases its FIFO set. */
  wait(opts?: CallOptions): Promise<ExitRecord>;
  kill(signal?: string | number, opts?: CallOptions): Promise<void>;
  resize(ws: WinSize, opts?: CallOptions): Promise<void>;
  closeStdin(opts?: CallOptions): Promise<void>;
  /**
   * Stops copying and removes this client's FIFO set; the process keeps running (docker's detach
   * from an exec). Its output then waits in the pipes, which are gone once it exits.
   */
  detach(): Promise<void>;
}

/** Whether a request failed because no daemon listens on the root (no socket, or a stale one). */
export function isConnectError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ECONNREFUSED' || code === 'ENOENT';
}

/** An upgraded connection: the raw socket, what came after the 101, and its headers of interest. */
interface Upgraded {
  socket: Socket;
  head: Buffer;
  contentType: string;
  /** The task a `POST /tasks` upgrade made. */
  taskId: string | null;
}

/** The query of an attach (`POST /tasks/:id/attach`, and `POST /tasks` upgraded). */
function attachQuery(opts: CreateAttachOptions): URLSearchParams {
  const q = new URLSearchParams({ stdin: opts.stdin ? '1' : '0', stdout: opts.stdout ? '1' : '0', stderr: opts.stderr ? '1' : '0' });
  if (opts.logs) q.set('logs', '1');
  if (opts.detachKeys !== undefined) q.set('detachKeys', opts.detachKeys);
  if (opts.stdinOnce) q.set('stdinOnce', '1');
  if (opts.exit) q.set('exit', '1');
  return q;
}

/** Runs an attach on an upgraded connection: output demultiplexed into the caller's streams, `stdin` in. */
function attachOn({ socket, head, contentType }: Upgraded, opts: CreateAttachOptions): Attachment & { exit: Promise<ExitRecord | null> } {
  let detached = false;
  const raw = contentType !== multiplexedType;
  const exitFrame: Buffer[] = [];
  const exitSink = opts.exit && !raw ? new Writable({ write(c: Buffer, _enc, cb) { exitFrame.push(c); cb(); } }) : null;
  const demux = copyOutput(socket, raw, opts.stdout ?? null, opts.stderr ?? null, head, exitSink);
  let inputSent = never;
  if (opts.stdin) {
    // 'finish' comes after the shutdown(2) of the write side, which the daemon sees at once.
    inputSent = new Promise<void>((resolve) => socket.once('finish', resolve));
    opts.stdin.pipe(socket, { end: false });
    // The input is over for this connection: half-closing it lets the daemon release the task's
    // stdin FIFO (and, with stdinOnce, close the task's stdin); the output still comes.
    opts.stdin.once('end', () => { socket.end(); });
  }
  const onAbort = (): void => { socket.destroy(); };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const done = demux.then(() => undefined, () => undefined).then((): AttachEnd => {
    opts.stdin?.unpipe(socket);
    opts.signal?.removeEventListener('abort', onAbort);
    socket.destroy();
    if (opts.signal?.aborted) return 'aborted';
    return detached ? 'detached' : 'exited';
  });
  return {
    done,
    inputSent,
    exit: done.then(() => parseExit(exitFrame)),
    detach: () => {
      detached = true;
      socket.destroy();
    },
  };
}

/** The exit frame's record; null for none (or one cut short). */
function parseExit(frame: Buffer[]): ExitRecord | null {
  if (frame.length === 0) return null;
  try {
    return JSON.parse(Buffer.concat(frame).toString('utf8')) as ExitRecord;
  } catch {
    return null;
  }
}

/** A promise that never settles (an attach without input never sent it). */
const never = new Promise<void>(() => undefined);

function readAll(s: Readable): Promise<string> {
  // Events, not `for await`: a stream's async iterator loads and compiles a few ms of Node's stream
  // code in every short-lived command, for a body of a few hundred bytes.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.once('error', reject);
  });
}

/** The error of a non-2xx answer: a TaskioError with the server's code and message. */
async function errorOf(res: HttpAnswer): Promise<TaskioError> {
  const text = await readAll(res.body).catch(() => '');
  try {
    const b = JSON.parse(text) as ErrorBody;
    return Object.assign(new TaskioError(b.code, b.message), { status: res.status });
  } catch {
    return Object.assign(new TaskioError('ERR_DAEMON_RESPONSE', `the daemon answered ${res.status}: ${text.slice(0, 200)}`), { status: res.status });
  }
}

/**
 * The typed client of a taskio daemon (HTTP on its unix socket): one method per route, streams
 * for logs, attach and events, an `AbortSignal` on every call, and errors as {@link TaskioError}
 * with the daemon's code. A request that finds no daemon (the socket refuses) starts one and is
 * sent again, unless the client was made with `start: false`.
 */
export class DaemonClient {
  readonly root: string;
  readonly layout: DaemonLayout;
  readonly #http: UnixHttpClient;
  readonly #opts: ConnectOptions;
  #starting: Promise<void> | null = null;
  #closed = false;
  #rootTrusted = false;

  constructor(root: string, opts: ConnectOptions = {}) {
    this.root = path.resolve(root);
    this.layout = new DaemonLayout(this.root);
    // Idle connections are closed by the client well before the daemon would (65 s).
    this.#http = new UnixHttpClient(this.layout.socket, { idleMs: 30_000 });
    this.#opts = opts;
  }

  /**
   * Why the state root is not one only this user controls ({@link notPrivate}), or `''`: the
   * socket found there is trusted with every request, so it must be the daemon's own, as the daemon
   * refuses such a root for itself. Checked until it passed once; a root not made yet passes (the
   * daemon started for it makes it private).
   */
  #rootUnsafe(): string {
    const st = fs.lstatSync(this.root, { throwIfNoEntry: false });
    if (st === undefined) return '';
    const why = notPrivate(st);
    this.#rootTrusted = why === '';
    return why;
  }

  /** The unix socket path. */
  get socketPath(): string {
    return this.layout.socket;
  }

  #send(method: string, p: string, body: unknown, opts: SendOptions, upgrade = false): Promise<HttpAnswer> {
    if (this.#closed) return Promise.reject(new TaskioError('ERR_CLIENT_CLOSED', `this client of ${this.root} was closed`));
    const unsafe = this.#rootTrusted ? '' : this.#rootUnsafe();
    if (unsafe) return Promise.reject(new TaskioError('ERR_UNSAFE_DIR', `refusing daemon root ${this.root}: ${unsafe}`));
    return this.#http.call({
      method, path: p, ...(body === undefined ? {} : { body: JSON.stringify(body) }), ...(upgrade ? { upgrade } : {}), ...(opts.ownConnection ? { ownConnection: true } : {}), ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  async #ensureDaemon(signal?: AbortSignal): Promise<void> {
    // Imported here, as the FIFO attach and exec below: a command that finds its daemon running
    // (nearly every one) does not load what starts one — module loading is most of a short command.
    let starting = this.#starting;
    if (starting === null) {
      const { spawnDaemon } = await import('./startDaemon.js');
      starting = this.#starting ??= spawnDaemon(this.root, () => this.#ping(), {
        ...(this.#opts.daemonCommand ? { command: this.#opts.daemonCommand } : {}),
        ...(this.#opts.startTimeout ? { timeout: this.#opts.startTimeout } : {}),
        ...(signal ? { signal } : {}),
      }).finally(() => { this.#starting = null; });
    }
    return starting;
  }

  async #ping(): Promise<boolean> {
    try {
      const res = await this.#send('GET', '/version', undefined, { signal: AbortSignal.timeout(2000) });
      res.body.resume();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** Sends a request; a daemon that is not there is started (once) and the request sent again. */
  async #request(method: string, p: string, body: unknown, opts: SendOptions): Promise<HttpAnswer> {
    try {
      return await this.#send(method, p, body, opts);
    } catch (err) {
      if (!isConnectError(err) || this.#opts.start === false || opts.startDaemon === false) throw err;
    }
    await this.#ensureDaemon(opts.signal);
    return this.#send(method, p, body, opts);
  }

  async #json<T>(method: string, p: string, body: unknown, opts: SendOptions = {}): Promise<T> {
    const res = await this.#request(method, p, body, opts);
    if (res.status >= 300) throw await errorOf(res);
    const text = await readAll(res.body);
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new TaskioError('ERR_DAEMON_RESPONSE', `the daemon's answer to ${method} ${p} is not JSON: ${JSON.stringify(text.slice(0, 200))}`, { cause });
    }
  }

  #task(id: string, rest = ''): string {
    return `/tasks/${encodeURIComponent(id)}${rest}`;
  }

  /** Makes sure a daemon answers (starting one when allowed); resolves with its version. */
  version(opts: CallOptions = {}): Promise<DaemonVersion> {
    return this.#json('GET', '/version', undefined, opts);
  }

  /** `GET /info`: docker's `info`, the tasks counted by state and what this host and daemon give them. */
  info(opts: CallOptions = {}): Promise<SystemInfo> {
    return this.#json('GET', '/info', undefined, opts);
  }

  /** `POST /tasks`: creates and starts a task. */
  createTask(req: CreateTaskRequest, opts: CallOptions = {}): Promise<TaskView> {
    return this.#json('POST', '/tasks', req, opts);
  }

  /** `GET /tasks` (`all`: exited ones too). */
  listTasks(opts: CallOptions & { all?: boolean } = {}): Promise<TaskView[]> {
    return this.#json('GET', `/tasks${opts.all ? '?all=1' : ''}`, undefined, opts);
  }

  /** `GET /tasks/:id`. */
  getTask(id: string, opts: CallOptions = {}): Promise<TaskView> {
    return this.#json('GET', this.#task(id), undefined, opts);
  }

  /**
   * `GET /tasks/:id/exec/:exec` (docker's exec inspect): an exec of the task, also once it ended,
   * until its client deleted it, newer ended execs pushed it out, or the task exited.
   * @throws TaskioError `ERR_NOT_FOUND` for an exec the task has no record of.
   */
  getExec(id: string, execId: string, opts: CallOptions = {}): Promise<ExecView> {
    return this.#json('GET', this.#task(id, `/exec/${encodeURIComponent(execId)}`), undefined, opts);
  }

  /** `POST /tasks/:id/kill`: `signal` (default SIGKILL, as `docker kill`) to the init, or with `all` to every process. */
  async kill(id: string, signal: string | number = 'KILL', opts: CallOptions & { all?: boolean } = {}): Promise<void> {
    await this.#json('POST', this.#task(id, '/kill'), { signal, ...(opts.all ? { all: true } : {}) }, opts);
  }

  /**
   * `POST /tasks/:id/wait`: resolves with the exit once the task exited, or with `condition:
   * 'removed'` once it was also removed (an `autoRemove` task: by the daemon). `ownConnection`:
   * rejects with `ECONNRESET` when the daemon goes away meanwhile, instead of asking again (the
   * next daemon, which a command starts, would wait there for the task's next exit).
   */
  wait(id: string, opts: SendOptions & { condition?: 'not-running' | 'removed' } = {}): Promise<ExitRecord> {
    return this.#json('POST', this.#task(id, opts.condition === 'removed' ? '/wait?condition=removed' : '/wait'), undefined, opts);
  }

  /** `DELETE /tasks/:id` (`force`: kill it first). */
  /**
   * `POST /tasks/:id/stop` (docker's stop): the task's stop signal (or `stopSignal`), then KILL after
   * `timeout` seconds (the task's stop timeout by default; -1: never); resolves once it exited.
   * Its restart policy does not start it again.
   */
  async stop(id: string, opts: CallOptions & { stopSignal?: string | number; timeout?: number } = {}): Promise<void> {
    await this.#json('POST', this.#task(id, '/stop'), { ...(opts.stopSignal !== undefined ? { signal: opts.stopSignal } : {}), ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}) }, opts);
  }

  /**
   * `POST /tasks/:id/update` (docker's update): new limits — at once where the task runs (runc, host;
   * runsc refuses), and for every later run — and a new restart policy. `limits.pids: -1` removes
   * the pids limit. Resolves with the task as it is now.
   */
  update(id: string, change: TaskUpdate, opts: CallOptions = {}): Promise<TaskView> {
    return this.#json<TaskView>('POST', this.#task(id, '/update'), change, opts);
  }

  /**
   * `POST /tasks/prune` (docker's container prune): removes every task that does not run (exited,
   * or created) and that `filters` select; resolves with their ids and the bytes they held.
   */
  prune(filters: PruneFilters = {}, opts: CallOptions = {}): Promise<PruneReport> {
    return this.#json<PruneReport>('POST', '/tasks/prune', filters, opts);
  }

  /**
   * `POST /tasks/:id/start` (docker's start): runs a created task, or an exited one again (same
   * id, log appended to); a running one is left as it is.
   */
  start(id: string, opts: CallOptions = {}): Promise<TaskView> {
    return this.#json<TaskView>('POST', this.#task(id, '/start'), undefined, opts);
  }

  /**
   * Starts task `id` as {@link start} does and attaches to it in one round trip (`POST
   * /tasks/:id/start` upgraded: docker's `start -a`): the output of this run from its very start,
   * the exit after it with the `exit` option. The attach is the daemon's (a FIFO-mode task's set is
   * read by the daemon and relayed). A task already running is attached to from now on.
   */
  async startAttached(id: string, opts: CreateAttachOptions = {}): Promise<Attachment & { exit: Promise<ExitRecord | null> }> {
    return attachOn(await this.#upgrade(this.#task(id, `/start?${attachQuery(opts)}`), opts), opts);
  }

  /** `POST /tasks/:id/restart` (docker's restart): {@link stop}, then {@link start}. */
  restart(id: string, opts: CallOptions & { timeout?: number } = {}): Promise<TaskView> {
    return this.#json<TaskView>('POST', this.#task(id, '/restart'), opts.timeout !== undefined ? { timeout: opts.timeout } : undefined, opts);
  }

  async remove(id: string, opts: CallOptions & { force?: boolean } = {}): Promise<void> {
    await this.#json('DELETE', this.#task(id, opts.force ? '?force=1' : ''), undefined, opts);
  }

  async pause(id: string, opts: CallOptions = {}): Promise<void> {
    await this.#json('POST', this.#task(id, '/pause'), undefined, opts);
  }

  async resume(id: string, opts: CallOptions = {}): Promise<void> {
    await this.#json('POST', this.#task(id, '/resume'), undefined, opts);
  }

  /** `POST /tasks/:id/resize`: the task's terminal size. */
  async resize(id: string, ws: WinSize, opts: CallOptions = {}): Promise<void> {
    await this.#json('POST', this.#task(id, '/resize'), { cols: ws.cols, rows: ws.rows }, opts);
  }

  /** `POST /tasks/:id/close-stdin` (containerd's CloseIO). */
  async closeStdin(id: string, opts: CallOptions = {}): Promise<void> {
    await this.#json('POST', this.#task(id, '/close-stdin'), undefined, opts);
  }

  /**
   * `GET /tasks/:id/top` (docker's top): the task's processes. `psArgs` (docker's `ps_args`, e.g.
   * `aux`, `-eo pid,rss,comm`; runc and host tasks) runs the host's ps with them, its rows kept
   * for the task's processes; without it the daemon's own table (PID, PPID, COMMAND).
   */
  top(id: string, opts: CallOptions & { psArgs?: string } = {}): Promise<{ titles: string[]; processes: string[][] }> {
    const q = opts.psArgs === undefined ? '' : `?${new URLSearchParams({ ps_args: opts.psArgs })}`;
    return this.#json('GET', this.#task(id, `/top${q}`), undefined, opts);
  }

  /** `GET /tasks/:id/stats`: one sample (CPU % over 250 ms). */
  stats(id: string, opts: CallOptions = {}): Promise<TaskStats> {
    return this.#json('GET', this.#task(id, '/stats'), undefined, opts);
  }

  /**
   * `GET /tasks/:id/stats?stream=1`: a sample a second until the task exits or `signal` aborts.
   * Resolves once the stream is open.
   */
  statsStream(id: string, opts: CallOptions = {}): Promise<AsyncGenerator<TaskStats>> {
    return this.#ndjson<TaskStats>(this.#task(id, '/stats?stream=1'), opts);
  }

  /**
   * `GET /events`: create/start/exit/delete/… as they happen, until `signal` aborts (or the clock
   * passes `until`); with `since`, the daemon's kept events from then first (the last 256). Resolves
   * once the daemon is delivering, so no event of an action taken after that is missed.
   */
  events(opts: CallOptions & { id?: string; since?: Date; until?: Date } = {}): Promise<AsyncGenerator<TaskEvent>> {
    const q = new URLSearchParams();
    if (opts.id) q.set('id', opts.id);
    if (opts.since) q.set('since', opts.since.toISOString());
    if (opts.until) q.set('until', opts.until.toISOString());
    return this.#ndjson<TaskEvent>(`/events${q.size > 0 ? `?${q}` : ''}`, opts);
  }

  async #ndjson<T>(p: string, opts: CallOptions): Promise<AsyncGenerator<T>> {
    const res = await this.#request('GET', p, undefined, opts);
    if (res.status >= 300) throw await errorOf(res);
    return (async function* lines(): AsyncGenerator<T> {
      let rest = '';
      try {
        for await (const chunk of res.body) {
          rest += (chunk as Buffer).toString('utf8');
          let nl: number;
          while ((nl = rest.indexOf('\n')) >= 0) {
            const line = rest.slice(0, nl);
            rest = rest.slice(nl + 1);
            if (line.trim() !== '') yield JSON.parse(line) as T;
          }
        }
      } catch (err) {
        // Aborting the signal is how a caller ends the stream.
        if (!opts.signal?.aborted) throw err;
      } finally {
        res.body.destroy();
      }
    })();
  }

  /**
   * `GET /tasks/:id/logs`: the task's log as the bytes it wrote, stdout into `stdout` and stderr
   * into `stderr` (a terminal task has one stream). Resolves at the end of the log — with
   * `follow`, once the task exited and its output is all there — or when `signal` aborts.
   */
  async logs(id: string, out: { stdout?: Writable | null; stderr?: Writable | null }, opts: LogsOptions = {}): Promise<void> {
    const q = new URLSearchParams();
    if (opts.follow) q.set('follow', '1');
    if (opts.tail !== undefined) q.set('tail', String(opts.tail));
    if (opts.since !== undefined) q.set('since', typeof opts.since === 'string' ? opts.since : opts.since.toISOString());
    if (opts.until !== undefined) q.set('until', typeof opts.until === 'string' ? opts.until : opts.until.toISOString());
    if (opts.timestamps) q.set('timestamps', '1');
    if (opts.details) q.set('details', '1');
    if (opts.stdout === false) q.set('stdout', '0');
    if (opts.stderr === false) q.set('stderr', '0');
    const res = await this.#request('GET', this.#task(id, `/logs${q.size ? `?${q}` : ''}`), undefined, opts);
    if (res.status >= 300) throw await errorOf(res);
    await copyOutput(res.body, res.headers['content-type'] !== 'application/vnd.docker.multiplexed-stream', out.stdout ?? null, out.stderr ?? null);
  }

  /**
   * Attaches to a running task. Log mode: `stdin` goes into the task's stdin, its output is
   * streamed from the log from now on (any number of attaches at once). FIFO mode (`log: none`):
   * the cio attach on the task's FIFO set, done here (one reader at a time: `EBUSY` names the
   * holder's pid). Detach keys (`ctrl-p,ctrl-q` by default) in `stdin` end the attach only.
   */
  async attach(id: string, opts: AttachOptions = {}): Promise<Attachment> {
    const task = opts.view?.id === id ? opts.view : await this.getTask(id, opts);
    // The daemon refuses it too, but a FIFO-mode attach is made here without asking it.
    refuseUnstarted(task);
    if (task.log === 'none' && !opts.relay) return this.#attachFifo(task, opts);
    const upgraded = await this.#upgrade(this.#task(id, `/attach?${attachQuery(opts)}`), opts);
    return attachOn(upgraded, opts);
  }

  /**
   * Creates and starts a task and attaches to it in one round trip (`POST /tasks` upgraded, what
   * `taskio run` does attached; {@link createTask} then {@link attach} take two). The attach is the
   * daemon's (log mode; a FIFO-mode task's set is read by the daemon and relayed). A task with
   * `autoRemove` whose attach cannot be made is removed by the daemon.
   * @throws TaskioError as {@link createTask} when the task cannot be made, and as {@link attach}.
   */
  async createAttached(req: CreateTaskRequest, opts: CreateAttachOptions = {}): Promise<CreatedAttachment> {
    let upgraded: Upgraded;
    try {
      upgraded = await this.#upgrade(`/tasks?${attachQuery(opts)}`, opts, req);
    } catch (err) {
      // A daemon from before the exit frame (still running across an upgrade of the package)
      // refuses the parameter before it makes anything: asked again without it, `exit` is then null.
      if (!opts.exit || (err as { code?: unknown }).code !== 'ERR_UNKNOWN_FIELD' || !(err as Error).message.includes('"exit"')) throw err;
      upgraded = await this.#upgrade(`/tasks?${attachQuery({ ...opts, exit: false })}`, opts, req);
    }
    const id = upgraded.taskId;
    if (id === null) {
      upgraded.socket.destroy();
      throw new TaskioError('ERR_DAEMON_RESPONSE', `the daemon's 101 to POST /tasks names no task (no ${taskHeader} header)`);
    }
    return { id, ...attachOn(upgraded, opts) };
  }

  async #attachFifo(task: TaskView, opts: AttachOptions): Promise<Attachment> {
    const keys = parseDetachKeys(opts.detachKeys ?? defaultDetachKeys);
    const scanner = opts.stdin ? new DetachScanner(keys) : null;
    const { attachFifoSet, fifoOutputEnd } = await import('./fifoAttach.js');
    const io = await attachFifoSet(task, scanner && task.stdinOpen ? scanner : null, opts.stdout ?? null, opts.stderr ?? null);
    let end: AttachEnd = 'exited';
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => { stop = resolve; });
    if (scanner) {
      opts.stdin!.pipe(scanner);
      if (!task.stdinOpen) scanner.resume();
      scanner.once('detach', () => { end = 'detached'; stop(); });
      if (opts.stdinOnce) opts.stdin!.once('end', () => void this.closeStdin(task.id).catch(() => undefined));
    }
    const onAbort = (): void => { end = 'aborted'; stop(); };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // The exit, asked for beside the copy (a task that exits as the set opens sends no EOF), and
    // no longer once the attach is over.
    const waiting = new AbortController();
    const exited = this.wait(task.id, { signal: opts.signal ? AbortSignal.any([opts.signal, waiting.signal]) : waiting.signal });
    exited.catch(() => undefined);
    const output = task.stdio.stdout || task.stdio.stderr ? fifoOutputEnd(task, io, exited) : exited.then(() => undefined, () => undefined);
    const done = Promise.race([output, stopped]).then(() => {
      waiting.abort();
      io.cancel();
      if (scanner) opts.stdin?.unpipe(scanner);
      opts.signal?.removeEventListener('abort', onAbort);
      return end;
    });
    // The set's writer holds the stdin FIFO until it wrote the last byte: the end of the input is enough.
    const inputSent = opts.stdin ? new Promise<void>((resolve) => opts.stdin!.once('end', resolve)) : never;
    return { done, inputSent, detach: () => { end = 'detached'; stop(); } };
  }

  /**
   * Sends an HTTP upgrade (Docker's attach handshake), with `body` as JSON when given, and hands
   * back the raw connection.
   */
  #upgrade(p: string, opts: CallOptions, body?: unknown): Promise<Upgraded> {
    const attempt = async (): Promise<Upgraded> => {
      const res = await this.#send('POST', p, body, opts, true);
      if (!res.upgraded) throw await errorOf(res);
      const taskId = res.headers[taskHeader.toLowerCase()];
      return { ...res.upgraded, contentType: res.headers['content-type'] ?? '', taskId: taskId ?? null };
    };
    return attempt().catch(async (err: unknown) => {
      if (!isConnectError(err) || this.#opts.start === false) throw err;
      await this.#ensureDaemon(opts.signal);
      return attempt();
    });
  }

  /**
   * Runs another process in a task (`POST /tasks/:id/exec`): the FIFO set is made here (cio's
   * Creator, under `<root>/fifo`, which the daemon made) and copied to/from the given streams.
   * Once `stdin` has ended and all of it is in the process's stdin FIFO, the process's stdin is
   * closed (it reads every byte, then EOF). Output reaches `stdout`/`stderr` once the daemon said the process
   * started; when it did not, the call rejects and what the runtime wrote there (its own error) is
   * dropped.
   */
  async exec(id: string, opts: ExecOptions): Promise<ExecHandle> {
    // A task that is not there is refused before a FIFO set is made for it (a refusal leaves
    // the root as it was).
    await this.getTask(id, opts);
    const terminal = opts.terminal === true;
    const { newCreator, withFIFODir, withStdinClose, withStreams, withTerminal } = await import('../attach/index.js');
    // Output waits until the process runs: a runtime that fails to start it writes its own error there.
    const gate = (w: Writable | null | undefined): StartGate | null => (w ? new StartGate(w) : null);
    const gates = [gate(opts.stdout), terminal ? null : gate(opts.stderr)] as const;
    // The process's stdin is closed once all of the input is in its FIFO and our writer closed — not
    // at the end of `opts.stdin`: the writer opens only once the daemon made the process's reader,
    // and a close asked before would end the FIFO with nothing in it (the exec reads EOF at once).
    // The writer can finish before the daemon's answer is read here, hence the wait for the id.
    let started!: (path: string) => void;
    const execStarted = new Promise<string>((resolve) => { started = resolve; });
    const closeStdin = (): Promise<unknown> => execStarted.then((p) => this.#json('POST', p, undefined)).catch(() => undefined);
    const creator = newCreator(
      withStreams(opts.stdin ?? null, gates[0], gates[1]),
      withFIFODir(this.layout.fifo), ...(terminal ? [withTerminal] : []),
      ...(opts.stdin ? [withStdinClose(closeStdin)] : []),
    );
    const io = await creator(opts.id ?? `exec-${Date.now().toString(36)}`);
    let view: ExecView;
    try {
      const c = io.config();
      view = await this.#json<ExecView>('POST', this.#task(id, '/exec'), {
        ...(opts.id ? { id: opts.id } : {}), args: opts.args, ...(opts.env ? { env: opts.env } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}),
        ...(opts.consoleSize ? { consoleSize: opts.consoleSize } : {}), ...(opts.user !== undefined ? { user: opts.user } : {}), ...(opts.helper === true ? { helper: true } : {}), terminal, stdin: c.stdin, stdout: c.stdout, stderr: c.stderr,
      }, opts);
    } catch (err) {
      for (const g of gates) g?.drop();
      await io.close();
      throw err;
    }
    for (const g of gates) g?.open();
    const execPath = (rest = ''): string => this.#task(id, `/exec/${encodeURIComponent(view.id)}${rest}`);
    // Nothing to copy (`exec -d`): the set holds no FIFO the process uses.
    if (!opts.stdin && !opts.stdout && !opts.stderr) await io.close();
    started(execPath('/close-stdin'));
    return {
      id: view.id,
      pid: view.pid,
      wait: async (o: CallOptions = {}) => {
        // A wait that fails (the exec gone, the daemon away) still removes this client's FIFO set.
        const exit = await this.#json<ExitRecord>('POST', execPath('/wait'), undefined, o).catch(async (err: unknown) => {
          await io.close();
          throw err;
        });
        await io.wait();
        await io.close();
        await this.#json('DELETE', execPath(), undefined, o).catch(() => undefined);
        return exit;
      },
      kill: async (signal = 'KILL', o: CallOptions = {}) => { await this.#json('POST', execPath('/kill'), { signal }, o); },
      resize: async (ws, o: CallOptions = {}) => { await this.#json('POST', execPath('/resize'), { cols: ws.cols, rows: ws.rows }, o); },
      closeStdin: async (o: CallOptions = {}) => { await this.#json('POST', execPath('/close-stdin'), undefined, o); },
      detach: async () => {
        io.cancel();
        await io.close();
      },
    };
  }

  /** Closes the connections to the daemon; later calls fail with `ERR_CLIENT_CLOSED` (and start no daemon). */
  close(): void {
    this.#closed = true;
    this.#http.close();
  }
}

/**
 * Copies an attach/logs stream into `stdout`/`stderr`: demultiplexed (Docker's frames) for a
 * non-terminal task, as is for a terminal (`exit` gets a create-and-attach's exit frame). The
 * daemon's own error lines in the stream (`systemerr` frames: output the log reader lost) go to
 * `stderr`, where docker's client prints them too. Resolves
 * when the stream ends, or when the caller destroyed it (a detach). Rejects with the stream's
 * error — the daemon went away in the middle of it (`ECONNRESET`), or the call was aborted — once
 * what came before is written out: a stream cut short must not pass for a complete one.
 */
export function copyOutput(src: Readable, raw: boolean, stdout: Writable | null, stderr: Writable | null, head?: Buffer, exit: Writable | null = null): Promise<void> {
  const demux = raw ? null : new Demultiplexer({ [StreamType.Stdout]: stdout, [StreamType.Stderr]: stderr, [StreamType.Systemerr]: stderr, [StreamType.Exit]: exit });
  const sink: Writable = demux ?? stdout ?? new PassThrough().resume();
  return new Promise((resolve, reject) => {
    let ended = false;
    // Settles once everything received is written out: the demultiplexer finished, or (raw) the
    // caller's stream acknowledged what came before an empty write.
    const finish = (err?: Error): void => {
      if (ended) return;
      ended = true;
      const settle = (): void => (err ? reject(err) : resolve());
      if (demux) {
        demux.once('finish', settle);
        demux.once('error', settle);
        demux.end();
      } else {
        sink.write(Buffer.alloc(0), settle);
      }
    };
    if (head && head.length > 0) sink.write(head);
    src.on('data', (c: Buffer) => { if (!sink.write(c)) { src.pause(); sink.once('drain', () => src.resume()); } });
    // 'error' comes before 'close' when the stream fails; 'close' alone: destroyed by the caller.
    src.once('end', () => finish());
    src.once('close', () => finish());
    src.once('error', finish);
  });
}

/**
 * Connects to the daemon of `root` (default: `$TASKIO_ROOT`, `/run/taskio` as root, else
 * `$XDG_RUNTIME_DIR/taskio`), starting it when none answers (unless `start: false`).
 * @throws TaskioError `ERR_DAEMON_START` when no daemon can be started; `ECONNREFUSED`/`ENOENT` with `start: false`.
 */
export async function connectDaemon(root?: string, opts: ConnectOptions = {}): Promise<DaemonClient> {
  const client = new DaemonClient(root ?? defaultDaemonRoot(), opts);
  await client.version(opts);
  return client;
}
