import { describeNetworkError, networkErrorCode } from '../lib/network-error.js';

/**
 * The closed set of ways a RunPod call fails, and what the caller does about each:
 * - capacity: RunPod has no machine for the request (fall back, retry later);
 * - auth: the key is missing, wrong or lacks permission (stop acting, tell the user once);
 * - rate_limited: 429, RunPod did not process the request (wait `retryAfterMs`, retry);
 * - transient: network, timeout, 5xx, a malformed answer, "something went wrong" (back off, retry);
 * - invalid_request: RunPod refused what we asked (tell the user, do not retry blindly);
 * - unsupported: RunPod no longer knows a field or mutation we sent (e.g. spot after retirement);
 * - retired: HTTP 410 Gone, the API itself is retired (never retried; tell the user once);
 * - payment: HTTP 402, the account's balance cannot pay for it (REST v2; no candidate will do better);
 * - no_access: REST v2's 403 on a create: the account may not use that GPU pool (another may do).
 */
export type RunpodErrorKind = 'capacity' | 'auth' | 'rate_limited' | 'transient' | 'invalid_request' | 'unsupported' | 'retired' | 'payment' | 'no_access';

export const RUNPOD_ERROR_KINDS = [
  'capacity',
  'auth',
  'rate_limited',
  'transient',
  'invalid_request',
  'unsupported',
  'retired',
  'payment',
  'no_access',
] as const satisfies readonly RunpodErrorKind[];

/**
 * RunPod's "no machine for this" texts, the same on both APIs: "There are no longer any instances
 * available with the requested specifications", "...with enough disk space", "There are no
 * instances available..." (spot), "There are no instances currently available" (REST v1 prefixes
 * it, e.g. "create pod: "), "This machine does not have the resources to deploy your pod", "There
 * are not enough free GPUs on the host machine to start this pod." (resume). RunPod's generic
 * "Something went wrong" is not one of them: it has come back for fixed input errors too.
 */
export const CAPACITY_TEXT =
  /no (?:longer )?(?:any )?instances (?:currently )?available|does not have the resources to deploy|not enough free gpus|out of capacity|insufficient capacity/i;

/**
 * A failed RunPod call. The message is one line, capped, and sanitised: it never holds the key or
 * the request's pod env values, even when RunPod echoed them. `cause` is the error it wraps when no
 * answer came (the network failure, the timeout). An answer that did come is described by this
 * error's own fields instead: graphql-request's error for it quotes the whole request, pod env
 * values included, and RunPod's raw text, which a logged cause would print.
 */
export class RunpodError extends Error {
  override readonly name = 'RunpodError';
  readonly kind: RunpodErrorKind;
  readonly operation: string;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly retryAfterMs: number | undefined;
  /**
   * False only when RunPod provably never processed the request (connection refused, DNS failure,
   * 429). A mutation is retried only then: after a timeout or a reset the pod may exist already.
   */
  readonly mayHaveReachedRunpod: boolean;
  /** For an `unsupported` error: the spot field or mutation RunPod's error names, if any. */
  readonly spotField: string | undefined;

  constructor(init: {
    kind: RunpodErrorKind;
    operation: string;
    message: string;
    status?: number;
    code?: string;
    retryAfterMs?: number;
    mayHaveReachedRunpod: boolean;
    spotField?: string;
    cause?: unknown;
  }) {
    super(`${init.operation}: ${init.message}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.operation = init.operation;
    this.status = init.status;
    this.code = init.code;
    this.retryAfterMs = init.retryAfterMs;
    this.mayHaveReachedRunpod = init.mayHaveReachedRunpod;
    this.spotField = init.spotField;
  }
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

// Socket errors that happen before a request byte leaves this machine.
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Classifies a failure to get any HTTP answer: a network error, or our own timeout. `error` is kept as the cause. */
export function classifyTransportFailure(operation: string, error: unknown, timedOutAfterMs: number | undefined, secrets: readonly string[] = []): RunpodError {
  if (timedOutAfterMs !== undefined) {
    return new RunpodError({ kind: 'transient', operation, message: `no answer within ${timedOutAfterMs} ms`, mayHaveReachedRunpod: true, cause: error });
  }
  const code = networkErrorCode(error);
  return new RunpodError({
    kind: 'transient',
    operation,
    message: describeNetworkError(error, secrets),
    mayHaveReachedRunpod: code === undefined || !NEVER_SENT_CODES.has(code),
    cause: error,
  });
}
