import t from 'tap';
import { createRequire } from 'node:module';
import { TaskioError } from '../../src/errors.js';
import { loadNative, requirePlatform } from '../../src/sys/index.js';

// The loader behind every native module taskio uses (koffi, node-pty); the whole-package view —
// importing taskio with them missing or on another platform — is in test/package.

t.setTimeout(30_000);

t.test('a module that cannot be loaded gives ERR_NATIVE_MODULE naming it, the caller and why, every time', async (t) => {
  const first = t.throws(() => loadNative('taskio-test-no-such-module', 'libc mkfifo()')) as TaskioError;
  t.type(first, TaskioError);
  t.equal(first.code, 'ERR_NATIVE_MODULE');
  t.match(first.message, /^libc mkfifo\(\) needs the native module taskio-test-no-such-module, which cannot be loaded: Cannot find module 'taskio-test-no-such-module'/);
  t.equal((first.cause as { code?: string }).code, 'MODULE_NOT_FOUND', 'the loader error is the cause');
  const again = t.throws(() => loadNative('taskio-test-no-such-module', 'a host terminal')) as TaskioError;
  t.match(again.message, /^a host terminal needs the native module taskio-test-no-such-module/, 'the later caller is named');
  t.equal(again.cause, first.cause, 'the failed load is remembered, not searched again');
});

t.test('a module that loads is the one require gives, loaded once', async (t) => {
  const koffi = loadNative<object>('koffi', 'test');
  t.equal(koffi, createRequire(import.meta.url)('koffi'));
  t.equal(loadNative<object>('koffi', 'test'), koffi);
});

t.test('requirePlatform names the call, the platform it needs and the one it runs on', async (t) => {
  t.doesNotThrow(() => requirePlatform('libc mkfifo()', process.platform));
  const other = process.platform === 'win32' ? 'linux' : 'win32';
  const err = t.throws(() => requirePlatform('kernel32 job objects', other)) as TaskioError;
  t.equal(err.code, 'ERR_PLATFORM_NOT_SUPPORTED');
  t.equal(err.message, `kernel32 job objects needs ${other === 'linux' ? 'Linux' : 'Windows'}; process.platform is ${process.platform}`);
});
