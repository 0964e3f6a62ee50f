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
  'pod.ready',
  'pod.start_timeout',
  'pod.expired',
  'pod.idle',
  'pod.stopped',
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

/** How much an event matters, least first; a notifier's `minSeverity` drops those below it. */
export const SEVERITIES = ['info', 'warning', 'critical'] as const;

export type Severity = (typeof SEVERITIES)[number];

/**
 * Every event type's severity: the one source (docs/events.md shows it as a table, checked by a
 * test). `info` is news, `warning` asks for a look, `critical` for action now. An event that
 * ends a problem (`api.up`, `alert.resolved`) carries the problem's severity, so a receiver that
 * was told of the problem is always told that it ended.
 */
export const EVENT_SEVERITY: Record<EventType, Severity> = {
  'alert.fired': 'warning',
  'alert.reminder': 'warning',
  'alert.resolved': 'warning',
  'pod.deployed': 'info',
  'pod.deploy_failed': 'warning',
  'pod.over_price': 'warning',
  'rule.fallback': 'info',
  'rule.exhausted': 'warning',
  'pod.resumed': 'info',
  'pod.ready': 'info',
  'pod.start_timeout': 'warning',
  'pod.expired': 'warning',
  'pod.idle': 'warning',
  'pod.stopped': 'info',
  'budget.blocked': 'warning',
  'api.down': 'critical',
  'api.up': 'critical',
  'api.retired': 'critical',
  'account.payment_required': 'critical',
  'api.switched': 'warning',
  'spot.unavailable': 'warning',
  'config.reloaded': 'info',
  test: 'info',
};

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
  /** What the recorded history says of the GPU, in one sentence (alert events and rule.exhausted, when enough outages were recorded). */
  insight?: string;
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
