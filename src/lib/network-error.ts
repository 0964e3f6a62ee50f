import { sanitise } from './sanitise.js';

/**
 * The socket error code (`ECONNREFUSED`, `ENOTFOUND`, ...) behind a request that got no answer.
 * fetch throws `TypeError: fetch failed` and keeps the code on its cause, sometimes a level deeper.
 */
export function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

/**
 * The one wording for a request that got no answer: `network error (ECONNREFUSED)`, or the error's
 * own text when it carries no code, with `secrets` cut out of it.
 */
export function describeNetworkError(error: unknown, secrets: readonly string[] = []): string {
  const what = networkErrorCode(error) ?? (error instanceof Error ? error.message : String(error));
  return `network error (${sanitise(what, secrets)})`;
}
