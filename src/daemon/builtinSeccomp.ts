import type { SeccompProfile, SeccompRule } from './seccomp.js';

/** `clone`'s and `unshare`'s flag for a new user namespace. */
const CLONE_NEWUSER = 0x10000000;
const ENOSYS = 38;

/** A rule refusing a user namespace in `clone`/`unshare`, unless the task holds CAP_SYS_ADMIN (it may then make namespaces anyway). */
const noUserNamespace = (names: string[], excludeArches: string[] = []): SeccompRule => ({
  names, action: 'SCMP_ACT_ERRNO',
  args: [{ index: 0, value: CLONE_NEWUSER, valueTwo: CLONE_NEWUSER, op: 'SCMP_CMP_MASKED_EQ' }],
  excludes: { caps: ['CAP_SYS_ADMIN'], ...(excludeArches.length ? { arches: excludeArches } : {}) },
});

/**
 * taskio's default seccomp profile for runc tasks (`seccomp=builtin`; docker applies its own the
 * same way). Not docker's allow-list of some 350 syscalls: every syscall is allowed but a few
 * that reach kernel state the task's namespaces and capabilities do not fence — the attack
 * surface a root task without CAP_SYS_ADMIN still has. What capabilities already guard (mount,
 * modules, reboot, raw I/O, the clock) is left to them, so `--cap-add` keeps working as it did.
 * EPERM for each, as a kernel that says no; ENOSYS for `clone3`, so libc falls back to `clone`.
 * runsc tasks get none (`builtin` too): the sentry implements these syscalls itself, in front of
 * the host kernel, and runsc (2022-12) answers EPERM where the filter says ENOSYS for clone3, which
 * glibc's pthread_create does not fall back from (see `checkRunscSeccomp`).
 */
export const builtinSeccompProfile: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ALLOW',
  // The 32-bit ABIs of this machine's too: a filter listing only the native one leaves them unfiltered.
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
  ],
  syscalls: [
    // The kernel keyrings are not namespaced: the host's and other tasks' keys are a keyctl away.
    { names: ['add_key', 'keyctl', 'request_key'], action: 'SCMP_ACT_ERRNO' },
    // io_uring does its work in kernel threads that no syscall filter sees, and has been a steady
    // source of kernel bugs (ChromeOS and Android turned it off; libuv falls back without it).
    { names: ['io_uring_setup', 'io_uring_enter', 'io_uring_register'], action: 'SCMP_ACT_ERRNO' },
    // Holds a kernel thread at a page fault as long as the task likes: what exploits use to win races.
    { names: ['userfaultfd'], action: 'SCMP_ACT_ERRNO' },
    // A user namespace gives its creator root's view of kernel interfaces (netfilter, mounts of new
    // filesystem types…) that a root task without CAP_SYS_ADMIN cannot reach otherwise. clone3's
    // flags are in memory a filter cannot read: it gets ENOSYS, and libc uses clone.
    noUserNamespace(['unshare']),
    // s390's clone takes the flags second: its index-0 rule would compare the stack pointer.
    noUserNamespace(['clone'], ['s390', 's390x']),
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    // eBPF programs and perf events run in the kernel or read it; the kernel's own gates are sysctls the host may loosen.
    { names: ['bpf'], action: 'SCMP_ACT_ERRNO', excludes: { caps: ['CAP_SYS_ADMIN', 'CAP_BPF'] } },
    { names: ['perf_event_open'], action: 'SCMP_ACT_ERRNO', excludes: { caps: ['CAP_SYS_ADMIN', 'CAP_PERFMON'] } },
  ],
};
