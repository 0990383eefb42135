/**
 * docker's `--privileged` and `--security-opt` on `run` and `create`, end to end: the real command,
 * a real daemon, real runc and runsc tasks probing what they may do — capabilities, mounts, the
 * host's devices, masked paths, the seccomp filter (taskio's default one on runc, a profile in
 * docker's format, none), no_new_privs — and what `inspect` and a later daemon see; every bad
 * option is one line and 125, and nothing is made.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import type { DaemonClient } from '../../src/daemon/index.js';
import { allCapabilities, defaultCapabilities, ownCapabilities, unknownToRunsc } from '../../src/daemon/capabilities.js';
import { tmpDir } from '../helpers/common.js';
import { client, daemonPid, daemonRoot, taskDirs, treeOf, waitGone } from '../daemon/helpers.js';
import { refusedLine } from './inProcess.js';
import { taskio } from './taskioCommand.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());
const dir = tmpDir(t, 'taskio-security-');

/** What a task may do, one line each: its status lines, a tmpfs mount, the device nodes it has, a masked file, how /sys is mounted. */
const probe = [
  "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status",
  'mkdir -p /tmp/m && mount -t tmpfs none /tmp/m 2>/dev/null && echo mount-ok',
  'for d in fuse net/tun loop-control; do test -c /dev/$d && echo dev-$d; done',
  'head -1 /proc/timer_list 2>/dev/null',
  "grep -E ' /sys sysfs ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1",
].join('; ');

interface Probed { caps: readonly string[]; noNewPrivs: string | undefined; seccomp: string | undefined; mounted: boolean; devices: string[]; timerList: boolean; sys: string }

function probed(out: string): Probed {
  const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)$`, 'm').exec(out)?.[1];
  return {
    caps: ownCapabilities(`CapBnd:\t${field('CapEff') ?? '0'}\n`),
    noNewPrivs: field('NoNewPrivs'), seccomp: field('Seccomp'),
    mounted: out.includes('mount-ok\n'),
    devices: [...out.matchAll(/^dev-(\S+)$/gm)].map((m) => m[1]!),
    timerList: out.includes('Timer List Version'),
    sys: /^(ro|rw)$/m.exec(out)?.[1] ?? '?',
  };
}

/** `taskio run --rm ARGS -- sh -c probe`: what the task found. */
async function runProbe(t: Test, ...args: string[]): Promise<Probed> {
  const r = await taskio(t, root, 'run', '--rm', ...args, '--', 'sh', '-c', probe);
  t.equal(r.code, 0, `${args.join(' ')}: ran`);
  return probed(r.stdout);
}

const byNumber = (caps: readonly string[]) => [...caps].sort((a, b) => allCapabilities.indexOf(a as never) - allCapabilities.indexOf(b as never));
/** The devices a privileged runc task gets: the host's (this machine kind has all three). */
const hostDevices = ['fuse', 'net/tun', 'loop-control'].filter((d) => fs.existsSync(`/dev/${d}`));
const hostTimerList = fs.existsSync('/proc/timer_list'); // masked by default: /proc/kcore is, but this kernel has none

t.test('runc --privileged: every capability of the daemon\'s, no seccomp, no masked paths, /sys writable, the host\'s devices; --cap-drop does not apply (docker\'s rule)', { timeout: 60_000 }, async (t) => {
  const plain = await runProbe(t, '--runtime', 'runc');
  t.same(plain.caps, byNumber(defaultCapabilities), 'docker\'s default set');
  t.same([plain.seccomp, plain.noNewPrivs], ['2', '1'], 'taskio\'s default seccomp filter, no_new_privs');
  t.same([plain.mounted, plain.devices, plain.timerList, plain.sys], [false, [], false, 'ro'], 'no mount, no host device, /proc/timer_list masked, /sys read-only');

  const priv = await runProbe(t, '--runtime', 'runc', '--privileged');
  t.same(priv.caps, ownCapabilities(), 'every capability the daemon holds');
  t.same([priv.seccomp, priv.noNewPrivs], ['0', '1'], 'no seccomp filter; no_new_privs stays (taskio\'s default, as docker keeps its own)');
  t.same([priv.mounted, priv.devices, priv.timerList, priv.sys], [true, hostDevices, hostTimerList, 'rw'], 'mounts, the host\'s devices, nothing masked, /sys writable');

  const dropped = await runProbe(t, '--runtime', 'runc', '--privileged', '--cap-drop', 'ALL', '--cap-add', 'KILL');
  t.same(dropped.caps, ownCapabilities(), 'docker ignores --cap-add and --cap-drop beside --privileged');

  const created = await taskio(t, root, 'create', '--name', 'priv-created', '--runtime', 'runc', '--privileged', '--security-opt', 'no-new-privileges=false', '--', 'sh', '-c', probe);
  t.equal(created.code, 0, created.stderr);
  t.match(JSON.parse((await taskio(t, root, 'inspect', 'priv-created')).stdout), [{ privileged: true, securityOpt: ['no-new-privileges=false'], capabilities: ownCapabilities() }], 'inspect');
  const started = await taskio(t, root, 'start', '-a', 'priv-created');
  const p = probed(started.stdout);
  t.same([started.code, p.caps, p.noNewPrivs, p.mounted], [0, ownCapabilities(), '0', true], 'create takes the flags too');
});

t.test('runc --security-opt: a profile in docker\'s format (exec too), no-new-privileges=false, seccomp=unconfined, systempaths=unconfined, the no-op LSM options', { timeout: 60_000 }, async (t) => {
  const profile = path.join(dir, 'no-mkdir.json');
  fs.writeFileSync(profile, JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }],
    syscalls: [
      { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', comment: 'the test\'s' },
      { name: 'symlink', action: 'SCMP_ACT_ERRNO', errnoRet: 13, includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['symlinkat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, includes: { caps: ['CAP_SYS_ADMIN'] } },
    ],
  }, null, 2));
  const id = 'no-mkdir';
  const d = await taskio(t, root, 'run', '-d', '--name', id, '--runtime', 'runc', '--security-opt', `seccomp=${profile}`, '--', 'sh', '-c', 'mkdir /tmp/x; sleep 600');
  t.equal(d.code, 0, d.stderr);
  const exec = await taskio(t, root, 'exec', id, 'sh', '-c', 'grep Seccomp: /proc/self/status; ln -s a /tmp/link && echo linked; mkdir /tmp/y');
  t.same([exec.code, exec.stdout, exec.stderr], [1, 'Seccomp:\t2\nlinked\n', "mkdir: can't create directory '/tmp/y': Operation not permitted\n"],
    'exec\'d processes are filtered too (mkdir: EPERM); the rule that needs CAP_SYS_ADMIN is not in the filter of a task without it');
  const admin = await taskio(t, root, 'run', '--rm', '--runtime', 'runc', '--cap-add', 'SYS_ADMIN', '--security-opt', `seccomp=${profile}`, '--', 'ln', '-s', 'a', '/tmp/link');
  t.same([admin.code, admin.stderr], [1, "ln: /tmp/link: Permission denied\n"], 'with CAP_SYS_ADMIN it is: errnoRet 13 (EACCES)');
  t.equal((await taskio(t, root, 'logs', id)).stderr, "mkdir: can't create directory '/tmp/x': Operation not permitted\n", 'the task\'s own mkdir too');
  const view = JSON.parse((await taskio(t, root, 'inspect', id)).stdout)[0];
  t.equal(view.securityOpt.length, 1);
  t.same(JSON.parse(view.securityOpt[0].slice('seccomp='.length)).syscalls[0].names, ['mkdir', 'mkdirat'], 'inspect: the profile sent as its JSON, as docker keeps it');
  t.equal(view.privileged, false);
  await c.remove(id, { force: true });

  const loose = await runProbe(t, '--runtime', 'runc', '--security-opt', 'no-new-privileges=false', '--security-opt', 'seccomp=unconfined', '--security-opt', 'systempaths=unconfined');
  t.same([loose.noNewPrivs, loose.seccomp, loose.timerList, loose.mounted], ['0', '0', hostTimerList, false], 'no no_new_privs, no filter, nothing masked; still no CAP_SYS_ADMIN');
  const noOps = await runProbe(t, '--runtime', 'runc', '--security-opt', 'no-new-privileges:true', '--security-opt', 'apparmor=unconfined', '--security-opt', 'label=disable');
  t.same([noOps.noNewPrivs, noOps.seccomp], ['1', '2'], 'apparmor=unconfined and label=disable change nothing here; the old `:` form is read');

  // taskio's default profile: no user namespace without CAP_SYS_ADMIN; unconfined (or with the capability) there is one.
  const userns = 'unshare -U true 2>&1; echo "code $?"';
  const asked = async (...args: string[]) => (await taskio(t, root, 'run', '--rm', '--runtime', 'runc', ...args, '--', 'sh', '-c', userns)).stdout;
  t.equal(await asked(), 'unshare: unshare(0x10000000): Operation not permitted\ncode 1\n', 'the default profile refuses a user namespace');
  t.equal(await asked('--security-opt', 'seccomp=builtin'), 'unshare: unshare(0x10000000): Operation not permitted\ncode 1\n', 'seccomp=builtin is that profile');
  t.equal(await asked('--security-opt', 'seccomp=unconfined'), 'code 0\n');
  t.equal(await asked('--cap-add', 'SYS_ADMIN'), 'code 0\n', 'a task with CAP_SYS_ADMIN may make one');
});

t.test('runsc: --privileged is every capability the sandbox knows and mounts inside it; no host device passes in; a profile filters the task (not what exec starts)', { timeout: 60_000 }, async (t) => {
  const plain = await runProbe(t, '--runtime', 'runsc');
  t.same([plain.mounted, plain.seccomp], [false, '0'], 'no mount; gVisor is the sandbox, no filter in it');
  const priv = await runProbe(t, '--runtime', 'runsc', '--privileged');
  // runsc leaves NET_RAW out unless its --net-raw flag is given.
  t.same(priv.caps, ownCapabilities().filter((x) => !unknownToRunsc.includes(x) && x !== 'CAP_NET_RAW'), 'every capability the daemon holds that runsc knows');
  t.equal(priv.mounted, true, 'a tmpfs mounted inside the sandbox');
  t.same(priv.devices, ['fuse', 'net/tun'], 'the sentry\'s own /dev/fuse and /dev/net/tun, no loop device of the host\'s');
  t.equal(priv.sys, 'rw');
  const unconfined = await runProbe(t, '--runtime', 'runsc', '--security-opt', 'seccomp=unconfined', '--security-opt', 'no-new-privileges', '--security-opt', 'seccomp=builtin');
  t.equal(unconfined.seccomp, '0', 'unconfined and builtin: gVisor\'s own, no filter in the sandbox');

  // Refused before: runsc applies a filter only with --oci-seccomp, which taskio now gives it.
  const profile = path.join(dir, 'runsc-no-mkdir.json');
  fs.writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
  const probeMkdir = 'grep Seccomp: /proc/self/status; mkdir /tmp/x && echo made';
  const filtered = await taskio(t, root, 'run', '--rm', '--runtime', 'runsc', '--security-opt', `seccomp=${profile}`, '--', 'sh', '-c', `${probeMkdir}; sh -c 'mkdir /tmp/y'`);
  t.same([filtered.code, filtered.stdout, filtered.stderr], [1, 'Seccomp:\t2\n', "mkdir: can't create directory '/tmp/x': Operation not permitted\nmkdir: can't create directory '/tmp/y': Operation not permitted\n"],
    'the profile filters the task and what it starts: mkdir EPERM');
  const id = 'runsc-profile';
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  t.equal((await taskio(t, root, 'run', '-d', '--name', id, '--runtime', 'runsc', '--security-opt', `seccomp=${profile}`, '--', 'sleep', '600')).code, 0);
  const exec = await taskio(t, root, 'exec', id, 'sh', '-c', probeMkdir);
  t.same([exec.code, exec.stdout], [0, 'Seccomp:\t0\nmade\n'], 'runsc 2022-12 does not filter a process exec starts (the README says so)');
});

t.test('a task\'s privileges and options outlive its daemon: the next one shows them, and a start runs it as before', { timeout: 60_000 }, async (t) => {
  const id = 'priv-adopted';
  const d = await taskio(t, root, 'run', '-d', '--name', id, '--runtime', 'runc', '--privileged', '--security-opt', 'no-new-privileges=false', '--', 'sh', '-c', probe);
  t.equal(d.code, 0, d.stderr);
  await c.wait(id);
  const first = daemonPid(root);
  process.kill(first, 'SIGKILL');
  await waitGone(first);
  const view = JSON.parse((await taskio(t, root, 'inspect', id)).stdout)[0];
  t.not(daemonPid(root), first, 'a new daemon');
  t.match(view, { privileged: true, securityOpt: ['no-new-privileges=false'], capabilities: ownCapabilities() });
  const again = await taskio(t, root, 'start', '-a', id);
  const p = probed(again.stdout);
  t.same([again.code, p.caps, p.noNewPrivs, p.seccomp, p.mounted], [0, ownCapabilities(), '0', '0', true], 'started again by the new daemon: privileged as before');
});

t.test('a bad option or profile, or one the runtime cannot apply: one line naming it, exit 125, nothing made', { timeout: 60_000 }, async (t) => {
  const profile = (name: string, body: unknown) => {
    const file = path.join(dir, `${name}.json`);
    fs.writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
    return file;
  };
  const flag = (opt: string, why: string) => `taskio run: invalid argument "${opt}" for "--security-opt" flag: ${why}. See 'taskio run --help'.\n`;
  const supported = 'no-new-privileges[=true|false], seccomp=unconfined|builtin|PROFILE.json, systempaths=unconfined, apparmor=unconfined, label=disable';
  const allow = { defaultAction: 'SCMP_ACT_ALLOW' };
  const cases: Array<[string[], string]> = [
    ...['foo', 'systempaths=confined', 'unmask=ALL', 'disable'].map((o): [string[], string] => [['--security-opt', o], flag(o, `security option "${o}" is not supported (supported: ${supported})`)]),
    [['--security-opt', 'seccomp'], flag('seccomp', 'security option "seccomp": give seccomp=unconfined, seccomp=builtin or a profile\'s JSON (taskio run reads a profile file)')],
    [['--security-opt', 'no-new-privileges=yes'], flag('no-new-privileges=yes', 'security option "no-new-privileges=yes": no-new-privileges takes true or false')],
    [['--security-opt', 'apparmor=docker-default'], flag('apparmor=docker-default', 'security option "apparmor=docker-default": this host has no AppArmor, so a task has no profile: only apparmor=unconfined is taken')],
    [['--security-opt', 'label=type:spc_t'], flag('label=type:spc_t', 'security option "label=type:spc_t": this host has no SELinux, so a task has no label: only label=disable is taken')],
    [['--security-opt', `seccomp=${dir}/none.json`], flag(`seccomp=${dir}/none.json`, `ENOENT: no such file or directory, open '${dir}/none.json'`)],
    [['--security-opt', `seccomp=${dir}`], flag(`seccomp=${dir}`, `seccomp profile ${dir} is not a regular file`)],
    [['--security-opt', `seccomp=${profile('text', 'not json')}`], flag(`seccomp=${dir}/text.json`, `seccomp profile ${dir}/text.json is not JSON (Unexpected token 'o', "not json" is not valid JSON)`)],
    ...[
      // What runc 1.1 cannot apply (the profile checks one by one: test/daemon/seccomp.test.ts).
      ['flags', { ...allow, flags: ['SECCOMP_FILTER_FLAG_LOG'] }, 'seccomp profile: flags SECCOMP_FILTER_FLAG_LOG: runc 1.1 applies no seccomp flags'],
      ['notify', { ...allow, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, 'seccomp profile\'s syscalls[0]: action SCMP_ACT_NOTIFY needs a seccomp agent, which taskio does not run'],
      ['typo', { ...allow, sycalls: [] }, 'unknown field "sycalls" in the seccomp profile (known: defaultAction, defaultErrnoRet, architectures, archMap, syscalls, flags, listenerPath, listenerMetadata)'],
    ].map(([name, body, why]): [string[], string] => {
      const file = profile(name as string, body);
      return [['--runtime', 'runc', '--security-opt', `seccomp=${file}`], flag(`seccomp=${file}`, `${file}: ${why as string}`)];
    }),
    // Refused by the daemon, before anything is made.
    [['--runtime', 'runsc', '--security-opt', `seccomp=${profile('eacces', { ...allow, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] })}`], 'taskio run: the seccomp profile: syscalls mkdir: errnoRet 13: runsc (2022-12) answers EPERM to every SCMP_ACT_ERRNO, whatever errno the filter names (runtime runc applies it; --security-opt seccomp=unconfined leaves it out)\n'],
    [['--runtime', 'runsc', '--security-opt', 'no-new-privileges=false'], 'taskio run: no-new-privileges=false needs runtime runc: gVisor always runs a task with no_new_privs set\n'],
    [['--runtime', 'host', '--privileged'], 'taskio run: --privileged needs runtime runsc or runc: a host task runs with the daemon\'s privileges, unconfined\n'],
    [['--runtime', 'host', '--security-opt', 'no-new-privileges'], 'taskio run: security options need runtime runsc or runc: a host task runs with the daemon\'s privileges, unconfined\n'],
  ];
  const tasksBefore = taskDirs(root).sort();
  const rootBefore = treeOf(root);
  // The first and the daemon's four through the real command, the others in this process.
  for (const [k, [argv, line]] of cases.entries()) {
    const r = await refusedLine(t, root, ['run', ...argv, '--', 'sh', '-c', `touch ${dir}/ran`], k === 0 || k >= cases.length - 4);
    t.same([r.code, r.stderr, r.stdout], [125, line, ''], argv.join(' '));
  }
  t.same(taskDirs(root).sort(), tasksBefore, 'no task made');
  t.same(treeOf(root), rootBefore, 'nothing made in the state root');
  t.notOk(fs.existsSync(`${dir}/ran`), 'nothing ran');
});
