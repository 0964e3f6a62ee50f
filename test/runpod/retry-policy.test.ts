import { describe, expect, it } from 'vitest';
import { RunpodError, type RunpodErrorKind } from '../../src/runpod/errors.js';
import { DEFAULT_RETRY, isRetryable, retryDelay } from '../../src/runpod/retry-policy.js';

const error = (kind: RunpodErrorKind, mayHaveReachedRunpod: boolean, retryAfterMs?: number): RunpodError =>
  new RunpodError({ kind, operation: 'op', message: 'm', mayHaveReachedRunpod, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });

describe('which failures are sent again', () => {
  it.each([
    ['read, transient', error('transient', true), false, true],
    ['read, rate limited', error('rate_limited', false, 2_000), false, true],
    ['read, Retry-After too long', error('rate_limited', false, 120_000), false, false],
    ['read, capacity', error('capacity', true), false, false],
    ['read, auth', error('auth', true), false, false],
    ['read, invalid request', error('invalid_request', true), false, false],
    ['read, unsupported', error('unsupported', false), false, false],
    ['mutation, timeout or 5xx', error('transient', true), true, false],
    ['mutation, connection refused', error('transient', false), true, true],
    ['mutation, 429', error('rate_limited', false, 1_000), true, true],
    ['mutation, capacity', error('capacity', true), true, false],
    ['not a RunpodError', new Error('x'), false, false],
  ])('%s → %s', (_name, failure, mutation, expected) => {
    expect(isRetryable(failure, mutation, DEFAULT_RETRY)).toBe(expected);
  });

  it('backs off exponentially up to the cap, or waits Retry-After when longer', () => {
    const plain = error('transient', true);
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelay(n, plain, DEFAULT_RETRY))).toEqual([500, 1_000, 2_000, 4_000, 5_000, 5_000]);
    expect(retryDelay(1, error('rate_limited', false, 9_000), DEFAULT_RETRY)).toBe(9_000);
  });
});
