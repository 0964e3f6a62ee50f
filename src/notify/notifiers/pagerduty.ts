import type { PagerdutyConfig } from '../../config/notifiers.js';
import type { WatcherEvent } from '../../events/event.js';
import { cut, headline, severityOf } from '../facts.js';
import { postJson } from '../post-json.js';
import type { Notifier, NotifierDeps } from '../notifier.js';

/** PagerDuty refuses a `payload.summary` over 1,024 characters. */
const SUMMARY_MAX = 1_024;

/** What PagerDuty is asked to do with an event. */
type Action = 'trigger' | 'resolve';

/** The events that end what another began: they resolve its incident instead of opening one. */
const RESOLVES: ReadonlySet<string> = new Set(['api.up', 'alert.resolved']);

/** A string detail of the event, when it has one. */
function detail(event: WatcherEvent, key: string): string | undefined {
  const value = event.details?.[key];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The incident an event belongs to, the same in its trigger and its resolve and across a restart:
 * an outage is named by when it began (`details.downSince`, in both `api.down` and `api.up`), an
 * alert's firing by the alert and when it fired (`details.firedAt`, in all three of its events).
 * Any other event opens an incident of its own, named by its id.
 */
function dedupKey(event: WatcherEvent): string {
  if (event.type === 'api.down' || event.type === 'api.up') return `gpu-watcher/api.down/${detail(event, 'downSince') ?? event.time}`;
  if (event.alert !== undefined && event.type.startsWith('alert.')) return `gpu-watcher/alert/${event.alert}/${detail(event, 'firedAt') ?? event.time}`;
  return `gpu-watcher/event/${event.id}`;
}

/**
 * The Events API v2 body for an event and an action. A trigger carries the summary, the source,
 * our severity (PagerDuty has the same three, and `error`), the time, and the whole event as
 * `custom_details`; a resolve needs only the key.
 * @see https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
 */
function buildPagerdutyEvent(event: WatcherEvent, action: Action, config: PagerdutyConfig): unknown {
  const base = { routing_key: config.routingKey, event_action: action, dedup_key: dedupKey(event) };
  if (action === 'resolve') return base;
  return {
    ...base,
    client: 'gpu-watcher',
    payload: {
      summary: cut(headline(event), SUMMARY_MAX),
      source: config.source,
      severity: severityOf(event),
      timestamp: event.time,
      component: event.rule ?? event.alert ?? 'runpod',
      class: event.type,
      custom_details: event,
    },
  };
}

/**
 * What an event asks of PagerDuty: `api.up` and `alert.resolved` resolve, a `test` opens an
 * incident and resolves it at once (it shows in the log without paging anyone for long), and
 * everything else triggers (a reminder triggers the open incident again, which PagerDuty folds in).
 */
function actionsFor(event: WatcherEvent): Action[] {
  if (RESOLVES.has(event.type)) return ['resolve'];
  return event.type === 'test' ? ['trigger', 'resolve'] : ['trigger'];
}

/** A PagerDuty notifier: the routing key is its secret. */
export function createPagerdutyNotifier(name: string, config: PagerdutyConfig, deps: NotifierDeps): Notifier {
  const secrets = [config.routingKey];
  return {
    name,
    type: 'pagerduty',
    protocol: 'HTTP',
    send: async (event, signal) => {
      let answer = { status: 0 };
      for (const action of actionsFor(event)) {
        answer = await postJson({ url: config.url, body: JSON.stringify(buildPagerdutyEvent(event, action, config)), headers: {}, secrets }, deps, signal);
      }
      return answer;
    },
  };
}
