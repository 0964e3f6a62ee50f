import { z } from 'zod';
import { usd } from '../lib/format.js';
import type { EventType, WatcherEvent } from '../watcher/events.js';
import { postJson } from './http.js';
import type { Notifier, NotifierDeps } from './types.js';

/** `type: slack`: a Slack incoming webhook. */
export const slackConfigSchema = z.strictObject({
  type: z.literal('slack'),
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
});

export type SlackConfig = z.output<typeof slackConfigSchema>;

const ICON: Record<EventType, string> = {
  'alert.fired': ':large_green_circle:',
  'alert.reminder': ':bell:',
  'alert.resolved': ':white_circle:',
  'pod.deployed': ':rocket:',
  'pod.deploy_failed': ':x:',
  'rule.fallback': ':arrow_right_hook:',
  'rule.exhausted': ':hourglass:',
  'pod.resumed': ':arrow_forward:',
  'budget.blocked': ':money_with_wings:',
  'api.down': ':red_circle:',
  'api.up': ':large_green_circle:',
  'api.retired': ':no_entry:',
  'spot.unavailable': ':warning:',
  test: ':wave:',
};

const price = (n: number | null): string => (n === null ? '-' : usd(n));

/** Slack's `{ text, blocks }` for an event: the summary first (what a phone shows), then the facts. */
export function buildSlackPayload(event: WatcherEvent): { text: string; blocks: unknown[] } {
  const text = `${ICON[event.type]} ${event.summary}${event.dryRun ? ' (dry run)' : ''}`;
  const fields: string[] = [];
  if (event.rule) fields.push(`*Rule*\n${event.rule}`);
  if (event.alert) fields.push(`*Alert*\n${event.alert}`);
  if (event.gpu) {
    fields.push(`*GPU*\n${event.gpu.id} x${event.gpu.gpuCount} ${event.gpu.cloud}`);
    fields.push(`*Stock*\n${event.gpu.stockStatus}`);
    fields.push(`*On-demand*\n${price(event.gpu.uninterruptablePrice)}/GPU/hr`);
    fields.push(`*Min bid*\n${price(event.gpu.minimumBidPrice)}/GPU/hr`);
  }
  if (event.pod) fields.push(`*Pod*\n${event.pod.id} (${event.pod.kind}, ${price(event.pod.costPerHr)}/hr)`);
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text } }];
  if (fields.length > 0) blocks.push({ type: 'section', fields: fields.map((f) => ({ type: 'mrkdwn', text: f })) });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${event.type} · ${event.time} · ${event.id}${event.dryRun ? ' · dry run' : ''}` }] });
  return { text, blocks };
}

/** A Slack notifier. */
export function createSlackNotifier(name: string, config: SlackConfig, deps: NotifierDeps): Notifier {
  return {
    name,
    type: 'slack',
    send: (event, signal) => postJson(config.url, JSON.stringify(buildSlackPayload(event)), {}, deps, signal),
  };
}
