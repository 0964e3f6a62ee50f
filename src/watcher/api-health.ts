/** Whether RunPod is answering, as the watcher last judged it; kept across restarts. */
export interface ApiHealth {
  /** Failed polls in a row. */
  failures: number;
  /** Set once `DOWN_AFTER` polls in a row failed; cleared by the next good poll. */
  downSince: number | null;
}

/** Failed polls in a row after which RunPod counts as down and `api.down` is sent. */
export const DOWN_AFTER = 3;

export const HEALTHY: ApiHealth = { failures: 0, downSince: null };

/**
 * The next health after a poll, and the event it calls for:
 *
 * | before        | poll   | after                 | event     |
 * | ------------- | ------ | --------------------- | --------- |
 * | up, n < 2     | failed | up, n + 1             | -         |
 * | up, n = 2     | failed | down since now, 3     | api.down  |
 * | down          | failed | down, n + 1           | -         |
 * | up            | ok     | up, 0                 | -         |
 * | down          | ok     | up, 0                 | api.up    |
 */
export function nextHealth(before: ApiHealth, pollOk: boolean, now: number): { health: ApiHealth; event?: 'api.down' | 'api.up' } {
  if (pollOk) return before.downSince === null ? { health: HEALTHY } : { health: HEALTHY, event: 'api.up' };
  const failures = before.failures + 1;
  if (before.downSince === null && failures >= DOWN_AFTER) return { health: { failures, downSince: now }, event: 'api.down' };
  return { health: { failures, downSince: before.downSince } };
}
