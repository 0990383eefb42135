import t from 'tap';
import { bytesSize, formatG, fromHumanSize, humanDuration, humanSize, ramInBytes } from '../../src/cli/units.js';

t.test('ramInBytes reads sizes as docker --memory does (binary units, any case, optional i and b)', async (t) => {
  const cases: Array<[string, number]> = [
    ['512m', 512 * 1024 ** 2], ['1g', 1024 ** 3], ['100k', 100 * 1024], ['1024b', 1024], ['1024', 1024], ['0', 0],
    ['1.5GiB', 1.5 * 1024 ** 3], ['32 MB', 32 * 1024 ** 2], ['2Mi', 2 * 1024 ** 2], ['1T', 1024 ** 4], ['1p', 1024 ** 5],
    ['0.5k', 512], ['1.0001k', 1024], ['3B', 3], ['7i', 7],
  ];
  for (const [text, bytes] of cases) t.equal(ramInBytes(text), bytes, text);
  for (const bad of ['', 'abc', '12q', '-1m', '1.2.3', ' 1m', '1m ', '1  m', '1kk', 'm', '.5m', '1e3', '99999999999p']) {
    t.throws(() => ramInBytes(bad), { code: 'ERR_INVALID_SIZE', message: `invalid size: '${bad}'` }, `refuses ${JSON.stringify(bad)}`);
  }
});

t.test('fromHumanSize reads sizes as docker and podman read --log-opt max-size (units of 1000, any case, optional i and b)', async (t) => {
  const cases: Array<[string, number]> = [
    ['10m', 10_000_000], ['1k', 1000], ['1kb', 1000], ['1KB', 1000], ['2MB', 2_000_000], ['1g', 1e9], ['1Gb', 1e9],
    ['10MiB', 10_000_000], ['512', 512], ['512b', 512], ['1.5k', 1500], ['0', 0], ['1 m', 1_000_000],
  ];
  for (const [text, bytes] of cases) t.equal(fromHumanSize(text), bytes, text);
  for (const bad of ['', '10x', '-1m', '1.m', ' 1m', '1m ', 'm', '1e3']) {
    t.throws(() => fromHumanSize(bad), { code: 'ERR_INVALID_SIZE', message: `invalid size: '${bad}'` }, `refuses ${JSON.stringify(bad)}`);
  }
});

t.test('formatG is Go\'s %g: significant digits, half-even ties, exponent form past the precision', async (t) => {
  const cases: Array<[number, number, string]> = [
    [0, 4, '0'], [1, 4, '1'], [1.5, 4, '1.5'], [12.34, 4, '12.34'], [12.345678, 4, '12.35'], [1023.9, 4, '1024'],
    [999.9, 3, '1e+03'], [12345, 4, '1.234e+04'], [2.5, 1, '2'], [3.5, 1, '4'], [0.25, 1, '0.2'], [0.000123, 3, '0.000123'],
    [0.0000123, 3, '1.23e-05'], [100, 3, '100'], [1022.5, 4, '1022'], [1023.5, 4, '1024'], [-1.5, 2, '-1.5'],
  ];
  for (const [x, p, s] of cases) t.equal(formatG(x, p), s, `%.${p}g of ${x}`);
});

t.test('bytesSize and humanSize print memory and I/O as docker stats does', async (t) => {
  t.equal(bytesSize(0), '0B');
  t.equal(bytesSize(1023), '1023B');
  t.equal(bytesSize(1024), '1KiB');
  t.equal(bytesSize(1536 * 1024), '1.5MiB');
  t.equal(bytesSize(7.75 * 1024 ** 3), '7.75GiB');
  t.equal(bytesSize(1047040), '1022KiB', 'a tie rounds to even, as Go');
  t.equal(bytesSize(1024 ** 9), '1024YiB', 'beyond the last unit the number grows');
  t.equal(humanSize(0), '0B');
  t.equal(humanSize(999), '999B');
  t.equal(humanSize(1000), '1kB');
  t.equal(humanSize(1234), '1.23kB');
  t.equal(humanSize(45_600_000), '45.6MB');
  t.equal(humanSize(999_900), '1e+03kB', 'Go\'s %.3g, quirk included');
});

t.test('humanDuration matches go-units\' HumanDuration', async (t) => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  const week = 7 * d;
  const month = 30 * d;
  const year = 365 * d;
  const cases: Array<[number, string]> = [
    [-5 * s, 'Less than a second'], [450, 'Less than a second'], [1 * s, '1 second'], [45 * s, '45 seconds'], [59 * s, '59 seconds'],
    [60 * s, 'About a minute'], [3 * m, '3 minutes'], [35 * m + 40 * s, '35 minutes'], [59 * m, '59 minutes'],
    [1 * h, 'About an hour'], [h + 29 * m, 'About an hour'], [h + 31 * m, '2 hours'], [3 * h + 29 * m, '3 hours'],
    [3 * h + 31 * m, '4 hours'], [24 * h, '24 hours'], [d + 12 * h, '36 hours'], [2 * d, '2 days'], [7 * d, '7 days'],
    [13 * d + 5 * h, '13 days'], [2 * week, '2 weeks'], [2 * week + 4 * d, '2 weeks'], [4 * week + 3 * d, '4 weeks'],
    [month, '4 weeks'], [month + 2 * week, '6 weeks'], [2 * month, '2 months'], [5 * month + 2 * week, '5 months'],
    [13 * month, '13 months'], [24 * month, '24 months'], [24 * month + 2 * week, '2 years'], [3 * year + 2 * month, '3 years'],
  ];
  for (const [ms, text] of cases) t.equal(humanDuration(ms), text, `${ms} ms`);
});
