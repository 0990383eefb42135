import { ErrPlatformNotSupported, HcsError } from './errors.js';
import { transportMethods, type Transport } from './transport.js';

/**
 * The transport used where HCS cannot exist (every platform but Windows): each call rejects with an
 * `HcsError` wrapping `ErrPlatformNotSupported` (`code === 'ERR_PLATFORM_NOT_SUPPORTED'`) whose message
 * names the call and the platform, so the failure is explicit instead of a missing-DLL crash.
 */
export function unsupportedTransport(platform: string = process.platform): Transport {
  const t: Record<string, unknown> = { name: 'unsupported' };
  for (const m of transportMethods) {
    t[m] = () => Promise.reject(new HcsError(`hcs::${m}`, ErrPlatformNotSupported, [],
      `hcs::${m}: the Host Compute Service exists only on Windows (process.platform is ${platform})`));
  }
  return t as unknown as Transport;
}
