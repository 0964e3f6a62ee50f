import { EVENT_SEVERITY, type Severity, type WatcherEvent } from '../events/event.js';
import { usd } from '../lib/format.js';

/** One fact about an event, as every notifier shows it: a label and its value, unescaped. */
export interface Fact {
  label: string;
  value: string;
}

/** The event's severity (events/event.ts holds the table). */
export function severityOf(event: WatcherEvent): Severity {
  return EVENT_SEVERITY[event.type];
}

/**
 * Whether a dry-run event still needs a marker: the rules engine's deploy and resume summaries
 * already say "dry run: nothing was sent", and one marker is enough.
 */
export function needsDryRunMarker(event: WatcherEvent): boolean {
  return event.dryRun && !/\bdry run\b/i.test(event.summary);
}

/** What a phone shows first: the summary, marked once when the event is a dry run's. */
export function headline(event: WatcherEvent): string {
  return `${event.summary}${needsDryRunMarker(event) ? ' (dry run)' : ''}`;
}

/** A short title: the rule or alert the event is about, and its type. */
export function eventTitle(event: WatcherEvent): string {
  const subject = event.rule ?? event.alert;
  return subject ? `${subject}: ${event.type}` : event.type;
}

/** The line that identifies the event: type, severity, time and id (a receiver drops repeats by id). */
export function eventFooter(event: WatcherEvent): string {
  return `${event.type} · ${severityOf(event)} · ${event.time} · ${event.id}`;
}

/** The event's facts, in order: rule or alert, then the GPU's market and the pod, where present. */
export function eventFacts(event: WatcherEvent): Fact[] {
  const facts: Fact[] = [];
  if (event.rule) facts.push({ label: 'Rule', value: event.rule });
  if (event.alert) facts.push({ label: 'Alert', value: event.alert });
  if (event.gpu) {
    facts.push({ label: 'GPU', value: `${event.gpu.id} x${event.gpu.gpuCount} ${event.gpu.cloud}` });
    facts.push({ label: 'Stock', value: event.gpu.stockStatus });
    facts.push({ label: 'On-demand', value: `${usd(event.gpu.uninterruptablePrice)}/GPU/hr` });
    facts.push({ label: 'Min bid', value: `${usd(event.gpu.minimumBidPrice)}/GPU/hr` });
  }
  if (event.insight) facts.push({ label: 'History', value: event.insight });
  if (event.pod) facts.push({ label: 'Pod', value: `${event.pod.id} (${event.pod.kind}, ${usd(event.pod.costPerHr)}/hr)` });
  return facts;
}

/**
 * `text` in at most `max` UTF-16 code units: cut and ended with `…` when longer, never between
 * the two halves of a surrogate pair (a lone half is sent as garbage or refused).
 */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

const HTML_ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** `text` safe inside HTML text and attribute values: `&`, `<`, `>` and `"` as entities. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => HTML_ENTITY[c] ?? c);
}
