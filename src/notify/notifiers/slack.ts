import type { SlackConfig } from '../../config/notifiers.js';
import type { EventType, WatcherEvent } from '../../events/event.js';
import { jsonNotifier, urlSecrets } from '../post-json.js';
import type { Notifier, NotifierDeps } from '../notifier.js';
import { eventFacts, needsDryRunMarker } from '../facts.js';

/**
 * Slack's Block Kit limits, in characters: above them Slack answers 400 `invalid_blocks` and the
 * notice is lost, so every text is cut to fit before it is sent.
 * @see https://api.slack.com/reference/block-kit/blocks
 */
const SLACK_LIMITS = { header: 150, sectionText: 3_000, field: 2_000 } as const;

const ICON: Record<EventType, string> = {
  'alert.fired': ':large_green_circle:',
  'alert.reminder': ':bell:',
  'alert.resolved': ':white_circle:',
  'pod.deployed': ':rocket:',
  'pod.deploy_failed': ':x:',
  'pod.over_price': ':octagonal_sign:',
  'pod.ready': ':white_check_mark:',
  'pod.start_timeout': ':hourglass:',
  'pod.expired': ':alarm_clock:',
  'pod.idle': ':zzz:',
  'pod.stopped': ':stop_button:',
  'rule.fallback': ':arrow_right_hook:',
  'rule.exhausted': ':hourglass:',
  'pod.resumed': ':arrow_forward:',
  'budget.blocked': ':money_with_wings:',
  'api.down': ':red_circle:',
  'api.up': ':large_green_circle:',
  'api.retired': ':no_entry:',
  'account.payment_required': ':credit_card:',
  'api.switched': ':twisted_rightwards_arrows:',
  'spot.unavailable': ':warning:',
  'config.reloaded': ':arrows_counterclockwise:',
  test: ':wave:',
};

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * `text` with `&`, `<` and `>` written as Slack's entities, so a name or a RunPod message can
 * neither break the formatting nor smuggle in a link or an `<!channel>` mention.
 * @see https://api.slack.com/reference/surfaces/formatting#escaping
 */
function escapeSlack(text: string): string {
  return text.replace(/[&<>]/g, (c) => ENTITY[c] ?? c);
}

/**
 * Escaped `text` in at most `max` characters: cut and ended with `…` when longer, never in the
 * middle of an entity or of a surrogate pair (either would be sent as garbage).
 */
function slackText(text: string, max: number): string {
  const escaped = escapeSlack(text);
  if (escaped.length <= max) return escaped;
  let cut = max - 1;
  const amp = escaped.lastIndexOf('&', cut - 1);
  if (amp >= 0 && escaped.indexOf(';', amp) >= cut) cut = amp;
  const last = escaped.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return `${escaped.slice(0, cut)}…`;
}

/**
 * Slack's `{ text, blocks }` for an event: a header naming the rule or alert, the summary (what a
 * phone shows), the facts, and the event's type, time and id. Every text is escaped and fits
 * Slack's limits; a dry run is marked once.
 */
export function buildSlackPayload(event: WatcherEvent): { text: string; blocks: unknown[] } {
  const text = slackText(`${ICON[event.type]} ${event.summary}${needsDryRunMarker(event) ? ' (dry run)' : ''}`, SLACK_LIMITS.sectionText);
  const field = (label: string, value: string): string => `*${label}*\n${slackText(value, SLACK_LIMITS.field - label.length - 3)}`;
  const fields = eventFacts(event).map((fact) => field(fact.label, fact.value));
  const blocks: unknown[] = [];
  const subject = event.rule ?? event.alert;
  if (subject) blocks.push({ type: 'header', text: { type: 'plain_text', text: slackText(subject, SLACK_LIMITS.header) } });
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text } });
  if (fields.length > 0) blocks.push({ type: 'section', fields: fields.map((f) => ({ type: 'mrkdwn', text: f })) });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeSlack(`${event.type} · ${event.time} · ${event.id}`) }] });
  return { text, blocks };
}

/** A Slack notifier. */
export function createSlackNotifier(name: string, config: SlackConfig, deps: NotifierDeps): Notifier {
  const secrets = urlSecrets(config.url, { wholePath: true });
  return jsonNotifier({ name, type: 'slack', url: config.url, secrets, build: buildSlackPayload }, deps);
}
