import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { commandEnv, readEnvFile } from '../../src/cli/envFile.js';
import { parseFlags } from '../../src/cli/flags.js';
import { specs } from '../../src/cli/verbs.js';
import { mkfifo } from '../../src/sys/index.js';
import { fdsUnder, tmpDir } from '../helpers/common.js';
import { daemonRoot } from '../daemon/helpers.js';
import { taskio } from './runSession.js';

t.test('readEnvFile: docker\'s format; bad lines name the file and line; only a regular file is read', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'app.env');
  fs.writeFileSync(file, '\uFEFF# a comment\n\n   A=1\nB="kept quotes" and = signs\nFROM_HERE\nNOT_SET_HERE\r\nEMPTY=\n  # indented comment\n');
  t.same(readEnvFile(file, { FROM_HERE: 'h' }), ['A=1', 'B="kept quotes" and = signs', 'FROM_HERE=h', 'EMPTY='],
    'values as written; a bare name from this environment, left out when unset; CRLF and a BOM read as docker reads them');
  fs.writeFileSync(file, 'A=1\nBAD NAME=2\n');
  t.throws(() => readEnvFile(file), { code: 'ERR_INVALID_ARG_VALUE', message: `${file}, line 2: variable 'BAD NAME' contains white space` });
  fs.writeFileSync(file, '=nothing\n');
  t.throws(() => readEnvFile(file), { code: 'ERR_INVALID_ARG_VALUE', message: `${file}, line 1: invalid environment variable: =nothing` });
  const fifo = path.join(dir, 'fifo.env');
  mkfifo(fifo, 0o600); // no writer: a blocking open would hang here
  t.throws(() => readEnvFile(fifo), { code: 'ERR_INVALID_ARG_VALUE', message: `${fifo} is not a regular file` });
  t.throws(() => readEnvFile(path.join(dir, 'missing.env')), { code: 'ENOENT' });
  // A sparse 3 GB file was read whole (minutes, gigabytes): refused on its size.
  const huge = path.join(dir, 'huge.env');
  fs.closeSync(fs.openSync(huge, 'w'));
  fs.truncateSync(huge, 3e9);
  t.throws(() => readEnvFile(huge), { code: 'ERR_FS_FILE_TOO_LARGE', message: `${huge} is larger than 1048576 bytes (3000000000)` });
  t.same(fdsUnder(dir), [], 'no fd left open');
});

t.test('commandEnv: the env files in order, then -e; a name given twice keeps its first place and its last value', async (t) => {
  const dir = tmpDir(t);
  const one = path.join(dir, 'one.env'), two = path.join(dir, 'two.env');
  fs.writeFileSync(one, 'A=1\nB=1\n');
  fs.writeFileSync(two, 'B=2\nC=2\n');
  const args = parseFlags(specs.find((s) => s.name === 'run')!, ['--env-file', one, '-e', 'C=e', '--env-file', two, '-e', 'A=e', '--', 'true']);
  t.same(commandEnv(args), ['A=e', 'B=2', 'C=e']);
});

t.test('run and exec --env-file: the task gets the file\'s variables, -e over them', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  const file = path.join(root, 'task.env');
  fs.writeFileSync(file, 'GREETING=hello from the file\nWHO=file\n');
  const show = ['sh', '-c', 'echo "$GREETING / $WHO"'];
  const run = await taskio(root, ['run', '--rm', '--runtime', 'runc', '--env-file', file, '-e', 'WHO=cli', '--', ...show]);
  t.same([run.status, run.stdout, run.stderr], [0, 'hello from the file / cli\n', '']);
  t.equal((await taskio(root, ['run', '-d', '--name', 'envbox', '--runtime', 'host', '--', 'sleep', '1000'])).status, 0);
  const exec = await taskio(root, ['exec', '--env-file', file, 'envbox', ...show]);
  t.same([exec.status, exec.stdout], [0, 'hello from the file / file\n']);
  await taskio(root, ['rm', '-f', 'envbox']);
});
