import { RunpodError } from './errors.js';

/** How hard a call tries again after a transient or rate-limited failure. */
export interface RetryPolicy {
  /** Extra attempts after the first. */
  retries: number;
  /** First back-off; doubles each attempt up to `maxDelayMs`. */
  minDelayMs: number;
  maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited out inside one call: every request is held until it has passed. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 2, minDelayMs: 500, maxDelayMs: 5_000, maxRetryAfterMs: 30_000 };

/**
 * Whether a failed call may be sent again. Reads retry transient and rate-limited failures. A
 * mutation is retried only when RunPod provably never processed it: after a timeout or a reset
 * the pod may already exist, and a second deploy would rent a second machine.
 */
export function isRetryable(error: unknown, mutation: boolean, policy: RetryPolicy): error is RunpodError {
  if (!(error instanceof RunpodError)) return false;
  if (error.kind !== 'transient' && error.kind !== 'rate_limited') return false;
  if (mutation && error.mayHaveReachedRunpod) return false;
  return (error.retryAfterMs ?? 0) <= policy.maxRetryAfterMs;
}

/** The wait before attempt `failedAttempt + 1`: exponential back-off, or `Retry-After` when longer. */
export function retryDelay(failedAttempt: number, error: RunpodError, policy: RetryPolicy): number {
  const backoff = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (failedAttempt - 1));
  return Math.max(backoff, error.retryAfterMs ?? 0);
}

/**
 * RunPod's `Retry-After`, kept across calls and cycles: until it has passed, every request (read or
 * write) fails at once without touching the network. A call that waits out a short `Retry-After`
 * itself re-sends after its own sleep; the hold is for everything else.
 */
export class RetryAfterHold {
  private until = 0;
  private why = 'Retry-After';

  /** Notes a failure; one carrying `Retry-After` holds every request until it has passed. */
  note(error: RunpodError, now: number): void {
    if (error.retryAfterMs !== undefined) this.holdFor(error.retryAfterMs, now, 'Retry-After');
  }

  /** Holds every request for `ms` from `now` (a longer hold already in place stays); `why` is what RunPod said, for the error. */
  holdFor(ms: number, now: number, why: string): void {
    if (now + ms <= this.until) return;
    this.until = now + ms;
    this.why = why;
  }

  /** The error a request gets instead of being sent while the hold lasts; undefined once it has passed. */
  check(operation: string, now: number): RunpodError | undefined {
    if (now >= this.until) return undefined;
    return new RunpodError({
      kind: 'rate_limited',
      operation,
      message: `not sent: RunPod asked to wait until ${new Date(this.until).toISOString()} (${this.why})`,
      retryAfterMs: this.until - now,
      mayHaveReachedRunpod: false,
    });
  }
}
