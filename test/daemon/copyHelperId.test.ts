import t from 'tap';
import { copyHelperId } from '../../src/daemon/copyHelper.js';
import { validateContainerId } from '../../src/ids.js';

// runsc refuses a runtime id of 93 characters or more (9 of prefix, 2 of end: a helper id of 81 at
// most); a runsc task of a long id gets a helper id of its own form, runc and host ones keep theirs.
t.test('copy helper ids: runsc ones fit its socket name, and stay apart for ids alike', { timeout: 10_000 }, async (t) => {
  const tag = '0a1b2c3d';
  const id69 = `w${'x'.repeat(68)}`, id70 = `${id69}x`, id76 = `w${'x'.repeat(75)}`;
  t.equal(copyHelperId({ id: id69, runtime: 'runsc' }, tag), `${id69}+cp+${tag}`, 'an id that fits keeps the plain form');
  for (const id of [id70, id76]) {
    const helperId = copyHelperId({ id, runtime: 'runsc' }, tag);
    t.ok(helperId.length <= 81, `${helperId.length} characters for an id of ${id.length}`);
    t.equal(validateContainerId(helperId), helperId, 'the runtime layer takes it');
    t.ok(helperId.endsWith(`+cph+${tag}`), 'its own kind');
    t.ok(helperId.startsWith(copyHelperId({ id, runtime: 'runsc' }, '')), 'the form without a tag begins every one (the leftovers\' search)');
  }
  const a = copyHelperId({ id: id70, runtime: 'runsc' }, tag), b = copyHelperId({ id: id76, runtime: 'runsc' }, tag);
  t.not(a, b, 'long ids that begin alike get apart helpers');
  const namedLikeIt = a.slice(0, a.indexOf('+'));
  t.not(copyHelperId({ id: namedLikeIt, runtime: 'runsc' }, tag), a, 'a task named as the first part has helpers of its own');
  t.notOk(a.startsWith(copyHelperId({ id: namedLikeIt, runtime: 'runsc' }, '')), '… which the leftovers\' search for it does not take');
  t.equal(copyHelperId({ id: id76, runtime: 'runc' }, tag), `${id76}+cp+${tag}`, 'runc keeps the plain form');
  t.equal(copyHelperId({ id: id76, runtime: 'host' }, tag), `${id76}+cp+${tag}`, 'host too');
});
