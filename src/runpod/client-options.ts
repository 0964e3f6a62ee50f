import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { RunpodError } from './errors.js';
import type { RequestLimiter } from './request-limiter.js';
import type { RetryPolicy } from './retry-policy.js';

/** What every RunPod client (GraphQL, REST v2) needs; `fetch`, `clock` and `logger` are injectable for tests. */
export interface RunpodClientOptions {
  url: string;
  /** Sent only as `Authorization: Bearer`. */
  apiKey?: string | undefined;
  timeoutMs: number;
  retry?: RetryPolicy;
  fetch?: typeof fetch;
  clock?: Clock;
  logger?: Logger;
  /**
   * The process's one request limiter, shared by every client so the cap counts all calls to
   * RunPod together; absent, the client keeps its own, without a cap (only RunPod's holds).
   */
  limiter?: RequestLimiter;
  /** Told of every failed attempt, retries included (the per-attempt error metric); a poll's outcome is counted apart. */
  onError?: (error: RunpodError) => void;
}
