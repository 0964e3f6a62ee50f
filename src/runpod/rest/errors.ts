import { sanitise } from '../../lib/sanitise.js';
import { CAPACITY_TEXT, RunpodError } from '../errors.js';

// How REST v2's answers map onto RunpodError's closed set of kinds.

/** What an RFC 9457 problem answer may hold, as far as we read it; any part may be missing. */
interface Problem {
  title?: unknown;
  detail?: unknown;
  errors?: unknown;
}

/** The problem's words in one line: its detail (or title), then its per-field errors; empty when it has none. */
function problemText(body: unknown): string {
  const problem: Problem = typeof body === 'object' && body !== null ? body : {};
  const head = typeof problem.detail === 'string' && problem.detail !== '' ? problem.detail : typeof problem.title === 'string' ? problem.title : '';
  const errors = Array.isArray(problem.errors) ? problem.errors.filter((e): e is string => typeof e === 'string') : [];
  const text = [head, ...errors].filter((part) => part !== '').join('; ');
  if (text !== '') return text;
  // A body that is not problem JSON (a proxy's HTML page, plain text) is quoted as it came.
  return typeof body === 'string' && body.trim() !== '' ? body : '';
}

/**
 * Classifies a non-2xx v2 answer. `body` is the parsed problem JSON (or the raw text when it was
 * not JSON); `secrets` (the key, the pod env values sent) are cut out of RunPod's words.
 * - 400 whose text is one of RunPod's capacity texts: capacity (v2 gives capacity no code of its
 *   own); any other 400, 404, 409, 422: invalid_request;
 * - 403 on a create: no_access. RunPod's spec gives a create's 403 as "no access to this GPU pool",
 *   which another candidate may not share; a 403 on anything else, and every 401, is auth (the
 *   key lacks scope), which closes the gate for every deploy;
 * - 401, 403: auth; 402: payment; 410: retired;
 * - 429: rate_limited, `Retry-After` kept; RunPod refuses it before processing anything;
 * - 5xx: transient (`Retry-After` kept), unless the text is a capacity text: REST v1 sent "no
 *   instances currently available" with a 500, and a pod refused for capacity was not made.
 */
export function classifyProblem(
  operation: string,
  status: number,
  body: unknown,
  retryAfterMs: number | undefined,
  secrets: readonly string[] = [],
): RunpodError {
  const text = sanitise(problemText(body), secrets);
  // RunPod's words when it gave any; the status alone otherwise, said once.
  const said = text === '' ? '' : ` (${text})`;
  const base = { operation, status, message: text === '' ? `HTTP ${status}` : `HTTP ${status}: ${text}` };
  const wait = retryAfterMs !== undefined ? { retryAfterMs } : {};
  if ((status === 400 || status >= 500) && CAPACITY_TEXT.test(text)) return new RunpodError({ ...base, kind: 'capacity', mayHaveReachedRunpod: true });
  if (status === 403 && operation === 'createPod') return new RunpodError({ ...base, kind: 'no_access', mayHaveReachedRunpod: true });
  if (status === 401 || status === 403) {
    return new RunpodError({ ...base, kind: 'auth', message: `HTTP ${status}: check RUNPOD_API_KEY${said}`, mayHaveReachedRunpod: true });
  }
  if (status === 402) return new RunpodError({ ...base, kind: 'payment', mayHaveReachedRunpod: true });
  if (status === 410) {
    return new RunpodError({ ...base, kind: 'retired', message: `HTTP 410 Gone: RunPod has retired this API${said}`, mayHaveReachedRunpod: false });
  }
  if (status === 429) return new RunpodError({ ...base, ...wait, kind: 'rate_limited', mayHaveReachedRunpod: false });
  if (status >= 500) return new RunpodError({ ...base, ...wait, kind: 'transient', mayHaveReachedRunpod: true });
  return new RunpodError({ ...base, kind: 'invalid_request', mayHaveReachedRunpod: true });
}

/** A request v2 cannot express, refused before anything is sent. */
export function refusedBeforeSending(operation: string, message: string): RunpodError {
  return new RunpodError({ kind: 'invalid_request', operation, message, mayHaveReachedRunpod: false });
}

/** The error for a 2xx answer that is not what the spec promises (HTML, truncated JSON, missing fields). */
export function malformedAnswer(operation: string, status: number | undefined, detail: string): RunpodError {
  return new RunpodError({ kind: 'transient', operation, ...(status !== undefined ? { status } : {}), message: `malformed answer (${detail})`, mayHaveReachedRunpod: true });
}
