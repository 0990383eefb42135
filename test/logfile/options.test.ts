import t from 'tap';
import { parseLogOptions, parseSize } from '../../src/logfile/options.js';
import { parseCriLoggerArgs } from '../../src/logfile/criLogger.js';

t.test('parseLogOptions reads format, sizes and counts from a file:// URI', async (t) => {
  t.same(parseLogOptions(new URL('file:///var/log/a.log')), { path: '/var/log/a.log', format: 'raw' });
  t.same(parseLogOptions(new URL('file:///abs/path?format=cri&maxSize=10MB&maxFiles=5')),
    { path: '/abs/path', format: 'cri', maxSize: 10 * 1024 * 1024, maxFiles: 5 });
  t.same(parseLogOptions(new URL('file:///a%20b/c.log?format=cri&maxLineSize=4Ki')),
    { path: '/a b/c.log', format: 'cri', maxLineSize: 4096 });
  t.equal(parseSize('maxSize', '4096'), 4096);
  t.equal(parseSize('maxSize', '512k'), 512 * 1024);
  t.equal(parseSize('maxSize', '1GiB'), 1024 ** 3);
});

t.test('unknown options and bad values are ERR_INVALID_LOG_OPTION naming them', async (t) => {
  const bad: [string, RegExp][] = [
    ['format=json', /format/], ['maxSize=ten', /maxSize/], ['maxSize=0', /maxSize/], ['maxSize=10XB', /maxSize/],
    ['maxSize=1MB&maxFiles=0', /maxFiles/], ['maxSize=1MB&maxFiles=2.5', /maxFiles/], ['maxFiles=3', /maxFiles.*needs maxSize/],
    ['maxLineSize=1KB', /maxLineSize.*cri/], ['colour=red', /colour/], ['format=cri&format=raw', /format.*more than once/],
    ['maxSize=', /maxSize/],
  ];
  for (const [q, re] of bad) {
    t.throws(() => parseLogOptions(new URL(`file:///x.log?${q}`)), { code: 'ERR_INVALID_LOG_OPTION', message: re }, q);
  }
});

t.test('a URI that is not file:///abs/file is ERR_INVALID_LOG_URI', async (t) => {
  for (const u of ['binary:///bin/logger', 'file://host/x.log', 'file:///dir/']) {
    t.throws(() => parseLogOptions(new URL(u)), { code: 'ERR_INVALID_LOG_URI' }, u);
  }
});

t.test('a NUL in the path is refused here, for every caller: ERR_INVALID_LOG_URI, or the code a stdio entry asks for', async (t) => {
  const nul = new URL('file:///var/log/a%00b.log?format=cri');
  t.throws(() => parseLogOptions(nul), { code: 'ERR_INVALID_LOG_URI', message: /NUL.*a%00b\.log/ }, 'as a log URI');
  t.throws(() => parseLogOptions(nul, 'ERR_INVALID_ARG_VALUE'), { code: 'ERR_INVALID_ARG_VALUE', message: /NUL.*a%00b\.log/ }, 'as a stdio entry');
  // The CRI logger's path argument becomes a file URI: its NUL is refused the same way.
  t.throws(() => parseCriLoggerArgs(['path', '/var/log/a\0b.log']), { code: 'ERR_INVALID_LOG_URI', message: /NUL.*a%00b\.log/ }, 'as a CRI logger path');
});
