import fs from 'node:fs';
import path from 'node:path';

/** An OCI `linux.devices` entry: a node the runtime makes in the task's `/dev`. */
export interface OciDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/**
 * What a privileged task does not get from the host's `/dev` (as containerd's `HostDevices`, which
 * docker's `--privileged` uses): the runtime mounts its own `pts`, `shm` and `mqueue` there and
 * makes the console; `fd` is a link to `/proc/self/fd`; the others hold no devices of the host's own.
 */
const skippedDirs = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/**
 * Every character and block device under `dir` (the host's `/dev`), as a privileged docker
 * container gets them: its disks, loop devices, `/dev/fuse`, `/dev/net/tun`, `/dev/kvm`, the
 * terminals… Links are not followed (a device's other names are links), and what is not a device
 * is left out; the task sees each at the same place in its `/dev`, with the host node's mode and owner.
 */
export function hostDevices(dir = '/dev'): OciDevice[] {
  const out: OciDevice[] = [];
  const walk = (at: string): void => {
    let names: string[];
    try {
      names = fs.readdirSync(at);
    } catch {
      return; // gone meanwhile, or unreadable: nothing of it to give
    }
    for (const name of names.sort()) {
      const p = path.join(at, name);
      // bigint: a dev_t is 64 bits, its major and minor split over both halves.
      const st = fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
      if (st === undefined) continue;
      if (st.isDirectory()) {
        if (!(at === dir && skippedDirs.has(name))) walk(p);
      } else if ((st.isCharacterDevice() || st.isBlockDevice()) && !(at === dir && name === 'console')) {
        out.push({
          path: path.join('/dev', path.relative(dir, p)), type: st.isCharacterDevice() ? 'c' : 'b', ...majorMinor(st.rdev),
          fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid),
        });
      }
    }
  };
  walk(dir);
  return out;
}

/** glibc's `major()` and `minor()` of a dev_t: 12 bits of major and 20 of minor, split over its two halves. */
function majorMinor(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}
