import t, { type Test } from 'tap';
import fs from 'node:fs';
import { daemonRoot } from '../daemon/helpers.js';
import { printed, startInteractive, taskio, type TaskioChild } from './taskioCommand.js';
import { spawnEveryLine } from './inProcess.js';

// This file tests the command's own process: every line spawns it.
spawnEveryLine();

// A prompt without its newline, then a wait for the answer on stdin: the prompt reaches the client
// only if the log's writer lets go of a line that stays unfinished (the client follows the log).
const prompt = 'printf "name? "; read x; echo "hi $x"';

/** Waits for the prompt on `child`'s stdout before answering it, then for the end: docker shows the prompt at once. */
async function answer(t: Test, child: TaskioChild, what: string): Promise<void> {
  await printed(child, 'name? ');
  t.equal(child.output(), 'name? ', `${what}: the prompt, before the answer`);
  child.stdin!.end('bob\n');
  const r = await child.result;
  t.equal(r.stderr, '', what);
  t.equal(r.code, 0, `${what}: exit 0`);
  t.equal(r.stdout, 'name? hi bob\n', `${what}: the answer`);
}

/** The task's log as `logs` prints it (the line joined, also as the last line) and as CRI entries in its file (P, then F). */
async function checkLog(t: Test, root: string, id: string): Promise<void> {
  const logs = await taskio(t, root, 'logs', id);
  t.equal(logs.stdout, 'name? hi bob\n', `${id}: logs joins the P entry with its F`);
  const last = await taskio(t, root, 'logs', '--tail', '1', id);
  t.equal(last.stdout, 'name? hi bob\n', `${id}: logs --tail 1 counts the line once and prints it whole`);
  const logPath = (await taskio(t, root, 'inspect', '-f', '{{.LogPath}}', id)).stdout.trim();
  const entries = fs.readFileSync(logPath, 'utf8').split('\n').filter((l) => l !== '')
    .map((l) => /^\S+Z (stdout|stderr) ([PF]) (.*)$/.exec(l)?.slice(1).join(' ') ?? `not CRI: ${l}`);
  t.same(entries, ['stdout P name? ', 'stdout F hi bob'], `${id}: the log holds the prompt as a P entry`);
}

// The tasks are left to daemonRoot's teardown, which removes every task (rm -f) before it wipes the root.
t.test('run -i without -t: the task\'s prompt without a newline shows before the answer is typed, as docker\'s does', { timeout: 90_000 }, async (t) => {
  const root = daemonRoot(t);
  for (const runtime of ['host', 'runc']) {
    const id = `prompt-${runtime}`;
    await answer(t, startInteractive(t, root, ['run', '-i', '--name', id, '--runtime', runtime, '--', 'sh', '-c', prompt]), `run -i, ${runtime}`);
    await checkLog(t, root, id);
  }
});

t.test('start -a -i and attach to a running -i task show the prompt before the answer too', { timeout: 90_000 }, async (t) => {
  const root = daemonRoot(t);
  t.equal((await taskio(t, root, 'create', '-i', '--name', 'prompt-start', '--runtime', 'host', '--', 'sh', '-c', prompt)).code, 0);
  await answer(t, startInteractive(t, root, ['start', '-a', '-i', 'prompt-start']), 'start -a -i');
  await checkLog(t, root, 'prompt-start');

  // The task waits for a first line before it prompts, so the prompt comes after the attach.
  t.equal((await taskio(t, root, 'run', '-d', '-i', '--name', 'prompt-attach', '--runtime', 'host', '--', 'sh', '-c', `read go; ${prompt}`)).code, 0);
  const attach = startInteractive(t, root, ['attach', 'prompt-attach']);
  attach.stdin!.write('go\n');
  await answer(t, attach, 'attach');
  await checkLog(t, root, 'prompt-attach');
});
