import { systemClock, type Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { RunpodError } from './errors.js';
import { RetryAfterHold } from './retry-policy.js';
import { describePolicy, exhaustedWindow, perMinuteQuota } from './rate-limit-fields.js';

/** The window the cap counts requests in. */
const WINDOW_MS = 60_000;

/** One request waiting for a slot. */
interface Waiter {
  mutation: boolean;
  operation: string;
  admit: () => void;
  refuse: (error: unknown) => void;
}

/**
 * Every request to RunPod, from either client, passes here before it is sent: at most
 * `maxPerMinute` requests in any 60 s (a sliding window on the monotonic clock, so RunPod's fixed
 * minute windows never see more either), lowered further by the quota RunPod announces in
 * `RateLimit-Policy`. A request over the cap waits for a slot; when one frees, a waiting mutation
 * (deploy, resume, stop) goes before every waiting read, so a deploy waits at most for the oldest
 * request in the window to age out, never behind a queue of polls. RunPod's `Retry-After` and a
 * used-up `RateLimit` window hold every request (read or write) until they pass: such a request
 * fails at once without touching the network, as it would only be refused. One instance per
 * process, shared by every client, so every caller is covered without knowing.
 */
export class RequestLimiter {
  private readonly hold = new RetryAfterHold();
  /** Monotonic send times of the requests in the current window, oldest first. */
  private readonly sent: number[] = [];
  private readonly waiting: Waiter[] = [];
  private pumping = false;
  /** Ends the pump's wait for a slot once nobody waits for one (every waiter aborted), so no timer outlives them. */
  private pumpWait: AbortController | undefined;
  private announcedCap = Number.POSITIVE_INFINITY;
  private policySeen: string | undefined;
  /** Requests sent through this limiter since it was made, reads and mutations apart. */
  readonly counts = { read: 0, mutation: 0 };

  constructor(
    private readonly deps: {
      /** The configured cap (`api.maxRequestsPerMinute`); Infinity for none. */
      maxPerMinute: number;
      clock?: Clock;
      logger?: Logger | undefined;
    },
  ) {}

  private get clock(): Clock {
    return this.deps.clock ?? systemClock;
  }

  /** Requests allowed in any 60 s now: the configured cap, or RunPod's announced quota when lower. */
  get cap(): number {
    return Math.max(1, Math.min(this.deps.maxPerMinute, this.announcedCap));
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** The error a request gets instead of being sent while RunPod's hold lasts; undefined when it may go. */
  held(operation: string): RunpodError | undefined {
    return this.hold.check(operation, this.clock.now());
  }

  /**
   * Resolves when `operation` may be sent (counted as sent from then), or rejects: with a
   * `rate_limited` error while RunPod's hold lasts, or with the signal's reason when it aborts.
   */
  admit(operation: string, mutation: boolean, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const held = this.held(operation);
    if (held) return Promise.reject(held);
    if (this.waiting.length === 0 && this.waitMs() === 0) {
      this.take(mutation);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        if (this.waiting.length === 0) this.pumpWait?.abort();
        reject(signal?.reason as Error);
      };
      const waiter: Waiter = {
        mutation,
        operation,
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        refuse: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error as Error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // Mutations queue ahead of every read, in the order they came.
      const firstRead = this.waiting.findIndex((w) => !w.mutation);
      if (mutation && firstRead >= 0) this.waiting.splice(firstRead, 0, waiter);
      else this.waiting.push(waiter);
      this.pump();
    });
  }

  /** A failed request's `Retry-After` holds every request until it has passed. */
  noteError(error: RunpodError): void {
    this.hold.note(error, this.clock.now());
  }

  /**
   * Reads RunPod's rate-limit fields on an answer (either API): a used-up `RateLimit` window holds
   * every request until it resets, and `RateLimit-Policy` lowers the cap to its tightest quota.
   */
  noteHeaders(headers: Headers): void {
    const { logger } = this.deps;
    const exhausted = exhaustedWindow(headers.get('ratelimit'));
    if (exhausted) {
      this.hold.holdFor(exhausted.resetMs, this.clock.now(), `RateLimit: the ${exhausted.name} window is used up`);
      logger?.warn({ window: exhausted.name, resetMs: exhausted.resetMs }, 'RunPod rate limit window used up; holding requests until it resets');
    }
    const policyHeader = headers.get('ratelimit-policy');
    const policy = describePolicy(policyHeader);
    if (policy === undefined || policy === this.policySeen) return;
    this.policySeen = policy;
    this.announcedCap = perMinuteQuota(policyHeader) ?? Number.POSITIVE_INFINITY;
    logger?.info({ policy, cap: this.cap }, 'RunPod rate limit policy');
  }

  /** Milliseconds until a request may be sent under the cap (0: now). */
  private waitMs(): number {
    const now = this.clock.monotonic();
    while (this.sent.length > 0 && (this.sent[0] ?? 0) <= now - WINDOW_MS) this.sent.shift();
    if (this.sent.length < this.cap) return 0;
    // The window is full: the request that frees a slot is the one `cap` places from the newest.
    const freeing = this.sent[this.sent.length - this.cap] ?? now;
    return Math.max(1, freeing + WINDOW_MS - now);
  }

  private take(mutation: boolean): void {
    this.sent.push(this.clock.monotonic());
    this.counts[mutation ? 'mutation' : 'read']++;
  }

  /** Lets waiters through one by one as slots free, on the injected clock. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    void (async () => {
      try {
        for (let next = this.waiting[0]; next; next = this.waiting[0]) {
          const wait = this.waitMs();
          if (wait > 0) {
            this.pumpWait = new AbortController();
            await this.clock.sleep(wait, this.pumpWait.signal).catch(() => undefined);
            continue;
          }
          this.waiting.shift();
          const held = this.held(next.operation);
          if (held) {
            next.refuse(held);
            continue;
          }
          this.take(next.mutation);
          next.admit();
        }
      } finally {
        this.pumping = false;
      }
    })();
  }
}
