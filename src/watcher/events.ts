import { randomBytes } from 'node:crypto';

/** Every event type the watcher emits (README "Notifications and alerts"). */
export const EVENT_TYPES = [
  'alert.fired',
  'alert.reminder',
  'alert.resolved',
  'pod.deployed',
  'pod.deploy_failed',
  'rule.fallback',
  'rule.exhausted',
  'pod.resumed',
  'budget.blocked',
  'api.down',
  'api.up',
  'api.retired',
  'spot.unavailable',
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

/** A new event with a fresh id, stamped at `now`. */
export function newEvent(fields: Omit<WatcherEvent, 'id' | 'time' | 'dryRun'> & { dryRun?: boolean }, now: number): WatcherEvent {
  return { id: `evt_${randomBytes(12).toString('hex')}`, time: new Date(now).toISOString(), dryRun: false, ...fields };
}
