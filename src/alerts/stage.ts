import { keyId, stockRank, type GpuOffer, type Snapshot } from '../runpod/types.js';
import type { AlertConfig, Config } from '../config/schema.js';
import type { Clock } from '../lib/clock.js';
import { usd } from '../lib/format.js';
import type { NamedState } from '../store/repositories.js';
import type { Store } from '../store/store.js';
import { eventGpu, newEvent, type WatcherEvent } from '../events/event.js';

/** What the watcher remembers of an alert between polls (persisted, so a restart neither re-fires nor forgets). */
export interface AlertState {
  firing: boolean;
  /** Consecutive polls that disagreed with `firing`. */
  streak: number;
  firedAt: number | null;
  lastToldAt: number | null;
}

export const QUIET: AlertState = { firing: false, streak: 0, firedAt: null, lastToldAt: null };

type AlertEventType = 'alert.fired' | 'alert.reminder' | 'alert.resolved';

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

const price = (n: number | null | undefined): string => usd(n, 'no price');

function describeWhen(alert: AlertConfig): string {
  const { stockAtLeast, maxPrice, maxBid } = alert.when;
  return [stockAtLeast && `stock >= ${stockAtLeast}`, maxPrice !== undefined && `on-demand <= ${price(maxPrice)}`, maxBid !== undefined && `min bid <= ${price(maxBid)}`]
    .filter(Boolean)
    .join(', ');
}

function alertEvent(alert: AlertConfig, type: AlertEventType, offer: GpuOffer, state: AlertState, now: number): WatcherEvent {
  const where = `${alert.gpu} x${alert.gpuCount} ${alert.cloud}`;
  const market = `stock ${offer.stock}, on-demand ${price(offer.onDemandPrice)}, min bid ${price(offer.minBidPrice)}`;
  const summary =
    type === 'alert.fired'
      ? `${alert.name}: ${where} now matches (${describeWhen(alert)}): ${market}`
      : type === 'alert.reminder'
        ? `${alert.name}: ${where} still matches since ${new Date(state.firedAt ?? now).toISOString()}: ${market}`
        : `${alert.name}: ${where} no longer matches (${describeWhen(alert)}): ${market}`;
  return newEvent(
    {
      type,
      summary,
      alert: alert.name,
      gpu: eventGpu(offer),
    },
    now,
  );
}

/** Evaluates every alert on each snapshot, keeping state and events in the store, in one transaction. */
export class AlertsStage {
  private readonly table: NamedState<AlertState>;

  constructor(private readonly deps: { store: Store; config: Config; clock: Clock }) {
    this.table = deps.store.states<AlertState>('alert');
  }

  /** The poll's step for every alert: state and events written together. */
  evaluate(snapshot: Snapshot): void {
    const now = this.deps.clock.now();
    const offers = new Map(snapshot.offers.map((o) => [keyId(o.key), o]));
    this.deps.store.transaction(() => {
      for (const alert of this.deps.config.alerts) {
        const offer = offers.get(keyId({ gpuTypeId: alert.gpu, gpuCount: alert.gpuCount, cloud: alert.cloud }));
        const before = this.table.get(alert.name) ?? QUIET;
        const { state, event } = stepAlert(alert, before, offer ? alertHolds(alert, offer) : undefined, now);
        if (JSON.stringify(state) !== JSON.stringify(before)) this.table.set(alert.name, state, now);
        if (event && offer) this.deps.store.outbox.append(alertEvent(alert, event, offer, state, now), alert.notify);
      }
    });
  }
}
