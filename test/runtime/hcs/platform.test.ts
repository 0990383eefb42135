import t from 'tap';
import * as hcs from '../../../src/runtime/hcs/index.js';

const opts = { timeout: 5000 };
const notLinux = process.platform === 'win32' ? 'HCS exists on Windows: the unsupported transport is not the default there' : false;

t.test('the real transport on Linux fails every call with ErrPlatformNotSupported', { ...opts, skip: notLinux }, async (t) => {
  const tr = await hcs.defaultTransport();
  t.equal(tr.name, 'unsupported');
  t.equal(await hcs.defaultTransport(), tr, 'loaded once');
  for (const m of hcs.transportMethods) {
    const call = tr[m] as (...a: unknown[]) => Promise<unknown>;
    const err = await call.call(tr, 'x', 'y').catch((e: unknown) => e) as hcs.HcsError;
    t.ok(err instanceof hcs.HcsError, `${m} rejects`);
    t.equal(err.code, 'ERR_PLATFORM_NOT_SUPPORTED', `${m}: code`);
    t.ok(hcs.isPlatformNotSupported(err), `${m}: classified`);
    t.match(err.message, new RegExp(`hcs::${m}: the Host Compute Service exists only on Windows \\(process.platform is ${process.platform}\\)`));
  }
});

t.test('System on Linux without a transport fails clearly with ERR_PLATFORM_NOT_SUPPORTED', { ...opts, skip: notLinux }, async (t) => {
  for (const call of [
    () => hcs.System.createComputeSystem('c1', {}),
    () => hcs.System.openComputeSystem('c1'),
    () => hcs.System.getComputeSystems({}),
  ]) {
    const err = await call().catch((e: unknown) => e) as hcs.HcsError;
    t.equal(err.code, 'ERR_PLATFORM_NOT_SUPPORTED');
    t.ok(hcs.isPlatformNotSupported(err));
    t.notOk(hcs.isNotSupported(err), 'as in hcsshim, isNotSupported is about requests HCS refuses');
    t.match(err.message, /only on Windows/);
  }
});

t.test('unsupportedTransport names the platform it was made for', opts, async (t) => {
  const err = await hcs.unsupportedTransport('darwin').startComputeSystem(null, '').catch((e: unknown) => e) as Error;
  t.match(err.message, /process.platform is darwin/);
});
