import { deadline } from '../lib/deadline.js';
import { describeNetworkError } from '../lib/network-error.js';
import { sanitise } from '../lib/sanitise.js';
import { VERSION } from '../lib/version.js';
import type { WatcherEvent } from '../events/event.js';
import { DeliveryError, type Notifier, type NotifierDeps } from './notifier.js';

const MAX_BODY_IN_ERROR = 200;

/** A path segment this long is taken for an id or a token (Discord `/api/webhooks/<id>/<token>`, Zapier hooks). */
const TOKEN_SEGMENT_LENGTH = 16;

/** Whether a receiver's status means "never send this again". */
function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/**
 * The parts of a receiver URL that may be a credential, to cut from anything the receiver answers:
 * user and password, every query value, the fragment, and the path segments that look like tokens.
 * With `wholePath` every path segment counts: a Slack incoming-webhook URL's path
 * (`/services/T…/B…/<secret>`) is the credential itself.
 */
export function urlSecrets(url: string, options: { wholePath: boolean }): string[] {
  const parsed = new URL(url);
  const raw = [parsed.username, parsed.password, parsed.hash.slice(1), ...parsed.searchParams.values()];
  for (const segment of parsed.pathname.split('/')) {
    if (segment === 'services' && options.wholePath) continue;
    if (options.wholePath || segment.length >= TOKEN_SEGMENT_LENGTH) raw.push(segment);
  }
  // Both the form written in the URL and the decoded one, as a receiver may echo either.
  return [...new Set(raw.flatMap((part) => [part, safeDecode(part)]))].filter((part) => part.length > 0);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** One POST: where, what, and the values a receiver must not get back into our logs and database. */
export interface JsonPost {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** Cut out of the receiver's answer and of network error texts, with the daemon's own secrets. */
  secrets: readonly string[];
}

/**
 * POSTs a JSON body with a timeout. Resolves on 2xx; otherwise throws a DeliveryError naming the
 * status and the start of the receiver's answer, or the network failure. The answer is sanitised
 * here, before anyone logs or stores it: a receiver may echo our request (its signature, headers,
 * URL token, the event) back in an error page.
 */
export async function postJson(post: JsonPost, deps: NotifierDeps, signal?: AbortSignal): Promise<{ status: number }> {
  const secrets = [...post.secrets, ...(deps.secrets ?? [])];
  const limit = deadline(deps.timeoutMs, signal);
  try {
    const response = await deps.fetch(post.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': `gpu-watcher/${VERSION}`, ...post.headers },
      body: post.body,
      signal: limit.signal,
    });
    const text = await response.text();
    if (response.ok) return { status: response.status };
    const excerpt = sanitise(text, secrets, MAX_BODY_IN_ERROR);
    throw new DeliveryError(`HTTP ${response.status}${excerpt ? `: ${excerpt}` : ''}`, response.status, isPermanentStatus(response.status));
  } catch (error) {
    if (error instanceof DeliveryError) throw error;
    if (signal?.aborted) throw signal.reason;
    throw new DeliveryError(limit.timedOut ? `no answer within ${deps.timeoutMs} ms` : describeNetworkError(error, secrets), undefined, false, error);
  } finally {
    limit.release();
  }
}

/** A notifier that POSTs one JSON body per event to one URL: what most notifier types are. */
export function jsonNotifier(
  spec: { name: string; type: string; url: string; headers?: Record<string, string>; secrets: readonly string[]; build: (event: WatcherEvent) => unknown },
  deps: NotifierDeps,
): Notifier {
  const { name, type, url, headers = {}, secrets, build } = spec;
  return { name, type, protocol: 'HTTP', send: (event, signal) => postJson({ url, body: JSON.stringify(build(event)), headers, secrets }, deps, signal) };
}
