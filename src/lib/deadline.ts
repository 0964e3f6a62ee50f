/** A signal for one request: aborted after `ms`, or as soon as the caller's signal aborts. */
export interface Deadline {
  signal: AbortSignal;
  /** True once the time ran out (as opposed to the caller aborting). */
  readonly timedOut: boolean;
  /** Clears the timer and detaches from the caller's signal; call it when the request settles. */
  release(): void;
}

/**
 * One controller per request, tied to the caller's signal by a listener that `release` removes.
 * Node 20's AbortSignal.any would keep every combined signal reachable from a long-lived parent,
 * which grew the daemon's memory by a few hundred bytes a cycle.
 */
export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no answer within ${ms} ms`));
  }, ms);
  const onAbort = (): void => controller.abort(parent?.reason);
  parent?.addEventListener('abort', onAbort, { once: true });
  if (parent?.aborted) controller.abort(parent.reason);
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    release: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}
