import { createRequire } from 'node:module';
import { TaskioError } from '../errors.js';

/*
 * Native modules (koffi, node-pty) are loaded on first use, never at import: `import 'taskio'` must work
 * on every platform and without them, for callers who want only the pure parts (log URIs, followLog …).
 * Both are CommonJS, so a synchronous `require` keeps the first libc call synchronous like the rest.
 */
const require = createRequire(import.meta.url);
const loaded = new Map<string, { module: unknown } | { cause: unknown }>();

/**
 * Throws `ERR_PLATFORM_NOT_SUPPORTED` unless this process runs on `platform`. `call` names what the
 * caller tried, for the message. `process.platform` is read on every call (it is a plain property).
 */
export function requirePlatform(call: string, platform: NodeJS.Platform = 'linux'): void {
  if (process.platform !== platform) {
    throw new TaskioError('ERR_PLATFORM_NOT_SUPPORTED', `${call} needs ${platformName(platform)}; process.platform is ${process.platform}`);
  }
}

/**
 * Loads the native module `name` once. When it cannot be loaded (not installed, no prebuilt binary for
 * this platform or libc, an ABI mismatch) it throws `ERR_NATIVE_MODULE`, naming the module, what needed
 * it (`call`) and why, with the loader's error as `cause`. The outcome is kept: later calls cost a map
 * lookup, and a module that failed fails again the same way without another search of `node_modules`.
 */
export function loadNative<T>(name: string, call: string): T {
  let entry = loaded.get(name);
  if (entry === undefined) {
    try {
      entry = { module: require(name) };
    } catch (cause) {
      entry = { cause };
    }
    loaded.set(name, entry);
  }
  if ('cause' in entry) throw nativeError(name, call, entry.cause);
  return entry.module as T;
}

/** The `ERR_NATIVE_MODULE` error for a native module or library `name` that `call` needed and could not load. */
export function nativeError(name: string, call: string, cause: unknown): TaskioError {
  const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new TaskioError('ERR_NATIVE_MODULE', `${call} needs the native module ${name}, which cannot be loaded: ${why}`, { cause });
}

function platformName(platform: NodeJS.Platform): string {
  return platform === 'linux' ? 'Linux' : platform === 'win32' ? 'Windows' : platform;
}
