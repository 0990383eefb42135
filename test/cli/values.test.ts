import t from 'tap';
import {
  parseAttachStream, parseCpus, parseEnv, parseHostDir, parseInteger, parseLog, parsePidsLimit, parseRuntime, parseStopTimeout, parseTail,
  parseTaskId, parseWorkdir,
} from '../../src/cli/values.js';

t.test('--cpus: a decimal above 0, in nano-CPUs', async (t) => {
  t.equal(parseCpus('1'), 1e9);
  t.equal(parseCpus('0.5'), 5e8);
  t.equal(parseCpus('.25'), 2.5e8);
  t.equal(parseCpus('1.000000001'), 1_000_000_001);
  t.equal(parseCpus('2.500000000000'), 2.5e9, 'trailing zeros are not precision');
  t.equal(parseCpus('0'), undefined, '0 is none given, as docker\'s NanoCpus 0');
  t.equal(parseCpus('0.0'), undefined);
  t.throws(() => parseCpus('1.0000000001'), { message: 'value is too precise' });
  for (const bad of ['', 'abc', '-1', '1/2', '1e3', '1.', ' 1']) t.throws(() => parseCpus(bad), { message: `failed to parse ${bad} as a rational number` }, `refuses ${JSON.stringify(bad)}`);
  t.throws(() => parseCpus('99999999999'), { message: /out of range/ });
});

t.test('integers, --pids-limit, stop -t and logs --tail', async (t) => {
  t.equal(parseInteger('42'), 42);
  t.equal(parseInteger('-1'), -1);
  t.equal(parseInteger('+3'), 3);
  for (const bad of ['', '1.5', 'x', '1e3', '99999999999999999999']) t.throws(() => parseInteger(bad), { message: `strconv.ParseInt: parsing ${JSON.stringify(bad)}: invalid syntax` });
  t.equal(parsePidsLimit('100'), 100);
  t.equal(parsePidsLimit('-1'), undefined, '-1 is unlimited');
  t.equal(parsePidsLimit('0'), undefined, '0 is unlimited, as docker');
  t.throws(() => parsePidsLimit('-2'), { code: 'ERR_INVALID_ARG_VALUE' });
  t.equal(parseStopTimeout('0'), 0);
  t.equal(parseStopTimeout('10'), 10);
  t.equal(parseStopTimeout('-1'), -1);
  t.throws(() => parseStopTimeout('-5'), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => parseStopTimeout('1s'), { code: 'ERR_INVALID_ARG_VALUE' });
  t.equal(parseStopTimeout('2147483'), 2147483, 'the longest a Node timer waits');
  t.throws(() => parseStopTimeout('2147484'), { code: 'ERR_INVALID_ARG_VALUE', message: /0 to 2147483 seconds \(24\.8 days\)/ }, 'a longer one fired at once');
  t.same(['stdin', 'STDOUT', 'Stderr'].map(parseAttachStream), ['stdin', 'stdout', 'stderr'], 'attach streams: any case, as docker');
  t.throws(() => parseAttachStream('stdall'), { code: 'ERR_INVALID_ARG_VALUE', message: /valid streams are STDIN, STDOUT and STDERR/ });
  t.equal(parseTail('all'), 'all');
  t.equal(parseTail('0'), 0);
  t.equal(parseTail('5'), 5);
  t.equal(parseTail('+7'), 7, 'a sign, as Go\'s strconv.Atoi takes it');
  for (const all of ['-1', '-20', 'ALL', '', '1.5', 'x', '99999999999999999999']) t.equal(parseTail(all), 'all', `${JSON.stringify(all)} is all, as docker's daemon takes it`);
});

t.test('-e K=V, and -e K from this environment, as docker', async (t) => {
  const env = { HOME: '/root', EMPTY: '' };
  t.equal(parseEnv('A=1', env), 'A=1');
  t.equal(parseEnv('A=', env), 'A=', 'an empty value is a value');
  t.equal(parseEnv('A=b=c', env), 'A=b=c');
  t.equal(parseEnv('HOME', env), 'HOME=/root');
  t.equal(parseEnv('EMPTY', env), 'EMPTY=');
  t.equal(parseEnv('UNSET', env), undefined, 'left out when not set here');
  t.throws(() => parseEnv('=x', env), { code: 'ERR_INVALID_ARG_VALUE', message: 'invalid environment variable: =x' });
  t.throws(() => parseEnv('', env), { message: 'invalid environment variable: ' });
  t.throws(() => parseEnv('A=\0', env), { message: /NUL/ });
});

t.test('task ids, runtimes, directories, workdir, log URIs and formats', async (t) => {
  t.equal(parseTaskId('web-1'), 'web-1');
  t.throws(() => parseTaskId('../x'), { code: 'ERR_INVALID_ID', message: /"\.\.\/x"/ });
  t.equal(parseRuntime('runsc'), 'runsc');
  t.equal(parseRuntime('host'), 'host');
  t.throws(() => parseRuntime('crun'), { message: /runsc, runc, host/ });
  t.equal(parseHostDir('/srv/rootfs'), '/srv/rootfs');
  t.equal(parseHostDir('rootfs'), `${process.cwd()}/rootfs`, 'relative to where the command runs');
  t.throws(() => parseHostDir(''), { code: 'ERR_INVALID_ARG_VALUE' });
  t.equal(parseWorkdir('/work'), '/work');
  t.throws(() => parseWorkdir('work'), { message: "the working directory 'work' is invalid, it needs to be an absolute path" });
  t.equal(parseLog('none'), 'none');
  t.equal(parseLog('file:///var/log/t.log?format=cri'), 'file:///var/log/t.log?format=cri');
  t.equal(parseLog('binary:///usr/bin/logger?id=x'), 'binary:///usr/bin/logger?id=x');
  for (const bad of ['', 'None', '/var/log/t.log', 'file://host/x', 'file:///', 'http:///x', 'file:relative']) {
    t.throws(() => parseLog(bad), { code: 'ERR_INVALID_ARG_VALUE' }, `refuses ${JSON.stringify(bad)}`);
  }
});
