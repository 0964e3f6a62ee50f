import { randomBytes } from 'node:crypto';

/** Every event type the watcher emits (README "Notifications and alerts"). */
export const EVENT_TYPES = [
  'alert.fired',
  'alert.reminder',
  'alert.resolved',
  'pod.deployed',
  'pod.deploy_failed',
  'pod.over_price',
  'rule.fallback',
  'rule.exhausted',
  'pod.resumed',
  'budget.blocked',
  'api.down',
  'api.up',
  'api.retired',
  'account.payment_required',
  'api.switched',
  'spot.unavailable',
  'config.reloaded',
  'test',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** An event as notifiers receive it; `id` lets a receiver drop a repeat after a crash. */
export interface WatcherEvent {
  id: string;
  type: EventType;
  time: string;
  dryRun: boolean;
  summary: string;
  rule?: string;
  alert?: string;
  gpu?: {
    id: string;
    gpuCount: number;
    cloud: string;
    stockStatus: string;
    uninterruptablePrice: number | null;
    minimumBidPrice: number | null;
  };
  pod?: { id: string; name: string; kind: 'on-demand' | 'spot'; costPerHr: number };
  details?: Record<string, unknown>;
}

/**
 * An event's `gpu` object, from an offer in our names: the one place they meet the public format,
 * which keeps RunPod's (`stockStatus` as RunPod wrote it, `uninterruptablePrice`,
 * `minimumBidPrice`) because receivers were built on them. The parameter is the offer's shape, so
 * this module needs nothing from the RunPod client.
 */
export function eventGpu(offer: {
  key: { gpuTypeId: string; gpuCount: number; cloud: string };
  stock: string;
  stockRaw: string | null;
  onDemandPrice: number | null;
  minBidPrice: number | null;
}): NonNullable<WatcherEvent['gpu']> {
  return {
    id: offer.key.gpuTypeId,
    gpuCount: offer.key.gpuCount,
    cloud: offer.key.cloud,
    stockStatus: offer.stockRaw ?? offer.stock,
    uninterruptablePrice: offer.onDemandPrice,
    minimumBidPrice: offer.minBidPrice,
  };
}

/** A new event with a fresh id, stamped at `now`. */
export function newEvent(fields: Omit<WatcherEvent, 'id' | 'time' | 'dryRun'> & { dryRun?: boolean }, now: number): WatcherEvent {
  return { id: `evt_${randomBytes(12).toString('hex')}`, time: new Date(now).toISOString(), dryRun: false, ...fields };
}
