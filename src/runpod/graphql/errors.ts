import { sanitise } from '../../lib/sanitise.js';
import { CAPACITY_TEXT, RunpodError } from '../errors.js';

// How the GraphQL API's answers map onto RunpodError's closed set of kinds.

/** The fields and mutations RunPod is retiring with spot pods; an error naming one may mean spot is gone. */
const SPOT_FIELDS = ['minimumBidPrice', 'podRentInterruptable', 'bidPerGpu', 'podBidResume'] as const;

/** One entry of a GraphQL `errors` array, as far as we read it. */
export interface GraphqlErrorEntry {
  message?: unknown;
  path?: unknown;
  extensions?: { code?: unknown } | null;
}

const AUTH = /unauthori[sz]ed|forbidden|permission denied|invalid api key|api key is (?:missing|invalid)/i;
const RATE_LIMIT = /rate limit|too many requests/i;
const TRANSIENT = /something went wrong|internal server error|temporarily unavailable|timed? ?out/i;
// Validation messages that mean the server's schema lost something we send.
const REMOVED_FROM_SCHEMA = /cannot query field|is not defined by type|unknown argument|unknown type|unknown field/i;

function entryMessage(entry: GraphqlErrorEntry): string {
  return typeof entry.message === 'string' ? entry.message : 'error without a message';
}

function entryCode(entry: GraphqlErrorEntry): string | undefined {
  const code = entry.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

const SPOT_NAME = new RegExp(`\\b(${SPOT_FIELDS.join('|')})\\b`);
const SPOT_NAMES: ReadonlySet<string> = new Set(SPOT_FIELDS);

/**
 * The spot field or mutation an error entry names: in its message, or in its path below the root
 * (a per-field error such as `k0.0.lowestPrice.minimumBidPrice`). The root of a path is only the
 * operation, so a capacity refusal of `podRentInterruptable` names nothing.
 */
function spotFieldOf(entry: GraphqlErrorEntry): string | undefined {
  const inMessage = SPOT_NAME.exec(entryMessage(entry))?.[1];
  if (inMessage !== undefined) return inMessage;
  const below = Array.isArray(entry.path) ? entry.path.slice(1) : [];
  return below.find((segment): segment is string => typeof segment === 'string' && SPOT_NAMES.has(segment));
}

/**
 * The spot field the first entry that says "gone" names, for errors that come back beside data (a
 * snapshot's per-field errors). Entries that are transient, rate limits, capacity or auth do not
 * count: a spot price that failed to compute this once is not a retired one.
 */
export function spotFieldRefused(errors: readonly GraphqlErrorEntry[], secrets: readonly string[] = []): { field: string; message: string } | undefined {
  for (const entry of errors) {
    const field = spotFieldOf(entry);
    if (field === undefined) continue;
    const error = classifyGraphqlErrors('spot', [entry], 200, secrets);
    if (error.kind === 'unsupported') return { field, message: error.message };
  }
  return undefined;
}

/**
 * Classifies GraphQL `errors` (HTTP 200 or 400) into one RunpodError. `secrets` (the key, the pod
 * env values sent) are cut out of RunPod's text before it becomes the message. An error that names
 * a spot field and is not capacity, auth, a rate limit or transient is `unsupported` with
 * `spotField` set: whether spot is really gone is the caller's to confirm.
 */
export function classifyGraphqlErrors(operation: string, errors: readonly GraphqlErrorEntry[], status: number, secrets: readonly string[] = []): RunpodError {
  const messages = errors.map(entryMessage);
  const joined = messages.join(' | ');
  const codes = errors.map(entryCode).filter((c): c is string => c !== undefined);
  const base = { operation, status, code: codes[0], message: sanitise(joined, secrets) };
  const spotField = errors.map(spotFieldOf).find((f) => f !== undefined);
  const spot = spotField !== undefined ? { spotField } : {};

  if (codes.includes('GRAPHQL_VALIDATION_FAILED') || messages.some((m) => REMOVED_FROM_SCHEMA.test(m))) {
    const removed = messages.some((m) => REMOVED_FROM_SCHEMA.test(m)) || spotField !== undefined;
    return new RunpodError({ ...base, ...(removed ? spot : {}), kind: removed ? 'unsupported' : 'invalid_request', mayHaveReachedRunpod: false });
  }
  if (messages.some((m) => AUTH.test(m)) || codes.includes('UNAUTHENTICATED') || codes.includes('FORBIDDEN')) {
    return new RunpodError({ ...base, kind: 'auth', mayHaveReachedRunpod: true });
  }
  if (codes.includes('SUPPLY_CONSTRAINT') || messages.some((m) => CAPACITY_TEXT.test(m))) {
    return new RunpodError({ ...base, kind: 'capacity', mayHaveReachedRunpod: true });
  }
  if (messages.some((m) => RATE_LIMIT.test(m))) {
    return new RunpodError({ ...base, kind: 'rate_limited', mayHaveReachedRunpod: false });
  }
  if (codes.includes('INTERNAL_SERVER_ERROR') || messages.some((m) => TRANSIENT.test(m))) {
    return new RunpodError({ ...base, kind: 'transient', mayHaveReachedRunpod: true });
  }
  if (spotField !== undefined) return new RunpodError({ ...base, ...spot, kind: 'unsupported', mayHaveReachedRunpod: true });
  return new RunpodError({ ...base, kind: 'invalid_request', mayHaveReachedRunpod: true });
}

/**
 * Classifies a non-2xx HTTP answer. `errors` is the body's GraphQL errors when it had any;
 * `retryAfterMs` is kept on 429 and 5xx, the answers a `Retry-After` may come with.
 */
export function classifyHttpStatus(
  operation: string,
  status: number,
  errors: readonly GraphqlErrorEntry[] | undefined,
  retryAfterMs: number | undefined,
  secrets: readonly string[] = [],
): RunpodError {
  const detail = errors?.length ? sanitise(errors.map(entryMessage).join(' | '), secrets) : `HTTP ${status}`;
  const wait = retryAfterMs !== undefined ? { retryAfterMs } : {};
  // RunPod's own words when it gave any: a bare "(HTTP 401)" would only repeat the status.
  const said = errors?.length ? ` (${detail})` : '';
  if (status === 401 || status === 403) {
    return new RunpodError({ kind: 'auth', operation, status, message: `HTTP ${status}: check RUNPOD_API_KEY${said}`, mayHaveReachedRunpod: true });
  }
  if (status === 410) {
    return new RunpodError({ kind: 'retired', operation, status, message: `HTTP 410 Gone: RunPod has retired this API${said}`, mayHaveReachedRunpod: false });
  }
  if (status === 429) {
    return new RunpodError({ kind: 'rate_limited', operation, status, ...wait, message: `HTTP 429 rate limited`, mayHaveReachedRunpod: false });
  }
  if (status >= 500) {
    return new RunpodError({ kind: 'transient', operation, status, ...wait, message: `HTTP ${status}`, mayHaveReachedRunpod: true });
  }
  if (errors?.length) return classifyGraphqlErrors(operation, errors, status, secrets);
  return new RunpodError({ kind: 'invalid_request', operation, status, message: detail, mayHaveReachedRunpod: true });
}

/** The error for an answer that is not a GraphQL result at all (HTML, truncated JSON, ...). */
export function malformedAnswer(operation: string, status: number): RunpodError {
  return new RunpodError({ kind: 'transient', operation, status, message: 'malformed answer (not a GraphQL JSON result)', mayHaveReachedRunpod: true });
}
