/**
 * The pieces behind `--security-opt` and `--privileged`: docker's seccomp profile format checked
 * for what runc 1.1 applies and made into OCI's `linux.seccomp` per task (includes/excludes,
 * archMap), taskio's default profile, the options' reading, the host's device nodes (real ones,
 * made with mknod); and the API's refusals, which leave nothing behind.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { DaemonClient } from '../../src/daemon/index.js';
import { builtinSeccompProfile } from '../../src/daemon/builtinSeccomp.js';
import { hostDevices } from '../../src/daemon/hostDevices.js';
import { checkSeccompProfile, ociSeccomp, type SeccompProfile } from '../../src/daemon/seccomp.js';
import { readSecurityOpts } from '../../src/daemon/securityOpt.js';
import { checkRunscSeccomp } from '../../src/daemon/runscSeccomp.js';
import { tmpDir } from '../helpers/common.js';
import { client, daemonRoot, taskDirs, treeOf } from './helpers.js';

const allow = { defaultAction: 'SCMP_ACT_ALLOW' };

t.test('a profile is refused, naming what runc 1.1 cannot apply or what is malformed', { timeout: 10_000 }, async (t) => {
  const refused: Array<[unknown, string, string]> = [
    [[], 'ERR_INVALID_BODY', 'the seccomp profile must be a JSON object, got []'],
    [{ syscalls: [] }, 'ERR_INVALID_FIELD', 'missing field "defaultAction" in the seccomp profile: expected a string'],
    [{ ...allow, sycalls: [] }, 'ERR_UNKNOWN_FIELD', 'unknown field "sycalls" in the seccomp profile (known: defaultAction, defaultErrnoRet, architectures, archMap, syscalls, flags, listenerPath, listenerMetadata)'],
    [{ ...allow, flags: ['SECCOMP_FILTER_FLAG_SPEC_ALLOW'] }, 'ERR_NOT_SUPPORTED', 'seccomp profile: flags SECCOMP_FILTER_FLAG_SPEC_ALLOW: runc 1.1 applies no seccomp flags'],
    [{ ...allow, listenerPath: '/run/agent.sock' }, 'ERR_NOT_SUPPORTED', 'seccomp profile: a listener (SCMP_ACT_NOTIFY) needs a seccomp agent, which taskio does not run'],
    [{ defaultAction: 'SCMP_ACT_NOTIFY' }, 'ERR_NOT_SUPPORTED', 'seccomp profile: defaultAction SCMP_ACT_NOTIFY needs a seccomp agent, which taskio does not run'],
    [{ defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 }, 'ERR_INVALID_FIELD', 'seccomp profile: "defaultErrnoRet" is for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not SCMP_ACT_ALLOW'],
    [{ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 4096 }, 'ERR_INVALID_FIELD', 'seccomp profile: "defaultErrnoRet" must be a whole number from 0 to 4095, got 4096'],
    [{ ...allow, architectures: ['SCMP_ARCH_RISCV64'] }, 'ERR_INVALID_FIELD', 'seccomp profile: unknown architecture "SCMP_ARCH_RISCV64" (known: SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_ARM, SCMP_ARCH_AARCH64, SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64, SCMP_ARCH_MIPS64N32, SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64, SCMP_ARCH_MIPSEL64N32, SCMP_ARCH_PPC, SCMP_ARCH_PPC64, SCMP_ARCH_PPC64LE, SCMP_ARCH_S390, SCMP_ARCH_S390X)'],
    [{ ...allow, architectures: ['SCMP_ARCH_X86_64'], archMap: [] }, 'ERR_INVALID_FIELD', 'seccomp profile: give "architectures" or "archMap", not both'],
    [{ ...allow, archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['x86'] }] }, 'ERR_INVALID_FIELD', 'seccomp profile\'s archMap[0]: unknown architecture "x86" (known: SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_ARM, SCMP_ARCH_AARCH64, SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64, SCMP_ARCH_MIPS64N32, SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64, SCMP_ARCH_MIPSEL64N32, SCMP_ARCH_PPC, SCMP_ARCH_PPC64, SCMP_ARCH_PPC64LE, SCMP_ARCH_S390, SCMP_ARCH_S390X)'],
    [{ ...allow, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_DENY' }] }, 'ERR_INVALID_FIELD', 'seccomp profile\'s syscalls[0]: unknown action "SCMP_ACT_DENY" (known: SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_LOG, SCMP_ACT_TRACE, SCMP_ACT_TRAP)'],
    [{ ...allow, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, 'ERR_NOT_SUPPORTED', 'seccomp profile\'s syscalls[0]: action SCMP_ACT_NOTIFY needs a seccomp agent, which taskio does not run'],
    [{ ...allow, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_KILL', errnoRet: 1 }] }, 'ERR_INVALID_FIELD', 'seccomp profile\'s syscalls[0]: "errnoRet" is for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not SCMP_ACT_KILL'],
    [{ ...allow, syscalls: [{ action: 'SCMP_ACT_ERRNO' }] }, 'ERR_INVALID_FIELD', 'seccomp profile\'s syscalls[0]: "names" must list syscalls (lower case, digits, _), got []'],
    [{ ...allow, syscalls: [{ names: ['mkdir', 'Open'], action: 'SCMP_ACT_ERRNO' }] }, 'ERR_INVALID_FIELD', 'seccomp profile\'s syscalls[0]: "names" must list syscalls (lower case, digits, _), got ["mkdir","Open"]'],
    [{ ...allow, syscalls: [{ name: 'mkdir', names: ['rmdir'], action: 'SCMP_ACT_ERRNO' }] }, 'ERR_INVALID_FIELD', 'seccomp profile\'s syscalls[0]: give "names" or "name", not both'],
    [{ ...allow, syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', why: 'a comment is "comment"' }] }, 'ERR_UNKNOWN_FIELD', 'unknown field "why" in the seccomp profile\'s syscalls[0] (known: names, name, action, errnoRet, args, comment, includes, excludes)'],
    [{ ...allow, syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }, 'ERR_INVALID_FIELD', 'seccomp profile\'s syscalls[0].args[0]: "index" must be a whole number from 0 to 5, got 6'],
    [{ ...allow, syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }] }, 'ERR_INVALID_FIELD', 'seccomp profile\'s syscalls[0].args[0]: "value" must be a whole number from 0 to 9007199254740991, got -1'],
    [{ ...allow, syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, valueTwo: 2 ** 64, op: 'SCMP_CMP_MASKED_EQ' }] }] }, 'ERR_INVALID_FIELD', 'seccomp profile\'s syscalls[0].args[0]: "valueTwo" must be a whole number from 0 to 9007199254740991, got 18446744073709552000'],
    [{ ...allow, syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_IN' }] }] }, 'ERR_INVALID_FIELD', 'seccomp profile\'s syscalls[0].args[0]: unknown op "SCMP_CMP_IN" (known: SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ)'],
    [{ ...allow, syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', includes: { caps: ['SYS_ADMIN'] } }] }, 'ERR_INVALID_FIELD', 'seccomp profile\'s syscalls[0].includes: unknown capability "SYS_ADMIN" (names as capabilities(7) gives them: CAP_SYS_ADMIN, CAP_NET_RAW…)'],
    [{ ...allow, syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', excludes: { arches: ['x86_64'] } }] }, 'ERR_INVALID_FIELD', 'seccomp profile\'s syscalls[0].excludes: unknown architecture "x86_64" (known: x86, amd64, x32, arm, arm64, mips, mips64, mips64n32, mipsel, mipsel64, mipsel64n32, ppc, ppc64, ppc64le, s390, s390x)'],
    [{ ...allow, syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', includes: { minKernel: 'v4' } }] }, 'ERR_INVALID_FIELD', 'seccomp profile\'s syscalls[0].includes: "minKernel" must be a kernel version like "4.8", got "v4"'],
  ];
  for (const [profile, code, message] of refused) t.throws(() => checkSeccompProfile(profile), { code, message }, message);
});

t.test('made into linux.seccomp per task as docker makes it: includes and excludes against its capabilities, architecture and kernel; archMap', { timeout: 10_000 }, async (t) => {
  const profile: SeccompProfile = checkSeccompProfile({
    defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1,
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }, { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] }],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', comment: 'always' },
      { name: 'ptrace', action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_PTRACE', 'CAP_SYS_ADMIN'] } },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }], excludes: { caps: ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'] } },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
      { names: ['sync_file_range2'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['amd64'] } },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, includes: { minKernel: '5.3' } },
      { names: ['new_call'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '5.3' } },
    ],
  });
  const names = (s: ReturnType<typeof ociSeccomp>) => (s.syscalls ?? []).flatMap((r) => r.names);
  const amd64 = ociSeccomp(profile, { capabilities: ['CAP_SYS_PTRACE'], arch: 'amd64', kernel: '6.1.0-13-amd64' });
  t.same(amd64, {
    defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW' },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
    ],
  }, 'amd64, kernel 6.1, CAP_SYS_PTRACE only: ptrace needs SYS_ADMIN too, personality is excluded by PTRACE; comments and filters are not OCI\'s');
  t.same(names(ociSeccomp(profile, { capabilities: ['CAP_SYS_PTRACE', 'CAP_SYS_ADMIN'], arch: 'amd64', kernel: '6.1' })), ['read', 'write', 'ptrace', 'arch_prctl', 'clone3'], 'every capability of includes held: the name as names');
  const arm = ociSeccomp(profile, { capabilities: [], arch: 'arm64', kernel: '4.19.0' });
  t.same(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'], 'archMap: this architecture\'s entry');
  t.same(names(arm), ['read', 'write', 'personality', 'sync_file_range2', 'new_call'], 'arm64 on 4.19: no capability, older kernel');
  t.same(arm.syscalls![1], { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] }, 'args as they were');
  t.equal(ociSeccomp(profile, { capabilities: [], arch: 's390x' }).architectures, undefined, 'an architecture archMap lacks: libseccomp takes the native one');
  t.same(ociSeccomp(checkSeccompProfile({ ...allow, architectures: ['SCMP_ARCH_X86_64'] }), { capabilities: [] }), { ...allow, architectures: ['SCMP_ARCH_X86_64'], syscalls: [] });
});

t.test('taskio\'s default profile: the kernel keyrings, io_uring, userfaultfd, user namespaces, bpf and perf events, those behind capabilities left to them', { timeout: 10_000 }, async (t) => {
  t.same(checkSeccompProfile(structuredClone(builtinSeccompProfile)), builtinSeccompProfile, 'a profile its own check takes');
  const refused = (caps: string[], arch = 'amd64') => ociSeccomp(builtinSeccompProfile, { capabilities: caps, arch }).syscalls!.flatMap((r) => r.names);
  const always = ['add_key', 'keyctl', 'request_key', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'userfaultfd'];
  t.same(refused(['CAP_CHOWN']), [...always, 'unshare', 'clone', 'clone3', 'bpf', 'perf_event_open']);
  t.same(refused(['CAP_SYS_ADMIN']), always, 'CAP_SYS_ADMIN may make namespaces, load bpf and open perf events anyway');
  t.same(refused(['CAP_BPF', 'CAP_PERFMON']), [...always, 'unshare', 'clone', 'clone3']);
  t.same(refused([], 's390x'), [...always, 'unshare', 'clone3', 'bpf', 'perf_event_open'], 's390\'s clone takes its flags second: no rule on its first argument');
  const amd64 = ociSeccomp(builtinSeccompProfile, { capabilities: [], arch: 'amd64' });
  t.same(amd64.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], 'the 32-bit ABIs filtered too');
  t.same(amd64.syscalls!.find((r) => r.names[0] === 'clone3'), { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }, 'clone3: ENOSYS, so libc falls back to clone');
});

t.test('the options: the last of a kind wins, `:` as `=`, a profile as its JSON text', { timeout: 10_000 }, async (t) => {
  t.same(readSecurityOpts([]), {});
  t.same(readSecurityOpts(['no-new-privileges', 'seccomp=builtin', 'systempaths=unconfined', 'apparmor=unconfined', 'label=disable']), { noNewPrivileges: true, seccomp: 'builtin', unconfinedPaths: true });
  t.same(readSecurityOpts(['no-new-privileges:true', 'no-new-privileges=false', 'seccomp:unconfined']), { noNewPrivileges: false, seccomp: 'unconfined' });
  t.same(readSecurityOpts([`seccomp=${JSON.stringify({ ...allow, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] })}`]).seccomp, { ...allow, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  t.throws(() => readSecurityOpts(['seccomp=/etc/profile.json']), { code: 'ERR_INVALID_FIELD', message: 'security option "seccomp=/etc/profile.json": give seccomp=unconfined, seccomp=builtin or a profile\'s JSON (taskio run reads a profile file)' }, 'the daemon reads no file a client names');
  t.throws(() => readSecurityOpts(['seccomp={"defaultAction":']), { code: 'ERR_INVALID_FIELD', message: /^seccomp profile: not JSON \(/ });
});

t.test('the host\'s devices: every character and block node, links and the runtime\'s own directories left out, major and minor from a 64-bit dev_t', { timeout: 10_000 }, async (t) => {
  const dev = tmpDir(t, 'taskio-dev-');
  const mknod = (p: string, type: 'c' | 'b', major: number, minor: number) => execFileSync('mknod', ['-m', '0620', path.join(dev, p), type, String(major), String(minor)]);
  for (const d of ['net', 'pts', 'shm', 'mqueue', 'sub/deeper']) fs.mkdirSync(path.join(dev, d), { recursive: true });
  mknod('fuse', 'c', 10, 229);
  mknod('net/tun', 'c', 10, 200);
  mknod('loop0', 'b', 7, 0);
  mknod('sub/deeper/big', 'c', 511, 1_000_000); // beyond 8 bits of major and 20 of minor's low part
  mknod('pts/ptmx', 'c', 5, 2);
  mknod('shm/x', 'c', 1, 3);
  mknod('console', 'c', 5, 1);
  fs.symlinkSync('fuse', path.join(dev, 'fuse-link'));
  fs.writeFileSync(path.join(dev, 'plain'), '');
  fs.chownSync(path.join(dev, 'loop0'), 0, 6);
  t.same(hostDevices(dev), [
    { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o620, uid: 0, gid: 0 },
    { path: '/dev/loop0', type: 'b', major: 7, minor: 0, fileMode: 0o620, uid: 0, gid: 6 },
    { path: '/dev/net/tun', type: 'c', major: 10, minor: 200, fileMode: 0o620, uid: 0, gid: 0 },
    { path: '/dev/sub/deeper/big', type: 'c', major: 511, minor: 1_000_000, fileMode: 0o620, uid: 0, gid: 0 },
  ]);
  const real = hostDevices();
  t.ok(real.some((d) => d.path === '/dev/null' && d.major === 1 && d.minor === 3), 'this host\'s /dev/null');
  t.notOk(real.some((d) => d.path.startsWith('/dev/pts/') || d.path === '/dev/console'), 'none of /dev/pts, no console');
});

t.test('runsc: a filter is refused where runsc 2022-12 would not apply it as written (an action it lacks, an errno but EPERM)', { timeout: 10_000 }, async (t) => {
  const why = '(runtime runc applies it; --security-opt seccomp=unconfined leaves it out)';
  const refused: Array<[unknown, string]> = [
    [{ defaultAction: 'SCMP_ACT_LOG' }, `f: defaultAction SCMP_ACT_LOG: runsc (2022-12) applies SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_TRAP, SCMP_ACT_TRACE only ${why}`],
    [{ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38 }, `f: defaultErrnoRet 38: runsc (2022-12) answers EPERM to every SCMP_ACT_ERRNO, whatever errno the filter names ${why}`],
    [{ ...allow, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }, { names: ['kill', 'tkill'], action: 'SCMP_ACT_KILL_THREAD' }] }, `f: syscalls kill,tkill: action SCMP_ACT_KILL_THREAD: runsc (2022-12) applies SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_TRAP, SCMP_ACT_TRACE only ${why}`],
    [{ ...allow, syscalls: [{ names: ['symlink'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }, `f: syscalls symlink: errnoRet 13: runsc (2022-12) answers EPERM to every SCMP_ACT_ERRNO, whatever errno the filter names ${why}`],
  ];
  for (const [filter, message] of refused) t.throws(() => checkRunscSeccomp(filter, 'f'), { code: 'ERR_NOT_SUPPORTED', message }, JSON.stringify(filter));
  const taken = [undefined, null, allow, { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1 }, { ...allow, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_TRAP' }, { names: ['rmdir'], action: 'SCMP_ACT_TRACE', errnoRet: 5 }] }];
  for (const filter of taken) t.doesNotThrow(() => checkRunscSeccomp(filter, 'f'), JSON.stringify(filter));
  t.doesNotThrow(() => checkRunscSeccomp(ociSeccomp(builtinSeccompProfile, { capabilities: ['CAP_SYS_ADMIN'] }), 'f'), 'taskio\'s profile with CAP_SYS_ADMIN: clone3\'s ENOSYS left out');
  t.throws(() => checkRunscSeccomp(ociSeccomp(builtinSeccompProfile, { capabilities: [] }), 'f'), { message: /^f: syscalls clone3: errnoRet 38:/ }, 'without: its clone3 ENOSYS (so seccomp=builtin gives runsc no filter)');
});

t.test('the API: privileged and securityOpt checked before anything is made (400), refused for host tasks and where runsc cannot apply them', { timeout: 30_000 }, async (t) => {
  const root = daemonRoot(t);
  const c: DaemonClient = await client(root);
  t.teardown(() => c.close());
  const rootBefore = treeOf(root);
  const cases: Array<[Parameters<DaemonClient['createTask']>[0], string, string | RegExp]> = [
    [{ runtime: 'runc', args: ['true'], securityOpt: ['seccomp=/etc/profile.json'] }, 'ERR_INVALID_FIELD', /give seccomp=unconfined, seccomp=builtin or a profile's JSON/],
    [{ runtime: 'runc', args: ['true'], securityOpt: [`seccomp=${JSON.stringify({ ...allow, flags: ['SECCOMP_FILTER_FLAG_LOG'] })}`] }, 'ERR_NOT_SUPPORTED', 'seccomp profile: flags SECCOMP_FILTER_FLAG_LOG: runc 1.1 applies no seccomp flags'],
    [{ runtime: 'runc', args: ['true'], securityOpt: ['unmask=ALL'] }, 'ERR_INVALID_FIELD', /^security option "unmask=ALL" is not supported/],
    [{ runtime: 'runc', args: ['true'], privileged: 'yes' as never }, 'ERR_INVALID_FIELD', 'field "privileged" must be true or false, got "yes"'],
    [{ runtime: 'runsc', args: ['true'], securityOpt: [`seccomp=${JSON.stringify({ defaultAction: 'SCMP_ACT_KILL_PROCESS' })}`] }, 'ERR_NOT_SUPPORTED', /^the seccomp profile: defaultAction SCMP_ACT_KILL_PROCESS: runsc \(2022-12\) applies /],
    [{ runtime: 'runsc', args: ['true'], securityOpt: ['no-new-privileges=false'] }, 'ERR_NOT_SUPPORTED', /^no-new-privileges=false needs runtime runc/],
    [{ runtime: 'host', args: ['true'], privileged: true }, 'ERR_NOT_SUPPORTED', /^--privileged needs runtime runsc or runc/],
    [{ runtime: 'host', args: ['true'], securityOpt: ['seccomp=unconfined'] }, 'ERR_NOT_SUPPORTED', /^security options need runtime runsc or runc/],
  ];
  for (const [req, code, message] of cases) await t.rejects(c.createTask(req), { code, status: 400, message }, JSON.stringify(req).slice(0, 100));
  t.same(taskDirs(root), [], 'no task made');
  t.same(treeOf(root), rootBefore, 'nothing made in the state root');
});
