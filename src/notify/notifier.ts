import type { WatcherEvent } from '../events/event.js';

/** Something that tells people about events: one per configured notifier. */
export interface Notifier {
  readonly name: string;
  readonly type: string;
  /** What `status` is a code of: an HTTP status, or an SMTP reply code (e-mail). */
  readonly protocol: 'HTTP' | 'SMTP';
  /** Delivers one event; resolves with the receiver's status, or throws a DeliveryError. */
  send(event: WatcherEvent, signal?: AbortSignal): Promise<{ status: number }>;
}

/** What a notifier needs from outside; `fetch` is injectable for tests. */
export interface NotifierDeps {
  fetch: typeof fetch;
  timeoutMs: number;
  /** The daemon's own secrets (the API key, pods' env values), cut from receivers' answers too. */
  secrets?: readonly string[];
}

/**
 * A delivery that failed. `permanent` (a 4xx other than 408 and 429) is not retried: the receiver
 * has said it will never take this request. Everything else is tried again later. `cause` is the
 * error it wraps (the network failure, the timeout), when there is one.
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';

  constructor(
    message: string,
    readonly status: number | undefined,
    readonly permanent: boolean,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}
