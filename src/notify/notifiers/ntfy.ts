import type { NtfyConfig } from '../../config/notifiers.js';
import type { Severity, WatcherEvent } from '../../events/event.js';
import { cut, eventFacts, eventFooter, eventTitle, headline, severityOf } from '../facts.js';
import { jsonNotifier, urlSecrets } from '../post-json.js';
import type { Notifier, NotifierDeps } from '../notifier.js';

/**
 * ntfy keeps a message up to 4,096 bytes as text and turns a longer one into an attachment. A
 * UTF-16 code unit is at most 3 bytes of UTF-8, so 1,365 of them always fit.
 * @see https://docs.ntfy.sh/publish/#limitations
 */
const NTFY_MESSAGE_MAX = 1_365;

/** ntfy's priorities: 3 is the default, 4 high, 5 urgent (a long vibration burst). */
const PRIORITY: Record<Severity, number> = { info: 3, warning: 4, critical: 5 };

/** A tag that names an emoji is shown as that emoji before the title. */
const SEVERITY_TAG: Record<Severity, string> = { info: 'information_source', warning: 'warning', critical: 'rotating_light' };

/** ntfy's topic URL split into the server (where JSON is published) and the topic. */
function splitTopicUrl(url: string): { server: string; topic: string } {
  const parsed = new URL(url);
  const at = parsed.pathname.lastIndexOf('/');
  const topic = parsed.pathname.slice(at + 1);
  parsed.pathname = parsed.pathname.slice(0, at + 1);
  parsed.search = '';
  parsed.hash = '';
  return { server: parsed.toString(), topic };
}

/** The JSON publish body for an event: topic, title, message, priority and tags by severity. */
function buildNtfyMessage(event: WatcherEvent, topic: string): unknown {
  const facts = eventFacts(event).map((fact) => `${fact.label}: ${fact.value}`);
  const message = cut([headline(event), ...facts, eventFooter(event)].join('\n'), NTFY_MESSAGE_MAX);
  const severity = severityOf(event);
  return { topic, title: cut(eventTitle(event), 250), message, priority: PRIORITY[severity], tags: [SEVERITY_TAG[severity], event.type] };
}

/**
 * An ntfy notifier. The topic is as good as a password on a public server (whoever knows it reads
 * it), so it is a secret, as is the token.
 */
export function createNtfyNotifier(name: string, config: NtfyConfig, deps: NotifierDeps): Notifier {
  const { server, topic } = splitTopicUrl(config.url);
  const headers: Record<string, string> = config.token ? { Authorization: `Bearer ${config.token}` } : {};
  const secrets = [topic, config.token, ...urlSecrets(config.url, { wholePath: false })].filter((s) => s !== '');
  return jsonNotifier({ name, type: 'ntfy', url: server, headers, secrets, build: (event) => buildNtfyMessage(event, topic) }, deps);
}
