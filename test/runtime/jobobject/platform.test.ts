import t from 'tap';
import { JobObject } from '../../../src/runtime/jobobject/index.js';

// This file runs in its own process and imports only the jobobject module, so what is loaded here is
// what the module loads. The Windows modules import koffi, whose native addon would then be mapped.
const koffiLoaded = (): boolean =>
  ((process.report?.getReport() as { sharedObjects?: string[] } | undefined)?.sharedObjects ?? []).some((f) => /koffi/i.test(f));

t.test('on Linux nothing loads kernel32: the cgroup backend runs without koffi', { skip: process.platform !== 'linux' ? 'Linux only' : false }, async (t) => {
  t.notOk(koffiLoaded(), 'importing the module loads no koffi');
  const job = await JobObject.create({ name: `tt-${process.pid}-platform`, terminateOnLastHandleClose: true });
  t.same(await job.pids(), []);
  t.ok(job.cgroupPaths.length > 0, 'a cgroup job');
  await job.close();
  t.notOk(koffiLoaded(), 'creating, using and closing a job loads no koffi (so no kernel32)');
  await import('koffi');
  t.ok(koffiLoaded(), 'the check does see koffi once it is loaded');
});
