import { signalNumber, type Dialect, type Runsc } from '../oci/index.js';
import type { Init, Process } from '../proc/index.js';
import type { ContainerBackend } from './backend.js';

/**
 * The backend for runsc and runc ({@link Runsc} speaks both): `processes()` from `ps --format json`,
 * `stats()` from `events --stats`, pause/resume from the runtime's own commands (through the Init).
 *
 * runsc's pids are sandbox-internal: the init is pid 1 of the root container, an exec'd process is
 * the pid runsc wrote to its internal pid file, and a signal to any of them goes through
 * `kill --pid`. runc's are host pids: the init's and each exec'd process's own, signalled directly.
 */
export async function ociBackend(runtime: Runsc): Promise<ContainerBackend> {
  const dialect: Dialect = await runtime.dialect();
  const sandboxed = dialect === 'runsc';
  return {
    name: dialect,
    runtime,
    processes: (id) => runtime.ps(id),
    // gVisor starts a root container's init as pid 1 of the sandbox; Init.pid() is the sandbox's host pid.
    initPid: (init: Init) => (sandboxed ? 1 : init.pid()),
    execPid(p: Process): number {
      return sandboxed ? p.internalPid() : p.pid();
    },
    async signalPid(id, pid, signal) {
      if (sandboxed) await runtime.kill(id, signal, { pid });
      else process.kill(pid, signalNumber(signal));
    },
  };
}
