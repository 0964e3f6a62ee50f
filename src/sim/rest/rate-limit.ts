import { systemClock, type Clock } from '../../lib/clock.js';

/** The windows RunPod counts v2 requests in, with their lengths in seconds. */
const WINDOWS = { minute: 60, hour: 3_600, day: 86_400 } as const;
type WindowName = keyof typeof WINDOWS;

/** What a request gets from the limiter: the headers every authenticated answer carries, and whether it is over. */
export interface RateVerdict {
  headers: Record<string, string>;
  /** Set when a window is used up: its name and the seconds until it resets (the 429's `Retry-After`). */
  exceeded?: { window: WindowName; retryAfterS: number };
}

/**
 * RunPod's per-key rate limit, in fixed windows on the simulator's clock: each counted request
 * counts in every configured window, and is told the IETF `RateLimit` (left `r`, seconds to reset
 * `t`) and `RateLimit-Policy` (quota `q`, window `w`) fields, as RunPod sends them.
 */
export class RateLimiter {
  private readonly windows: { name: WindowName; quota: number; startedAt: number; used: number }[];

  constructor(
    quotas: Partial<Record<WindowName, number>>,
    private readonly clock: Clock = systemClock,
  ) {
    this.windows = (Object.keys(WINDOWS) as WindowName[]).flatMap((name) => {
      const quota = quotas[name];
      return quota === undefined ? [] : [{ name, quota, startedAt: 0, used: 0 }];
    });
  }

  /** Counts one request and says what to answer with. */
  take(): RateVerdict {
    const now = this.clock.now();
    let exceeded: RateVerdict['exceeded'];
    const state: string[] = [];
    const policy: string[] = [];
    for (const window of this.windows) {
      const length = WINDOWS[window.name] * 1000;
      if (now - window.startedAt >= length) {
        window.startedAt = now;
        window.used = 0;
      }
      window.used++;
      const resetS = Math.max(1, Math.ceil((window.startedAt + length - now) / 1000));
      if (window.used > window.quota && (!exceeded || resetS > exceeded.retryAfterS)) exceeded = { window: window.name, retryAfterS: resetS };
      state.push(`"${window.name}";r=${Math.max(0, window.quota - window.used)};t=${resetS}`);
      policy.push(`"${window.name}";q=${window.quota};w=${WINDOWS[window.name]}`);
    }
    const headers: Record<string, string> = state.length > 0 ? { ratelimit: state.join(', '), 'ratelimit-policy': policy.join(', ') } : {};
    return exceeded ? { headers, exceeded } : { headers };
  }
}
