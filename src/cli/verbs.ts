import { signalName, signalNumber } from '../runtime/oci/signal.js';
import { capabilityName } from '../daemon/capabilities.js';
import { networkMode } from '../daemon/network.js';
import { parseDetachKeys } from './detachKeys.js';
import type { FlagSpec, VerbSpec } from './flags.js';
import { readEnvFile } from './envFile.js';
import { parseEventFilter } from './eventFilter.js';
import { parseInspectFormat } from './format.js';
import { parsePsFilter } from './psFilter.js';
import { parsePruneFilter } from './pruneFilter.js';
import { parsePsFormat } from './psFormat.js';
import { parseStatsFormat } from './statsFormat.js';
import { parseSince } from './since.js';
import { limitChangeFlags, limitFlags } from './limits.js';
import { healthConflicts, healthFlags } from './health.js';
import {
  parseAttachStream, parseEnv, parseHostDir, parseHostFile, parseInspectType, parseInteger, parseLog, parseRuntime, parseStopTimeout, parseTail,
  parseHostname, parseLabel, parseRestartPolicy, parseTaskId, parseUlimit, parseUser, parseWorkdir,
} from './values.js';
import { parseMount, parseTmpfs, parseVolume } from './volumes.js';
import { parseLogDriver, parseLogOpt } from './logDriver.js';
import { parseSecurityOpt } from './securityOpt.js';
import type { Verb, VerbTable } from './verb.js';

/**
 * The verbs of `taskio` — docker's and podman's names, flags and help wording, adapted to tasks —
 * and the dispatch table that plugs each verb's code in. A verb's code is imported only when it
 * runs.
 */

// Flags that several verbs share, defined once.
const detach: FlagSpec = { name: 'detach', short: 'd', kind: 'bool', description: 'Run in the background and print the task ID' };
const interactive: FlagSpec = { name: 'interactive', short: 'i', kind: 'bool', description: 'Keep STDIN open even if not attached' };
const tty: FlagSpec = { name: 'tty', short: 't', kind: 'bool', description: 'Allocate a pseudo-TTY' };
const env: FlagSpec = { name: 'env', short: 'e', kind: 'list', description: 'Set environment variables', parse: parseEnv };
const envFile: FlagSpec = { name: 'env-file', kind: 'list', description: 'Read in a file of environment variables', parse: (file) => readEnvFile(file) };
const workdir: FlagSpec = { name: 'workdir', short: 'w', kind: 'string', description: 'Working directory inside the task', parse: parseWorkdir };
const user: FlagSpec = { name: 'user', short: 'u', kind: 'string', description: 'Username or UID (format: <name|uid>[:<group|gid>])', parse: parseUser };
/** docker's `--sig-proxy` (run, attach): signals go to the task rather than ending this command. */
const sigProxy: FlagSpec = { name: 'sig-proxy', kind: 'bool', description: 'Proxy received signals to the process (non-TTY mode only)', default: 'true' };
const detachKeys: FlagSpec = {
  name: 'detach-keys', kind: 'string', description: 'Override the key sequence for detaching a task (default "ctrl-p,ctrl-q")', parse: parseDetachKeys,
};
const signal = (def: string | undefined, description: string): FlagSpec =>
  ({ name: 'signal', short: 's', kind: 'string', description, default: def, parse: signalNumber });
const noTrunc: FlagSpec = { name: 'no-trunc', kind: 'bool', description: "Don't truncate output" };
const all: FlagSpec = { name: 'all', short: 'a', kind: 'bool', description: 'Show all tasks (default shows just running)' };
const restartPolicyFlag: FlagSpec = {
  name: 'restart', kind: 'string', description: 'Restart policy to apply when a task exits (no, on-failure[:max-retries], always, unless-stopped)', parse: parseRestartPolicy,
};

const stopTime: FlagSpec = {
  name: 'time', short: 't', kind: 'string', valueName: 'int', description: 'Seconds to wait before killing the task (default: its --stop-timeout, else 10)', parse: parseStopTimeout,
};
/** docker's `--format` of `ps` and `stats`: a Go template too (`table {{.ID}}\t{{.Status}}`), checked when the command line is read. */
const format = (parse: (value: string) => unknown): FlagSpec => ({
  name: 'format', kind: 'string', description: 'Format output using "table", "json", "table TEMPLATE" or a Go template', default: 'table', parse,
});
/** docker's `--format` of `inspect` and `info`: `json`, or a Go template over the JSON, taken as typed. */
const jsonOrTemplate: FlagSpec = { name: 'format', short: 'f', kind: 'string', description: 'Format output using "json" or a Go template', parse: parseInspectFormat };

/** docker's cp flags; `-q` is also on when stdout is no terminal, unless given (`-q=false`). */
const cpFlags: FlagSpec[] = [
  { name: 'archive', short: 'a', kind: 'bool', description: 'Archive mode (copy all uid/gid information)' },
  { name: 'follow-link', short: 'L', kind: 'bool', description: 'Always follow symbol link in SRC_PATH' },
  { name: 'quiet', short: 'q', kind: 'bool', description: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached' },
];

/** The flags `run` and `create` share: what the task is (docker's container flags). */
const taskFlags: FlagSpec[] = [
  interactive, tty, env, envFile, workdir, user,
  { name: 'volume', short: 'v', kind: 'list', description: 'Bind mount a host path (HOST-PATH:TASK-PATH[:ro])', parse: parseVolume },
  { name: 'mount', kind: 'list', valueName: 'mount', description: 'Attach a filesystem mount to the task (type=bind or type=tmpfs)', parse: parseMount },
  { name: 'tmpfs', kind: 'list', description: 'Mount a tmpfs directory', parse: parseTmpfs },
  { name: 'hostname', short: 'h', kind: 'string', description: 'Task host name', parse: parseHostname },
  {
    name: 'network', aliases: ['net'], kind: 'string', valueName: 'network', parse: (v) => networkMode(v, 'ERR_INVALID_ARG_VALUE'),
    description: 'Connect the task to a network: none (a network namespace of its own, only a loopback; the default of runsc and runc) or host (the host\'s network; a host task always has it)',
  },
  { name: 'cidfile', kind: 'string', description: 'Write the task ID to the file', parse: parseHostFile },
  {
    name: 'entrypoint', kind: 'string', valueName: 'string',
    description: 'The executable the COMMAND and ARGs are handed to (docker\'s ENTRYPOINT; a task has no image, so "" is none)',
  },
  { name: 'label', short: 'l', kind: 'list', description: 'Set meta data on a task', parse: parseLabel },
  { name: 'init', kind: 'bool', description: 'Run an init inside the task that forwards signals and reaps processes' },
  { name: 'ulimit', kind: 'list', valueName: 'ulimit', description: 'Ulimit options (NAME=SOFT[:HARD], -1: unlimited)', parse: parseUlimit },
  { name: 'cap-add', kind: 'list', description: 'Add Linux capabilities', parse: capabilityName },
  { name: 'cap-drop', kind: 'list', description: 'Drop Linux capabilities', parse: capabilityName },
  { name: 'privileged', kind: 'bool', description: 'Give extended privileges to this task (every capability, no seccomp, no masked paths; runc: the host\'s devices)' },
  {
    name: 'security-opt', kind: 'list', parse: parseSecurityOpt,
    description: 'Security Options: no-new-privileges[=true|false], seccomp=unconfined|builtin|PROFILE.json (docker\'s format), systempaths=unconfined, apparmor=unconfined, label=disable',
  },
  { name: 'read-only', kind: 'bool', description: "Mount the task's root filesystem as read only" },
  { ...restartPolicyFlag, default: 'no' },
  { name: 'stop-signal', kind: 'string', description: 'Signal to stop the task (default "SIGTERM")', parse: (v) => signalName(signalNumber(v)) },
  { name: 'stop-timeout', kind: 'string', valueName: 'int', description: 'Timeout (in seconds) to stop a task (default 10)', parse: parseStopTimeout },
  { name: 'rm', kind: 'bool', description: 'Automatically remove the task when it exits' },
  { name: 'name', kind: 'string', description: 'Assign a name (the task ID) to the task', parse: parseTaskId },
  { name: 'runtime', kind: 'string', description: 'Runtime to use for this task: runsc, runc or host', parse: parseRuntime },
  { name: 'rootfs', kind: 'string', description: 'Root filesystem directory (default: the embedded busybox)', parse: parseHostDir },
  { name: 'bundle', kind: 'string', description: 'OCI bundle directory to run instead of a root filesystem', parse: parseHostDir },
  { name: 'log', kind: 'string', description: 'Log URI (file:///path?…, binary:///path?…) or "none" for FIFO mode', parse: parseLog },
  {
    name: 'log-driver', kind: 'string', parse: parseLogDriver,
    description: 'Logging driver for the task: k8s-file (the default log: CRI lines, raw bytes with -t), json-file (an alias of k8s-file, as in podman), none (FIFO mode, as --log none)',
  },
  {
    name: 'log-opt', kind: 'list', parse: parseLogOpt,
    description: 'Log driver options: max-size=SIZE (rotate past SIZE; k, m, g count 1000s, as docker), max-file=N (files kept, with max-size; default 1), path=/abs/file (the log there, not in the task directory)',
  },
  ...limitFlags,
  ...healthFlags,
];

/** The flags of {@link taskFlags} that cannot be given together: `--log URI` says all `--log-driver`/`--log-opt` would. */
const taskConflicts: Array<[string, string]> = [['rootfs', 'bundle'], ['log', 'log-driver'], ['log', 'log-opt'], ...healthConflicts];

/** The command line of every verb. */
export const specs: readonly VerbSpec[] = [
  {
    name: 'run',
    usage: '[OPTIONS] [--] COMMAND [ARG...]',
    summary: 'Create and run a new task from a command',
    interspersed: false,
    operands: { min: 1, unlessGiven: 'entrypoint' },
    conflicts: taskConflicts,
    flags: [detach, ...taskFlags, detachKeys, sigProxy,
      { name: 'attach', short: 'a', kind: 'list', description: 'Attach to STDIN, STDOUT or STDERR', parse: parseAttachStream }],
  },
  {
    name: 'create',
    usage: '[OPTIONS] [--] COMMAND [ARG...]',
    summary: 'Create a new task (start runs it)',
    interspersed: false,
    operands: { min: 1, unlessGiven: 'entrypoint' },
    conflicts: taskConflicts,
    flags: taskFlags,
  },
  {
    name: 'attach',
    usage: '[OPTIONS] TASK',
    summary: 'Attach local standard input, output, and error streams to a running task',
    operands: { min: 1, max: 1 },
    flags: [
      detachKeys, sigProxy,
      { name: 'no-stdin', kind: 'bool', description: 'Do not attach STDIN' },
      { name: 'logs', kind: 'bool', description: 'Replay the log before the live output (log-mode tasks)' },
    ],
  },
  {
    name: 'logs',
    usage: '[OPTIONS] TASK',
    summary: 'Fetch the logs of a task',
    operands: { min: 1, max: 1 },
    flags: [
      { name: 'details', kind: 'bool', description: 'Show extra details provided to logs' },
      { name: 'follow', short: 'f', kind: 'bool', description: 'Follow log output' },
      {
        name: 'since', kind: 'string', description: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
        parse: (v) => parseSince(v),
      },
      { name: 'tail', short: 'n', kind: 'string', description: 'Number of lines to show from the end of the logs', default: 'all', parse: parseTail },
      { name: 'timestamps', short: 't', kind: 'bool', description: 'Show timestamps' },
      {
        name: 'until', kind: 'string', description: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
        parse: (v) => parseSince(v),
      },
    ],
  },
  {
    name: 'exec',
    usage: '[OPTIONS] TASK COMMAND [ARG...]',
    summary: 'Execute a command in a running task',
    interspersed: false,
    operands: { min: 2 },
    flags: [detach, interactive, tty, env, envFile, workdir, user, detachKeys],
  },
  {
    name: 'cp',
    usage: '[OPTIONS] TASK:SRC_PATH DEST_PATH|-\n\ttaskio cp [OPTIONS] SRC_PATH|- TASK:DEST_PATH',
    summary: 'Copy files/folders between a running task and the local filesystem',
    operands: { min: 2, max: 2 },
    flags: cpFlags,
  },
  {
    name: 'ps',
    usage: '[OPTIONS]',
    summary: 'List tasks',
    operands: { min: 0, max: 0 },
    flags: [
      all,
      { name: 'filter', short: 'f', kind: 'list', description: 'Filter output based on conditions provided (id, name, label, status, exited, health, runtime)', valueName: 'filter', parse: parsePsFilter },
      { name: 'quiet', short: 'q', kind: 'bool', description: 'Only display task IDs' },
      { name: 'last', short: 'n', kind: 'string', valueName: 'int', description: 'Show n last created tasks (includes all states)', default: '-1', parse: parseInteger },
      { name: 'latest', short: 'l', kind: 'bool', description: 'Show the latest created task (includes all states)' },
      format(parsePsFormat), noTrunc,
    ],
  },
  {
    name: 'inspect',
    usage: '[OPTIONS] TASK [TASK...]',
    summary: 'Return low-level information on tasks',
    operands: { min: 1 },
    flags: [jsonOrTemplate, { name: 'type', kind: 'string', description: 'Return JSON for specified type (container: a task, the only type taskio has)', parse: parseInspectType }],
  },
  {
    name: 'top',
    usage: 'TASK [ps OPTIONS]',
    summary: 'Display the running processes of a task (ps OPTIONS: runc and host tasks)',
    interspersed: false,
    operands: { min: 1 },
    flags: [],
  },
  {
    name: 'stats',
    usage: '[OPTIONS] [TASK...]',
    summary: 'Display a live stream of task(s) resource usage statistics',
    operands: { min: 0 },
    flags: [
      all,
      { name: 'no-stream', kind: 'bool', description: 'Disable streaming stats and only pull the first result' },
      format(parseStatsFormat), noTrunc,
    ],
  },
  {
    name: 'kill',
    usage: '[OPTIONS] TASK [TASK...]',
    summary: 'Kill one or more running tasks',
    operands: { min: 1 },
    flags: [signal('KILL', 'Signal to send to the task')],
  },
  {
    name: 'stop',
    usage: '[OPTIONS] TASK [TASK...]',
    summary: 'Stop one or more running tasks',
    operands: { min: 1 },
    flags: [
      signal(undefined, 'Signal to send to the task (default: its --stop-signal, else "TERM")'),
      stopTime,
    ],
  },
  {
    name: 'start', usage: '[OPTIONS] TASK [TASK...]', summary: 'Start one or more stopped tasks', operands: { min: 1 },
    flags: [
      { name: 'attach', short: 'a', kind: 'bool', description: "Attach STDOUT/STDERR and forward signals" },
      { name: 'interactive', short: 'i', kind: 'bool', description: "Attach task's STDIN" },
      detachKeys,
    ],
  },
  { name: 'restart', usage: '[OPTIONS] TASK [TASK...]', summary: 'Restart one or more tasks', operands: { min: 1 }, flags: [stopTime] },
  { name: 'update', usage: '[OPTIONS] TASK [TASK...]', summary: 'Update configuration of one or more tasks', operands: { min: 1 }, flags: [...limitChangeFlags, restartPolicyFlag] },
  {
    name: 'events',
    usage: '[OPTIONS]',
    summary: 'Get real time events from the daemon',
    operands: { min: 0, max: 0 },
    flags: [
      { name: 'filter', short: 'f', kind: 'list', valueName: 'filter', description: 'Filter output based on conditions provided (task, container, event, label)', parse: parseEventFilter },
      { name: 'format', kind: 'string', description: 'Format output using "json" or a Go template', parse: parseInspectFormat },
      { name: 'since', kind: 'string', description: 'Show all events created since timestamp (the daemon keeps the last 256)', parse: (v) => parseSince(v) },
      { name: 'until', kind: 'string', description: 'Stream events until this timestamp', parse: (v) => parseSince(v) },
    ],
  },
  { name: 'wait', usage: 'TASK [TASK...]', summary: 'Block until one or more tasks stop, then print their exit codes', operands: { min: 1 }, flags: [] },
  {
    name: 'rm',
    usage: '[OPTIONS] TASK [TASK...]',
    summary: 'Remove one or more tasks',
    operands: { min: 1 },
    flags: [
      { name: 'force', short: 'f', kind: 'bool', description: 'Force the removal of a running task (uses SIGKILL)' },
      // docker's `rm -v` (`rm -fv` in many scripts): taskio makes no anonymous volume, and bind mounts stay as with docker.
      { name: 'volumes', short: 'v', kind: 'bool', description: 'Remove anonymous volumes associated with the task (taskio makes none: -v and --mount bind host paths, which stay, as docker\'s)' },
    ],
  },
  {
    name: 'prune',
    usage: '[OPTIONS]',
    summary: 'Remove all stopped tasks',
    operands: { min: 0, max: 0 },
    flags: [
      { name: 'filter', kind: 'list', valueName: 'filter', description: 'Provide filter values (e.g. "until=<timestamp>", "label=KEY")', parse: parsePruneFilter },
      { name: 'force', short: 'f', kind: 'bool', description: 'Do not prompt for confirmation' },
    ],
  },
  { name: 'pause', usage: 'TASK [TASK...]', summary: 'Pause all processes within one or more tasks', operands: { min: 1 }, flags: [] },
  { name: 'unpause', usage: 'TASK [TASK...]', summary: 'Unpause all processes within one or more tasks', operands: { min: 1 }, flags: [] },
  {
    name: 'daemon',
    usage: '[OPTIONS]',
    summary: 'Run the taskio daemon in the foreground',
    operands: { min: 0, max: 0 },
    flags: [{ name: 'root', kind: 'string', description: 'State root (default /run/taskio, or $XDG_RUNTIME_DIR/taskio when not root)', parse: parseHostDir }],
  },
  {
    name: 'info',
    usage: '[OPTIONS]',
    summary: 'Display system-wide information',
    operands: { min: 0, max: 0 },
    flags: [jsonOrTemplate],
  },
  { name: 'version', usage: '', summary: 'Show the taskio version information', operands: { min: 0, max: 0 }, flags: [] },
  { name: 'help', usage: '[COMMAND]', summary: 'Help about the command', operands: { min: 0, max: 1 }, flags: [] },
];

/** Where each verb's code is: the plug-in point of the dispatch table (one line per verb). */
const code: Record<string, Verb['load']> = {
  version: async () => (await import('./version.js')).version,
  info: async () => (await import('./info.js')).info,
  help: async () => (await import('./command.js')).help,
  daemon: async () => (await import('./daemonVerb.js')).daemon,
  run: async () => (await import('./run.js')).run,
  attach: async () => (await import('./attach.js')).attach,
  exec: async () => (await import('./exec.js')).exec,
  cp: async () => (await import('./cp.js')).cp,
  wait: async () => (await import('./wait.js')).wait,
  logs: async () => (await import('./logs.js')).logs,
  ps: async () => (await import('./ps.js')).ps,
  inspect: async () => (await import('./inspect.js')).inspect,
  top: async () => (await import('./top.js')).top,
  stats: async () => (await import('./stats.js')).stats,
  kill: async () => (await import('./control.js')).kill,
  stop: async () => (await import('./control.js')).stop,
  rm: async () => (await import('./control.js')).rm,
  pause: async () => (await import('./control.js')).pause,
  start: async () => (await import('./control.js')).start,
  events: async () => (await import('./events.js')).events,
  restart: async () => (await import('./control.js')).restart,
  update: async () => (await import('./control.js')).update,
  create: async () => (await import('./run.js')).create,
  prune: async () => (await import('./prune.js')).prune,
  unpause: async () => (await import('./control.js')).unpause,
};

/** The dispatch table: every verb of {@link specs} with its code. */
export const verbs: VerbTable = Object.fromEntries(specs.map((spec) => {
  const load = code[spec.name];
  if (!load) throw new Error(`verb ${spec.name} has no code`); // a programming error, found by any test that loads the table
  return [spec.name, { spec, load }];
}));
