import { stockRank, type GpuOffer } from '../runpod/types.js';
import type { AlertConfig } from '../config/schema.js';
import type { AlertState } from '../store/repositories.js';

/** An alert that has never fired. */
export const QUIET: AlertState = { firing: false, streak: 0, firedAt: null, lastToldAt: null };

/** The events an alert's step can call for. */
export type AlertEventType = 'alert.fired' | 'alert.reminder' | 'alert.resolved';

/** Whether every condition of the alert holds for the offer. */
export function alertHolds(alert: AlertConfig, offer: GpuOffer): boolean {
  const { stockAtLeast, maxPrice, maxBid } = alert.when;
  if (stockAtLeast !== undefined && stockRank(offer.stock) < stockRank(stockAtLeast)) return false;
  if (maxPrice !== undefined && (offer.onDemandPrice === null || offer.onDemandPrice > maxPrice)) return false;
  if (maxBid !== undefined && (offer.minBidPrice === null || offer.minBidPrice > maxBid)) return false;
  return true;
}

/**
 * One poll's step for one alert. Pure. `holds` is undefined when the poll had no answer for the
 * key: such a poll neither agrees nor disagrees, and changes nothing.
 *
 * | firing | holds | streak + 1 >= for | next                                  | event                  |
 * | ------ | ----- | ----------------- | ------------------------------------- | ---------------------- |
 * | no     | yes   | no                | streak + 1                            | -                      |
 * | no     | yes   | yes               | firing, streak 0                      | alert.fired            |
 * | no     | no    | -                 | streak 0                              | -                      |
 * | yes    | no    | no                | streak + 1                            | -                      |
 * | yes    | no    | yes               | not firing, streak 0                  | alert.resolved (if on) |
 * | yes    | yes   | -                 | streak 0                              | alert.reminder when `repeat` has passed since last told |
 */
export function stepAlert(alert: AlertConfig, state: AlertState, holds: boolean | undefined, now: number): { state: AlertState; event?: AlertEventType } {
  if (holds === undefined) return { state };
  if (holds === state.firing) {
    const remind = state.firing && alert.repeat !== undefined && state.lastToldAt !== null && now - state.lastToldAt >= alert.repeat;
    return remind ? { state: { ...state, streak: 0, lastToldAt: now }, event: 'alert.reminder' } : { state: { ...state, streak: 0 } };
  }
  const streak = state.streak + 1;
  if (streak < alert.for) return { state: { ...state, streak } };
  if (holds) return { state: { firing: true, streak: 0, firedAt: now, lastToldAt: now }, event: 'alert.fired' };
  return { state: { firing: false, streak: 0, firedAt: null, lastToldAt: alert.resolved ? now : state.lastToldAt }, ...(alert.resolved ? { event: 'alert.resolved' as const } : {}) };
}
