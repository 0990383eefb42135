import t from 'tap';
import { binaryIO, logFile, logURI, logURIGenerator, terminalBinaryIO, terminalLogURI } from '../../src/index.js';

t.setTimeout(60_000);

t.test('logURIGenerator builds scheme:///abs/path?sorted=query', async (t) => {
  t.equal(logURIGenerator('binary', '/full/path/bin', { id: 'testing', a: 'b c', z: '1&2' }).toString(), 'binary:///full/path/bin?a=b+c&id=testing&z=1%262');
  t.equal(logURIGenerator('file', '/var/log/t.log').toString(), 'file:///var/log/t.log');
  t.equal(logURIGenerator('file', '/a dir/t#1.log').toString(), 'file:///a%20dir/t%231.log');
  t.equal(new URL(logURIGenerator('file', '/a dir/t#1.log').toString()).pathname, '/a%20dir/t%231.log');
  for (const bad of ['', 'relative/path', './x', '../x']) {
    t.throws(() => logURIGenerator('file', bad), { code: 'ERR_INVALID_LOG_PATH', message: new RegExp(JSON.stringify(bad).replace(/[.]/g, '\\.')) }, JSON.stringify(bad));
  }
  t.throws(() => logURIGenerator('no scheme', '/x'), { code: 'ERR_INVALID_ARG_VALUE' });
});

// A WHATWG URL resolved '/a/../b' to file:///b, and took ftp:///x's path for its host (ftp://x/).
t.test('logURIGenerator keeps the path as given, and refuses what a URL would change: . and .. components, a scheme that needs a host', async (t) => {
  for (const [scheme, p, want] of [
    ['file', '/a//b', 'file:///a//b'], ['file', '/logs/', 'file:///logs/'], ['unknown', '/x/y', 'unknown:///x/y'],
    ['binary', '/opt/my..logger', 'binary:///opt/my..logger'], ['fifo', '/run/.hidden/x', 'fifo:///run/.hidden/x'],
    ['file', '/a/%2e%2e/b', 'file:///a/%252e%252e/b'], ['file', '/', 'file:///'],
  ] as const) {
    const uri = logURIGenerator(scheme, p);
    t.equal(uri.href, want, `${scheme} ${p}`);
    t.equal(decodeURIComponent(new URL(uri.href).pathname), p, `${scheme} ${p}: parsed back as given`);
  }
  for (const bad of ['/a/../b', '/a/./b', '/..', '/a/..', '/a/.']) {
    t.throws(() => logURIGenerator('file', bad), { code: 'ERR_INVALID_LOG_PATH', message: `log path ${JSON.stringify(bad)} must have no . or .. component: a URL would resolve it by text` }, bad);
  }
  for (const scheme of ['ftp', 'http', 'HTTPS', 'ws', 'wss']) {
    t.throws(() => logURIGenerator(scheme, '/x/y'), { code: 'ERR_INVALID_ARG_VALUE', message: new RegExp(`^log URI scheme "${scheme}" needs a host: a URL of it reads path "/x/y" as ${scheme.toLowerCase()}://x/y$`) }, scheme);
  }
  await t.rejects(logFile('/var/log/../t.log')('id'), { code: 'ERR_INVALID_LOG_PATH' });
  await t.rejects(binaryIO('/usr/./bin/logger')('id'), { code: 'ERR_INVALID_LOG_PATH' });
});

t.test('logFile and binaryIO give stdout and stderr the URI, and do nothing themselves', async (t) => {
  const file = await logFile('/var/log/task.log')('id');
  t.same(file.config(), { terminal: false, stdin: '', stdout: 'file:///var/log/task.log', stderr: 'file:///var/log/task.log' });
  file.cancel();
  await file.wait();
  await file.close();
  const bin = await binaryIO('/usr/bin/logger', { id: 'x' })('id');
  t.same(bin.config(), { terminal: false, stdin: '', stdout: 'binary:///usr/bin/logger?id=x', stderr: 'binary:///usr/bin/logger?id=x' });
  const tbin = await terminalBinaryIO('/usr/bin/logger')('id');
  t.same(tbin.config(), { terminal: true, stdin: '', stdout: 'binary:///usr/bin/logger', stderr: '' });
  const uri = new URL('file:///x/y');
  t.same((await logURI(uri)('id')).config(), { terminal: false, stdin: '', stdout: 'file:///x/y', stderr: 'file:///x/y' });
  t.same((await terminalLogURI(uri)('id')).config(), { terminal: true, stdin: '', stdout: 'file:///x/y', stderr: '' });
});

t.test('relative paths fail with ERR_INVALID_LOG_PATH naming the path', async (t) => {
  await t.rejects(logFile('logs/task.log')('id'), { code: 'ERR_INVALID_LOG_PATH', message: /"logs\/task\.log"/ });
  await t.rejects(binaryIO('bin/logger')('id'), { code: 'ERR_INVALID_LOG_PATH', message: /"bin\/logger"/ });
  await t.rejects(terminalBinaryIO('logger')('id'), { code: 'ERR_INVALID_LOG_PATH' });
});
