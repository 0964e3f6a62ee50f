import { deadline } from '../lib/deadline.js';
import { VERSION } from '../lib/version.js';
import { DeliveryError, type NotifierDeps } from './types.js';

const MAX_BODY_IN_ERROR = 200;

/** Whether a receiver's status means "never send this again". */
export function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/**
 * POSTs a JSON body with a timeout. Resolves on 2xx; otherwise throws a DeliveryError naming the
 * status and the start of the receiver's answer, or the network failure.
 */
export async function postJson(url: string, body: string, headers: Record<string, string>, deps: NotifierDeps, signal?: AbortSignal): Promise<{ status: number }> {
  const limit = deadline(deps.timeoutMs, signal);
  try {
    const response = await deps.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': `gpu-watcher/${VERSION}`, ...headers },
      body,
      signal: limit.signal,
    });
    const text = await response.text();
    if (response.ok) return { status: response.status };
    const excerpt = text.length > MAX_BODY_IN_ERROR ? `${text.slice(0, MAX_BODY_IN_ERROR)}…` : text;
    throw new DeliveryError(`HTTP ${response.status}${excerpt ? `: ${excerpt.replace(/\s+/g, ' ')}` : ''}`, response.status, isPermanentStatus(response.status));
  } catch (error) {
    if (error instanceof DeliveryError) throw error;
    if (signal?.aborted) throw signal.reason;
    throw new DeliveryError(limit.timedOut ? `no answer within ${deps.timeoutMs} ms` : describeNetworkError(error), undefined, false);
  } finally {
    limit.release();
  }
}

function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: string } | undefined) : undefined;
  return `network error (${cause?.code ?? (error instanceof Error ? error.message : String(error))})`;
}
