import { newEvent, type WatcherEvent } from '../events/event.js';
import { humanDuration } from '../lib/duration.js';
import type { PollRecord } from '../store/history.js';
import type { ApiHealth } from '../store/repositories.js';

/** Failed polls in a row after which RunPod counts as down and `api.down` is sent. */
const DOWN_AFTER = 3;

/** No failed poll, not down. */
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

/** The `api.down` / `api.up` event for a poll that changed RunPod's health from `before` to `after`. */
export function healthEvent(type: 'api.down' | 'api.up', poll: PollRecord, before: ApiHealth, after: ApiHealth): WatcherEvent {
  if (type === 'api.down') {
    return newEvent({ type, summary: `RunPod API down: ${after.failures} polls in a row failed (${poll.errorKind}: ${poll.error})`, details: { failures: after.failures, downSince: new Date(after.downSince ?? poll.at).toISOString() } }, poll.at);
  }
  const downFor = humanDuration(poll.at - (before.downSince ?? poll.at));
  return newEvent({ type, summary: `RunPod API back after ${downFor} (${before.failures} failed polls)`, details: { failures: before.failures, downSince: new Date(before.downSince ?? poll.at).toISOString() } }, poll.at);
}

/** Schedule periods without a successful poll after which the watcher counts as stalled. */
const STALE_AFTER_PERIODS = 3;

/** The watcher's health as `/healthz` tells it. */
export type HealthVerdict = { status: 'ok' } | { status: 'down' | 'stale'; reason: string };

/**
 * Healthy unless RunPod counts as down (`DOWN_AFTER` failed polls in a row, the moment `api.down`
 * is told) or no poll has succeeded for `STALE_AFTER_PERIODS` schedule periods (a stalled loop).
 * `sinceSuccessMs` must come from the monotonic clock: a wall clock stepped back pauses node-cron's
 * ticks for the length of the step, and a wall-clock age would shrink instead of growing.
 */
export function judgeHealth(health: ApiHealth, sinceSuccessMs: number, periodMs: number): HealthVerdict {
  if (health.downSince !== null) return { status: 'down', reason: `RunPod API down: ${health.failures} polls in a row failed` };
  if (sinceSuccessMs > STALE_AFTER_PERIODS * periodMs) return { status: 'stale', reason: `no successful poll for ${STALE_AFTER_PERIODS} schedule periods` };
  return { status: 'ok' };
}
