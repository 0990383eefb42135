import t from 'tap';
import * as hcs from '../../../src/runtime/hcs/index.js';
import { makeProcessError, makeSystemError, processHcsResult } from '../../../src/runtime/hcs/errors.js';
import { TaskioError } from '../../../src/errors.js';

const opts = { timeout: 5000 };

t.test('every hcsshim error value exists with its number or code', opts, async (t) => {
  const errnos: [hcs.HcsErrno, number][] = [
    [hcs.ErrComputeSystemDoesNotExist, 0xc037010e], [hcs.ErrElementNotFound, 0x490], [hcs.ErrNotSupported, 0x32],
    [hcs.ErrInvalidData, 0xd], [hcs.ErrVmcomputeAlreadyStopped, 0xc0370110], [hcs.ErrVmcomputeOperationPending, 0xc0370103],
    [hcs.ErrVmcomputeOperationInvalidState, 0xc0370105], [hcs.ErrProcNotFound, 0x7f], [hcs.ErrVmcomputeOperationAccessIsDenied, 0x5],
    [hcs.ErrVmcomputeInvalidJSON, 0xc037010d], [hcs.ErrVmcomputeUnknownMessage, 0xc037010b], [hcs.ErrVmcomputeUnexpectedExit, 0xc0370106],
    [hcs.ErrProcessAlreadyStopped, 0x8037011f], [hcs.ErrInvalidHandle, 0x6],
  ];
  for (const [e, n] of errnos) {
    t.equal(e.errno, n, `${e.code} = 0x${n.toString(16)}`);
    t.ok(e instanceof TaskioError);
  }
  const sentinels = [
    hcs.ErrHandleClose, hcs.ErrAlreadyClosed, hcs.ErrInvalidNotificationType, hcs.ErrInvalidProcessState, hcs.ErrTimeout,
    hcs.ErrUnexpectedContainerExit, hcs.ErrUnexpectedProcessAbort, hcs.ErrUnexpectedValue, hcs.ErrOperationDenied, hcs.ErrPlatformNotSupported,
  ];
  t.equal(new Set(sentinels.map((s) => s.code)).size, sentinels.length, 'sentinel codes are distinct');
  t.equal(hcs.ErrPlatformNotSupported.code, 'ERR_PLATFORM_NOT_SUPPORTED');
  t.equal(hcs.ErrTimeout.message, 'hcs: timeout waiting for notification');
});

t.test('HRESULTs decode to the exported constants (HRESULT_FROM_WIN32 unwrapped)', opts, async (t) => {
  t.equal(hcs.errnoFromHresult(0), null);
  t.equal(hcs.errnoFromHresult(1), null, 'S_FALSE is success');
  t.equal(hcs.errnoFromHresult(0x80070490 | 0), hcs.ErrElementNotFound);
  t.equal(hcs.errnoFromHresult(0x8007000d | 0), hcs.ErrInvalidData);
  t.equal(hcs.errnoFromHresult(0xc037010e | 0), hcs.ErrComputeSystemDoesNotExist);
  t.equal(hcs.errnoFromHresult(0xc0370103 | 0), hcs.ErrVmcomputeOperationPending);
  const other = hcs.errnoFromHresult(0x80370109 | 0)!;
  t.equal(other.errno, 0x80370109);
  t.match(other.message, /0x80370109/);
});

t.test('classifiers answer as hcsshim does, through every wrapper', opts, async (t) => {
  const wrap = (e: unknown): unknown[] => [
    e,
    new hcs.HcsError('hcs::GetComputeSystems', e),
    new hcs.SystemError('c1', 'hcs::System::Start', e),
    new hcs.ProcessError('c1', 7, 'hcs::Process::Kill', e),
    new hcs.SystemError('c1', 'outer', new hcs.HcsError('inner', e)),
    new Error('plain wrapper', { cause: e }),
    hcs.errnoFromHresult(e instanceof hcs.HcsErrno ? e.errno | 0 : 0) ?? e,
  ];
  const table: [string, (e: unknown) => boolean, unknown[], unknown[]][] = [
    ['isNotExist', hcs.isNotExist, [hcs.ErrComputeSystemDoesNotExist, hcs.ErrElementNotFound], [hcs.ErrVmcomputeAlreadyStopped, hcs.ErrTimeout]],
    ['isAlreadyStopped', hcs.isAlreadyStopped, [hcs.ErrVmcomputeAlreadyStopped, hcs.ErrProcessAlreadyStopped, hcs.ErrElementNotFound], [hcs.ErrComputeSystemDoesNotExist]],
    ['isAlreadyClosed', hcs.isAlreadyClosed, [hcs.ErrAlreadyClosed], [hcs.ErrHandleClose, hcs.ErrInvalidHandle]],
    ['isPending', hcs.isPending, [hcs.ErrVmcomputeOperationPending], [hcs.ErrTimeout]],
    ['isTimeout', hcs.isTimeout, [hcs.ErrTimeout, hcs.ErrOperationTimeout, Object.assign(new Error('t'), { code: 'ETIMEDOUT' })], [hcs.ErrUnexpectedContainerExit]],
    ['isNotSupported', hcs.isNotSupported, [hcs.ErrVmcomputeInvalidJSON, hcs.ErrInvalidData, hcs.ErrNotSupported, hcs.ErrVmcomputeUnknownMessage], [hcs.ErrPlatformNotSupported, hcs.ErrProcNotFound]],
    ['isOperationInvalidState', hcs.isOperationInvalidState, [hcs.ErrVmcomputeOperationInvalidState], [hcs.ErrInvalidProcessState]],
    ['isErrorInvalidHandle', hcs.isErrorInvalidHandle, [hcs.ErrInvalidHandle], [hcs.ErrAlreadyClosed]],
    ['isAccessIsDenied', hcs.isAccessIsDenied, [hcs.ErrVmcomputeOperationAccessIsDenied], [hcs.ErrOperationDenied]],
    ['isPlatformNotSupported', hcs.isPlatformNotSupported, [hcs.ErrPlatformNotSupported], [hcs.ErrNotSupported]],
  ];
  for (const [name, fn, yes, no] of table) {
    for (const e of yes) for (const w of wrap(e)) t.ok(fn(w), `${name}(${(e as Error).message} in ${(w as Error).name})`);
    for (const e of no) for (const w of wrap(e)) t.notOk(fn(w), `not ${name}(${(e as Error).message})`);
    t.notOk(fn(undefined), `${name}(undefined)`);
    t.notOk(fn(new Error('unrelated')), `${name}(unrelated)`);
  }
  // A fresh errno with the same number is the same error (Go compares syscall.Errno by value).
  t.ok(hcs.isNotExist(new hcs.HcsErrno(0x490, 'X', 'fresh')));
});

t.test('wrappers format like hcsshim, carry op/id/pid/events and the cause code, and never double-wrap', opts, async (t) => {
  const events = processHcsResult(JSON.stringify({ Error: -1, ErrorEvents: [{ Message: 'bad layer', Provider: 'p', EventId: 12, Source: 's' }] }));
  t.same(events, [{ message: 'bad layer', provider: 'p', eventId: 12, source: 's' }]);
  const se = new hcs.SystemError('c1', 'hcs::System::Start', hcs.ErrVmcomputeOperationInvalidState, events);
  t.equal(se.message, `hcs::System::Start c1: ${hcs.ErrVmcomputeOperationInvalidState.message}\n[Event Detail: bad layer Provider: p EventID: 12 Source: s]`);
  t.match(se, { op: 'hcs::System::Start', id: 'c1', err: hcs.ErrVmcomputeOperationInvalidState, code: 'HCS_E_INVALID_STATE' });
  t.equal(se.cause, hcs.ErrVmcomputeOperationInvalidState);
  const pe = new hcs.ProcessError('c1', 7, 'hcs::Process::Kill', hcs.ErrTimeout);
  t.equal(pe.message, 'hcs::Process::Kill c1:7: hcs: timeout waiting for notification');
  t.match(pe, { systemId: 'c1', pid: 7, code: 'ERR_HCS_TIMEOUT' });
  t.equal(makeSystemError('c2', 'other', se), se, 'a SystemError is not wrapped again');
  t.equal(makeProcessError('c2', 1, 'other', new Error('x', { cause: pe })), pe);
  t.same(processHcsResult('not json'), []);
  t.same(processHcsResult(undefined), []);
});
