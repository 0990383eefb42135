import t from 'tap';
import { parseGoDuration, parseSince, sinceTimestamp } from '../../src/cli/since.js';

const now = new Date('2024-05-01T12:00:00.750Z');
const nowSec = Math.floor(now.getTime() / 1000);

t.test('parseGoDuration reads Go durations to nanoseconds', async (t) => {
  t.equal(parseGoDuration('10m'), 600_000_000_000n);
  t.equal(parseGoDuration('1h30m'), 5_400_000_000_000n);
  t.equal(parseGoDuration('1.5h'), 5_400_000_000_000n);
  t.equal(parseGoDuration('.5s'), 500_000_000n);
  t.equal(parseGoDuration('300ms'), 300_000_000n);
  t.equal(parseGoDuration('2us'), 2_000n);
  t.equal(parseGoDuration('2µs'), 2_000n);
  t.equal(parseGoDuration('7ns'), 7n);
  t.equal(parseGoDuration('-5s'), -5_000_000_000n);
  t.equal(parseGoDuration('+5s'), 5_000_000_000n);
  t.equal(parseGoDuration('0'), 0n);
  for (const bad of ['', '5', '5d', 'm', '1h 30m', '--5s', 'h1', '1.5.5h', '-']) t.equal(parseGoDuration(bad), undefined, `not ${JSON.stringify(bad)}`);
});

t.test('parseSince: a relative duration counts back from now, in whole seconds as docker', async (t) => {
  t.equal(parseSince('10m', now), `${nowSec - 600}.000000000`);
  t.equal(parseSince('1h30m', now), `${nowSec - 5400}.000000000`);
  t.equal(parseSince('500ms', now), `${nowSec}.000000000`, '12:00:00.250 is still second 12:00:00');
  t.equal(parseSince('-1m', now), `${nowSec + 60}.000000000`, 'a negative duration is in the future, as Go');
});

t.test('parseSince: RFC 3339 timestamps with a zone, at every precision', async (t) => {
  const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);
  t.equal(parseSince('2013-01-02T13:23:37Z', now), `${at('2013-01-02T13:23:37Z')}.000000000`);
  t.equal(parseSince('2013-01-02T13:23:37.5Z', now), `${at('2013-01-02T13:23:37Z')}.500000000`);
  t.equal(parseSince('2013-01-02T13:23:37.000000001+02:00', now), `${at('2013-01-02T11:23:37Z')}.000000001`);
  t.equal(parseSince('2013-01-02T13:23-01:30', now), `${at('2013-01-02T14:53:00Z')}.000000000`);
  t.equal(parseSince('2013-01-02T13Z', now), `${at('2013-01-02T13:00:00Z')}.000000000`);
  t.equal(parseSince('2013-01-02Z', now), `${at('2013-01-02T00:00:00Z')}.000000000`);
  t.equal(parseSince('2024-02-29T00:00:00Z', now), `${at('2024-02-29T00:00:00Z')}.000000000`, 'a leap day');
});

t.test('parseSince: a timestamp without a zone is local time', async (t) => {
  const local = Math.floor(new Date(2013, 0, 2, 13, 23, 37).getTime() / 1000);
  t.equal(parseSince('2013-01-02T13:23:37', now), `${local}.000000000`);
  t.equal(parseSince('2013-01-02T13:23:37.25', now), `${local}.250000000`);
  t.equal(parseSince('2013-01-02', now), `${Math.floor(new Date(2013, 0, 2).getTime() / 1000)}.000000000`);
});

t.test('parseSince: Unix timestamps pass through with nanoseconds', async (t) => {
  t.equal(parseSince('1136073600', now), '1136073600.000000000');
  t.equal(parseSince('1136073600.000000001', now), '1136073600.000000001');
  t.equal(parseSince('1136073600.5', now), '1136073600.500000000');
  t.equal(parseSince('0', now), '0.000000000', '"0" is the epoch, not a zero duration (docker\'s special case)');
});

t.test('parseSince refuses what is neither, naming the value', async (t) => {
  for (const bad of ['', 'yesterday', '2013-13-01', '2013-02-30T00:00Z', '2023-02-29', '2013-01-02T24:00Z', '2013-01-02T13:60Z',
    '2013-01-02T13:23:37.Z', '2013-01-02T13:23:37.1234567890Z', '-5', '1136073600.', '5d', '2013-01-02T13:23:37+2']) {
    t.throws(() => parseSince(bad, now), { code: 'ERR_INVALID_TIME', message: `failed to parse value as time or duration: ${JSON.stringify(bad)}` }, `refuses ${JSON.stringify(bad)}`);
  }
});

t.test('parseSince refuses a moment a Date cannot hold, naming it (it failed later as "Invalid time value")', async (t) => {
  for (const bad of ['99999999999999999999h', '10000000000000', '-99999999999999999999h']) {
    t.throws(() => parseSince(bad, now), { code: 'ERR_INVALID_TIME', message: `time ${JSON.stringify(bad)} is out of range (more than 275,000 years from 1970)` }, `refuses ${bad}`);
  }
  t.equal(parseSince('8640000000000', now), '8640000000000.000000000', 'the last second a Date holds');
});

t.test('sinceTimestamp: the moment to the nanosecond as the API takes it, Unix seconds or, before 1970, RFC 3339', async (t) => {
  t.equal(sinceTimestamp(parseSince('2026-12-06T01:02:03.123456789Z', now)), `${Date.UTC(2026, 11, 6, 1, 2, 3) / 1000}.123456789`);
  t.equal(sinceTimestamp(parseSince('1733446923.123456789', now)), '1733446923.123456789');
  t.equal(sinceTimestamp(parseSince('1969-12-31T23:59:59.000000001Z', now)), '1969-12-31T23:59:59.000000001Z');
  t.equal(sinceTimestamp(parseSince('1960-01-01T00:00:00.5Z', now)), '1960-01-01T00:00:00.500000000Z');
});
