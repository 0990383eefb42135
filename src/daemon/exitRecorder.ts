import { spawn } from 'node:child_process';
import { closeInheritedFds } from '../sys/files.js';
import { Monitor } from '../runtime/reaper/monitor.js';
import { statusFromCodeSignal, type Exit } from '../runtime/reaper/exit.js';
import { listChildren, startTimeOf } from '../runtime/reaper/children.js';
import { exitRecorderEnv, writeRecordedExit } from './recordedExits.js';

/** The signals a recorder passes on to its daemon: those that stop one (`runDaemonMain`), and a hangup. */
const forwarded = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** How often a recorder whose daemon is gone looks for exits and children it missed (a lost `SIGCHLD`). */
const pollMs = 1000;

/**
 * `taskio daemon`: the exit recorder above the daemon (conmon's and containerd's shims' part that
 * outlives the manager, for the exit status only). The daemon is the parent and child subreaper
 * of its tasks; when it dies its children — runc's container init, a host task, the runsc sandbox,
 * the output keepers — are re-parented to the nearest subreaper above it, and their exit status
 * goes there. This process is that subreaper: it starts the real daemon as its child (the same
 * command, marked by {@link exitRecorderEnv}), passes SIGTERM/SIGINT/SIGHUP on to it, and reaps
 * whatever is re-parented to it, writing each exit to `<root>/exits` for the next daemon
 * (`ExitRecords`). It exits once it has no child left — the daemon gone and no orphan alive — with
 * the daemon's exit code (128 + n after signal n). It imports only what that takes: it starts
 * with every daemon, and waits beside it for as long as the daemon runs.
 */
export function runExitRecorder(root: string): void {
  const monitor = new Monitor({ retain: 16 });
  // Subreaper before the daemon starts: nothing it starts may be re-parented past this process.
  const exits = monitor.subscribe();
  const daemon = spawn(process.execPath, [...process.execArgv, '--', ...process.argv.slice(1)], {
    // Its own session, as the daemon had as the client's child: a terminal's ^C reaches it through this process only.
    detached: true, stdio: 'inherit', env: { ...process.env, [exitRecorderEnv]: String(process.pid) },
  });
  const daemonStart = daemon.pid === undefined ? undefined : startTimeOf(daemon.pid) ?? undefined;
  // As the daemon does (it got them too, and closes and logs them): whatever started this process
  // may have left pipes open in it, which it would hold as long as it lives.
  closeInheritedFds();
  let daemonStatus: number | null = null;
  const forward = (signal: NodeJS.Signals): void => { daemon.kill(signal); };
  for (const s of forwarded) process.on(s, forward);

  const done = (): void => {
    if (daemonStatus === null) return;
    const children = listChildren();
    if (children === null || children.length > 0) return;
    process.exit(daemonStatus);
  };
  exits.on('exit', (exit: Exit) => {
    if (exit.pid === daemon.pid && exit.startTime === daemonStart) return; // the daemon: its status is the 'exit' below
    record(root, exit);
    done();
  });
  const daemonEnded = (status: number): void => {
    if (daemonStatus !== null) return;
    daemonStatus = status;
    // Nothing to pass them on to: a signal now ends this process (its orphans go to init).
    for (const s of forwarded) process.off(s, forward);
    // What is left are orphans, which keep no handle of this process alive: this timer does.
    setInterval(() => { monitor.reapNow(); done(); }, pollMs);
    done();
    // Still here: say why, or a foreground `taskio daemon` stopped by ^C seems to hang.
    const left = listChildren()?.length ?? 0;
    if (left > 0) log(30, { status, processes: left }, 'exit recorder: the daemon ended; this process stays until the tasks and keepers it left end, to record their exits (a signal now ends it: their exit status is then unknown)');
  };
  daemon.once('exit', (code, signal) => daemonEnded(statusFromCodeSignal(code, signal)));
  daemon.once('error', (err) => {
    process.stderr.write(`taskio daemon: cannot start the daemon: ${err.message}\n`);
    daemonEnded(127);
  });
}

/** Writes the record of an orphan's exit; one that cannot be written is told in the log (the daemon's), never thrown. */
function record(root: string, exit: Exit): void {
  if (exit.startTime === undefined) return; // gone before it could be named: no record could be told from another's
  try {
    writeRecordedExit(root, { pid: exit.pid, startTime: String(exit.startTime), status: exit.status, exitedAt: exit.timestamp.toISOString() });
  } catch (err) {
    log(50, { exitPid: exit.pid, status: exit.status, err: (err as Error).message }, 'exit recorder: cannot write the exit record');
  }
}

/** A line of the daemon's log (its stderr, which this process shares), which is pino JSON lines: this one reads as one of them. */
function log(level: number, fields: Record<string, unknown>, msg: string): void {
  process.stderr.write(`${JSON.stringify({ level, time: Date.now(), pid: process.pid, ...fields, msg })}\n`);
}
