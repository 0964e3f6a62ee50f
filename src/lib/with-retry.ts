import pRetry from 'p-retry';
import type { Clock } from './clock.js';

/**
 * Runs `attempt` under p-retry, waiting between attempts through the injected clock (p-retry's own
 * timer is set to zero) so tests see every delay without sleeping. `retryable` decides which
 * failures are tried again; `delayMs` how long to wait before attempt `failedAttempt + 1`.
 */
export function withRetry<T, E = unknown>(
  attempt: () => Promise<T>,
  options: {
    retries: number;
    clock: Clock;
    signal?: AbortSignal | undefined;
    retryable: (error: unknown) => error is E;
    delayMs: (failedAttempt: number, error: E) => number;
    onRetry?: (error: E, failedAttempt: number, delayMs: number) => void;
  },
): Promise<T> {
  const { retries, clock, signal, retryable, delayMs, onRetry } = options;
  return pRetry(attempt, {
    retries,
    minTimeout: 0,
    factor: 1,
    ...(signal ? { signal } : {}),
    shouldRetry: ({ error }) => retryable(error),
    onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft <= 0 || !retryable(error)) return;
      const wait = delayMs(attemptNumber, error);
      onRetry?.(error, attemptNumber, wait);
      await clock.sleep(wait, signal);
    },
  });
}
