import type { Clock } from '../../lib/clock.js';
import { deadline } from '../../lib/deadline.js';
import type { Logger } from '../../lib/logger.js';
import { withRetry } from '../../lib/with-retry.js';
import { RunpodError, classifyTransportFailure, parseRetryAfter } from '../errors.js';
import { isRetryable, retryDelay, type RetryPolicy } from '../retry-policy.js';
import type { RequestLimiter } from '../request-limiter.js';
import { classifyProblem, malformedAnswer } from './errors.js';

/** What openapi-fetch resolves with: the parsed body (`data` on 2xx, `error` otherwise) and the response. */
interface FetchResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** How an answer's body reads: the value, or what is wrong with it. */
export type Reading<T> = { value: T } | { malformed: string };

/** One v2 call: how to send it, how to read a 2xx answer, and what it needs around it. */
export interface RestCall<T> {
  operation: string;
  /** A mutation is re-sent only when RunPod provably never got it. */
  mutation: boolean;
  send: (signal: AbortSignal) => Promise<FetchResult>;
  read: (data: unknown) => Reading<T>;
  /** The value of a 404 answer, for a read where "no such thing" is an answer (a pod by id). */
  notFound?: { value: T };
  /** Values sent that must never come back in an error text (pod env values). */
  secrets?: readonly string[];
  signal?: AbortSignal | undefined;
}

/**
 * Sends v2 calls with the GraphQL client's manners: a timeout per attempt, the shared retry policy,
 * every attempt through the process's request limiter (the cap, RunPod's `Retry-After` and used-up
 * `RateLimit` windows held across calls), sanitised errors in the closed set, and every failed
 * attempt counted through `onError`.
 */
export class RestTransport {
  constructor(
    private readonly deps: {
      timeoutMs: number;
      retry: RetryPolicy;
      clock: Clock;
      logger: Logger | undefined;
      limiter: RequestLimiter;
      onError: ((error: RunpodError) => void) | undefined;
      /** Cut out of every error text: the key. */
      secrets: readonly string[];
    },
  ) {}

  /** Sends `call` with retries; while a hold lasts, fails at once without touching the network. */
  run<T>(call: RestCall<T>): Promise<T> {
    const { clock, retry, logger } = this.deps;
    const held = this.deps.limiter.held(call.operation);
    if (held) return Promise.reject(held);
    return withRetry(() => this.once(call), {
      retries: retry.retries,
      clock,
      signal: call.signal,
      retryable: (error): error is RunpodError => isRetryable(error, call.mutation, retry),
      delayMs: (attempt, error) => retryDelay(attempt, error, retry),
      onRetry: (error, attempt, delayMs) =>
        logger?.warn({ operation: call.operation, kind: error.kind, status: error.status, attempt, delayMs }, 'RunPod call failed; retrying'),
    });
  }

  /** Every failed attempt (and every request refused before sending) passes here: counted, and its `Retry-After` held. */
  report(error: RunpodError): RunpodError {
    this.deps.limiter.noteError(error);
    this.deps.onError?.(error);
    return error;
  }

  private async once<T>(call: RestCall<T>): Promise<T> {
    const { operation, signal } = call;
    const secrets = [...this.deps.secrets, ...(call.secrets ?? [])];
    // Waiting for a slot is not part of the request's own timeout.
    await this.deps.limiter.admit(operation, call.mutation, signal);
    const limit = deadline(this.deps.timeoutMs, signal);
    let result: FetchResult;
    try {
      if (signal?.aborted) throw signal.reason;
      result = await call.send(limit.signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (limit.timedOut) throw this.report(classifyTransportFailure(operation, error, this.deps.timeoutMs));
      // openapi-fetch throws the JSON parser's error for a 2xx body that is not JSON.
      if (error instanceof SyntaxError) throw this.report(malformedAnswer(operation, undefined, 'not JSON'));
      throw this.report(classifyTransportFailure(operation, error, undefined, secrets));
    } finally {
      limit.release();
    }
    const { response } = result;
    this.deps.limiter.noteHeaders(response.headers);
    if (response.ok) {
      const reading = call.read(result.data);
      if ('malformed' in reading) throw this.report(malformedAnswer(operation, response.status, reading.malformed));
      return reading.value;
    }
    if (response.status === 404 && call.notFound) return call.notFound.value;
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), this.deps.clock.now());
    throw this.report(classifyProblem(operation, response.status, result.error, retryAfter, secrets));
  }
}
