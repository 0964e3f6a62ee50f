import { keyId, type GpuOffer, type Snapshot, type WatchKey } from '../runpod/types.js';
import type { AlertConfig, Config } from '../config/schema.js';
import { alertKey } from '../config/watched-keys.js';
import type { Clock } from '../lib/clock.js';
import { perGpuHour } from '../lib/format.js';
import type { AlertState, NamedState } from '../store/repositories.js';
import type { Store } from '../store/store.js';
import { eventGpu, newEvent, type WatcherEvent } from '../events/event.js';
import { alertHolds, QUIET, stepAlert, type AlertEventType } from './step.js';

const price = (n: number | null | undefined): string => perGpuHour(n);

function describeWhen(alert: AlertConfig): string {
  const { stockAtLeast, maxPrice, maxBid } = alert.when;
  return [stockAtLeast && `stock >= ${stockAtLeast}`, maxPrice !== undefined && `on-demand <= ${price(maxPrice)}`, maxBid !== undefined && `min bid <= ${price(maxBid)}`]
    .filter(Boolean)
    .join(', ');
}

function alertEvent(alert: AlertConfig, type: AlertEventType, offer: GpuOffer, state: AlertState, firedAt: number, now: number, insight: string | undefined): WatcherEvent {
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
      ...(insight ? { insight } : {}),
      // When this firing began, in all three of its events: a receiver pairs them by it (PagerDuty's `dedup_key`).
      details: { firedAt: new Date(firedAt).toISOString() },
    },
    now,
  );
}

/** Evaluates every alert on each snapshot, keeping state and events in the store, in one transaction. */
export class AlertsStage {
  private readonly table: NamedState<AlertState>;
  private underWay = false;

  /** `insight` gives the history's sentence on a key (see RulesEngineDeps), told with each alert event. */
  constructor(private readonly deps: { store: Store; config: Config; clock: Clock; insight?: (key: WatchKey) => string | undefined }) {
    this.table = deps.store.states('alert');
  }

  /**
   * Whether an alert is pending after the last poll: one not firing (waiting for its conditions,
   * which a slower poll would tell later), or one counting polls towards a change (`for` above 1).
   * A firing alert with nothing under way is settled; its resolution may wait for a slow poll.
   */
  get pending(): boolean {
    return this.underWay;
  }

  /**
   * Takes a reloaded config, between cycles. An alert whose GPU or conditions changed starts
   * quiet (its old streak and firing were about something else); one whose notifiers, `for`,
   * `repeat` or `resolved` changed keeps its state.
   */
  reconfigure(config: Config): void {
    const now = this.deps.clock.now();
    const what = (a: AlertConfig): string => JSON.stringify([a.gpu, a.gpuCount, a.cloud, a.when]);
    const before = new Map(this.deps.config.alerts.map((a) => [a.name, what(a)]));
    for (const alert of config.alerts) {
      const old = before.get(alert.name);
      if (old !== undefined && old !== what(alert)) this.table.set(alert.name, QUIET, now);
    }
    this.deps.config = config;
  }

  /** The poll's step for every alert: state and events written together. */
  evaluate(snapshot: Snapshot): void {
    const now = this.deps.clock.now();
    const offers = new Map(snapshot.offers.map((o) => [keyId(o.key), o]));
    this.underWay = false;
    this.deps.store.transaction(() => {
      for (const alert of this.deps.config.alerts) {
        const key = alertKey(alert);
        const offer = offers.get(keyId(key));
        const before = this.table.get(alert.name) ?? QUIET;
        const { state, event } = stepAlert(alert, before, offer ? alertHolds(alert, offer) : undefined, now);
        if (JSON.stringify(state) !== JSON.stringify(before)) this.table.set(alert.name, state, now);
        if (!state.firing || state.streak > 0) this.underWay = true;
        if (event && offer) this.deps.store.outbox.append(alertEvent(alert, event, offer, state, before.firedAt ?? state.firedAt ?? now, now, this.deps.insight?.(key)), alert.notify);
      }
    });
  }
}
