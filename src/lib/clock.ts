/** The time source every time-dependent module takes, so tests can drive time by hand. */
export interface Clock {
  /** Milliseconds since the epoch: for timestamps that are stored, shown or compared across restarts. */
  now(): number;
  /**
   * Milliseconds on a clock that only moves forward at the rate of real time, from an arbitrary
   * origin that holds for this process only. Ages and grace periods are measured on it, so a wall
   * clock stepped back or forward (NTP, a VM resumed, an operator) neither hides a stall nor ends a
   * wait early.
   */
  monotonic(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: wall time, `performance.now()` and timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
