import type { TaskView } from '../daemon/task.js';
import { initPath } from '../daemon/taskInit.js';
import type { Json } from './template.js';

/** Go's zero `time.Time` as docker prints a time that never was (`StartedAt` of a created container). */
export const dockerZeroTime = '0001-01-01T00:00:00Z';

/**
 * The exit code docker shows when the status could not be had: containerd's `UnknownExitStatus`,
 * which docker takes over for a container whose task went while no daemon watched (taskio's
 * `exitCode: null`: an adopted task's exit).
 */
export const unknownExitCode = 255;

/** docker's `State.Status` of each of taskio's statuses (`deleted`: being removed). */
const dockerStatus: Record<TaskView['status'], string> = {
  created: 'created', running: 'running', paused: 'paused', restarting: 'restarting', exited: 'exited', dead: 'dead', deleted: 'removing',
};

type JsonObject = { [key: string]: Json };

/** The command without the `--init` prefix (`/sbin/taskio-init --`): docker's `Path`, `Args` and `Cmd` are the user's command. */
function commandOf(v: TaskView): string[] {
  return v.init && v.args[0] === initPath && v.args[1] === '--' ? v.args.slice(2) : v.args;
}

function stateOf(v: TaskView): JsonObject {
  const live = v.status === 'running' || v.status === 'paused';
  return {
    Status: dockerStatus[v.status],
    // docker's: a paused container is running too, and so is one waiting for its restart (moby's SetRestarting).
    Running: live || v.status === 'restarting',
    Paused: v.status === 'paused',
    Restarting: v.status === 'restarting',
    // false until an exit that had one (and again once a new run started, as docker's SetRunning).
    OOMKilled: v.exit?.oomKilled ?? false,
    Dead: v.status === 'dead',
    Pid: live ? v.pid : 0,
    // 0 until an exit (and again once a new run started, as docker's SetRunning).
    ExitCode: v.exit ? v.exit.exitCode ?? unknownExitCode : 0,
    Error: v.exit?.reason ?? v.reason ?? '',
    StartedAt: v.started ?? dockerZeroTime,
    // The previous run's end while a run started again goes on, as docker's (SetRunning leaves it).
    FinishedAt: v.finished ?? dockerZeroTime,
    // null, not left out, where docker's is a nil pointer: `{{if .State.Health}}` works as with docker.
    Health: v.health && {
      Status: v.health.status, FailingStreak: v.health.failingStreak,
      Log: v.health.log.map((r) => ({ Start: r.start, End: r.end, ExitCode: r.exitCode, Output: r.output })),
    },
  };
}

function hostConfigOf(v: TaskView): JsonObject {
  return {
    NetworkMode: v.network,
    RestartPolicy: { Name: v.restartPolicy.name, MaximumRetryCount: v.restartPolicy.maximumRetryCount ?? 0 },
    AutoRemove: v.autoRemove,
    Privileged: v.privileged,
    SecurityOpt: v.securityOpt.length > 0 ? v.securityOpt : null,
    // docker's zero values: no limit.
    Memory: v.limits?.memory ?? 0,
    NanoCpus: Math.round((v.limits?.cpus ?? 0) * 1e9),
    PidsLimit: v.limits?.pids ?? null,
    CpusetCpus: v.limits?.cpusetCpus ?? '',
    CpuShares: v.limits?.cpuShares ?? 0,
    MemoryReservation: v.limits?.memoryReservation ?? 0,
    MemorySwap: v.limits?.memorySwap ?? 0,
    Ulimits: v.ulimits.length > 0 ? v.ulimits.map((u) => ({ Name: u.name, Hard: u.hard, Soft: u.soft })) : null,
    Init: v.init,
  };
}

function configOf(v: TaskView): JsonObject {
  const h = v.healthcheck;
  return {
    // A host task has the host's hostname, which the task's record does not hold.
    ...(v.hostname !== null ? { Hostname: v.hostname } : {}),
    // "": the default user (the daemon's own for a host task), as docker's for the image's.
    User: v.user ? `${v.user.uid}:${v.user.gid}` : '',
    Tty: v.terminal,
    OpenStdin: v.stdin,
    Cmd: commandOf(v),
    Image: v.image,
    WorkingDir: v.cwd,
    Labels: v.labels,
    StopSignal: v.stopSignal,
    StopTimeout: v.stopTimeout,
    // docker's HealthConfig leaves out the durations and retries not given (omitempty).
    Healthcheck: h && {
      Test: h.test,
      ...(h.interval !== undefined ? { Interval: h.interval } : {}),
      ...(h.timeout !== undefined ? { Timeout: h.timeout } : {}),
      ...(h.startPeriod !== undefined ? { StartPeriod: h.startPeriod } : {}),
      ...(h.startInterval !== undefined ? { StartInterval: h.startInterval } : {}),
      ...(h.retries !== undefined ? { Retries: h.retries } : {}),
    },
  };
}

/**
 * docker's top-level `inspect` fields of task `v` (moby's `ContainerJSON`), those taskio can fill
 * truthfully, so that `-f '{{.State.ExitCode}}'` and `jq '.[0].State.Pid'` work as with docker. A
 * task's id is both its `Id` and its `Name`. Left out, as taskio has none of them: `Image` (an image
 * id), `ResolvConfPath`, `HostnamePath`, `HostsPath`, `Driver`, `GraphDriver`, `NetworkSettings`,
 * `Config.Env` and `Config.Entrypoint` (not kept apart from the command), `HostConfig.CapAdd`/
 * `CapDrop` (only the resulting set is kept), `HostConfig.ReadonlyRootfs`, `Binds`, `Tmpfs`,
 * `LogConfig`. `State.OOMKilled` is the exit's `oomKilled`.
 */
export function dockerInspect(v: TaskView): JsonObject {
  const [path = '', ...args] = commandOf(v);
  return {
    Id: v.id,
    Created: v.created,
    Path: path,
    Args: args,
    State: stateOf(v),
    LogPath: v.logPath ?? '',
    Name: `/${v.id}`,
    RestartCount: v.restartCount,
    ExecIDs: v.execs.length > 0 ? v.execs : null,
    HostConfig: hostConfigOf(v),
    Mounts: v.mounts.map((m) => ({
      Type: m.type, Source: m.source ?? '', Destination: m.target, Mode: '', RW: m.readonly !== true,
      Propagation: m.type === 'bind' ? m.propagation ?? 'rprivate' : '',
    })),
    Config: configOf(v),
  };
}

/** Task `v` as `taskio inspect` prints it: taskio's own fields as the daemon gives them, docker's ({@link dockerInspect}) after them. */
export function inspectView(v: TaskView): JsonObject {
  return { ...(v as unknown as JsonObject), ...dockerInspect(v) };
}
