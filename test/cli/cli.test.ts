import t from 'tap';
import path from 'node:path';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../helpers/common.js';

// The built command (npm test builds first), run as a user would: through its shebang.
const cli = path.join(repoRoot, 'dist/cli/main.js');
const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

t.test('taskio prints its version and help; an unknown command exits 2', { timeout: 30_000 }, async (t) => {
  const v = spawnSync(cli, ['--version'], { encoding: 'utf8' });
  t.equal(v.status, 0);
  t.equal(v.stdout, `${version}\n`);
  const h = spawnSync(cli, ['help'], { encoding: 'utf8' });
  t.equal(h.status, 0);
  t.match(h.stdout, /usage: taskio <command>/);
  const bad = spawnSync(cli, ['bogus'], { encoding: 'utf8' });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /unknown command "bogus"/);
});
