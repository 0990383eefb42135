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
