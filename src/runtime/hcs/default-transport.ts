import type { Transport } from './transport.js';
import { unsupportedTransport } from './unsupported.js';

let cached: Promise<Transport> | undefined;

/**
 * The transport used when a caller passes none: the computecore.dll binding on Windows — imported
 * dynamically, so koffi never tries to load a Windows DLL elsewhere — and `unsupportedTransport()`
 * on every other platform. Loaded once per process.
 */
export function defaultTransport(): Promise<Transport> {
  cached ??= process.platform === 'win32'
    ? import('./computecore.js').then((m) => m.computecoreTransport())
    : Promise.resolve(unsupportedTransport());
  return cached;
}
